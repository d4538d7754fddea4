//! Network behaviour against the mock Binance on 127.0.0.1:0: what the user sees (stdout,
//! stderr, exit code) and what the server received (how many requests, how many at once, when).

use crate::common;

use std::time::Duration;

use common::{json_report, pricefetch, stderr, stdout};
use mock_binance::{
    ANY, Fault, IN_FLIGHT_GRACE, MockServer, Options, generated_symbols as symbols,
};

fn server_with(extra: usize, latency: Duration) -> MockServer {
    MockServer::start_with(Options {
        extra_symbols: extra,
        latency,
        ..Options::default()
    })
}

#[test]
fn prices_are_the_exact_strings_binance_sent() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["BTCUSDT", "PEPEUSDT", "SHIBUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "BTCUSDT\t97123.45000000\nPEPEUSDT\t0.00000412\nSHIBUSDT\t0.00001234\n"
    );
    let hits = server.hits();
    assert_eq!(hits.len(), 3, "one request per symbol");
    assert!(
        hits.iter()
            .all(|h| h.path == "/api/v3/ticker/price" && h.weight == 2)
    );
    let mut asked: Vec<_> = hits.iter().filter_map(|h| h.symbol.clone()).collect();
    asked.sort();
    assert_eq!(asked, ["BTCUSDT", "PEPEUSDT", "SHIBUSDT"]);
}

#[test]
fn async_mode_holds_exactly_the_concurrency_cap_in_flight() {
    let server = server_with(40, Duration::from_millis(100));
    let out = pricefetch(&server)
        .args(["-c", "8"])
        .args(symbols(40))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 40);
    assert_eq!(server.hits().len(), 40);
    assert_eq!(server.max_in_flight(), 8);
}

#[test]
fn sync_mode_sends_one_request_at_a_time_each_after_the_last_answer() {
    let server = server_with(6, Duration::from_millis(30));
    let out = pricefetch(&server)
        .arg("--sync")
        .args(symbols(6))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.max_in_flight(), 1);
    // Each request arrives no sooner than one server latency after the previous one.
    let hits = server.hits();
    for pair in hits.windows(2) {
        assert!(pair[1].at - pair[0].at >= Duration::from_millis(30));
    }
    assert!(stderr(&out).contains("(sync,"), "{}", stderr(&out));
}

#[test]
fn results_keep_the_input_order_whatever_order_answers_arrive_in() {
    let server = MockServer::start();
    // The first symbol answers last, the last first.
    server.script("BTCUSDT", [Fault::Delay(Duration::from_millis(300))]);
    server.script("ETHUSDT", [Fault::Delay(Duration::from_millis(150))]);
    let out = pricefetch(&server)
        .args(["BTCUSDT", "ETHUSDT", "SOLUSDT", "-f", "json"])
        .output()
        .unwrap();
    let report = json_report(&out);
    let order: Vec<&str> = report.results.iter().map(|r| r.symbol.as_str()).collect();
    assert_eq!(order, ["BTCUSDT", "ETHUSDT", "SOLUSDT"]);
    let arrivals: Vec<String> = server
        .hits()
        .iter()
        .filter_map(|h| h.symbol.clone())
        .collect();
    assert_eq!(arrivals.len(), 3);
}

