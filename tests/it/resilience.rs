//! Resilience: the run never gets the IP banned, never hangs, never loses a result, whatever the
//! server or the input does. Each test checks what the user saw and what the mock received.

use crate::common;

use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{json_report, pricefetch, stderr, stdout};
use mock_binance::{ANY, Fault, MockServer, Options, generated_symbols as symbols};

/// Binance's weight window is the wall-clock minute. Tests that fill it must not straddle a
/// minute boundary, so they start with at least 15 s of the minute left.
fn start_early_in_a_minute() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = now.as_secs_f64() % 60.0;
    if into > 45.0 {
        std::thread::sleep(Duration::from_secs_f64(60.0 - into + 0.2));
    }
}

/// A 20-weight minute (19 usable), no patience, one request at a time, JSON out.
const TIGHT_BUDGET: [&str; 8] = [
    "--weight-limit",
    "20",
    "--max-wait",
    "2s",
    "-c",
    "1",
    "-f",
    "json",
];

fn weight_limited(limit: u32, extra: usize) -> MockServer {
    MockServer::start_with(Options {
        weight_limit: limit,
        extra_symbols: extra,
        ..Options::default()
    })
}

#[test]
fn the_deadline_ends_a_run_against_a_server_that_never_answers() {
    let server = MockServer::start();
    server.always("ETHUSDT", Fault::Hang);
    let out = pricefetch(&server)
        .args([
            "--deadline",
            "700ms",
            "-t",
            "30s",
            "-f",
            "json",
            "BTCUSDT",
            "ETHUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let r = json_report(&out);
    assert!(r.deadline_hit && !r.interrupted);
    assert_eq!(r.results[0].price.as_deref(), Some("97123.45000000"));
    let err = r.results[1].error.as_ref().unwrap();
    assert_eq!(err.kind, "timeout");
    assert!(err.message.contains("deadline of 700ms"), "{}", err.message);
    common::assert_stderr_has(&out, "deadline passed");
}

#[test]
fn the_deadline_marks_symbols_never_started_as_timed_out() {
    let server = MockServer::start();
    server.always(ANY, Fault::Hang);
    let out = pricefetch(&server)
        .args([
            "--deadline",
            "300ms",
            "-c",
            "1",
            "-f",
            "csv",
            "BTCUSDT",
            "ETHUSDT",
            "SOLUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = stdout(&out);
    assert_eq!(
        text.matches("the run's deadline of 300ms passed").count(),
        3,
        "{text}"
    );
    assert_eq!(server.hits().len(), 1, "-c 1: only the first was ever sent");
}

#[test]
fn a_retry_after_longer_than_max_wait_fails_the_rest_with_exit_4_and_says_when() {
    let server = MockServer::start();
    server.script(
        ANY,
        [Fault::RateLimit {
            retry_after_secs: 120,
        }],
    );
    let out = pricefetch(&server)
        .args([
            "--max-wait",
            "2s",
            "-c",
            "1",
            "-f",
            "json",
            "BTCUSDT",
            "ETHUSDT",
            "SOLUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(server.hits().len(), 1, "nothing is sent inside the window");
    let r = json_report(&out);
    for res in &r.results {
        assert_eq!(res.error.as_ref().unwrap().kind, "rate_limited", "{res:?}");
    }
    let err = stderr(&out);
    assert!(err.contains("longer than --max-wait 2s"), "{err}");
    assert!(
        err.contains("wait until 20"),
        "an absolute time to try again: {err}"
    );
}

#[test]
fn the_run_waits_for_the_next_minute_rather_than_spend_past_the_weight_limit() {
    start_early_in_a_minute();
    let server = weight_limited(20, 15);
    let out = pricefetch(&server)
        .args(TIGHT_BUDGET)
        .args(symbols(15))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let hits = server.hits();
    assert!(
        hits.iter().all(|h| h.status == 200),
        "the server never had to refuse: {hits:?}"
    );
    // 5% margin: 19 of 20 usable, so 9 requests of weight 2.
    assert_eq!(hits.len(), 9);
    let r = json_report(&out);
    assert_eq!((r.ok, r.weight, r.used_weight), (9, 18, Some(18)));
    assert_eq!(r.results[9].error.as_ref().unwrap().kind, "rate_limited");
    common::assert_stderr_has(&out, "weight is spent");
}

#[test]
fn weight_spent_by_other_processes_on_the_ip_is_taken_from_the_header() {
    start_early_in_a_minute();
    let server = weight_limited(20, 15);
    // Another process spends 10 of the minute's 20 first.
    pricefetch(&server).args(symbols(5)).assert().success();
    let out = pricefetch(&server)
        .args(TIGHT_BUDGET)
        .args(&symbols(15)[5..])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let hits = server.hits();
    assert!(hits.iter().all(|h| h.status == 200), "{hits:?}");
    // 10 used before; 12, 14, 16, 18 by this run; 20 would pass the 19 budget.
    assert_eq!(hits.len(), 5 + 4);
    assert_eq!(json_report(&out).used_weight, Some(18));
}

#[test]
fn the_budget_guard_refuses_an_expensive_run_before_any_request() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--max-weight",
            "10",
            "BTCUSDT",
            "ETHUSDT",
            "SOLUSDT",
            "BNBUSDT",
            "XRPUSDT",
            "ADAUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("about 12 request weight") && err.contains("--max-weight 12"),
        "{err}"
    );
    assert!(server.hits().is_empty());
    let out = pricefetch(&server)
        .args(["--compare", "--max-weight", "20", "BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "compare counts every round of both modes"
    );
    common::assert_stderr_has(&out, "about 32 request weight");
}

#[test]
fn a_huge_body_is_refused_not_retried() {
    let server = MockServer::start();
    server.always("BTCUSDT", Fault::Huge(1 << 20));
    let out = pricefetch(&server)
        .args(["-f", "json", "BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = json_report(&out);
    let err = r.results[0].error.as_ref().unwrap();
    assert_eq!((err.kind.as_str(), err.status), ("too_large", Some(200)));
    assert!(err.message.contains("65536 bytes"), "{}", err.message);
    assert_eq!(server.hits_for("BTCUSDT"), 1);
    assert_eq!(r.results[1].price.as_deref(), Some("3412.17000000"));
}

#[test]
fn a_body_that_trickles_is_cut_at_the_timeout_and_retried() {
    let server = MockServer::start();
    server.script("BTCUSDT", [Fault::SlowBody(Duration::from_millis(100))]);
    let out = pricefetch(&server)
        .args([
            "-t",
            "400ms",
            "--retry-delay",
            "10ms",
            "-f",
            "json",
            "BTCUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_report(&out).results[0].attempts, 2);
}

#[test]
fn every_price_survives_a_flaky_server() {
    let server = MockServer::start_with(Options {
        extra_symbols: 80,
        fault_rate: 0.2,
        seed: 7,
        ..Options::default()
    });
    let out = pricefetch(&server)
        .args(["-r", "6", "--retry-delay", "5ms", "-c", "8", "-f", "json"])
        .args(symbols(80))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!(r.ok, 80);
    assert!(r.retries > 0, "a 20% fault rate must cost retries");
    assert_eq!(r.requests as usize, server.hits().len());
    assert!(server.hits().iter().all(|h| h.status != 418), "banned");
}

#[test]
fn an_unknown_host_is_named_with_the_cause() {
    let out = common::bare()
        .args([
            "--base-url",
            "https://nonexistent.invalid",
            "-r",
            "0",
            "-t",
            "5s",
            "BTCUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("cannot connect to nonexistent.invalid"),
        "{err}"
    );
    assert!(err.contains("--base-url"), "{err}");
    assert!(
        err.contains("cargo run --release -p mock-binance"),
        "no network: the offline mock is suggested: {err}"
    );
}

#[test]
fn a_closed_stderr_does_not_crash_the_run_or_change_its_exit_code() {
    let server = MockServer::start();
    server.script(
        ANY,
        [Fault::RateLimit {
            retry_after_secs: 1,
        }],
    );
    let mut child = common::spawnable(&server)
        .args(["-v", "BTCUSDT", "NOSUCHCOIN"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a panic would be 101");
    assert_eq!(stdout(&out), "BTCUSDT\t97123.45000000\n");
}

#[test]
fn a_429_does_not_use_up_the_symbols_retries() {
    let server = MockServer::start();
    server.script(
        "BTCUSDT",
        [Fault::RateLimit {
            retry_after_secs: 1,
        }],
    );
    let out = pricefetch(&server)
        .args(["-r", "0", "-f", "json", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!((r.results[0].attempts, r.retries), (2, 1));
    let hits = server.hits();
    assert!(
        hits[1].at - hits[0].at >= Duration::from_secs(1),
        "resent inside Retry-After"
    );
}

#[test]
fn a_tls_failure_is_named_as_such_with_the_host() {
    // Speaking TLS to the plain-http mock fails the handshake.
    let server = MockServer::start();
    let url = server.url().replace("http://", "https://");
    let out = common::bare()
        .args(["--base-url", &url, "-r", "0", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    let host = url.trim_start_matches("https://");
    assert!(
        err.contains(&format!("cannot connect to {host}: TLS handshake failed")),
        "{err}"
    );
}
