//! `--stream`: live updates over the mock's WebSocket streams, with every failure other
//! clients go silent on: closes, stalls, restarts, the 24-hour limit, too many streams for one
//! connection, Binance's 5-messages-a-second rule (hosts that cannot be reached, refusals and
//! hostile servers in stream_failures.rs). Each test checks what the user saw and what the
//! mock's stream side saw.

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{pricefetch, spawnable, stderr, stdout, streaming};
use mock_binance::{MockServer, Options, StreamFault, StreamOptions, generated_symbols};
use serde_json::Value;

/// `pricefetch --stream` against `server`'s REST and stream sides, ndjson out.
pub(crate) fn stream_cmd(server: &MockServer) -> assert_cmd::Command {
    let mut cmd = pricefetch(server);
    cmd.env_remove("PRICEFETCH_STRATEGY").args([
        "--stream",
        "--stream-url",
        &server.stream_url(),
        "-f",
        "ndjson",
    ]);
    cmd
}

pub(crate) fn lines(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

pub(crate) fn updates(out: &std::process::Output) -> Vec<Value> {
    lines(out)
        .into_iter()
        .filter(|v| v["snapshot"] == false)
        .collect()
}

#[test]
fn the_snapshot_comes_first_then_updates_for_every_symbol_in_order_of_arrival() {
    let server = streaming(50);
    let out = stream_cmd(&server)
        .args(["--count", "9", "BTCUSDT", "ETHUSDT", "PEPEUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = lines(&out);
    let first: Vec<&str> = all[..3]
        .iter()
        .map(|v| v["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(first, ["BTCUSDT", "ETHUSDT", "PEPEUSDT"]);
    assert!(
        all[..3]
            .iter()
            .all(|v| v["snapshot"] == true && v["event_time"].is_null())
    );
    assert_eq!(all[0]["price"], "97123.45000000");
    let updates = updates(&out);
    assert_eq!(updates.len(), 9);
    for symbol in ["BTCUSDT", "ETHUSDT", "PEPEUSDT"] {
        let times: Vec<u64> = updates
            .iter()
            .filter(|v| v["symbol"] == symbol)
            .map(|v| v["event_time"].as_u64().unwrap())
            .collect();
        assert!(!times.is_empty(), "no update for {symbol}");
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{symbol}: {times:?}");
    }
    // Prices move, and stay the exact strings sent.
    assert!(updates.iter().all(|v| {
        v["price"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap()
            .len()
            == 8
    }));
    let stats = server.stream_stats();
    assert_eq!((stats.connections, stats.streams[0]), (1, 3));
    common::assert_stderr_has(&out, "9 updates from 3 symbols");
}

/// 30 updates of BTCUSDT and ETHUSDT over a connection the mock closes after 300 ms.
fn closed_once() -> (mock_binance::MockServer, std::process::Output) {
    let server = streaming(50);
    server.script_streams([Some(StreamFault::CloseAfter(Duration::from_millis(300)))]);
    let out = stream_cmd(&server)
        .args(["--count", "30", "BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (server, out)
}

#[test]
fn ndjson_says_what_a_reconnect_missed_before_the_first_update_after_it() {
    let (_server, out) = closed_once();
    let all = lines(&out);
    for symbol in ["BTCUSDT", "ETHUSDT"] {
        let at = all
            .iter()
            .position(|v| v["type"] == "gap" && v["symbol"] == symbol)
            .unwrap_or_else(|| panic!("no gap record for {symbol}: {all:?}"));
        let gap = &all[at];
        assert_eq!(gap["reconnect"], 1);
        let (from, to) = (gap["from"].as_u64().unwrap(), gap["to"].as_u64().unwrap());
        assert!(from < to, "{gap}");
        assert!(gap["from_time"].as_str().unwrap().ends_with('Z'));
        // Every update of the symbol before the record came on the first connection, and the
        // first one after it on the second.
        let mut before = all[..at]
            .iter()
            .filter(|v| v["symbol"] == symbol && v["type"].is_null());
        assert!(before.clone().all(|v| v["reconnects"] == 0));
        assert_eq!(
            before.next_back().unwrap()["event_time"].as_u64(),
            Some(from)
        );
        let after = all[at + 1..]
            .iter()
            .find(|v| v["symbol"] == symbol)
            .expect("an update after the gap");
        assert_eq!(
            (after["reconnects"].as_u64(), after["event_time"].as_u64()),
            (Some(1), Some(to))
        );
    }
    assert_eq!(
        all.iter().filter(|v| v["type"] == "gap").count(),
        2,
        "one a symbol"
    );
}

#[test]
fn a_closed_connection_is_reopened_and_the_gap_reported() {
    let (server, out) = closed_once();
    assert_eq!(server.stream_stats().connections, 2);
    let err = stderr(&out);
    assert_eq!(
        err.matches("reconnected after a gap of").count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("the server closed the connection (1001"),
        "{err}"
    );
    let last = updates(&out).pop().unwrap();
    assert_eq!(last["reconnects"], 1);
}

#[test]
fn a_connection_that_goes_silent_is_replaced() {
    let server = streaming(50);
    server.script_streams([Some(StreamFault::StallAfter(Duration::from_millis(200)))]);
    let started = Instant::now();
    let out = stream_cmd(&server)
        .args(["--stale", "1s", "--count", "20", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(server.stream_stats().connections, 2);
    common::assert_stderr_has(&out, "reconnected after a gap of");
    common::assert_stderr_has(&out, "(no data for 1s)");
}

#[test]
fn more_than_1024_symbols_take_two_connections_and_few_control_messages() {
    let server = MockServer::start_with(Options {
        extra_symbols: 1200,
        streams: StreamOptions {
            interval: Duration::from_millis(200),
            ..StreamOptions::default()
        },
        ..Options::default()
    });
    let out = stream_cmd(&server)
        .args(["--count", "2400", "--max-weight", "100000"])
        .args(generated_symbols(1200))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = server.stream_stats();
    let mut streams = stats.streams.clone();
    streams.sort_unstable();
    assert_eq!(streams, [176, 1024]);
    assert!(
        stats.max_per_second <= 5,
        "{} messages in a second",
        stats.max_per_second
    );
    assert_eq!(stats.closed_for_rate, 0);
    // 1,024 names do not fit in a URL: one SUBSCRIBE per connection, not one per stream.
    assert!(
        stats.subscribe_messages <= 2,
        "{} SUBSCRIBEs",
        stats.subscribe_messages
    );
    assert_eq!(stdout(&out).lines().count(), 1200 + 2400);
}

#[test]
fn pings_are_answered() {
    let server = MockServer::start_with(Options {
        streams: StreamOptions {
            interval: Duration::from_millis(50),
            ping_every: Duration::from_millis(300),
            pong_timeout: Duration::from_millis(800),
            ..StreamOptions::default()
        },
        ..Options::default()
    });
    let out = stream_cmd(&server)
        .args(["--count", "40", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = server.stream_stats();
    assert!(stats.pongs >= 4, "{} pongs", stats.pongs);
    assert_eq!(stats.connections, 1, "dropped for not answering pings");
}

#[test]
fn a_connection_is_replaced_before_its_lifetime_ends_without_a_gap() {
    let server = MockServer::start_with(Options {
        streams: StreamOptions {
            interval: Duration::from_millis(50),
            lifetime: Duration::from_millis(1200),
            ..StreamOptions::default()
        },
        ..Options::default()
    });
    let out = stream_cmd(&server)
        .args(["--stream-rollover", "700ms", "--count", "50", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(server.stream_stats().connections >= 3);
    let err = stderr(&out);
    assert!(
        !err.contains("reconnected"),
        "a rollover is no reconnect: {err}"
    );
    let times: Vec<u64> = updates(&out)
        .iter()
        .map(|v| v["event_time"].as_u64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicates"
    );
    let widest = times.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(widest < 200, "a gap of {widest} ms at 50 ms a tick");
}

#[test]
fn a_server_shutdown_notice_moves_to_a_new_connection_first() {
    let server = streaming(50);
    server.script_streams([Some(StreamFault::ShutdownAfter(Duration::from_millis(300)))]);
    let out = stream_cmd(&server)
        .args(["-v", "--count", "20", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.stream_stats().connections, 2);
    common::assert_stderr_has(&out, "replaced its connection without a gap");
}

#[test]
fn until_exits_as_soon_as_the_condition_holds() {
    let server = streaming(50);
    // BTCUSDT starts at 97123.45 and rises by about 0.97 an update.
    let out = stream_cmd(&server)
        .args(["--until", "BTCUSDT >= 97125.3", "BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let last = lines(&out).pop().unwrap();
    assert_eq!(last["symbol"], "BTCUSDT");
    assert_eq!(last["price"], "97125.39246900");
    common::assert_stderr_has(&out, "meets --until 'BTCUSDT >= 97125.3'");
}

#[test]
fn until_works_with_watch_too() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--watch",
            "1s",
            "--until",
            "ETHUSDT < 3412.17000001",
            "BTCUSDT",
            "ETHUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().count(),
        2,
        "one refresh, then it stopped"
    );
}

#[test]
fn bad_conditions_and_impossible_streams_are_usage_errors_before_anything_is_sent() {
    let server = streaming(50);
    for (args, says) in [
        (
            &["--stream", "--until", "BTCUSDT >>= 5", "BTCUSDT"][..],
            "'>>=' is not a comparison",
        ),
        (
            &["--stream", "--until", "SOLUSDT > 5", "BTCUSDT"],
            "not one of the symbols fetched",
        ),
        (
            &["--until", "BTCUSDT > 5", "BTCUSDT"],
            "--until goes with --stream or --watch",
        ),
        (
            &["--stream", "-f", "json", "BTCUSDT"],
            "--stream writes an update at a time",
        ),
        (
            &["--stream", "--all", "--ticker", "24h"],
            "retired the all-market ticker",
        ),
        (
            &["--stream", "--stream-url", "http://x", "BTCUSDT"],
            "invalid --stream-url",
        ),
    ] {
        let out = pricefetch(&server).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    assert!(server.hits().is_empty());
    assert_eq!(server.stream_stats().connections, 0);
}

#[test]
fn unknown_symbols_are_named_by_the_snapshot_and_the_rest_streamed() {
    let server = streaming(50);
    let out = stream_cmd(&server)
        .args(["--count", "3", "BTCUSDT", "NOSUCHCOIN"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    common::assert_stderr_has(&out, "NOSUCHCOIN");
    assert!(updates(&out).iter().all(|v| v["symbol"] == "BTCUSDT"));
    assert_eq!(server.stream_stats().streams, [1]);
}

#[test]
fn the_whole_market_streams_its_mini_tickers_filtered() {
    let server = streaming(100);
    let out = stream_cmd(&server)
        .args(["--all", "--quote", "BTC", "--count", "8"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        lines(&out)
            .iter()
            .all(|v| v["symbol"].as_str().unwrap().ends_with("BTC"))
    );
    assert_eq!(updates(&out).len(), 8);
    // The pairs --quote filtered out of the whole market's stream are left out as asked: no
    // warning, a line with -v.
    assert!(!stderr(&out).contains("WARN"), "{}", stderr(&out));
    let out = stream_cmd(&server)
        .args(["-v", "--all", "--quote", "BTC", "--count", "8"])
        .output()
        .unwrap();
    common::assert_stderr_has(&out, "for pairs --quote or --match filtered");
}

#[test]
fn ctrl_c_and_sigterm_end_a_stream_with_130_and_143() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let server = streaming(50);
        let mut cmd = spawnable(&server);
        cmd.env_remove("PRICEFETCH_STRATEGY")
            .args([
                "--stream",
                "--stream-url",
                &server.stream_url(),
                "-f",
                "ndjson",
                "BTCUSDT",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        let out = common::signal_when(
            child,
            "updates being sent",
            || server.stream_stats().sent >= 3,
            signal,
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "SIG{signal}: {}",
            stderr(&out)
        );
        assert!(updates(&out).len() >= 2, "what arrived was printed");
    }
}

#[test]
fn a_deadline_ends_a_stream_with_success_once_updates_arrived() {
    let server = streaming(50);
    let out = stream_cmd(&server)
        .args(["--deadline", "600ms", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(updates(&out).len() >= 3);
}

#[test]
fn a_server_that_drops_the_client_for_unanswered_pings_is_reconnected_to() {
    let server = MockServer::start_with(Options {
        streams: StreamOptions {
            interval: Duration::from_millis(50),
            ping_every: Duration::from_millis(200),
            pong_timeout: Duration::from_millis(500),
            ..StreamOptions::default()
        },
        ..Options::default()
    });
    // The first connection takes no notice of the pongs, so the server drops it.
    server.script_streams([Some(StreamFault::IgnorePongs)]);
    let out = stream_cmd(&server)
        .args(["--count", "30", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.stream_stats().connections, 2);
    common::assert_stderr_has(&out, "Pong timeout");
}

/// Streams `count` updates of BTCUSDT from a server playing `fault`: none of them shows
/// `absent`, and stderr says `said`.
fn left_out_and_said(fault: StreamFault, count: usize, absent: &str, said: &str) {
    let server = streaming(50);
    server.script_streams([Some(fault)]);
    let out = stream_cmd(&server)
        .args(["--count", &count.to_string(), "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).contains(absent), "{}", stdout(&out));
    assert_eq!(updates(&out).len(), count);
    common::assert_stderr_has(&out, said);
}

#[test]
fn a_streamed_value_that_is_not_a_price_is_left_out_and_said() {
    left_out_and_said(
        StreamFault::BadPrices,
        4,
        "NaN",
        "left out an update that is not a price",
    );
}

#[test]
fn the_whole_market_stream_shows_trading_pairs_only() {
    // As Binance: the all-market array never carries a pair that does not trade.
    let server = streaming(100);
    let out = stream_cmd(&server)
        .args(["--all", "--quote", "USDT", "--deadline", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("\"BTCUSDT\""), "{text}");
    for delisted in ["XMRUSDT", "LUNAUSDT"] {
        assert!(!text.contains(delisted), "{delisted} streamed:\n{text}");
    }
    // A server that sends them anyway: left out, counted and said, never shown.
    let server = streaming(100);
    server.script_streams([Some(StreamFault::EveryPair)]);
    let out = stream_cmd(&server)
        .args(["--all", "--quote", "USDT", "--deadline", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("\"BTCUSDT\"") && !text.contains("XMRUSDT"),
        "{text}"
    );
    common::assert_stderr_has(&out, "for pairs that do not trade");
    assert!(!stderr(&out).contains("listed since"), "{}", stderr(&out));
}

#[test]
fn updates_for_streams_never_subscribed_are_left_out_and_counted() {
    left_out_and_said(
        StreamFault::ForeignSymbol,
        6,
        "EVILUSDT",
        "for streams not subscribed",
    );
}
