//! History against the mock's tape of trades: `--at` (the last trade at or before a moment,
//! no_trade with the last trade before it or the first ever), `--candles` (a range over many
//! requests in order and without a seam, gaps for a halt and before a listing, empty candles,
//! daylight saving, the reorder window), `-f ledger`/`beancount`, microseconds, and bad input
//! refused before anything is sent.

use crate::common;

use std::time::Duration;

use common::{bare, ndjson, pricefetch, stderr, stdout};
use mock_binance::{Fault, MockServer, Options};

const MINUTE: i64 = 60_000;
/// 2024-03-01T00:00:00Z.
const MARCH_1: i64 = 1_709_251_200_000;

fn klines_hits(server: &MockServer) -> Vec<mock_binance::Hit> {
    server
        .hits()
        .into_iter()
        .filter(|h| h.path == "/api/v3/klines")
        .collect()
}

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
fn a_range_over_many_requests_is_in_order_without_a_seam() {
    let server = MockServer::start();
    // 2,500 minutes: three requests, answered in any order, written in time order.
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1m",
            "--from",
            "2024-03-01",
            "--to",
            "@1709401200",
            "-c",
            "3",
        ])
        .args(["-f", "ndjson", "BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = ndjson(&out);
    assert_eq!(rows.len(), 5000);
    for (symbol, rows) in [("BTCUSDT", &rows[..2500]), ("ETHUSDT", &rows[2500..])] {
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row["symbol"], symbol);
            assert_eq!(
                row["open_time_ms"].as_i64(),
                Some(MARCH_1 + i as i64 * MINUTE)
            );
            assert_eq!(row["trades"].as_u64(), Some(60));
        }
    }
    // Requests meet exactly: each starts where the last ended, at most 1,000 candles each.
    let mut hits = klines_hits(&server);
    assert_eq!(hits.len(), 6);
    hits.retain(|h| h.symbol.as_deref() == Some("BTCUSDT"));
    hits.sort_by_key(|h| h.params["startTime"].parse::<i64>().unwrap());
    let bounds: Vec<(i64, i64)> = hits
        .iter()
        .map(|h| {
            (
                h.params["startTime"].parse().unwrap(),
                h.params["endTime"].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(bounds[0].0, MARCH_1);
    for pair in bounds.windows(2) {
        assert_eq!(pair[0].1 + 1, pair[1].0);
    }
    assert_eq!(bounds[2].1, MARCH_1 + 2500 * MINUTE - 1);
    // Full pages of 1,000, the last as long as what is left: a limit never asks past the range.
    let mut limits: Vec<&str> = hits.iter().map(|h| h.params["limit"].as_str()).collect();
    limits.sort_unstable();
    assert_eq!(limits, ["1000", "1000", "500"]);
    assert!(hits.iter().all(|h| h.weight == 2));
}

#[test]
fn the_reorder_window_never_runs_ahead_of_the_oldest_answer() {
    let server = MockServer::start();
    // The first two requests to arrive are slow (whichever chunks they are): with -c 2 no
    // third may go meanwhile, and nothing is written before the first answer; the rows still
    // come out in time order.
    let slow = Fault::Delay(Duration::from_millis(800));
    server.script("BTCUSDT", [slow.clone(), slow]);
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1m",
            "--from",
            "2024-03-01",
            "--to",
            "@1709611200",
            "-c",
            "2",
        ])
        .args(["-f", "csv", "--no-header", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let opens: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.split(',').nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(opens.len(), 6000);
    assert!(opens.windows(2).all(|w| w[0] < w[1]), "out of order");
    assert!(
        server.max_in_flight() <= 2,
        "{} at once",
        server.max_in_flight()
    );
    let mut hits = klines_hits(&server);
    hits.sort_by_key(|h| h.at);
    assert_eq!(hits.len(), 6);
    // The third request waited for the slow first one to be handed on.
    assert!(
        hits[2].at.duration_since(hits[0].at) >= Duration::from_millis(700),
        "the window ran ahead: {:?}",
        hits[2].at.duration_since(hits[0].at)
    );
}

#[test]
fn a_halt_and_a_listing_are_gaps_and_empty_candles_keep_trades_zero() {
    let server = MockServer::start();
    // The halt: 12:18 to 13:48 UTC; 30m candles 12:30 and 13:00 do not exist.
    let out = pricefetch(&server)
        .args([
            "--candles",
            "30m",
            "--from",
            "2023-03-24T12:00Z",
            "--to",
            "2023-03-24T14:00Z",
        ])
        .args(["-f", "ndjson", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows = ndjson(&out);
    let kinds: Vec<String> = rows
        .iter()
        .map(|r| r["type"].as_str().unwrap_or("candle").to_owned())
        .collect();
    assert_eq!(kinds, ["candle", "gap", "candle"]);
    assert_eq!(rows[1]["from_time"], "2023-03-24T12:30:00.000Z");
    assert_eq!(rows[1]["to_time"], "2023-03-24T13:30:00.000Z");
    common::assert_stderr_has(
        &out,
        "BTCUSDT: no candles from 2023-03-24T12:30:00.000Z to 2023-03-24T13:30:00.000Z (1h): Binance has none (a halt)",
    );
    // Before the listing: the gap leads, and says so.
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1h",
            "--from",
            "2017-08-17T01:00Z",
            "--to",
            "2017-08-17T06:00Z",
        ])
        .args(["-f", "csv", "--no-header", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).lines().count(), 2);
    common::assert_stderr_has(
        &out,
        "no candles from 2017-08-17T01:00:00.000Z to 2017-08-17T04:00:00.000Z (3h): before its first candle",
    );
    // XRPBTC trades every 150 s: some minutes are empty, repeating the previous close.
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1m",
            "--from",
            "2024-03-01T00:00Z",
            "--to",
            "2024-03-01T00:10Z",
        ])
        .args(["-f", "ndjson", "XRPBTC"])
        .output()
        .unwrap();
    let rows = ndjson(&out);
    assert_eq!(rows.len(), 10);
    let mut empty = 0;
    for pair in rows.windows(2) {
        if pair[1]["trades"] == 0 {
            empty += 1;
            for field in ["open", "high", "low", "close"] {
                assert_eq!(pair[1][field], pair[0]["close"], "{field}");
            }
            assert_eq!(pair[1]["volume"], "0.00000000");
        }
    }
    assert!(empty >= 3, "{rows:?}");
}

