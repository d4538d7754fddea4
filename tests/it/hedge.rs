//! First answer wins across hosts (`--hedge`, `--mirror`), and failover to a mirror.

use crate::common;

use std::time::{Duration, Instant};

use common::{json_report, pricefetch, stderr};
use mock_binance::{ANY, Fault, MockServer};

/// The server notices a dropped connection on its own time; wait a little for it.
fn eventually(what: &str, check: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < until, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_slow_host_is_overtaken_by_a_mirror_and_its_request_cancelled() {
    let slow = MockServer::with_latency(Duration::from_secs(3));
    let fast = MockServer::with_latency(Duration::from_millis(20));
    let out = pricefetch(&slow)
        .args([
            "--mirror",
            fast.url(),
            "--hedge",
            "100ms",
            "-f",
            "json",
            "BTCUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!(r.results[0].price.as_deref(), Some("97123.45000000"));
    assert_eq!(
        (r.requests, r.hedged_requests, r.weight),
        (2, 1, 4),
        "a hedge costs weight"
    );
    // Far under the slow host's 3 s: the mirror's answer won.
    assert!(r.elapsed_ms < 2000.0, "{}", r.elapsed_ms);
    assert_eq!((slow.hits().len(), fast.hits().len()), (1, 1));
    eventually("the slow host saw its request dropped", || {
        slow.cancelled() == 1
    });
    assert_eq!(fast.cancelled(), 0);
    common::assert_stderr_has(&out, "1 hedged to mirrors");
}

#[test]
fn no_hedge_is_sent_when_the_first_host_answers_in_time() {
    let base = MockServer::with_latency(Duration::from_millis(10));
    let mirror = MockServer::start();
    let out = pricefetch(&base)
        .args([
            "--mirror",
            mirror.url(),
            "--hedge",
            "2s",
            "-f",
            "json",
            "BTCUSDT",
            "ETHUSDT",
        ])
        .output()
        .unwrap();
    let r = json_report(&out);
    assert_eq!((r.ok, r.hedged_requests), (2, 0));
    assert!(mirror.hits().is_empty());
}

#[test]
fn a_failing_host_is_skipped_for_the_rest_of_the_run() {
    let broken = MockServer::start();
    broken.always(ANY, Fault::Status(503));
    let mirror = MockServer::start();
    let out = pricefetch(&broken)
        .args([
            "--mirror",
            mirror.url(),
            "-c",
            "1",
            "--retry-delay",
            "5ms",
            "-f",
            "json",
        ])
        .args(["BTCUSDT", "ETHUSDT", "SOLUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_report(&out).ok, 3);
    assert_eq!(broken.hits().len(), 1, "asked once, then skipped");
    assert_eq!(mirror.hits().len(), 3);
    common::assert_stderr_has(&out, "; trying the other hosts");
}

#[test]
fn hedging_needs_a_mirror() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--hedge", "100ms", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    common::assert_stderr_has(&out, "--mirror");
    let out = pricefetch(&server)
        .args(["--mirror", "http://example.com", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a mirror is held to the base URL's rules"
    );
    common::assert_stderr_has(&out, "invalid --mirror");
}
