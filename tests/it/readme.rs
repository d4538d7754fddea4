//! The docs cannot drift from the tool: every `console` example of the README and of `docs/` is
//! run against the mock and its output compared, the guide names every flag of `--help` and no
//! Markdown file names a flag that does not exist, and the install lines are run in a scratch
//! home.
//!
//! A `console` block holds `$ command` lines, each followed by the output it prints (stdout and
//! stderr as a terminal shows them, in order). `[..]` stands for any text within a line (times
//! and the like) and `...` on a line of its own for any lines. The commands run in `sh` with
//! `PRICEFETCH_BASE_URL` pointing at the mock (50 ms latency), as the README's offline section
//! sets it up, and
//! with `PRICEFETCH_FORMAT=table`, because the samples show what a terminal shows.

use crate::common;

use mock_binance::MockServer;

const README: &str = include_str!("../../README.md");

/// The Markdown files whose samples the tests run, with their text.
const DOCS: [(&str, &str); 3] = [
    ("README.md", README),
    ("docs/guide.md", include_str!("../../docs/guide.md")),
    (
        "docs/benchmarks.md",
        include_str!("../../docs/benchmarks.md"),
    ),
];

/// The long flags a text names (`--flag`), without their values.
fn long_flags(text: &str) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("--") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        let starts_a_word = before.is_none_or(|c| !c.is_alphanumeric() && c != '-');
        if starts_a_word && name.len() > 1 && name.starts_with(|c: char| c.is_ascii_lowercase()) {
            found.insert(format!("--{}", name.trim_end_matches('-')));
        }
    }
    found
}

#[test]
fn the_guide_documents_every_flag_and_the_docs_name_only_real_ones() {
    let out = common::bare().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let real = long_flags(&help);
    assert!(
        real.len() > 40,
        "only {} flags read from --help",
        real.len()
    );
    let guide = DOCS[1].1;
    let undocumented: Vec<_> = real
        .iter()
        .filter(|f| !["--help", "--version"].contains(&f.as_str()))
        .filter(|f| !long_flags(guide).contains(*f))
        .collect();
    assert!(
        undocumented.is_empty(),
        "docs/guide.md says nothing of {undocumented:?}"
    );
    // Flags of other programs the docs show: cargo, the mock, curl, sqlite3, websocat, sudo.
    let others = [
        "--release",
        "--locked",
        "--workspace",
        "--path",
        "--all-targets",
        "--all",
        "--check",
        "--port",
        "--latency",
        "--fault-rate",
        "--symbols",
        "--seed",
        "--frozen",
        "--csv",
    ];
    for (file, text) in DOCS {
        let unknown: Vec<_> = long_flags(text)
            .into_iter()
            .filter(|f| !real.contains(f) && !others.contains(&f.as_str()))
            .collect();
        assert!(
            unknown.is_empty(),
            "{file} names flags --help does not have: {unknown:?}"
        );
    }
}

/// One `$ command` of a `console` block and the output written under it.
#[derive(Debug)]
struct Example {
    line: usize,
    command: String,
    expected: String,
}

fn examples(text: &str) -> Vec<Example> {
    let mut found: Vec<Example> = Vec::new();
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        if !inside {
            inside = line.trim_end() == "```console";
            continue;
        }
        if line.starts_with("```") {
            inside = false;
        } else if let Some(command) = line.strip_prefix("$ ") {
            found.push(Example {
                line: i + 1,
                command: command.to_owned(),
                expected: String::new(),
            });
        } else if let Some(example) = found.last_mut() {
            example.expected.push_str(line);
            example.expected.push('\n');
        }
    }
    found
}

#[test]
fn every_console_example_in_the_docs_prints_what_it_shows() {
    let examples: Vec<_> = DOCS
        .iter()
        .flat_map(|(file, text)| examples(text).into_iter().map(move |ex| (*file, ex)))
        .collect();
    assert!(
        examples.len() >= 20,
        "only {} examples found",
        examples.len()
    );
    // 50 ms a request, as the README says of its timings (and so that async wins the comparison).
    let server = MockServer::with_latency(std::time::Duration::from_millis(50));
    for (file, ex) in examples {
        let out = common::hermetic_shell()
            .env("PRICEFETCH_BASE_URL", server.url())
            .env("PRICEFETCH_STREAM_URL", server.stream_url())
            .env("PRICEFETCH_FORMAT", "table")
            .args(["-c", &format!("{{ {}\n}} 2>&1", ex.command)])
            .output()
            .unwrap();
        let actual = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{file}:{}: `{}` exited {:?} (end the command with `; echo \"exit $?\"` to show \
             a failure):\n{actual}",
            ex.line,
            ex.command,
            out.status.code()
        );
        if let Err(e) = snapbox::Assert::new().try_eq(
            Some(&format!("{file}:{}: {}", ex.line, ex.command)),
            snapbox::Data::text(actual.into_owned()),
            snapbox::Data::text(ex.expected),
        ) {
            panic!(
                "{file}:{}: `{}` printed something else:\n{e}",
                ex.line, ex.command
            );
        }
    }
}

