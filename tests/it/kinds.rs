//! The other price kinds: the 5-minute average (`--ticker avg`), the rolling window
//! (`--window`) and the trading day (`--ticker day --tz`), with their endpoints, parameters,
//! weights and batching on the wire, and the bad input refused before anything is sent.

use crate::common;

use common::{pricefetch, stderr, stdout};
use mock_binance::MockServer;

fn json(out: &std::process::Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_average_is_asked_one_symbol_at_a_time_with_its_minutes_and_time() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--ticker", "avg", "-f", "json", "BTCUSDT", "ETHUSDT", "PEPEUSDT",
        ])
        .output()
        .unwrap();
    let r = json(&out);
    assert_eq!(r["ticker"], "avg");
    assert_eq!(
        (r["requests"].as_u64(), r["weight"].as_u64()),
        (Some(3), Some(6))
    );
    let btc = &r["results"][0];
    assert_eq!(btc["symbol"], "BTCUSDT");
    // The mock's average is 0.9995 of the price: 97123.45 × 0.9995.
    assert_eq!(btc["price"], "97074.88827500");
    assert_eq!(btc["mins"], 5);
    assert!(btc["price_time"].is_string());
    let hits = server.hits();
    assert_eq!(hits.len(), 3);
    for h in &hits {
        assert_eq!(h.path, "/api/v3/avgPrice");
        assert!(h.symbol.is_some() && h.symbols.is_none(), "{h:?}");
        assert!(
            h.symbol_status.is_none(),
            "avgPrice takes no symbolStatus: {h:?}"
        );
        assert_eq!(h.weight, 2);
    }
    let plain = stdout(
        &pricefetch(&server)
            .args(["--ticker", "avg", "-f", "plain", "-q", "BTCUSDT"])
            .output()
            .unwrap(),
    );
    assert_eq!(plain, "BTCUSDT\t97074.88827500\t5\n");
}

#[test]
fn an_unknown_symbol_fails_alone_with_the_average_too() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--ticker", "avg", "-f", "csv", "BTCUSDT", "NOSUCHCOIN"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let csv = stdout(&out);
    assert!(csv.starts_with("symbol,price,mins,error,"), "{csv}");
    assert!(csv.contains("\nBTCUSDT,97074.88827500,5,,"), "{csv}");
    assert!(csv.contains("NOSUCHCOIN,,,HTTP 400"), "{csv}");
}

#[test]
fn the_rolling_window_is_batched_with_its_size_and_weight() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--strategy",
            "auto",
            "--window",
            "15m",
            "-f",
            "json",
            "BTCUSDT",
            "ETHUSDT",
        ])
        .output()
        .unwrap();
    let r = json(&out);
    assert_eq!(
        (r["ticker"].as_str(), r["window"].as_str()),
        (Some("window"), Some("15m"))
    );
    assert_eq!(
        (r["requests"].as_u64(), r["weight"].as_u64()),
        (Some(1), Some(8))
    );
    let btc = &r["results"][0];
    assert_eq!(btc["last_price"], "97123.45000000");
    assert!(
        btc["price_change_percent"]
            .as_str()
            .unwrap()
            .starts_with("0.51")
    );
    let hits = server.hits();
    assert_eq!(hits.len(), 1);
    let h = &hits[0];
    assert_eq!(h.path, "/api/v3/ticker");
    assert_eq!(h.params.get("windowSize").map(String::as_str), Some("15m"));
    assert_eq!(h.symbol_status.as_deref(), Some("TRADING"));
    assert_eq!(h.weight, 8, "4 a symbol");
}

#[test]
fn sixty_symbols_in_one_window_request_cost_200_not_240() {
    let server = MockServer::start_with(mock_binance::Options {
        extra_symbols: 60,
        ..mock_binance::Options::default()
    });
    let out = pricefetch(&server)
        .args(["--strategy", "auto", "--window", "1h", "-f", "json", "-q"])
        .args(mock_binance::generated_symbols(60))
        .output()
        .unwrap();
    let r = json(&out);
    assert_eq!(
        (r["requests"].as_u64(), r["weight"].as_u64()),
        (Some(1), Some(200))
    );
    assert_eq!(server.hits()[0].weight, 200);
}

#[test]
fn the_trading_day_is_counted_in_the_zone_asked_for() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--ticker", "day", "--tz", "+05:45", "-f", "json", "BTCUSDT"])
        .output()
        .unwrap();
    let r = json(&out);
    assert_eq!(
        (r["ticker"].as_str(), r["time_zone"].as_str()),
        (Some("day"), Some("UTC+05:45"))
    );
    let hits = server.hits();
    assert_eq!(hits[0].path, "/api/v3/ticker/tradingDay");
    assert_eq!(
        hits[0].params.get("timeZone").map(String::as_str),
        Some("5:45")
    );
    assert_eq!(hits[0].weight, 4);
    // Without --tz, UTC; an IANA name is sent as its offset now (Kathmandu never changes).
    for (tz, sent) in [
        (None, "0"),
        (Some("Asia/Kathmandu"), "5:45"),
        (Some("-03:30"), "-3:30"),
    ] {
        let mut cmd = pricefetch(&server);
        cmd.args(["--ticker", "day", "-q", "BTCUSDT"]);
        if let Some(tz) = tz {
            cmd.args(["--tz", tz]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{tz:?}: {}", stderr(&out));
        let last = server.hits().pop().unwrap();
        assert_eq!(
            last.params.get("timeZone").map(String::as_str),
            Some(sent),
            "{tz:?}"
        );
    }
}

#[test]
fn bad_combinations_are_refused_before_anything_is_sent() {
    let server = MockServer::start();
    for (args, says) in [
        (&["--window", "61m", "BTCUSDT"][..], "1m to 59m"),
        (&["--window", "1h30m", "BTCUSDT"], "one unit"),
        (
            &["--window", "1h", "--ticker", "book", "BTCUSDT"],
            "--window",
        ),
        (&["--tz", "Europe/Paris", "BTCUSDT"], "--ticker day"),
        (
            &["--ticker", "day", "--tz", "Mars/Olympus", "BTCUSDT"],
            "IANA name",
        ),
        (&["--ticker", "avg", "--all"], "one symbol a request"),
        (
            &["--ticker", "avg", "--strategy", "batch", "BTCUSDT"],
            "one symbol a request",
        ),
        (&["--window", "1d", "--all"], "named symbols only"),
        (&["--ticker", "avg", "--stream", "BTCUSDT"], "--watch"),
    ] {
        let out = pricefetch(&server).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    assert!(server.hits().is_empty(), "nothing sent");
}
