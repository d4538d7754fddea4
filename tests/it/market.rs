//! Beyond one request per symbol: batches on the wire, isolating unknown symbols, the whole
//! market with filters, and the 24h and book tickers in every format.

use crate::common;

use common::{json_report, pricefetch, stderr, stdout};
use mock_binance::{Fault, MockServer, Options, generated_symbols};

fn market(extra: usize) -> MockServer {
    MockServer::start_with(Options {
        extra_symbols: extra,
        ..Options::default()
    })
}

/// The `symbols=[…]` lists the server received, decoded, in arrival order.
fn batches(server: &MockServer) -> Vec<Vec<String>> {
    server
        .hits()
        .iter()
        .filter_map(|h| h.symbols.as_deref())
        .map(|s| serde_json::from_str(s).unwrap())
        .collect()
}

#[test]
fn auto_asks_for_many_symbols_per_request_in_chunks_of_100() {
    let server = market(250);
    let symbols = generated_symbols(250);
    let out = pricefetch(&server)
        .args(["--strategy", "auto", "-f", "json"])
        .args(&symbols)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!(
        (r.strategy.as_str(), r.requests, r.weight),
        ("batch", 3, 12)
    );
    assert_eq!(r.ok, 250);
    let mut sent = batches(&server);
    sent.sort_by_key(|b| b[0].clone());
    assert_eq!(
        sent.iter().map(Vec::len).collect::<Vec<_>>(),
        [100, 100, 50]
    );
    assert_eq!(
        sent.concat(),
        symbols,
        "every symbol once, in order within its batch"
    );
    assert!(server.hits().iter().all(|h| h.weight == 4));
    let order: Vec<&str> = r.results.iter().map(|x| x.symbol.as_str()).collect();
    assert_eq!(
        order,
        symbols.iter().map(String::as_str).collect::<Vec<_>>()
    );
    common::assert_stderr_has(&out, "batches of up to 100");
}