#[test]
fn the_install_lines_work_in_a_fresh_home() {
    let start = README
        .find("<!-- install:start -->")
        .expect("install:start marker");
    let block = &README[start..];
    let block = &block[block.find("```sh\n").unwrap() + "```sh\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    // The binary stands in for what `cargo install` puts in ~/.cargo/bin; the rest runs as
    // written, in an empty home.
    let script: String = block
        .lines()
        .filter(|l| !l.trim_start().starts_with("cargo install"))
        .map(|l| format!("{l}\n"))
        .collect();
    let home = common::fresh_state_dir();
    std::fs::create_dir_all(&home).unwrap();
    let out = common::hermetic_shell()
        .env("HOME", &home)
        .args(["-ec", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the install lines failed in a fresh home:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [
        ".local/share/bash-completion/completions/pricefetch",
        ".zfunc/_pricefetch",
        ".config/fish/completions/pricefetch.fish",
        ".cargo/share/man/man1/pricefetch.1",
    ] {
        let len = std::fs::metadata(home.join(file)).map_or(0, |m| m.len());
        assert!(len > 100, "{file} was not written");
    }
    // `man pricefetch` finds the page with the binary in ~/.cargo/bin and no MANPATH.
    if std::process::Command::new("man")
        .arg("-w")
        .arg("man")
        .output()
        .is_err()
    {
        eprintln!("skipped the man -w check: man (man-db) is not installed");
        return;
    }
    let bin = home.join(".cargo/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_pricefetch"), bin.join("pricefetch")).unwrap();
    let found = std::process::Command::new("man")
        .args(["-w", "pricefetch"])
        .env("HOME", &home)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env_remove("MANPATH")
        .output()
        .unwrap();
    let path = String::from_utf8_lossy(&found.stdout);
    assert!(
        path.trim()
            == home
                .join(".cargo/share/man/man1/pricefetch.1")
                .display()
                .to_string(),
        "man -w pricefetch: {path}{}",
        String::from_utf8_lossy(&found.stderr)
    );
}

/// The `sh` blocks of the README's section under `heading`, in order.
fn sh_blocks(heading: &str) -> Vec<String> {
    let section = &README[README.find(heading).expect("the section")..];
    let section = &section[heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .split("```sh\n")
        .skip(1)
        .map(|b| b[..b.find("```").unwrap()].to_owned())
        .collect()
}

/// A `cargo` for the README's offline commands: the mock is built and run by the real cargo
/// (in the test profile, whose dependencies are built already), the tool is the binary under
/// test; any other command fails.
fn cargo_shim() -> std::path::PathBuf {
    let dir = common::scratch_dir("cargo-shim");
    let home = std::env::var("HOME").unwrap_or_default();
    let var = |name: &str, default: String| std::env::var(name).unwrap_or(default);
    let script = format!(
        "#!/bin/sh\nexport CARGO_HOME='{}' RUSTUP_HOME='{}'\n\
         if [ \"$1 $2 $3 $4\" = 'run --release -p mock-binance' ]; then\n  shift 4\n  \
         [ \"$1\" = -- ] && shift\n  cd '{}' && exec '{}' run --quiet --locked --offline \
         -p mock-binance -- \"$@\"\nfi\n\
         if [ \"$1 $2 $3\" = 'run --release --' ]; then shift 3; exec '{}' \"$@\"; fi\n\
         echo \"not a command of the README: cargo $*\" >&2; exit 97\n",
        var("CARGO_HOME", format!("{home}/.cargo")),
        var("RUSTUP_HOME", format!("{home}/.rustup")),
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO"),
        env!("CARGO_BIN_EXE_pricefetch"),
    );
    let cargo = dir.join("cargo");
    std::fs::write(&cargo, script).unwrap();
    let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&cargo, executable).unwrap();
    dir
}

/// Kills the mock when the test ends, however it ends.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn try_it_offline_works_as_written() {
    use std::io::BufRead as _;
    let blocks = sh_blocks("## Try it offline");
    assert_eq!(
        blocks.len(),
        2,
        "the mock's command, then the exports and a run"
    );
    let shim = cargo_shim();
    let path = format!("{}:{}", shim.display(), std::env::var("PATH").unwrap());
    // The mock on any free port (8731 may be taken on this machine): the lines it prints are
    // the README's with the port it took.
    let mut mock = Reaped(
        common::hermetic_shell()
            .env("PATH", &path)
            .args(["-c", &format!("exec {} -- --port 0", blocks[0].trim())])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let printed: Vec<String> = std::io::BufReader::new(mock.0.stdout.take().unwrap())
        .lines()
        .take(2)
        .map(Result::unwrap)
        .collect();
    assert_eq!(printed.len(), 2, "the mock printed {printed:?}");
    let port = printed[0].rsplit(':').next().unwrap().to_owned();
    let exports: Vec<_> = blocks[1]
        .lines()
        .filter(|l| l.starts_with("export "))
        .map(|l| l.replace(":8731", &format!(":{port}")))
        .collect();
    assert_eq!(exports, printed, "the README's export lines");
    let out = common::hermetic_shell()
        .env("PATH", &path)
        .args(["-ec", &blocks[1].replace(":8731", &format!(":{port}"))])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", common::stderr(&out));
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for (line, (symbol, listed)) in lines.iter().zip([
        ("BTCUSDT", 97123.45),
        ("ETHUSDT", 3412.17),
        ("PEPEUSDT", 0.00000412),
    ]) {
        let (name, price) = line.split_once('\t').unwrap();
        let price: f64 = price.parse().unwrap();
        assert_eq!(name, symbol);
        assert!(
            (price / listed - 1.0).abs() < 0.003,
            "{line}: wanders at most 0.25%"
        );
    }
}