#[test]
fn a_5xx_then_success_is_retried_and_succeeds() {
    let server = MockServer::start();
    server.script("BTCUSDT", [Fault::Status(503), Fault::Html(502)]);
    let out = pricefetch(&server)
        .args(["BTCUSDT", "ETHUSDT", "-f", "json", "--retry-delay", "10ms"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json_report(&out);
    assert_eq!(report.results[0].price.as_deref(), Some("97123.45000000"));
    assert_eq!(report.results[0].attempts, 3);
    assert_eq!((report.requests, report.retries), (4, 2));
    assert_eq!(server.hits_for("BTCUSDT"), 3);
}

#[test]
fn cut_short_malformed_and_reset_answers_are_retried() {
    let server = MockServer::start();
    server.script(
        "BTCUSDT",
        [Fault::Truncated, Fault::Malformed, Fault::Reset],
    );
    let out = pricefetch(&server)
        .args(["BTCUSDT", "-f", "json", "--retry-delay", "10ms"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_report(&out).results[0].attempts, 4);
    assert_eq!(server.hits_for("BTCUSDT"), 4);
}

#[test]
fn retries_are_bounded_and_the_last_error_is_reported() {
    let server = MockServer::start();
    server.always("BTCUSDT", Fault::Status(500));
    let out = pricefetch(&server)
        .args([
            "BTCUSDT",
            "ETHUSDT",
            "-r",
            "2",
            "--retry-delay",
            "10ms",
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "5xx only: no answer from the server"
    );
    assert_eq!(server.hits_for("BTCUSDT"), 3);
    let report = json_report(&out);
    let err = report.results[0].error.as_ref().unwrap();
    assert_eq!(
        (err.kind.as_str(), err.status, err.code),
        ("server", Some(500), Some(-1001))
    );
    assert_eq!(report.results[0].attempts, 3);
    assert_eq!(report.results[1].price.as_deref(), Some("3412.17000000"));
    common::assert_stderr_has(&out, "BTCUSDT: HTTP 500: server error: -1001");
}

#[test]
fn a_4xx_is_never_retried_and_the_good_prices_are_still_printed() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["BTCUSDT", "NOSUCHCOIN", "ETHUSDT", "-r", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "BTCUSDT\t97123.45000000\nETHUSDT\t3412.17000000\n"
    );
    assert_eq!(server.hits_for("NOSUCHCOIN"), 1);
    let err = stderr(&out);
    assert!(
        err.contains(
            "NOSUCHCOIN: HTTP 400: rejected by Binance: -1121 Invalid symbol. (1 attempt)"
        ),
        "{err}"
    );
    assert!(err.contains("2 prices, 1 failed"), "{err}");
}

#[test]
fn a_hung_request_is_cut_at_the_timeout() {
    let server = MockServer::start();
    server.always("BTCUSDT", Fault::Hang);
    let out = pricefetch(&server)
        .args([
            "BTCUSDT",
            "ETHUSDT",
            "-t",
            "300ms",
            "-r",
            "1",
            "--retry-delay",
            "10ms",
        ])
        .args(["-f", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let report = json_report(&out);
    let err = report.results[0].error.as_ref().unwrap();
    assert_eq!(err.kind, "timeout");
    assert_eq!(err.message, "no answer within 300ms");
    assert_eq!(report.results[0].attempts, 2);
    assert!(
        report.results[0].elapsed_ms >= 600.0,
        "{}",
        report.results[0].elapsed_ms
    );
    assert_eq!(report.results[1].price.as_deref(), Some("3412.17000000"));
    assert_eq!(server.hits_for("BTCUSDT"), 2);
}

#[test]
fn geo_block_exits_5_with_a_hint_naming_the_data_host() {
    let server = MockServer::start();
    server.always(ANY, Fault::GeoBlock);
    let out = pricefetch(&server)
        .args(["BTCUSDT", "ETHUSDT", "-r", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(err.contains("HTTP 451: refused for this location"), "{err}");
    assert!(
        err.contains("--base-url https://data-api.binance.vision"),
        "{err}"
    );
    assert_eq!(server.hits().len(), 2, "451 is not retried");
}

#[test]
fn a_429_pauses_the_whole_run_until_retry_after_and_then_recovers() {
    let server = MockServer::start();
    server.script(
        ANY,
        [Fault::RateLimit {
            retry_after_secs: 1,
        }],
    );
    let list = [
        "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT",
    ];
    let out = pricefetch(&server)
        .args(["-c", "1", "-f", "json"])
        .args(list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_report(&out).ok, 6);
    let hits = server.hits();
    let limited = hits.iter().position(|h| h.status == 429).expect("a 429");
    assert!(hits.iter().all(|h| h.status != 418), "banned: {hits:?}");
    for later in &hits[limited + 1..] {
        assert!(
            later.at - hits[limited].at >= Duration::from_secs(1),
            "a request was sent inside the Retry-After window"
        );
    }
    common::assert_stderr_has(&out, "rate-limited (HTTP 429)");
}

#[test]
fn a_429_stops_every_concurrent_request_not_just_its_own() {
    let server = server_with(30, Duration::from_millis(20));
    server.script(
        ANY,
        [Fault::RateLimit {
            retry_after_secs: 1,
        }],
    );
    let out = pricefetch(&server)
        .args(["-c", "4", "-f", "json"])
        .args(symbols(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hits = server.hits();
    assert!(hits.iter().all(|h| h.status != 418), "banned");
    let limited_at = hits.iter().find(|h| h.status == 429).unwrap().at;
    // Requests already on the wire when the 429 was sent may land just after it; none may
    // arrive after that and before Retry-After has passed.
    let inside = hits
        .iter()
        .filter(|h| h.at > limited_at + IN_FLIGHT_GRACE)
        .filter(|h| h.at < limited_at + Duration::from_secs(1))
        .count();
    assert_eq!(inside, 0);
}

#[test]
fn a_418_ban_stops_all_sending_and_exits_4() {
    let server = MockServer::start();
    server.script(
        ANY,
        [Fault::Ban {
            retry_after_secs: 120,
        }],
    );
    let out = pricefetch(&server)
        .args(["-c", "1", "-f", "json", "BTCUSDT", "ETHUSDT", "SOLUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(server.hits().len(), 1, "nothing is sent after a ban");
    let report = json_report(&out);
    assert!(
        report
            .results
            .iter()
            .all(|r| r.error.as_ref().unwrap().kind == "banned")
    );
    assert_eq!(report.results[1].attempts, 0);
    common::assert_stderr_has(&out, "IP banned by Binance until");
}

#[test]
fn connection_refused_names_the_host_and_exits_3() {
    // Bind and drop to find a port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = common::bare()
        .args(["--base-url", &format!("http://127.0.0.1:{port}")])
        .args(["BTCUSDT", "-r", "1", "--retry-delay", "10ms"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{err}"
    );
    // On this machine, refused means nothing listens: the likely fix is the mock, in one hint,
    // whose command is a line of its own to copy.
    let hint = format!("hint: nothing listens on 127.0.0.1:{port}: is the mock running? Start it");
    assert!(err.contains(&hint), "{err}");
    assert!(
        err.lines()
            .any(|l| l.trim() == "cargo run --release -p mock-binance"),
        "{err}"
    );
    assert!(!err.contains("HTTPS_PROXY"), "{err}");
}

#[test]
fn no_host_answering_is_one_warning_not_one_per_mirror() {
    let dead = || {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("http://127.0.0.1:{port}")
    };
    let out = common::bare()
        .args([
            "--base-url",
            &dead(),
            "--mirror",
            &dead(),
            "--mirror",
            &dead(),
        ])
        .args(["BTCUSDT", "ETHUSDT", "-r", "2", "--retry-delay", "10ms"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert_eq!(err.matches("WARN").count(), 1, "{err}");
    assert!(err.contains("; trying the other hosts"), "{err}");
    assert!(err.contains("(and its mirrors)"), "{err}");
}

#[test]
fn an_explicit_proxy_and_the_proxy_variables_are_honoured() {
    // The mock answers absolute-form proxy requests like a forward proxy would, so a base URL
    // on a dead port only works if the request really went through the proxy.
    let proxy = MockServer::start();
    let dead = "http://127.0.0.1:9";
    common::bare()
        .args([
            "--base-url",
            dead,
            "--proxy",
            proxy.url(),
            "BTCUSDT",
            "-r",
            "0",
        ])
        .assert()
        .success()
        .stdout("BTCUSDT\t97123.45000000\n");
    assert_eq!(proxy.hits_for("BTCUSDT"), 1);

    common::bare()
        .env("HTTP_PROXY", proxy.url())
        .args(["--base-url", dead, "ETHUSDT", "-r", "0"])
        .assert()
        .success()
        .stdout("ETHUSDT\t3412.17000000\n");
    assert_eq!(proxy.hits_for("ETHUSDT"), 1);

    common::bare()
        .env("ALL_PROXY", proxy.url())
        .env("NO_PROXY", "127.0.0.1")
        .args(["--base-url", dead, "SOLUSDT", "-r", "0"])
        .assert()
        .code(3);
    assert_eq!(proxy.hits_for("SOLUSDT"), 0, "NO_PROXY bypasses the proxy");
}

#[test]
fn one_connection_is_reused_across_sequential_requests() {
    let server = MockServer::start();
    pricefetch(&server)
        .args(["--sync", "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"])
        .assert()
        .success();
    assert_eq!(server.hits().len(), 4);
    assert_eq!(server.connections(), 1);
}
