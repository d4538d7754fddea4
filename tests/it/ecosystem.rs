//! Fitting the ecosystem: the config file and its precedence, shell completions, the man page,
//! colour, the progress bar and the version string.

use crate::common;

use std::path::{Path, PathBuf};

use common::{bare, pricefetch, stderr, stdout};
use mock_binance::MockServer;

/// A config file in a fresh directory of its own.
fn config_file(name: &str, text: &str) -> PathBuf {
    let dir = common::scratch_dir(&format!("cfg-{name}"));
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `pricefetch --config PATH BTCUSDT` with no server: for config files that are refused.
fn with_config(path: &Path) -> std::process::Output {
    bare()
        .arg("--config")
        .arg(path)
        .arg("BTCUSDT")
        .output()
        .unwrap()
}

/// The `--show-config` row for a setting: (value, source).
fn row(show: &str, key: &str) -> (String, String) {
    let line = show
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no {key} row in:\n{show}"));
    let cols: Vec<&str> = line.split("  ").filter(|c| !c.trim().is_empty()).collect();
    (cols[1].trim().to_owned(), cols[2].trim().to_owned())
}

#[test]
fn precedence_is_flag_then_env_then_file_then_default() {
    let path = config_file(
        "precedence",
        "concurrency = 4\ntimeout = \"3s\"\nretries = 7\nformat = \"json\"\n",
    );
    let out = bare()
        .arg("--config")
        .arg(&path)
        .env("PRICEFETCH_TIMEOUT", "4s")
        .env("PRICEFETCH_RETRIES", "8")
        .args(["--retries", "9", "--show-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let show = stdout(&out);
    assert!(
        show.starts_with(&format!("config file: {}", path.display())),
        "{show}"
    );
    assert_eq!(row(&show, "retries"), ("9".into(), "flag".into()));
    assert_eq!(
        row(&show, "timeout"),
        ("4s".into(), "env PRICEFETCH_TIMEOUT".into())
    );
    assert_eq!(
        row(&show, "concurrency"),
        ("4".into(), "config file".into())
    );
    assert_eq!(row(&show, "format"), ("json".into(), "config file".into()));
    assert_eq!(row(&show, "max-wait"), ("1m".into(), "default".into()));
}

#[test]
fn the_file_changes_what_a_run_does_and_its_watch_list_is_the_default_symbols() {
    let server = MockServer::start();
    let path = config_file(
        "watchlist",
        &format!(
            "# my coins\nsymbols = [\"btc/usdt\", \"ETHUSDT\"]\nbase-url = \"{}\"\nformat = \"csv\"\n",
            server.url()
        ),
    );
    let out = bare().arg("--config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "symbol,price,error,elapsed_ms,attempts,price_time\nBTCUSDT,97123.45000000,"
        ),
        "{text}"
    );
    // Two symbols: --strategy auto asks for both in one batch.
    let hits = server.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].symbols.as_deref(), Some(r#"["BTCUSDT","ETHUSDT"]"#));
    // Symbols on the command line replace the watch-list.
    let out = bare()
        .arg("--config")
        .arg(&path)
        .arg("SOLUSDT")
        .output()
        .unwrap();
    assert_eq!(stdout(&out).lines().count(), 2);
    assert_eq!(server.hits_for("SOLUSDT"), 1);
}

#[test]
fn the_file_can_say_the_asset_to_count_in_and_the_window() {
    let server = MockServer::start();
    let path = config_file(
        "in-eur",
        &format!(
            "symbols = [\"BTC\", \"ADA\"]\nin = \"EUR\"\nbase-url = \"{}\"\nformat = \"plain\"\n",
            server.url()
        ),
    );
    let out = bare()
        .arg("--config")
        .arg(&path)
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "BTC\t91234.50000000\nADA\t0.41688996\n");
    let show = stdout(
        &bare()
            .arg("--config")
            .arg(&path)
            .arg("--show-config")
            .output()
            .unwrap(),
    );
    assert_eq!(row(&show, "in"), ("EUR".into(), "config file".into()));
    assert_eq!(row(&show, "tz").0, "UTC");
    let path = config_file(
        "window",
        &format!("window = \"4h\"\nbase-url = \"{}\"\n", server.url()),
    );
    let out = bare()
        .arg("--config")
        .arg(&path)
        .args(["-f", "json", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("\"window\": \"4h\""),
        "{}",
        stdout(&out)
    );
    let bad = config_file("bad-window", "window = \"90m\"\n");
    let out = with_config(&bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("1m to 59m"), "{}", stderr(&out));
}

#[test]
fn the_default_file_lives_in_the_config_directory_and_no_config_ignores_it() {
    let server = MockServer::start();
    let home = common::scratch_dir("default-config-test");
    let dir = home.join("pricefetch");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), "symbols = [\"BNBUSDT\"]\n").unwrap();
    let out = pricefetch(&server)
        .env("XDG_CONFIG_HOME", &home)
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "BNBUSDT\t612.30000000\n", "{}", stderr(&out));
    let out = pricefetch(&server)
        .env("XDG_CONFIG_HOME", &home)
        .arg("--no-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no symbols given"));
}

