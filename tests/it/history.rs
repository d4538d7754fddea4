//! `--candles` against the mock's tape of trades: a range over many requests in order and
//! without a seam, gaps for a halt and before a listing, empty candles, the reorder window,
//! microseconds, the candle still open, the table that fits, and bad input refused before
//! anything is sent (`--at` in history_at.rs, zones in history_zones.rs, ledger and beancount
//! in accounting.rs).

use crate::common;

use std::time::Duration;

use common::{bare, ndjson, pricefetch, stderr, stdout};
use mock_binance::{Fault, MockServer, Options};

const MINUTE: i64 = 60_000;
/// 2024-03-01T00:00:00Z.
const MARCH_1: i64 = 1_709_251_200_000;

pub(crate) fn klines_hits(server: &MockServer) -> Vec<mock_binance::Hit> {
    server
        .hits()
        .into_iter()
        .filter(|h| h.path == "/api/v3/klines")
        .collect()
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
