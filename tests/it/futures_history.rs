//! The futures markets' history: `--funding` (paged 1,000 a request, in order, on a budget of
//! its own, never taken for prices), and `--at` and `--candles` through the futures' own
//! `aggTrades` and `klines` (1,500 candles a request, weighed by their limit, no `timeZone`).

use crate::common;

use common::{ndjson, pricefetch, stderr, stdout};
use mock_binance::MockServer;
use serde_json::Value;

#[test]
fn funding_history_is_paged_in_order_on_a_budget_of_its_own() {
    let server = MockServer::start();
    let state = common::fresh_state_dir();
    let out = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &state)
        .args([
            "--market",
            "usdm",
            "--funding",
            "--from",
            "2021-01-01",
            "--to",
            "2024-01-01",
        ])
        .args(["-f", "ndjson", "BTCUSDT", "1000PEPEUSDT", "BTCUSDT_250627"])
        .output()
        .unwrap();
    // The quarterly has no funding: its own failure; the others are written.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = ndjson(&out);
    let btc: Vec<&Value> = rows.iter().filter(|r| r["symbol"] == "BTCUSDT").collect();
    // Three years of 8-hour fundings, over the 1,000-row page: 1,095 days x 3.
    assert_eq!(btc.len(), 1095 * 3);
    assert_eq!(btc[0]["funding_time"], "2021-01-01T00:00:00.000Z");
    assert_eq!(
        btc[btc.len() - 1]["funding_time"],
        "2023-12-31T16:00:00.000Z"
    );
    let times: Vec<i64> = btc
        .iter()
        .map(|r| r["funding_time_ms"].as_i64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[1] - w[0] == 8 * 3_600_000),
        "in order, none twice"
    );
    assert!(
        btc.iter()
            .any(|r| r["funding_rate"].as_str().unwrap().starts_with('-'))
    );
    // In the asked order: BTCUSDT's rows, then 1000PEPEUSDT's, which starts at its listing.
    let first_pepe = rows
        .iter()
        .position(|r| r["symbol"] == "1000PEPEUSDT")
        .unwrap();
    assert_eq!(first_pepe, btc.len());
    assert_eq!(rows[first_pepe]["funding_time"], "2023-05-03T00:00:00.000Z");
    let err = stderr(&out);
    assert!(
        err.contains("1000PEPEUSDT: no funding from 2021-01-01T00:00:00.000Z to 2023-05-03"),
        "{err}"
    );
    assert!(
        err.contains("BTCUSDT_250627: no funding rate from"),
        "{err}"
    );
    let asked = |symbol: &str| {
        (server.hits().iter())
            .filter(|h| h.path == "/fapi/v1/fundingRate" && h.symbol.as_deref() == Some(symbol))
            .count()
    };
    assert_eq!((asked("BTCUSDT"), asked("1000PEPEUSDT")), (4, 1));
    // Its own budget in the ledger, beside the market's.
    let port = server.url().rsplit(':').next().unwrap().to_owned();
    assert!(
        state
            .join(format!("127.0.0.1_{port}.usdm.funding.json"))
            .exists()
    );
}

#[test]
fn funding_rates_are_not_prices_and_spot_has_none() {
    for (args, said) in [
        (
            &["--market", "usdm", "-f", "beancount"][..],
            "a funding rate is not one",
        ),
        (&["--market", "spot"], "add --market usdm"),
    ] {
        let server = MockServer::start();
        let out = pricefetch(&server)
            .args(["--funding", "--from", "2024-01-01", "BTCUSDT"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(said), "{args:?}: {}", stderr(&out));
        assert!(server.hits().is_empty());
    }
}

#[test]
fn the_markets_weight_is_not_the_funding_limit() {
    // X-MBX-USED-WEIGHT-1M counts the market's weight: 120 this minute is news for USD-M's
    // budget, not for the funding history's 100 requests a minute.
    common::clear_of_minute_end(10.0);
    let server = MockServer::start();
    for _ in 0..3 {
        let out = pricefetch(&server)
            .args(["--market", "usdm", "--ticker", "24h", "--all"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let out = pricefetch(&server)
        .args([
            "--market",
            "usdm",
            "--funding",
            "--from",
            "2021-01-01",
            "--to",
            "2024-01-01",
        ])
        .args(["--max-wait", "1s", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().count(),
        1095 * 3,
        "four pages, none paused"
    );
}

/// The mock's futures trade on their spot pair's tape: their history is spot's, through the
/// futures' own endpoints, pages and weights.
#[test]
fn candles_and_a_moment_on_the_futures_are_their_own_endpoints_pages_and_weights() {
    let server = MockServer::start();
    let range = ["--from", "2024-03-01", "--to", "2024-03-03"];
    let run = |market: &str, args: &[&str]| {
        let out = pricefetch(&server)
            .args(["--market", market, "-f", "csv", "-q"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    // Two days of 1m candles: 2,880, two requests of 1,500 (weight 10 each) on USD-M.
    let usdm = run(
        "usdm",
        &[&["--candles", "1m"][..], &range, &["BTCUSDT"]].concat(),
    );
    let klines: Vec<_> = server
        .hits()
        .into_iter()
        .filter(|h| h.path == "/fapi/v1/klines")
        .collect();
    assert_eq!(klines.len(), 2, "{klines:?}");
    let mut limits: Vec<&str> = klines.iter().map(|h| h.params["limit"].as_str()).collect();
    limits.sort_unstable();
    assert_eq!(limits, ["1380", "1500"]);
    assert!(klines.iter().all(|h| h.weight == 10));
    assert!(klines.iter().all(|h| !h.params.contains_key("timeZone")));
    let spot = run(
        "spot",
        &[&["--candles", "1m"][..], &range, &["BTCUSDT"]].concat(),
    );
    assert_eq!(usdm.lines().count(), 2_881, "a header and 2,880 candles");
    assert_eq!(
        usdm, spot,
        "the mock's BTCUSDT perpetual trades on spot's tape"
    );
    // COIN-M, hourly candles in Paris (they open where UTC's do).
    let coinm = run(
        "coinm",
        &[
            &["--candles", "1h", "--tz", "Europe/Paris"][..],
            &range,
            &["BTCUSD_PERP"],
        ]
        .concat(),
    );
    assert_eq!(coinm.lines().count(), 49);
    let last = server.hits().pop().unwrap();
    assert_eq!(
        (
            last.path.as_str(),
            last.params["limit"].as_str(),
            last.weight
        ),
        ("/dapi/v1/klines", "48", 1),
        "as many as can open, weighed by that"
    );
    // --at: the last trade, through the futures' aggTrades (weight 20).
    let at = ["--at", "2024-03-01T12:00:00.500Z", "BTCUSDT"];
    assert_eq!(run("usdm", &at), run("spot", &at));
    let trades: Vec<_> = server
        .hits()
        .into_iter()
        .filter(|h| h.path == "/fapi/v1/aggTrades")
        .collect();
    assert_eq!(
        (trades.len(), trades[0].weight, trades[0].symbol.as_deref()),
        (1, 20, Some("BTCUSDT"))
    );
}
