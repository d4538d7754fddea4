//! The live modes where a person meets them: on a pseudo-terminal, read as they run, and
//! behind `| head`; and the promise that tests leave the real HOME alone.

#![cfg(target_os = "linux")]

use crate::common;

use std::time::Duration;

use common::{Pty, stderr, streaming};
use mock_binance::MockServer;

#[test]
fn the_stream_table_shows_while_it_runs_not_only_after_ctrl_c() {
    // An update a second per symbol, as Binance's miniTicker: a table held in a buffer would
    // take half a minute to show.
    let server = streaming(1000);
    let mut pty = Pty::start(
        &format!(
            "--base-url {} --stream-url {} --stream BTCUSDT ETHUSDT",
            server.url(),
            server.stream_url()
        ),
        (80, 24),
    );
    // The snapshot's table, then a redraw with streamed updates, all before any signal.
    let screen = pty.wait_for("the live table", &["SYMBOL", "PRICE", "BTCUSDT", "ETHUSDT"]);
    assert!(screen.contains("live ·"), "{screen:?}");
    pty.wait_for("a redraw after updates", &["live · 2 updates"]);
    assert_eq!(pty.signal("INT"), Some(130));
}

#[test]
fn ctrl_c_is_the_usual_way_to_stop_not_a_warning() {
    let server = MockServer::start();
    let mut pty = Pty::start(
        &format!("--base-url {} --watch 1s BTCUSDT", server.url()),
        (80, 24),
    );
    pty.wait_for("the live table", &["BTCUSDT"]);
    let (code, screen) = pty.signal_and_screen("INT");
    assert_eq!(code, Some(130), "{screen:?}");
    let after = screen.rsplit("BTCUSDT").next().unwrap_or_default();
    assert!(!screen.contains("WARN"), "a warning: {screen:?}");
    assert!(!screen.contains("printing what has arrived"), "{screen:?}");
    // The summary stands on a line of its own.
    assert!(
        after
            .lines()
            .any(|l| l.starts_with("interrupted: 1 price in")),
        "{after:?}"
    );
}

#[test]
fn the_watch_table_shows_each_refresh_as_it_comes() {
    let server = MockServer::start();
    let mut pty = Pty::start(
        &format!("--base-url {} --watch 1s BTCUSDT ETHUSDT", server.url()),
        (80, 24),
    );
    pty.wait_for(
        "the first refresh",
        &["every 1s", "BTCUSDT", "97123.45000000"],
    );
    assert_eq!(pty.signal("TERM"), Some(143));
}

#[test]
fn live_tables_show_the_columns_of_their_ticker_kind() {
    let server = streaming(100);
    let mut pty = Pty::start(
        &format!(
            "--base-url {} --stream-url {} --stream --ticker book BTCUSDT",
            server.url(),
            server.stream_url()
        ),
        (100, 24),
    );
    pty.wait_for(
        "a book table",
        &["BID", "BID QTY", "ASK", "ASK QTY", "LAST MOVE"],
    );
    assert_eq!(pty.signal("INT"), Some(130));

    let server = MockServer::start();
    let mut pty = Pty::start(
        &format!(
            "--base-url {} --watch 1s --ticker 24h BTCUSDT",
            server.url()
        ),
        (200, 24),
    );
    let screen = pty.wait_for(
        "a 24h table",
        &[
            "LAST",
            "CHANGE %",
            "HIGH",
            "LOW",
            "VOLUME",
            "QUOTE VOLUME",
            "LAST MOVE",
        ],
    );
    // CHANGE is the 24-hour change (and its %), as in the one-shot table; the move since the
    // last refresh has a word of its own.
    let header = screen.lines().find(|l| l.contains("SYMBOL")).unwrap();
    assert_eq!(header.matches("CHANGE").count(), 2, "{header}");
    assert_eq!(pty.signal("INT"), Some(130));
}

#[test]
fn live_tables_narrow_to_the_terminal_like_the_one_shot_ones() {
    let server = MockServer::start();
    let mut pty = Pty::start(
        &format!(
            "--base-url {} --watch 1s --ticker 24h BTCUSDT ETHUSDT",
            server.url()
        ),
        (80, 24),
    );
    let screen = pty.wait_for("a 24h table at 80 columns", &["LAST", "CHANGE %", "HIGH"]);
    assert!(!screen.contains("QUOTE VOLUME"), "{screen}");
    assert_eq!(pty.signal("INT"), Some(130));
    let screen = pty_screen_lines(&screen);
    for l in screen.lines() {
        assert!(l.chars().count() <= 80, "over 80 columns: {l:?}\n{screen}");
    }
}

#[test]
fn a_narrow_book_table_leaves_out_both_quantities_first() {
    let server = MockServer::start();
    let line = format!(
        "pricefetch --base-url {} --ticker book BTCUSDT ETHUSDT",
        server.url()
    );
    let out = common::on_a_pty(&line, Some((60, 24))).output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("BID") && screen.contains("ASK"), "{screen}");
    assert!(
        !screen.contains("BID QTY") && !screen.contains("ASK QTY"),
        "{screen}"
    );
}

#[test]
fn watch_into_head_ends_quietly_with_0() {
    let server = MockServer::start();
    let script = format!(
        "set -o pipefail; timeout 20 pricefetch --base-url {} --watch 1s BTCUSDT ETHUSDT | head -3",
        server.url()
    );
    let out = assert_cmd::Command::from_std({
        let mut cmd = common::clean("bash");
        cmd.args(["-c", &script]);
        cmd
    })
    .timeout(Duration::from_secs(20))
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(common::stdout(&out).lines().count(), 3);
    assert!(
        !stderr(&out).contains("fell behind"),
        "a closed stdout is not a slow one: {}",
        stderr(&out)
    );
}