#[test]
fn a_bad_config_file_names_the_file_the_line_and_the_key() {
    let path = config_file("bad", "timeout = \"2s\"\n\nconcurency = 8\n");
    let out = with_config(&path);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("{} line 3", path.display())), "{err}");
    assert!(err.contains("concurency"), "{err}");

    let path = config_file("badtype", "retries = \"lots\"\n");
    let out = bare()
        .env("PRICEFETCH_CONFIG", &path)
        .arg("BTCUSDT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    common::assert_stderr_has(&out, "line 1: key 'retries'");

    let out = bare()
        .args(["--config", "/no/such/pricefetch.toml", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    common::assert_stderr_has(&out, "/no/such/pricefetch.toml");
}

#[test]
fn completions_for_every_shell_and_a_man_page_go_to_stdout() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = bare().args(["--completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = stdout(&out);
        assert!(
            script.contains("pricefetch") && script.contains("concurrency"),
            "{shell}"
        );
    }
    let out = bare().arg("--man").output().unwrap();
    let man = stdout(&out);
    assert!(
        man.starts_with(".ie") || man.contains(".TH pricefetch"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains("concurrency"));
    for section in [
        ".SH EXAMPLES",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
    ] {
        assert!(man.contains(section), "no {section}");
    }
    assert!(
        !man.contains(".SH EXTRA"),
        "examples and exit codes have sections of their own"
    );
    assert!(man.contains("PRICEFETCH_STATE_DIR") && man.contains("SIGTERM"));
}

#[test]
fn words_that_look_like_commands_are_symbols() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["config", "man"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "asked Binance for CONFIG and MAN"
    );
    assert_eq!(server.hits_for("CONFIG"), 1);
    assert_eq!(server.hits_for("MAN"), 1);
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--color", "always", "-f", "table", "BTCUSDT", "NOSUCHCOIN"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).starts_with("\x1b[1mSYMBOL"),
        "{:?}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("\x1b[31mpricefetch: NOSUCHCOIN"),
        "{:?}",
        stderr(&out)
    );
    // Colour never touches the data itself.
    assert!(
        stdout(&out).contains("\nBTCUSDT  97123.45000000"),
        "{:?}",
        stdout(&out)
    );
    for args in [&["--color", "never"][..], &[]] {
        let out = pricefetch(&server)
            .args(args)
            .args(["-f", "table", "BTCUSDT", "NOSUCHCOIN"])
            .output()
            .unwrap();
        assert!(!stdout(&out).contains('\x1b') && !stderr(&out).contains('\x1b'));
    }
}

/// Runs pricefetch on a pseudo-terminal (util-linux `script`), returning what the terminal saw.
#[cfg(target_os = "linux")]
fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut line = "pricefetch".to_owned();
    for a in args {
        line += &format!(" '{a}'");
    }
    let mut cmd = common::on_a_pty(&line, None);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("script (util-linux) runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_long_runs_show_progress_and_colour_unless_no_color() {
    let server = mock_binance::MockServer::start_with(mock_binance::Options {
        extra_symbols: 60,
        latency: std::time::Duration::from_millis(30),
        ..Default::default()
    });
    let symbols = mock_binance::generated_symbols(60);
    let mut args = vec!["--base-url", server.url(), "-c", "4"];
    args.extend(symbols.iter().map(String::as_str));
    let screen = on_a_terminal(&args, &[("TERM", "xterm")]);
    assert!(screen.contains("symbols,"), "no progress bar:\n{screen:?}");
    assert!(
        screen.contains("\x1b[1mSYMBOL"),
        "no colour on a terminal:\n{screen:?}"
    );
    let screen = on_a_terminal(&args, &[("TERM", "xterm"), ("NO_COLOR", "1")]);
    assert!(!screen.contains("\x1b[1m"), "NO_COLOR ignored:\n{screen:?}");
    let screen = on_a_terminal(&[&args[..], &["-q"]].concat(), &[("TERM", "xterm")]);
    assert!(
        !screen.contains("symbols,"),
        "-q must hide the bar:\n{screen:?}"
    );
}

#[test]
fn piped_stderr_never_gets_a_progress_bar() {
    let server = MockServer::start_with(mock_binance::Options {
        extra_symbols: 60,
        ..Default::default()
    });
    let out = pricefetch(&server)
        .args(mock_binance::generated_symbols(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!stderr(&out).contains("symbols,"), "{}", stderr(&out));
}

#[test]
fn version_names_the_release_and_the_commit_when_built_from_git() {
    let out = bare().arg("--version").output().unwrap();
    let text = stdout(&out);
    let version = env!("CARGO_PKG_VERSION");
    assert!(text.starts_with(&format!("pricefetch {version}")), "{text}");
    let in_git = Path::new(env!("CARGO_MANIFEST_DIR")).join(".git").exists();
    if in_git {
        let commit = text.trim().rsplit(' ').next().unwrap();
        assert!(
            commit.len() == 14 && commit.starts_with('(') && commit.ends_with(')'),
            "{text}"
        );
    }
}

#[test]
fn show_config_never_prints_a_proxy_password() {
    let out = bare()
        .args([
            "--show-config",
            "--proxy",
            "http://alice:s3cret@proxy.internal:3128",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(!text.contains("s3cret"), "{text}");
    assert!(
        text.contains("http://alice:***@proxy.internal:3128"),
        "{text}"
    );
}

#[test]
fn a_misspelt_config_key_gets_the_nearest_key_suggested() {
    let path = config_file("typo", "concurency = 4\n");
    let out = with_config(&path);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("key 'concurency': unknown key; did you mean 'concurrency'?"),
        "{err}"
    );
    assert!(
        !err.contains("expected one of"),
        "no list of every key: {err}"
    );
    // Nothing near: the keys are listed.
    let path = config_file("far", "zzz = 4\n");
    let out = with_config(&path);
    assert!(
        stderr(&out).contains("the keys are: symbols, market, base-url"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_man_synopsis_says_symbols_repeat_and_show_config_fits_80_columns() {
    let out = bare().arg("--man").output().unwrap();
    let page = stdout(&out);
    let synopsis = &page[page.find(".SH SYNOPSIS").unwrap()..page.find(".SH DESCRIPTION").unwrap()];
    assert!(
        synopsis.contains("\\fBpricefetch\\fR [\\fIOPTIONS\\fR] [\\fISYMBOL\\fR]...")
            && !synopsis.contains("\\-"),
        "one line, as --help's usage: {synopsis}"
    );
    // The widest source a setting can have, with the widest default values.
    let out = bare()
        .env("PRICEFETCH_CONNECT_TIMEOUT", "3s")
        .env("PRICEFETCH_STREAM_URL", "wss://data-stream.binance.vision")
        .arg("--show-config")
        .output()
        .unwrap();
    let show = stdout(&out);
    assert!(
        show.contains("stream-url") && show.contains("cacert"),
        "{show}"
    );
    for line in show.lines().skip(1) {
        assert!(line.chars().count() <= 80, "over 80 columns: {line:?}");
    }
}

#[test]
fn a_config_mistake_is_answered_with_what_to_write() {
    for (name, text, fix) in [
        ("duration", "timeout = 5\n", "timeout = \"5s\""),
        ("list", "symbols = \"BTCUSDT\"\n", "symbols = [\"BTCUSDT\"]"),
        (
            "table",
            "[pricefetch]\ntimeout = \"5s\"\n",
            "unknown table [pricefetch]: settings go at the top of the file",
        ),
        (
            "key",
            "zzzz = 3\n",
            "unknown key 'zzzz'; the keys are: symbols,",
        ),
    ] {
        let out = with_config(&config_file(name, text));
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = stderr(&out);
        assert!(err.contains(fix), "{name}: {err}");
        assert!(!err.contains("expected a"), "{name}: parser words: {err}");
    }
}

#[test]
fn bash_completes_intervals_and_zones_not_file_names() {
    let script = stdout(&bare().args(["--completions", "bash"]).output().unwrap());
    // What bash's completion would offer after `words` (no bash-completion package needed for
    // the function itself).
    let run = |words: &str, current: &str, previous: &str| {
        let line = format!(
            "source /dev/stdin; COMP_WORDS=({words}); COMP_CWORD=2; \
             _pricefetch pricefetch '{current}' {previous}; echo \"${{COMPREPLY[*]}}\""
        );
        let mut child = common::clean("bash")
            .args(["-c", &line])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(
        run("pricefetch --candles ''", "", "--candles"),
        "1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M"
    );
    assert_eq!(
        run("pricefetch --tz Europe/Pa", "Europe/Pa", "--tz"),
        "Europe/Paris"
    );
}
