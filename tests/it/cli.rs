//! The command line as a user meets it: help, version, symbol input and every usage error.
//! A usage error exits 2, names the culprit, and sends no request at all.

use crate::common;

use common::{bare, pricefetch, stderr, stdout};
use mock_binance::MockServer;
use predicates::prelude::*;

#[test]
fn help_shows_examples_and_the_exit_code_table() {
    bare()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("--compare"))
        .stdout(predicate::str::contains(
            "5    refused for your location (HTTP 451)",
        ))
        .stdout(predicate::str::contains("[env: PRICEFETCH_BASE_URL]"))
        // A way in to each kind of run: a past price (and what a date alone means), a range,
        // a price in EUR, an exporter.
        .stdout(predicate::str::contains(
            "pricefetch --at 2024-12-31T23:59:59.999 --tz Europe/Paris BTCEUR",
        ))
        .stdout(predicate::str::contains("a date alone is 00:00"))
        .stdout(predicate::str::contains("--candles 1d --from 2024-01-01"))
        .stdout(predicate::str::contains("pricefetch --in EUR BTC ETH ADA"))
        .stdout(predicate::str::contains("pricefetch --stream --serve 9464"));
}

#[test]
fn short_help_fits_one_screen_and_no_help_line_passes_80_columns() {
    let short = stdout(&bare().arg("-h").output().unwrap());
    // 23 lines and the shell prompt fill an 80x24 terminal.
    assert!(
        short.lines().count() <= 23,
        "-h is {} lines:\n{short}",
        short.lines().count()
    );
    // The way in to each kind of run: now, in your currency, live, past, to a file or a
    // scraper.
    for everyday in [
        "--all",
        "--in <ASSET>",
        "--format",
        "--output <FILE>",
        "--concurrency",
        "--compare",
        "--watch",
        "--stream",
        "--serve <ADDR>",
        "--at <TIME>",
        "--candles <INTERVAL>",
    ] {
        assert!(short.contains(everyday), "-h lacks {everyday}");
    }
    for expert in [
        "--hedge",
        "--retry-delay",
        "--weight-limit",
        "--completions",
    ] {
        assert!(!short.contains(expert), "-h shows {expert}");
    }
    assert!(short.contains("--help: all options, examples, exit codes"));
    let long = stdout(&bare().arg("--help").output().unwrap());
    for text in [&short, &long] {
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "over 80 columns: {line:?}");
        }
    }
    // Everyday options first, then the groups.
    let at = |heading: &str| {
        long.find(&format!("\n{heading}\n"))
            .unwrap_or_else(|| panic!("no {heading}"))
    };
    let order = [
        "Options:",
        "Input:",
        "Output:",
        "Fetching:",
        "Rate limits:",
        "Network:",
        "Config:",
    ];
    assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{long}");
}

#[test]
fn help_names_the_variables_but_never_shows_their_values() {
    let long = stdout(
        &bare()
            .arg("--help")
            .env("PRICEFETCH_PROXY", "http://me:hunter2@proxy.corp:3128")
            .env("PRICEFETCH_TIMEOUT", "7s")
            .output()
            .unwrap(),
    );
    assert!(long.contains("PRICEFETCH_PROXY"), "{long}");
    assert!(!long.contains("hunter2") && !long.contains("7s"), "{long}");
}

#[test]
fn version_prints_the_crate_version() {
    bare()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}

