//! The README cannot drift from the tool: its usage section is `pricefetch --help` verbatim,
//! every `console` example is run against the mock and its output compared, and the install
//! lines are run in a scratch home.
//!
//! A `console` block holds `$ command` lines, each followed by the output it prints (stdout and
//! stderr as a terminal shows them, in order). `[..]` stands for any text within a line (times
//! and the like) and `...` on a line of its own for any lines. The commands run in `sh` with
//! `PRICEFETCH_BASE_URL` pointing at the mock (50 ms latency), as the README's offline section
//! sets it up, and
//! with `PRICEFETCH_FORMAT=table`, because the samples show what a terminal shows.

mod common;

use mock_binance::MockServer;

const README: &str = include_str!("../README.md");

#[test]
fn readme_usage_matches_help() {
    let start = README
        .find("<!-- help:start -->\n```text\n")
        .expect("help:start marker");
    let body = &README[start..];
    let body = &body[body.find("```text\n").unwrap() + "```text\n".len()..];
    let end = body
        .find("```\n<!-- help:end -->")
        .expect("help:end marker");
    let documented = &body[..end];
    let out = common::bare().arg("--help").output().unwrap();
    let actual = String::from_utf8(out.stdout).unwrap();
    assert!(
        documented == actual,
        "README usage differs from --help; replace the block with the output of \
         `cargo run -- --help`:\n{actual}"
    );
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
fn every_console_example_in_the_readme_prints_what_it_shows() {
    let examples = examples(README);
    assert!(
        examples.len() >= 10,
        "only {} examples found",
        examples.len()
    );
    // 50 ms a request, as the README says of its timings (and so that async wins the comparison).
    let server = MockServer::with_latency(std::time::Duration::from_millis(50));
    for ex in examples {
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
            "README.md:{}: `{}` exited {:?} (end the command with `; echo \"exit $?\"` to show \
             a failure):\n{actual}",
            ex.line,
            ex.command,
            out.status.code()
        );
        if let Err(e) = snapbox::Assert::new().try_eq(
            Some(&format!("README.md:{}: {}", ex.line, ex.command)),
            snapbox::Data::text(actual.into_owned()),
            snapbox::Data::text(ex.expected),
        ) {
            panic!(
                "README.md:{}: `{}` printed something else:\n{e}",
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
