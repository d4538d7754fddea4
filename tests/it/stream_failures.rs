//! `--stream` when things go wrong: a host that cannot be reached, REST here and streams at
//! Binance, live flags that do not go together, a reader slower than the stream, a 429 or 418
//! on the upgrade, a server that only errs or sends huge frames, one whose clock lags, one that
//! drops every connection. Each test checks what the user saw and what the mock's stream side
//! saw.

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{pricefetch, spawnable, stderr, streaming};
use mock_binance::{MockServer, Options, StreamFault, StreamOptions};

use crate::stream::{stream_cmd, updates};

#[test]
fn a_stream_that_cannot_connect_says_why_and_when_it_tries_again() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .env_remove("PRICEFETCH_STRATEGY")
        .args([
            "--stream",
            "--stream-url",
            "ws://127.0.0.1:9",
            "--deadline",
            "2s",
        ])
        .args(["-f", "ndjson", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    // Once per kind of failure at default verbosity, with the reason and the next try.
    assert_eq!(err.matches("cannot connect").count(), 1, "{err}");
    assert!(
        err.contains("refused") && err.contains("trying 127.0.0.1:9 in"),
        "{err}"
    );
    // The summary counts connections that opened, and attempts that failed.
    assert!(err.contains("0 connections opened"), "{err}");
    assert!(
        err.contains("attempts failed") || err.contains("attempt failed"),
        "{err}"
    );
}

#[test]
fn rest_on_this_machine_with_binances_stream_host_is_pointed_out() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .env_remove("PRICEFETCH_STRATEGY")
        .args(["--stream", "--deadline", "1s", "-f", "ndjson", "BTCUSDT"])
        .output()
        .unwrap();
    common::assert_stderr_has(&out, "for the mock set PRICEFETCH_STREAM_URL");
}

#[test]
fn usage_errors_of_live_runs_say_what_is_wrong() {
    for (args, says) in [
        (
            &["--stream", "--stale", "1ms", "BTCUSDT"][..],
            "shorter than a second",
        ),
        (
            &["--watch", "1s", "--until", "BTCUSDT => 5", "BTCUSDT"],
            "'=>' is not a comparison",
        ),
        (
            &["--watch", "1s", "--until", "BTCUSDT >= 5,", "BTCUSDT"],
            "a stray comma?",
        ),
    ] {
        let out = common::bare().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_reader_slower_than_the_stream_never_blocks_signals_and_drops_are_said() {
    // 500 symbols every 20 ms, and a reader that never reads: the pipe fills in a moment.
    let server = MockServer::start_with(Options {
        extra_symbols: 500,
        streams: StreamOptions {
            interval: Duration::from_millis(20),
            ..StreamOptions::default()
        },
        ..Options::default()
    });
    let mut cmd = spawnable(&server);
    cmd.env_remove("PRICEFETCH_STRATEGY")
        .args(["--stream", "--stream-url", &server.stream_url()])
        .args(["--all", "-f", "ndjson"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr_pipe, &mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.stream_stats().sent < 100 {
        assert!(Instant::now() < deadline, "the stream never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Long enough for the pipe to fill and the consumer to say it is behind.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(child.try_wait().unwrap().is_none(), "still running");
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "SIGTERM ignored behind a stuck reader"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(stdout);
    let err = said.join().unwrap();
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(err.contains("the output is behind the stream"), "{err}");
    assert!(err.contains("overtaken by newer ones"), "{err}");
}

/// `--stream ARGS` against a mock that refuses the first upgrade with `status` (for `secs`),
/// sharing a fresh ledger directory: the server, the directory, what the run printed.
fn refused_upgrade(
    status: u16,
    secs: u64,
    args: &[&str],
) -> (MockServer, std::path::PathBuf, std::process::Output) {
    let server = streaming(50);
    server.script_streams([Some(StreamFault::Refuse { status, secs })]);
    let dir = common::fresh_state_dir();
    let out = stream_cmd(&server)
        .env("PRICEFETCH_STATE_DIR", &dir)
        .args(args)
        .output()
        .unwrap();
    (server, dir, out)
}

#[test]
fn a_429_or_418_on_the_upgrade_follows_the_rest_rules() {
    // 429: the pause is kept (and shared through the ledger); the stream waits it out.
    let (server, _dir, out) = refused_upgrade(429, 1, &["--count", "3", "BTCUSDT"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    common::assert_stderr_has(&out, "rate-limited (HTTP 429)");
    common::assert_stderr_has(&out, "HTTP 429 Too Many Requests on the upgrade");
    let stats = server.stream_stats();
    assert_eq!((stats.refused, stats.connections), (1, 1));
    // 418: a ban for the host; the stream ends with exit 4, and the next run sends nothing.
    let (server, dir, out) = refused_upgrade(418, 120, &["--deadline", "10s", "BTCUSDT"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(server.stream_stats().connections, 0);
    let hits = server.hits().len();
    let after = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &dir)
        .arg("BTCUSDT")
        .output()
        .unwrap();
    assert_eq!(after.status.code(), Some(4), "{}", stderr(&after));
    assert_eq!(server.hits().len(), hits, "sent during the ban");
}

#[test]
fn a_server_that_only_errs_or_sends_huge_frames_is_said_not_silent() {
    let server = streaming(100);
    server.script_streams(std::iter::repeat_n(Some(StreamFault::ErrorOnly), 6));
    let out = stream_cmd(&server)
        .args(["--stale", "1s", "--deadline", "3s", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.matches("answered with an error: 2 Invalid request")
            .count(),
        1,
        "{err}"
    );
    assert!(err.contains("no data for 1s; reconnecting"), "{err}");
    // A frame over the 16 MiB cap breaks the connection: said, and reconnected.
    let server = streaming(100);
    server.script_streams([Some(StreamFault::Oversize)]);
    let out = stream_cmd(&server)
        .args(["--count", "3", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("the connection broke"), "{err}");
    assert!(err.contains("(2 connections opened, 1 reconnect"), "{err}");
}

#[test]
fn updates_after_a_reconnect_to_a_lagging_server_are_shown_not_dropped() {
    // The second connection's event times run 3 s behind the first's: news all the same
    // (only a replacement's overlap repeats anything).
    let server = streaming(50);
    server.script_streams([
        Some(StreamFault::CloseAfter(Duration::from_millis(400))),
        Some(StreamFault::ClockBehind(Duration::from_secs(3))),
    ]);
    let out = stream_cmd(&server)
        .args(["--count", "20", "--deadline", "2s", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(updates(&out).len(), 20, "{}", stderr(&out));
    assert!(!stderr(&out).contains("repeated"), "{}", stderr(&out));
    assert_eq!(server.stream_stats().connections, 2);
}

#[test]
fn a_server_that_drops_every_connection_sees_fewer_and_fewer_attempts() {
    // Each connection delivers once and is closed: none lives the 30 s that would make it
    // healthy, so the backoff keeps growing (250 ms, 500 ms, 1 s, 2 s, … with full jitter).
    let server = streaming(50);
    server.script_streams(std::iter::repeat_n(
        Some(StreamFault::CloseAfter(Duration::from_millis(60))),
        100,
    ));
    let out = stream_cmd(&server)
        .args(["--deadline", "4s", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let connections = server.stream_stats().connections;
    // A backoff that restarted after each delivery would have made about 20 in 4 s.
    assert!(
        (3..=12).contains(&connections),
        "{connections} connections in 4 s"
    );
}