/// Runs `args` against a fresh mock and checks: exit 2, stderr names `culprit`, no request.
fn usage_error(args: &[&str], culprit: &str) {
    let server = MockServer::start();
    let mut cmd = if args.contains(&"--base-url") {
        bare()
    } else {
        pricefetch(&server)
    };
    let out = cmd.args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    assert!(
        stderr(&out).contains(culprit),
        "{args:?}: stderr does not name {culprit:?}:\n{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "{args:?}: data on stdout");
    assert!(server.hits().is_empty(), "{args:?}: a request was sent");
}

#[test]
fn bad_symbols_are_named_before_any_request() {
    usage_error(&["BTCUSDT", "BTC$USDT"], "'BTC$USDT'");
    usage_error(&["ABCDEFGHIJKLMNOPQRSTUVWXYZ"], "the most is 20");
    usage_error(&["BTCUSDT", ""], "it is empty");
    usage_error(&[], "no symbols given");
}

#[test]
fn bad_numbers_and_durations_say_why() {
    usage_error(&["-c", "0", "BTCUSDT"], "--concurrency");
    usage_error(&["-c", "many", "BTCUSDT"], "--concurrency");
    usage_error(&["-r", "-1", "BTCUSDT"], "--retries");
    usage_error(&["-c", "-4", "BTCUSDT"], "--concurrency");
    usage_error(&["--timeout", "-1s", "BTCUSDT"], "negative");
    usage_error(&["--timeout", "0s", "BTCUSDT"], "greater than zero");
    usage_error(&["--timeout", "5", "BTCUSDT"], "no unit");
    usage_error(&["--connect-timeout", "soon", "BTCUSDT"], "not a duration");
    usage_error(&["--unknown-flag", "BTCUSDT"], "--unknown-flag");
    usage_error(&["-f", "xml", "BTCUSDT"], "xml");
}

#[test]
fn bad_urls_files_and_flag_combinations_are_refused() {
    usage_error(&["--base-url", "not a url", "BTCUSDT"], "--base-url");
    usage_error(
        &["--base-url", "http://example.com", "BTCUSDT"],
        "--allow-http",
    );
    usage_error(&["--proxy", "socks9://x:1", "BTCUSDT"], "--proxy");
    usage_error(&["--file", "/no/such/file.txt"], "/no/such/file.txt");
    usage_error(&["--sync", "--compare", "BTCUSDT"], "--compare");
    usage_error(&["--compare", "-f", "csv", "BTCUSDT"], "--compare");
    usage_error(&["--runs", "2", "BTCUSDT"], "--compare");
    usage_error(&["--compare", "--runs", "0", "BTCUSDT"], "--runs");
}

#[test]
fn spellings_of_one_symbol_become_one_request() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["btc/usdt", "BTC-USDT", "btcusdt", "eth/usdt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "BTCUSDT\t97123.45000000\nETHUSDT\t3412.17000000\n"
    );
    assert_eq!(server.hits_for("BTCUSDT"), 1);
    assert_eq!(server.hits().len(), 2);
}

#[test]
fn symbols_come_from_a_file_and_from_stdin_with_comments_and_commas() {
    let server = MockServer::start();
    let dir = common::scratch_dir("watchlist");
    let file = dir.join("watchlist.txt");
    std::fs::write(
        &file,
        "# my coins\nbtcusdt, eth/usdt\n\nSOLUSDT # the fast one\n",
    )
    .unwrap();
    let out = pricefetch(&server)
        .arg("--file")
        .arg(&file)
        .arg("BNBUSDT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let symbols: Vec<&str> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(symbols, ["BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT"]);

    let out = pricefetch(&server)
        .args(["--file", "-"])
        .write_stdin("XRPUSDT ADAUSDT\n")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "XRPUSDT\t0.62340000\nADAUSDT\t0.45120000\n");

    std::fs::write(&file, "BTCUSDT\nBAD!SYMBOL\n").unwrap();
    let out = pricefetch(&server)
        .arg("--file")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    common::assert_stderr_has(&out, "watchlist.txt line 2");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn choices_are_accepted_in_any_case() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "-f", "JSON", "--ticker", "Price", "--color", "NEVER", "BTCUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).trim_start().starts_with('{'));
}

#[test]
fn the_base_url_comes_from_the_environment() {
    let server = MockServer::start();
    bare()
        .env("PRICEFETCH_BASE_URL", server.url())
        .arg("BTCUSDT")
        .assert()
        .success()
        .stdout("BTCUSDT\t97123.45000000\n");
    assert_eq!(server.hits().len(), 1);
}