#[test]
fn an_unknown_symbol_in_a_batch_is_isolated_and_the_good_prices_printed() {
    let server = MockServer::start();
    let list = [
        "BTCUSDT",
        "ETHUSDT",
        "SOLUSDT",
        "NOSUCHCOIN",
        "BNBUSDT",
        "XRPUSDT",
        "ADAUSDT",
        "DOGEUSDT",
    ];
    let out = pricefetch(&server)
        .args(["--strategy", "batch", "-f", "json"])
        .args(list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!(r.ok, 7);
    let bad = &r.results[3];
    assert_eq!(bad.symbol, "NOSUCHCOIN");
    assert_eq!(bad.error.as_ref().unwrap().code, Some(-1121));
    // 8 → 4 (bad) + 4 → 2 (bad) + 2 → 1 (bad) + 1: one batch, then six to isolate; the
    // whole market's names for "did you mean" reach the server but are not what was asked.
    assert_eq!((r.requests, r.isolation_requests), (7, 6));
    assert_eq!(server.hits().len(), 8);
    common::assert_stderr_has(&out, "(6 to isolate unknown symbols)");
    // Far cheaper than one request each (8 × 2 = 16 would be, with 8 requests).
    assert!(r.weight < 8 * 2 + 4 * 4, "{}", r.weight);
}

#[test]
fn the_whole_market_comes_in_one_request_and_filters_apply() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--all", "--quote", "usdt", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!((r.strategy.as_str(), r.requests, r.weight), ("all", 1, 4));
    assert_eq!(
        r.ok, 18,
        "17 ASCII pairs (EURUSDT, 1INCHUSDT and 1000SATSUSDT too) and 币安人生USDT"
    );
    assert!(r.results.iter().all(|x| x.symbol.ends_with("USDT")));
    let hit = &server.hits()[0];
    assert!(
        hit.symbol.is_none() && hit.symbols.is_none(),
        "no selection: the whole market"
    );

    let out = pricefetch(&server)
        .args(["--all", "--match", "*BTC"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "ETHBTC\t0.03512000\nBNBBTC\t0.00630100\nSOLBTC\t0.00192900\nXRPBTC\t0.00000642\n"
    );
}

#[test]
fn a_failed_whole_market_request_keeps_the_json_valid_and_the_exit_code_true() {
    let server = MockServer::start();
    server.always(mock_binance::ANY, Fault::GeoBlock);
    let out = pricefetch(&server)
        .args(["--all", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let r = json_report(&out);
    assert!(r.results.is_empty());
    assert_eq!(r.error.unwrap().kind, "geo_blocked");
    common::assert_stderr_has(&out, "whole market: HTTP 451");
    assert!(stderr(&out).contains("data-api.binance.vision"));
}

#[test]
fn symbols_and_all_do_not_mix_and_filters_need_all() {
    let server = MockServer::start();
    for args in [
        &["--all", "BTCUSDT"][..],
        &["--quote", "USDT", "BTCUSDT"],
        &["--match", "*BTC"],
        &["--batch-size", "101", "A"],
    ] {
        let out = pricefetch(&server).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    assert!(server.hits().is_empty());
}

#[test]
fn the_24h_ticker_in_every_format() {
    let server = MockServer::start();
    let run = |format: &str| {
        let out = pricefetch(&server)
            .args(["--ticker", "24h", "-f", format, "BTCUSDT", "ETHUSDT"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        stdout(&out)
    };
    let csv = run("csv");
    let header = "symbol,last_price,price_change,price_change_percent,high_price,low_price,volume,quote_volume,error,elapsed_ms,attempts,price_time";
    assert_eq!(csv.lines().next(), Some(header));
    assert!(csv.contains("\nBTCUSDT,97123.45000000,"), "{csv}");

    let plain = run("plain");
    let first: Vec<&str> = plain.lines().next().unwrap().split('\t').collect();
    assert_eq!(first.len(), 8, "{plain}");
    assert_eq!(
        (first[0], first[1], first[3]),
        ("BTCUSDT", "97123.45000000", "2.500")
    );

    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json["ticker"], "24h");
    let eth = &json["results"][1];
    assert_eq!(eth["price_change_percent"], "-1.250");
    assert!(eth.get("price").is_none());

    for line in run("ndjson").lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["last_price"].is_string() && v["quote_volume"].is_string());
    }

    let table = run("table");
    assert!(table.starts_with("SYMBOL"), "{table}");
    assert!(
        table.contains("CHANGE %") && table.contains("QUOTE VOLUME"),
        "{table}"
    );
    assert!(
        table.contains("+2.500") && table.contains("-1.250"),
        "{table}"
    );
    let hits = server.hits();
    assert!(
        hits.iter()
            .all(|h| h.path == "/api/v3/ticker/24hr" && h.weight == 2)
    );
}

#[test]
fn the_book_ticker_in_every_format() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--ticker", "book", "-f", "csv", "ETHBTC"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out).lines().next(),
        Some("symbol,bid_price,bid_qty,ask_price,ask_qty,error,elapsed_ms,attempts,price_time")
    );
    let out = pricefetch(&server)
        .args(["--ticker", "book", "ETHBTC", "NOSUCHCOIN"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "ETHBTC\t0.03511649\t1.50000000\t0.03512351\t2.00000000\n"
    );
    let out = pricefetch(&server)
        .args(["--ticker", "book", "-f", "table", "ETHBTC"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("BID QTY"), "{}", stdout(&out));
    let out = pricefetch(&server)
        .args(["--ticker", "book", "-f", "json", "ETHBTC"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["results"][0]["ask_qty"], "2.00000000");
    // Book tickers only, but for the whole market's names that "did you mean" NOSUCHCOIN read.
    assert!(
        server
            .hits()
            .iter()
            .all(|h| h.path == "/api/v3/ticker/bookTicker"
                || (h.path == "/api/v3/ticker/price" && h.symbol.is_none() && h.symbols.is_none()))
    );
}

#[test]
fn a_24h_batch_of_20_keeps_the_weight_of_one_symbol() {
    let server = market(30);
    let out = pricefetch(&server)
        .args(["--strategy", "auto", "--ticker", "24h", "-f", "json"])
        .args(generated_symbols(30))
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (r["requests"].as_u64(), r["weight"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(batches(&server).iter().map(Vec::len).max(), Some(20));
}