/// The terminal's lines as a person sees them: escape sequences and carriage returns out.
fn pty_screen_lines(screen: &str) -> String {
    let mut text = String::new();
    let mut chars = screen.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        if c != '\r' {
            text.push(c);
        }
    }
    text
}

#[test]
fn tests_leave_the_real_home_and_the_temporary_directory_alone() {
    // What is there before: the real ledger directory, and pricefetch's names in /tmp.
    let real_state = std::env::var_os("HOME")
        .map(|h| std::path::PathBuf::from(h).join(".local/state/pricefetch"));
    let listing = |dir: Option<&std::path::Path>| -> Vec<String> {
        let Some(Ok(entries)) = dir.map(std::fs::read_dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.contains("127.0.0.1") || n.starts_with("pricefetch-home"))
            .collect();
        names.sort();
        names
    };
    let tmp = std::env::temp_dir();
    let before = (listing(real_state.as_deref()), listing(Some(&tmp)));
    // A run that writes a ledger, a run from a shell, and a run on a terminal.
    let server = MockServer::start();
    let out = common::pricefetch(&server).arg("BTCUSDT").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shell = common::hermetic_shell()
        .args([
            "-c",
            &format!("pricefetch --base-url {} ETHUSDT", server.url()),
        ])
        .output()
        .unwrap();
    assert_eq!(shell.status.code(), Some(0), "{}", stderr(&shell));
    let line = format!("pricefetch --base-url {} BTCUSDT", server.url());
    common::on_a_pty(&line, Some((80, 24))).output().unwrap();
    let after = (listing(real_state.as_deref()), listing(Some(&tmp)));
    assert_eq!(before, after, "a test wrote outside its scratch directory");
    // The runs' ledgers are in the scratch directory, which goes when the tests end.
    assert!(common::scratch().starts_with(&tmp));
}

#[test]
fn log_lines_wrap_at_words_on_a_narrow_terminal() {
    // A host that refuses: its warnings are long; each breaks at a space, never mid-word.
    let out = common::on_a_pty(
        "pricefetch --base-url http://127.0.0.1:9 --mirror http://localhost:9 -r 1 --retry-delay 1ms BTCUSDT",
        Some((60, 24)),
    )
    .env("NO_COLOR", "1")
    .output()
    .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(screen.contains("WARN"), "{screen}");
    for l in screen.lines() {
        assert!(l.chars().count() <= 60, "over 60 columns: {l:?}\n{screen}");
    }
    assert!(
        screen.contains("\n  "),
        "continuations are indented: {screen}"
    );
    // The failure names the host asked for, not the last mirror tried.
    let joined = screen.replace("\n  ", " ");
    assert!(
        joined.contains("cannot connect to 127.0.0.1:9 (and its mirrors)"),
        "{screen}"
    );
}

#[test]
fn every_error_has_one_prefix_and_every_line_one_form_wrapped_at_spaces() {
    let server = MockServer::start();
    let gap = format!(
        "pricefetch --base-url {} --candles 15m --from 2023-03-24T12:00Z --to \
         2023-03-24T14:00Z -f csv BTCUSDT > /dev/null",
        server.url()
    );
    let lines = [
        gap.as_str(),
        "pricefetch --at 1960-01-01 BTCUSDT",
        "pricefetch --bogus",
    ]
    .join("; ");
    // In a pipe: a usage error, a run's error and a warning, each in its one form.
    let piped = common::hermetic_shell()
        .args(["-c", &format!("{{ {lines}; }} 2>&1")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&piped.stdout);
    let starts = |prefix: &str| text.lines().any(|l| l.starts_with(prefix));
    assert!(starts("WARN BTCUSDT: no candles from"), "{text}");
    assert!(!text.contains(" WARN"), "{text}");
    assert!(
        starts("pricefetch: error: --at 1960-01-01 is 1960-01-01T00:00:00Z, before"),
        "{text}"
    );
    assert!(
        starts("pricefetch: error: unexpected argument '--bogus' found"),
        "{text}"
    );
    // On a terminal of 50 columns: the same forms, broken at spaces, none cut mid-word.
    let out = common::on_a_pty(&lines, Some((50, 24))).output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let plain = |l: &str| {
        let mut s = l.to_owned();
        for code in ["\x1b[33m", "\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[4m"] {
            s = s.replace(code, "");
        }
        s
    };
    let screen: Vec<String> = screen.lines().map(plain).collect();
    assert!(
        screen.iter().all(|l| l.chars().count() <= 50),
        "{screen:#?}"
    );
    assert!(
        screen.iter().any(|l| l == "WARN BTCUSDT: no candles from"),
        "{screen:#?}"
    );
    assert!(
        screen
            .iter()
            .any(|l| l == "pricefetch: error: --at 1960-01-01 is"),
        "{screen:#?}"
    );
    assert!(
        screen.iter().any(|l| l == "  2017-07-14T00:00:00.000Z"),
        "the time whole on a line of its own: {screen:#?}"
    );
    assert!(
        screen
            .iter()
            .any(|l| l.starts_with("pricefetch: error: unexpected argument")),
        "{screen:#?}"
    );
}
