//! `-f openmetrics` (`prometheus`): one gauge family per value, labelled by symbol (and its
//! assets when the cached pairs know them), failures only in the failure families, `# EOF` at
//! the end; and `promtool check metrics` (Debian's prometheus package, installed by .ci/run)
//! accepts every kind of run.

use crate::common;

use common::{pricefetch, promtool, stderr, stdout};
use mock_binance::MockServer;

#[test]
fn prices_failures_and_run_facts_as_gauges() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "-f",
            "openmetrics",
            "-q",
            "BTCUSDT",
            "NOSUCHCOIN",
            "币安人生USDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("# TYPE binance_price gauge\n"), "{text}");
    // No pairs cached: they are asked for once, so the labels are the same as on a warm run.
    assert!(
        text.contains(
            "\nbinance_price{symbol=\"BTCUSDT\",base=\"BTC\",quote=\"USDT\"} 97123.45000000\n"
        ),
        "{text}"
    );
    assert!(text.contains(
        "binance_price{symbol=\"币安人生USDT\",base=\"币安人生\",quote=\"USDT\"} 0.15340000"
    ));
    assert!(
        !text.contains("binance_price{symbol=\"NOSUCHCOIN\""),
        "never a stale price"
    );
    assert!(text.contains("pricefetch_symbol_failed{symbol=\"NOSUCHCOIN\",kind=\"api\"} 1"));
    assert!(text.contains("pricefetch_run_failures{kind=\"api\"} 1"));
    assert!(text.contains("\npricefetch_run_requests "), "{text}");
    assert!(text.contains("\npricefetch_last_success_timestamp_seconds "));
}

#[test]
fn the_label_set_is_the_same_on_a_cold_and_a_warm_state_directory() {
    let server = MockServer::start();
    let state = common::fresh_state_dir();
    let run = || {
        let out = pricefetch(&server)
            .env("PRICEFETCH_STATE_DIR", &state)
            .args(["-f", "openmetrics", "-q", "BTCUSDT"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        text.lines()
            .find(|l| l.starts_with("binance_price{"))
            .unwrap()
            .to_owned()
    };
    let info = || {
        (server.hits().iter())
            .filter(|h| h.path == "/api/v3/exchangeInfo")
            .count()
    };
    let cold = run();
    assert_eq!(info(), 1, "the pairs asked for once");
    let warm = run();
    assert_eq!(info(), 1, "then read from the cache");
    assert_eq!(cold, warm);
    assert!(
        cold.starts_with("binance_price{symbol=\"BTCUSDT\",base=\"BTC\",quote=\"USDT\"}"),
        "{cold}"
    );
}

#[test]
fn the_cached_pairs_label_each_price_with_its_assets() {
    let server = MockServer::start();
    let state = common::fresh_state_dir();
    // An --in run caches the pairs beside the ledger.
    let out = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &state)
        .args(["--in", "EUR", "-q", "BTC"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &state)
        .args(["-f", "prometheus", "-q", "--ticker", "24h", "ETHBTC"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "binance_24h_last_price{symbol=\"ETHBTC\",base=\"ETH\",quote=\"BTC\"} 0.03512000"
        ),
        "{text}"
    );
    assert!(text.contains(
        "binance_24h_price_change_percent{symbol=\"ETHBTC\",base=\"ETH\",quote=\"BTC\"} "
    ));
}

#[test]
fn promtool_accepts_every_kind_of_run() {
    let server = MockServer::start();
    let runs: [&[&str]; 6] = [
        &["BTCUSDT", "ETHUSDT", "NOSUCHCOIN", "币安人生USDT"],
        &["--ticker", "24h", "BTCUSDT", "ETHUSDT"],
        &["--ticker", "book", "BTCUSDT"],
        &["--ticker", "avg", "BTCUSDT"],
        &["--window", "4h", "BTCUSDT"],
        &["--in", "EUR", "BTC", "ADA", "NOPE"],
    ];
    let outputs = runs.iter().map(|args| {
        let out = pricefetch(&server)
            .args(["-f", "openmetrics", "-q"])
            .args(*args)
            .output()
            .unwrap();
        (format!("{args:?}"), out)
    });
    // And a run where nothing answers: only the failures and the run's facts.
    let nothing = common::bare()
        .args([
            "--base-url",
            "http://127.0.0.1:1",
            "-r",
            "0",
            "-q",
            "-f",
            "openmetrics",
        ])
        .arg("BTCUSDT")
        .output()
        .unwrap();
    for (args, out) in outputs.chain([("nothing answers".to_owned(), nothing)]) {
        let text = stdout(&out);
        assert!(text.ends_with("# EOF\n"), "{args:?}: {text}");
        match promtool(&text) {
            Some((ok, said)) => assert!(ok, "{args:?}: promtool refused it: {said}\n{text}"),
            None => {
                eprintln!("skipped promtool: not installed (apt-get install prometheus)");
                return;
            }
        }
    }
    // The check can fail: promtool refuses a broken exposition.
    if let Some((ok, _)) = promtool("bad{\n") {
        assert!(!ok);
    }
}

#[test]
fn live_runs_and_comparisons_are_refused() {
    let server = MockServer::start();
    for args in [
        &["--watch", "1s", "BTCUSDT"][..],
        &["--stream", "BTCUSDT"],
        &["--compare", "BTCUSDT"],
    ] {
        let out = pricefetch(&server)
            .args(["-f", "openmetrics"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}
