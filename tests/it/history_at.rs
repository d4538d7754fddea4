//! `--at`: the last trade at or before a moment, with its time; no trade named with the last
//! trade before it or the first ever (never an invented time); a hundred symbols in one round.

use crate::common;

use std::time::Duration;

use common::{ndjson, pricefetch, stderr, stdout};
use mock_binance::{MockServer, Options};

const MINUTE: i64 = 60_000;
/// 2024-03-01T00:00:00Z.
const MARCH_1: i64 = 1_709_251_200_000;

#[test]
fn at_gives_the_last_trade_at_or_before_the_moment_with_its_time() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--at",
            "2024-03-01T12:00:00.500Z",
            "-f",
            "json",
            "BTCUSDT",
            "XRPBTC",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results[0]["symbol"], "BTCUSDT");
    assert_eq!(results[0]["trade_time"], "2024-03-01T12:00:00.000Z");
    assert_eq!(results[0]["at"], "2024-03-01T12:00:00.500Z");
    let price = results[0]["price"].as_str().unwrap();
    assert!(price.contains('.') && !price.contains('e'), "{price}");
    // XRPBTC trades every 150 s: 12:00:00 is one of its trades.
    assert_eq!(results[1]["trade_time"], "2024-03-01T12:00:00.000Z");
    // One aggTrades request each, for the seconds before the moment, never after it.
    let hits = server.hits();
    assert_eq!(hits.len(), 2, "{hits:?}");
    for h in &hits {
        assert_eq!(h.path, "/api/v3/aggTrades");
        assert_eq!(h.weight, 4);
        let end: i64 = h.params["endTime"].parse().unwrap();
        let start: i64 = h.params["startTime"].parse().unwrap();
        assert_eq!(end, MARCH_1 + 12 * 60 * MINUTE + 500);
        assert!(end - start <= 3_600_000);
    }
}

#[test]
fn no_trade_names_the_last_trade_before_or_the_first_ever() {
    let server = MockServer::start();
    // During the 2023-03-24 halt, with a lookback that does not reach back to its start.
    let out = pricefetch(&server)
        .args([
            "--at",
            "2023-03-24T13:30:00Z",
            "--lookback",
            "10m",
            "-f",
            "ndjson",
            "BTCUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = &ndjson(&out)[0];
    assert_eq!(line["error"]["kind"], "no_trade");
    let msg = line["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("no trade in the 10m before 2023-03-24T13:30:00.000Z")
            && msg.contains("last traded 2023-03-24T12:17:59.000Z, 1h 12m 1s before"),
        "{msg}"
    );
    assert!(line.get("price").is_none(), "never a price: {line}");
    // Before the listing (BTCUSDT first traded 2017-08-17T04:00Z).
    let out = pricefetch(&server)
        .args(["--at", "2017-08-01", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    common::assert_stderr_has(
        &out,
        "it had not traded yet; first traded 2017-08-17T04:00:00.000Z",
    );
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
}

#[test]
fn at_for_a_hundred_symbols_is_one_concurrent_round() {
    let server = MockServer::start_with(Options {
        latency: Duration::from_millis(50),
        extra_symbols: 100,
        ..Options::default()
    });
    let symbols = mock_binance::generated_symbols(100);
    let out = pricefetch(&server)
        .args(["--at", "2024-03-01T12:00:00Z", "-f", "plain", "-c", "100"])
        .args(&symbols)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 100);
    assert_eq!(server.hits().len(), 100, "one request a symbol");
    assert!(
        server.max_in_flight() >= 10,
        "not one round: at most {} at once",
        server.max_in_flight()
    );
}

#[test]
fn before_a_listing_no_trade_time_is_invented_and_an_empty_range_is_an_error() {
    let server = MockServer::start();
    // BTCUSDT first traded 2017-08-17T04:00Z; the daily candle of that day opens at 00:00.
    let out = pricefetch(&server)
        .args(["--at", "2017-08-17T03:30:00Z", "-f", "ndjson", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let msg = ndjson(&out)[0]["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        msg.contains("it had not traded yet; first traded 2017-08-17T04:00:00.000Z"),
        "{msg}"
    );
    assert!(!msg.contains("last traded"), "{msg}");
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1h",
            "--from",
            "2017-07-20",
            "--to",
            "2017-07-21",
        ])
        .args(["-f", "csv", "BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    common::assert_stderr_has(
        &out,
        "no 1h candle from 2017-07-20T00:00:00.000Z to 2017-07-21T00:00:00.000Z: it was not listed yet; first traded 2017-08-17T04:00:00.000Z",
    );
}