#[test]
fn a_bad_value_from_an_environment_variable_names_the_variable() {
    let out = bare()
        .env("PRICEFETCH_CONCURRENCY", "abc")
        .arg("BTCUSDT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("'--concurrency <N>'"), "{err}");
    assert!(
        err.contains("came from the environment variable PRICEFETCH_CONCURRENCY"),
        "{err}"
    );
    // Given on the command line, the flag is the culprit, and nothing else is said.
    let out = bare()
        .env("PRICEFETCH_CONCURRENCY", "abc")
        .args(["-c", "0", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !stderr(&out).contains("environment variable"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_misspelt_symbol_gets_the_nearest_trading_pair_suggested() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["BTCUSTD", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("hint: BTCUSTD: did you mean BTCUSDT?"),
        "{err}"
    );
    assert!(!err.contains("check the symbol's spelling"), "{err}");
    // One whole-market price list (weight 4) besides the two symbols.
    let whole: Vec<_> = server
        .hits()
        .into_iter()
        .filter(|h| h.path.ends_with("/ticker/price") && h.symbol.is_none() && h.symbols.is_none())
        .collect();
    assert_eq!(whole.len(), 1, "{:?}", server.hits());
    // -qq prints no hints, so it asks for nothing more.
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["-qq", "BTCUSTD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(server.hits().len(), 1);
}

#[test]
fn an_asset_where_a_pair_was_meant_is_answered_with_the_pair() {
    let server = MockServer::start();
    for (args, hint) in [
        (
            &["BTC"][..],
            "hint: BTC is an asset: did you mean BTCUSDT (or --in USDT BTC)?",
        ),
        (&["btc", "usdt"], "hint: BTC USDT: did you mean BTCUSDT?"),
    ] {
        let out = pricefetch(&server).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(hint), "{args:?}: {err}");
        assert!(!err.contains("check the symbol's spelling"), "{err}");
    }
    // The summary counts what was asked (one request, one attempt), not the lookup that
    // found the suggestion.
    let out = pricefetch(&server).args(["BTC"]).output().unwrap();
    let err = stderr(&out);
    assert!(err.contains("(1 attempt)"), "{err}");
    assert!(err.contains(", 1 request)"), "{err}");
}

#[test]
fn the_usage_line_names_only_what_must_be_typed() {
    // The README's export lines put the mock's URLs in the environment: a usage error must not
    // show them as flags the user left out.
    let out = common::bare()
        .env("PRICEFETCH_BASE_URL", "http://127.0.0.1:8731")
        .env("PRICEFETCH_STREAM_URL", "ws://127.0.0.1:8731")
        .args(["--candles", "1h", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("Usage: pricefetch --from <TIME> --candles <INTERVAL> <SYMBOL>..."),
        "{err}"
    );
    // A flag the user typed stays.
    let out = common::bare()
        .env("PRICEFETCH_BASE_URL", "http://127.0.0.1:8731")
        .args([
            "--candles",
            "1h",
            "--base-url",
            "http://127.0.0.1:1",
            "BTCUSDT",
        ])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("--base-url <URL>"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_errors_say_what_is_wrong_in_words() {
    let out = common::bare()
        .args(["-c", "0", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("must be at least 1"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("non-zero type"), "{}", stderr(&out));
    // clap's "use '-- --foo'" makes no sense for a tool whose arguments never start with '-'.
    let out = common::bare().args(["--foo", "BTCUSDT"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unexpected argument '--foo'"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("-- --foo"), "{}", stderr(&out));
    // A bad base URL from the environment says so, and what it probably meant.
    let out = common::bare()
        .env("PRICEFETCH_BASE_URL", "127.0.0.1:8731")
        .arg("BTCUSDT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("did you mean http://127.0.0.1:8731?"), "{err}");
    assert!(
        err.contains("came from the environment variable PRICEFETCH_BASE_URL"),
        "{err}"
    );
    // --help shows which variable sets --config, without a stray '='.
    let out = common::bare().arg("--help").output().unwrap();
    let help = common::stdout(&out);
    assert!(help.contains("[env: PRICEFETCH_CONFIG]"), "{help}");
    assert!(!help.contains("PRICEFETCH_CONFIG="), "{help}");
}
