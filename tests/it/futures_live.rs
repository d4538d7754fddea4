//! The futures markets live: `--stream` over USD-M's routed streams (`/market` for the mark
//! price and the tickers, `/public` for the book) and COIN-M's, 200 streams a connection, the
//! mark price with every rule the spot streams follow (a reconnect's gap record, the snapshot
//! first), the whole market's mark prices in one stream.

use crate::common;

use std::time::Duration;

use common::{ndjson as lines, stderr, streaming};
use mock_binance::{MockServer, Options, StreamFault, StreamOptions};
use serde_json::Value;

/// `pricefetch --market MARKET --stream -f ndjson` against `server`, its streams at `stream_url`.
fn futures_stream(server: &MockServer, market: &str, stream_url: &str) -> assert_cmd::Command {
    let mut cmd = common::pricefetch(server);
    cmd.env_remove("PRICEFETCH_STRATEGY").args([
        "--market",
        market,
        "--stream",
        "--stream-url",
        stream_url,
        "-f",
        "ndjson",
    ]);
    cmd
}

#[test]
fn mark_prices_stream_with_the_snapshots_interest_and_a_reconnect_says_its_gap() {
    let server = streaming(50);
    server.script_streams([Some(StreamFault::CloseAfter(Duration::from_millis(300)))]);
    let out = futures_stream(&server, "usdm", &server.stream_url())
        .args([
            "--ticker",
            "mark",
            "--count",
            "30",
            "BTCUSDT",
            "BTCUSDT_250627",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = lines(&out);
    let updates: Vec<&Value> = all
        .iter()
        .filter(|v| v["snapshot"] == false && v["type"].is_null())
        .collect();
    assert_eq!(updates.len(), 30);
    let perp = updates.iter().find(|v| v["symbol"] == "BTCUSDT").unwrap();
    // REST's values (the mock's one market), the interest rate the snapshot's (not streamed).
    assert_eq!(perp["mark_price"], "97148.37011594");
    assert_eq!(perp["index_price"], "97101.55234783");
    assert_eq!(perp["funding_rate"], "0.00010000");
    assert_eq!(perp["interest_rate"], "0.00010000");
    let next = perp["next_funding_time"].as_u64().unwrap();
    assert_eq!(next % (8 * 3_600_000), 0, "{perp}");
    let quarterly = updates
        .iter()
        .find(|v| v["symbol"] == "BTCUSDT_250627")
        .unwrap();
    assert_eq!(quarterly["mark_price"], "98511.20000000");
    for absent in ["funding_rate", "next_funding_time", "interest_rate"] {
        assert!(quarterly.get(absent).is_none(), "{absent}: {quarterly}");
    }
    // The reconnect: one gap record a symbol, before the first update after it.
    for symbol in ["BTCUSDT", "BTCUSDT_250627"] {
        let at = all
            .iter()
            .position(|v| v["type"] == "gap" && v["symbol"] == symbol)
            .unwrap_or_else(|| panic!("no gap record for {symbol}"));
        assert_eq!(all[at]["reconnect"], 1);
        let after = all[at + 1..]
            .iter()
            .find(|v| v["symbol"] == symbol)
            .unwrap();
        assert_eq!(after["reconnects"], 1);
        assert_eq!(after["event_time"], all[at]["to"]);
    }
    let stats = server.stream_stats();
    assert_eq!(stats.connections, 2);
    assert_eq!(stats.streams[..2], [2, 2]);
}

#[test]
fn the_book_goes_to_the_public_route_coinm_to_its_host_and_all_marks_in_one_stream() {
    let server = streaming(50);
    // USD-M's book ticker is on /public: asked on /market the mock (as Binance) serves none.
    let out = futures_stream(&server, "usdm", &server.stream_url())
        .args(["--ticker", "book", "--count", "4", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let last = lines(&out).pop().unwrap();
    assert_eq!(
        (&last["symbol"], &last["bid_qty"], &last["snapshot"]),
        (&"ETHUSDT".into(), &"1.500".into(), &false.into())
    );
    // COIN-M: its own host (the mock's /coinm), the price from its mini ticker.
    let coinm = format!("{}/coinm", server.stream_url());
    let out = futures_stream(&server, "coinm", &coinm)
        .args(["--count", "3", "BTCUSD_PERP"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = lines(&out);
    assert_eq!(all.len(), 4, "the snapshot and three updates");
    assert!(all.iter().all(|v| v["price"] == "97140.5"), "{all:?}");
    // Every mark price in one stream, `!markPrice@arr@1s`.
    let out = futures_stream(&server, "usdm", &server.stream_url())
        .args(["--ticker", "mark", "--all", "--count", "8"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let updates: Vec<Value> = lines(&out)
        .into_iter()
        .filter(|v| v["snapshot"] == false)
        .collect();
    assert_eq!(updates.len(), 8);
    assert!(updates.iter().any(|v| v["symbol"] == "1000PEPEUSDT"));
    assert_eq!(*server.stream_stats().streams.last().unwrap(), 1);
    // COIN-M has no all-market mark price stream: --all follows each contract it lists.
    let out = futures_stream(&server, "coinm", &coinm)
        .args(["--ticker", "mark", "--all", "--count", "6"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let marks: Vec<Value> = lines(&out)
        .into_iter()
        .filter(|v| v["snapshot"] == false)
        .collect();
    assert_eq!(marks.len(), 6);
    assert!(marks.iter().any(|v| v["symbol"] == "BTCUSD_250627"));
    assert_eq!(*server.stream_stats().streams.last().unwrap(), 3);
}

#[test]
fn two_hundred_streams_a_connection_on_the_futures() {
    let server = MockServer::start_with(Options {
        extra_symbols: 250,
        streams: StreamOptions {
            interval: Duration::from_millis(100),
            ..StreamOptions::default()
        },
        ..Options::default()
    });
    let symbols = mock_binance::generated_symbols(250);
    let out = futures_stream(&server, "usdm", &server.stream_url())
        .args(["--ticker", "mark", "--count", "500", "-q"])
        .args(&symbols)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut streams = server.stream_stats().streams;
    streams.sort_unstable();
    assert_eq!(streams, [50, 200]);
}

#[test]
fn until_waits_for_a_mark_price() {
    let server = streaming(50);
    let out = futures_stream(&server, "usdm", &server.stream_url())
        .args(["--ticker", "mark", "--until", "ETHUSDT < 3413"])
        .args(["BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    common::assert_stderr_has(&out, "ETHUSDT 3412.91000000 meets --until 'ETHUSDT < 3413'");
}