#[test]
fn daily_candles_open_at_local_midnight_across_a_daylight_saving_change() {
    let server = MockServer::start();
    // Paris moves from +01:00 to +02:00 on 2024-03-31.
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1d",
            "--from",
            "2024-03-29",
            "--to",
            "2024-04-03",
        ])
        .args(["--tz", "Europe/Paris", "-f", "ndjson", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let opens: Vec<String> = ndjson(&out)
        .iter()
        .map(|r| r["open_time"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        opens,
        [
            "2024-03-28T23:00:00.000Z",
            "2024-03-29T23:00:00.000Z",
            "2024-03-30T23:00:00.000Z",
            "2024-03-31T22:00:00.000Z",
            "2024-04-01T22:00:00.000Z"
        ]
    );
    let mut zones: Vec<String> = klines_hits(&server)
        .iter()
        .map(|h| h.params.get("timeZone").cloned().unwrap_or_default())
        .collect();
    zones.sort();
    assert_eq!(
        zones,
        ["", "1", "2"],
        "one request per offset, and the 23-hour day's hours"
    );
}

/// `--candles INTERVAL` rows of BTCUSDT over [from, to) in `zone`, as ndjson objects.
fn candles(
    server: &MockServer,
    interval: &str,
    range: (&str, &str),
    zone: &str,
) -> Vec<serde_json::Value> {
    let out = pricefetch(server)
        .args(["--candles", interval, "--from", range.0, "--to", range.1])
        .args(["--tz", zone, "-f", "ndjson", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    ndjson(&out)
}

/// The period `day` as its hourly candles make it: open, high, low, close, volume, quote
/// volume and trades.
fn from_hours(hours: &[serde_json::Value]) -> [String; 7] {
    let dec = |v: &serde_json::Value| v.as_str().unwrap().parse::<f64>().unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    let high = hours
        .iter()
        .max_by(|a, b| dec(&a["high"]).total_cmp(&dec(&b["high"])))
        .unwrap();
    let low = hours
        .iter()
        .min_by(|a, b| dec(&a["low"]).total_cmp(&dec(&b["low"])))
        .unwrap();
    // Sums in units of 1e-8, exactly (every mock volume has 8 places).
    let sum = |field: &str| {
        let units: i128 = hours
            .iter()
            .map(|h| {
                h[field]
                    .as_str()
                    .unwrap()
                    .replace('.', "")
                    .parse::<i128>()
                    .unwrap()
            })
            .sum();
        let digits = format!("{units:09}");
        format!(
            "{}.{}",
            &digits[..digits.len() - 8],
            &digits[digits.len() - 8..]
        )
    };
    let trades: u64 = hours.iter().map(|h| h["trades"].as_u64().unwrap()).sum();
    [
        text(&hours[0]["open"]),
        text(&high["high"]),
        text(&low["low"]),
        text(&hours[hours.len() - 1]["close"]),
        sum("volume"),
        sum("quote_volume"),
        trades.to_string(),
    ]
}

fn values(row: &serde_json::Value) -> [String; 7] {
    let text = |f: &str| row[f].as_str().unwrap().to_owned();
    [
        text("open"),
        text("high"),
        text("low"),
        text("close"),
        text("volume"),
        text("quote_volume"),
        row["trades"].as_u64().unwrap().to_string(),
    ]
}

/// The open times of candle rows.
fn opens(rows: &[serde_json::Value]) -> Vec<&str> {
    rows.iter()
        .map(|r| r["open_time"].as_str().unwrap())
        .collect()
}

/// `row` is the period [from, to) built from its `hours` hourly candles, closing at `to`.
fn built_from_hours(
    server: &MockServer,
    row: &serde_json::Value,
    (from, to): (&str, &str),
    hours: usize,
) {
    let parts = candles(server, "1h", (from, to), "UTC");
    assert_eq!(parts.len(), hours);
    assert_eq!(values(row), from_hours(&parts));
    let last = parts[hours - 1]["close_time"].as_str().unwrap();
    assert_eq!(row["close_time"], last);
}

#[test]
fn one_candle_per_local_day_across_both_daylight_saving_changes() {
    let server = MockServer::start();
    // Autumn: four local days, the 27th of 25 hours (Binance at +02:00 would add a fifth).
    let days = candles(&server, "1d", ("2024-10-25", "2024-10-29"), "Europe/Paris");
    let want = [
        "2024-10-24T22",
        "2024-10-25T22",
        "2024-10-26T22",
        "2024-10-27T23",
    ];
    assert_eq!(opens(&days), want.map(|h| format!("{h}:00:00.000Z")));
    built_from_hours(
        &server,
        &days[2],
        ("2024-10-26T22:00Z", "2024-10-27T23:00Z"),
        25,
    );
    // Spring: the 23-hour 31 March, its close at local midnight, its volume counted once.
    let days = candles(&server, "1d", ("2024-03-30", "2024-04-02"), "Europe/Paris");
    let want = ["2024-03-29T23", "2024-03-30T23", "2024-03-31T22"];
    assert_eq!(opens(&days), want.map(|h| format!("{h}:00:00.000Z")));
    built_from_hours(
        &server,
        &days[1],
        ("2024-03-30T23:00Z", "2024-03-31T22:00Z"),
        23,
    );
    // Weeks and months: one each, the one holding the change built from its hours.
    let weeks = candles(&server, "1w", ("2024-10-14", "2024-11-04"), "Europe/Paris");
    assert_eq!(weeks.len(), 3, "{weeks:?}");
    let months = candles(&server, "1M", ("2024-09-01", "2024-12-01"), "Europe/Paris");
    let want = ["2024-08-31T22", "2024-09-30T22", "2024-10-31T23"];
    assert_eq!(opens(&months), want.map(|h| format!("{h}:00:00.000Z")));
    built_from_hours(
        &server,
        &months[1],
        ("2024-09-30T22:00Z", "2024-10-31T23:00Z"),
        745,
    );
}

#[test]
fn ledger_and_beancount_date_each_price_with_the_pairs_assets() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1d",
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-03",
            "-f",
            "ledger",
        ])
        .args(["--tz", "+08:00", "ETHBTC"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("P 2024-03-01 00:00:00 ETH 0.0"),
        "{lines:?}"
    );
    assert!(lines[0].ends_with(" BTC"), "{lines:?}");
    assert!(
        lines[1].starts_with("P 2024-03-02 00:00:00 ETH "),
        "{lines:?}"
    );
    let out = pricefetch(&server)
        .args([
            "--at",
            "2026-01-05T12:00:00Z",
            "-f",
            "beancount",
            "币安人生USDT",
        ])
        .output()
        .unwrap();
    // beancount takes no UTF-8 commodity: the symbol fails on its own, unless mapped.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    common::assert_stderr_has(
        &out,
        "币安人生USDT: 币安人生 is not a beancount commodity name",
    );
    let out = pricefetch(&server)
        .args(["--at", "2026-01-05T12:00:00Z", "-f", "beancount"])
        .args(["--commodity", "币安人生=BINANCELIFE", "币安人生USDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = stdout(&out);
    assert!(
        line.starts_with("2026-01-05 price BINANCELIFE 0.1"),
        "{line}"
    );
    assert!(line.trim_end().ends_with(" USDT"), "{line}");
    // The assets came from exchangeInfo, asked once and cached beside the ledger.
    let info = |s: &MockServer| {
        s.hits()
            .iter()
            .filter(|h| h.path == "/api/v3/exchangeInfo")
            .count()
    };
    assert_eq!(
        info(&server),
        3,
        "each run above has its own state directory"
    );
}

#[test]
fn microsecond_timestamps_are_read_as_such() {
    let server = MockServer::start_with(Options {
        micros: true,
        ..Options::default()
    });
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1h",
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-01T02:00Z",
        ])
        .args(["-f", "csv", "--no-header", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = stdout(&out);
    assert!(rows.contains(",2024-03-01T00:00:00.000Z,"), "{rows}");
    assert!(rows.contains(",2024-03-01T01:59:59.999Z"), "{rows}");
    let out = pricefetch(&server)
        .args(["--at", "2024-03-01T12:00:00Z", "-f", "plain", "BTCUSDT"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).ends_with("\t2024-03-01T12:00:00.000Z\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_unknown_symbol_fails_alone() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1h",
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-01T03:00Z",
        ])
        .args(["-f", "csv", "--no-header", "NOPEUSDT", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out).lines().count(), 3);
    common::assert_stderr_has(
        &out,
        "NOPEUSDT: HTTP 400: rejected by Binance: -1121 Invalid symbol.",
    );
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let server = MockServer::start();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--candles", "1min", "--from", "2024-03-01"],
            "'1min' is not one of Binance's intervals (1m is a minute): 1s, 1m, 3m",
        ),
        (
            &[
                "--candles",
                "1h",
                "--from",
                "2024-03-02",
                "--to",
                "2024-03-01",
            ],
            "is not before --to 2024-03-01",
        ),
        (
            &["--candles", "1h", "--from", "2024-13-01"],
            "invalid --from: '2024-13-01' is not a time",
        ),
        (&["--candles", "1h"], "--from <TIME>"),
        (&["--from", "2024-03-01"], "add --candles INTERVAL"),
        (
            &["--at", "2024-03-01", "--tz", "Mars/Olympus"],
            "no time zone 'Mars/Olympus'",
        ),
        (&["--at", "2099-01-01"], "in the future"),
        (
            &["-f", "ledger"],
            "-f ledger and -f beancount write prices at past moments",
        ),
        (
            &["--at", "-1h", "--stream"],
            "--at asks Binance's history, which --stream does not go with",
        ),
        (
            &[
                "--candles",
                "1s",
                "--from",
                "2024-01-01",
                "--to",
                "2024-03-01",
            ],
            "over --max-weight 1000",
        ),
        (
            &["--at", "-1h", "--lookback", "8d"],
            "--lookback 8d is not between",
        ),
    ];
    for (args, says) in cases {
        let out = pricefetch(&server)
            .args(*args)
            .arg("BTCUSDT")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(server.hits().is_empty(), "sent {:?}", server.hits());
    // The range's cost is counted: 5,184 requests of 1s candles for two months.
    let out = bare()
        .args([
            "--candles",
            "1s",
            "--from",
            "2024-01-01",
            "--to",
            "2024-03-01",
            "BTCUSDT",
        ])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("takes 5184 requests of 1,000 candles (request weight 10368)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn backfill_fills_a_reconnects_gap_with_the_mocks_1s_candles() {
    let server = common::streaming(100);
    // The first connection goes silent after 300 ms and the next two deliver nothing: with
    // --stale 1s, a gap of about three seconds.
    server.script_streams([
        Some(mock_binance::StreamFault::StallAfter(
            Duration::from_millis(300),
        )),
        Some(mock_binance::StreamFault::StallAfter(Duration::ZERO)),
        Some(mock_binance::StreamFault::StallAfter(Duration::ZERO)),
    ]);
    let out = pricefetch(&server)
        .env_remove("PRICEFETCH_STRATEGY")
        .args([
            "--stream",
            "--stream-url",
            &server.stream_url(),
            "-f",
            "ndjson",
        ])
        .args(["--stale", "1s", "--backfill", "--count", "30", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = ndjson(&out);
    let at = all
        .iter()
        .position(|v| v["type"] == "gap")
        .unwrap_or_else(|| panic!("no gap: {all:?}"));
    let (from, to) = (
        all[at]["from"].as_i64().unwrap(),
        all[at]["to"].as_i64().unwrap(),
    );
    let filled: Vec<(i64, String)> = all[at + 1..]
        .iter()
        .filter(|v| v["backfill"] == true)
        .map(|v| {
            (
                v["open_time"].as_i64().unwrap(),
                v["price"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(filled.len() >= 2, "gap {from}..{to}: {filled:?}");
    // The same candles as the mock's 1s klines for the seconds strictly inside the gap.
    let (start, end) = (from - from % 1000 + 1000, to - to % 1000);
    let candles = pricefetch(&server)
        .args([
            "--candles",
            "1s",
            "--from",
            &format!("@{start}"),
            "--to",
            &format!("@{end}"),
        ])
        .args(["-f", "ndjson", "BTCUSDT"])
        .output()
        .unwrap();
    let expected: Vec<(i64, String)> = ndjson(&candles)
        .iter()
        .map(|v| {
            (
                v["open_time_ms"].as_i64().unwrap(),
                v["close"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(filled, expected);
    assert!(
        all[..at].iter().all(|v| v["backfill"].is_null()),
        "backfill before its gap"
    );
    common::assert_stderr_has(&out, "backfilled");
}

#[test]
fn a_klines_server_that_never_advances_is_a_decode_error_after_a_few_requests() {
    let server = MockServer::start();
    // Every 1m klines request gets the same page: one candle of 2024-01-01 00:00, with trades.
    let page =
        r#"[[1704067200000,"1.0","1.0","1.0","1.0","1.0",1704067259999,"1.0",5,"0","0","0"]]"#;
    server.always(
        "/api/v3/klines BTCUSDT",
        mock_binance::Fault::Body(page.into()),
    );
    // No trade in the first five seconds before the moment, so the candles are asked.
    server.always(
        "/api/v3/aggTrades BTCUSDT",
        mock_binance::Fault::Body("[]".into()),
    );
    let out = pricefetch(&server)
        .args([
            "--at",
            "2024-03-01T12:00:00Z",
            "--deadline",
            "20s",
            "BTCUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    common::assert_stderr_has(&out, "1m candles lie outside the asked");
    assert!(server.hits().len() <= 4, "{} requests", server.hits().len());
}

#[test]
fn times_before_binance_existed_are_refused_with_nothing_sent() {
    let server = MockServer::start();
    for args in [
        &["--at", "1960-01-01"][..],
        &["--at", "0000-01-01"],
        &["--at", "-99999999d"],
        &[
            "--candles",
            "1h",
            "--from",
            "1960-01-01",
            "--to",
            "2024-01-01",
        ],
        &[
            "--candles",
            "1d",
            "--from",
            "2016-01-01",
            "--to",
            "2016-01-02",
        ],
    ] {
        let out = pricefetch(&server)
            .args(args)
            .arg("BTCUSDT")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        common::assert_stderr_has(&out, "the earliest time is 2017-07-14T00:00:00.000Z");
    }
    assert!(server.hits().is_empty());
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

#[test]
fn quiet_drops_the_summary_but_not_the_gaps_until_qq() {
    let server = MockServer::start();
    let run = |quiet: &str| {
        pricefetch(&server)
            .args(["--candles", "30m", "--from", "2023-03-24T12:00Z"])
            .args(["--to", "2023-03-24T14:00Z", "-f", "csv", quiet, "BTCUSDT"])
            .output()
            .unwrap()
    };
    let out = run("-q");
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("no candles from 2023-03-24T12:30:00.000Z"),
        "{err}"
    );
    assert!(!err.contains("candles of 30m"), "no summary: {err}");
    let out = run("-qq");
    assert_eq!(stderr(&out), "", "-qq: nothing but the data");
}

/// The tools' verdicts on `text`: bean-check for beancount, hledger and ledger for ledger.
pub(crate) fn check_with_tools(format: &str, text: &str) {
    let tools: &[(&str, &[&str])] = match format {
        "beancount" => &[("bean-check", &[])],
        _ => &[
            ("hledger", &["prices", "-f"]),
            ("ledger", &["pricedb", "-f"]),
        ],
    };
    for (tool, args) in tools {
        if let Some((ok, said)) = common::accounting_tool(tool, args, text) {
            assert!(ok, "{tool} refused it: {said}\n{text}");
        }
    }
}

#[test]
fn commodity_names_that_real_ledgers_accept() {
    let server = MockServer::start();
    let symbols = ["BTCUSDT", "1INCHUSDT", "1000SATSUSDT", "币安人生USDT"];
    let run = |format: &str, more: &[&str]| {
        pricefetch(&server)
            .args([
                "--candles",
                "1d",
                "--from",
                "2025-12-10",
                "--to",
                "2025-12-12",
            ])
            .args(["-f", format])
            .args(more)
            .args(symbols)
            .output()
            .unwrap()
    };
    // ledger and hledger: names that are not letters are quoted.
    let out = run("ledger", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 8, "{text}");
    assert!(
        text.contains(" \"1INCH\" ") && text.contains(" \"1000SATS\" "),
        "{text}"
    );
    assert!(text.contains(" 币安人生 "), "{text}");
    check_with_tools("ledger", &text);
    // beancount: an asset its grammar refuses fails on its own, naming the flag.
    let out = run("beancount", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "only BTC: {text}");
    common::assert_stderr_has(&out, "1INCH is not a beancount commodity name");
    common::assert_stderr_has(&out, "--commodity 1INCH=NAME");
    check_with_tools("beancount", &text);
    // Mapped by the flag and by the config file's table, every symbol is written.
    let config = common::scratch_dir("commodity").join("config.toml");
    std::fs::write(
        &config,
        "[commodity]\n1000SATS = \"SATS1000\"\n\"币安人生\" = \"BINANCELIFE\"\n",
    )
    .unwrap();
    let mut more = vec!["--commodity", "1INCH=ONEINCH", "--config"];
    more.push(config.to_str().unwrap());
    let out = run("beancount", &more);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 8, "{text}");
    for name in [" ONEINCH ", " SATS1000 ", " BINANCELIFE "] {
        assert!(text.contains(name), "{name}: {text}");
    }
    check_with_tools("beancount", &text);
    // A mapping to a name beancount refuses is said, not written.
    let out = run("beancount", &["--commodity", "1INCH=oneinch"]);
    common::assert_stderr_has(
        &out,
        "--commodity 1INCH=oneinch: oneinch is not a beancount",
    );
}

#[test]
fn a_daylight_saving_autumn_gives_beancount_one_price_a_day() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1d",
            "--from",
            "2024-10-25",
            "--to",
            "2024-10-29",
        ])
        .args(["--tz", "Europe/Paris", "-f", "beancount", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let dates: Vec<&str> = text.lines().map(|l| &l[..10]).collect();
    assert_eq!(
        dates,
        ["2024-10-25", "2024-10-26", "2024-10-27", "2024-10-28"]
    );
    check_with_tools("beancount", &text);
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1d",
            "--from",
            "2024-10-25",
            "--to",
            "2024-10-29",
        ])
        .args(["--tz", "Europe/Paris", "-f", "ledger", "BTCUSDT"])
        .output()
        .unwrap();
    check_with_tools("ledger", &stdout(&out));
}

#[test]
fn klines_sent_newest_first_are_a_decode_error_not_a_halt() {
    let server = MockServer::start();
    let row = |open: i64| {
        format!(
            r#"[{open},"1.0","1.0","1.0","1.0","1.0",{},"1.0",5,"0","0","0"]"#,
            open + 3_599_999
        )
    };
    // 2024-03-01 01:00 and 00:00, in that order.
    let page = format!("[{},{}]", row(1_709_254_800_000), row(1_709_251_200_000));
    server.always("/api/v3/klines BTCUSDT", mock_binance::Fault::Body(page));
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1h",
            "--from",
            "2024-03-01T00:00Z",
            "--to",
            "2024-03-01T02:00Z",
        ])
        .args(["-r", "0", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    common::assert_stderr_has(&out, "candles are not in time order");
    assert!(!stderr(&out).contains("a halt"), "{}", stderr(&out));
}

#[cfg(target_os = "linux")]
#[test]
fn a_candles_table_fits_the_terminal_with_spaced_headers_and_local_times() {
    let server = MockServer::start();
    let line = format!(
        "pricefetch --base-url {} --candles 1d --from 2024-12-30 --to 2025-01-01 \
         --tz Europe/Paris BTCEUR ETHUSDT -v",
        server.url()
    );
    let out = common::on_a_pty(&line, Some((80, 24))).output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(
        screen.contains("SYMBOL   OPEN TIME (Europe/Paris)") && !screen.contains("OPEN_TIME"),
        "{screen}"
    );
    // Days open at local midnight; a symbol longer than the first keeps the columns straight.
    assert!(
        screen.contains("\nBTCEUR   2024-12-31 00:00  ")
            && screen.contains("\nETHUSDT  2024-12-31 00:00  "),
        "{screen}"
    );
    let table = screen.lines().filter(|l| !l.contains('\x1b'));
    assert!(table.clone().count() >= 5, "{screen}");
    assert!(
        table.into_iter().all(|l| l.chars().count() <= 80),
        "{screen}"
    );
    assert!(
        screen.contains("left out to fit 80 columns: HIGH, LOW, VOLUME, QUOTE VOLUME, CLOSE TIME"),
        "{screen}"
    );
    // In a pipe, every column, as the csv header names them.
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1d",
            "--from",
            "2024-12-30",
            "--to",
            "2024-12-31",
        ])
        .args(["-f", "table", "BTCEUR"])
        .output()
        .unwrap();
    let header = stdout(&out).lines().next().unwrap_or_default().to_owned();
    assert!(
        header.contains("QUOTE VOLUME") && header.ends_with("CLOSE TIME (UTC)"),
        "{header}"
    );
}

#[test]
fn the_candle_still_open_is_left_out_and_said() {
    // `--to` is now by default: the hour under way has no close yet, and a ledger would keep
    // a price that later changes.
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1h",
            "--from",
            "-3h",
            "-f",
            "ndjson",
            "BTCUSDT",
            "ETHUSDT",
        ])
        .output()
        .unwrap();
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!rows.is_empty());
    for row in &rows {
        assert!(row["close_time_ms"].as_u64().unwrap() < after, "{row}");
    }
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{} candles of 1h for 2 symbols, 2 candles still open left out until",
            rows.len()
        )),
        "{err}"
    );
}
