//! `--watch`: refreshes on a schedule, as a stream when piped and a live table on a terminal.

use crate::common;

use std::collections::BTreeSet;

use common::{pricefetch, stderr, stdout};
use mock_binance::{ANY, Fault, MockServer};
use serde_json::Value;

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn piped_watch_writes_a_timestamped_line_per_symbol_per_refresh() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--watch", "1s", "--count", "3", "BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = lines(&stdout(&out));
    assert_eq!(rows.len(), 6);
    let times: BTreeSet<&str> = rows.iter().map(|r| r["time"].as_str().unwrap()).collect();
    assert_eq!(times.len(), 3, "three refreshes");
    assert!(rows.iter().all(|r| r["price"].is_string()));
    assert_eq!(server.hits().len(), 6);
}

#[test]
fn watch_with_json_writes_one_object_per_refresh() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--watch", "1s", "--count", "2", "-f", "json", "BTCUSDT"])
        .output()
        .unwrap();
    let docs = lines(&stdout(&out));
    assert_eq!(docs.len(), 2);
    for d in &docs {
        assert!(
            d["time"].is_string() && d["results"][0]["price"].is_string(),
            "{d}"
        );
        // Each object speaks of its own refresh, not of the run so far.
        assert_eq!(
            (d["requests"].as_u64(), d["weight"].as_u64()),
            (Some(1), Some(2)),
            "{d}"
        );
    }
}

#[test]
fn a_failed_refresh_is_shown_and_the_next_one_goes_on() {
    let server = MockServer::start();
    server.script("BTCUSDT", [Fault::Status(500)]);
    let out = pricefetch(&server)
        .args(["--watch", "1s", "--count", "2", "-r", "0", "BTCUSDT"])
        .output()
        .unwrap();
    let rows = lines(&stdout(&out));
    assert_eq!(rows[0]["error"]["status"], 500);
    assert_eq!(rows[1]["price"], "97123.45000000");
    assert_eq!(out.status.code(), Some(0), "the last refresh decides");
    common::assert_stderr_has(&out, "HTTP 500");
}

#[test]
fn a_watch_that_hits_a_429_waits_it_out_and_recovers() {
    let server = MockServer::start();
    server.script(
        ANY,
        [Fault::RateLimit {
            retry_after_secs: 1,
        }],
    );
    let out = pricefetch(&server)
        .args(["--watch", "1s", "--count", "3", "BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = lines(&stdout(&out));
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r["price"].is_string()), "{rows:?}");
    assert!(server.hits().iter().all(|h| h.status != 418), "banned");
}

#[test]
fn watch_refuses_what_it_cannot_do() {
    let server = MockServer::start();
    for (args, says) in [
        (&["--watch", "500ms", "X"][..], "at most once a second"),
        (&["--count", "2", "X"], "--count goes with --watch"),
        (&["--watch", "1s", "-f", "csv", "X"], "--watch writes"),
        (&["--watch", "1s", "--compare", "X"], "--compare"),
    ] {
        let out = pricefetch(&server).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    assert!(server.hits().is_empty());
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_the_table_is_redrawn_in_place_with_the_change() {
    let server = MockServer::start();
    let line = format!(
        "pricefetch --base-url {} --watch 1s --count 2 BTCUSDT ETHUSDT",
        server.url()
    );
    let out = common::on_a_pty(&line, None).output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    // Redrawn in place (home, overwrite, clear below), never by clearing the whole screen.
    assert_eq!(screen.matches("\x1b[H").count(), 2, "{screen:?}");
    assert_eq!(screen.matches("\x1b[J").count(), 2, "{screen:?}");
    assert!(!screen.contains("\x1b[2J"), "{screen:?}");
    assert!(
        screen.contains("LAST MOVE") && screen.contains("every 1s"),
        "{screen:?}"
    );
    // The mock's prices do not move: the second refresh shows a change of 0.
    assert!(
        screen.contains("97123.45000000") && screen.contains(" 0"),
        "{screen:?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn rows_beyond_the_screen_are_cut_so_the_header_stays() {
    let server = MockServer::start();
    let line = format!(
        "pricefetch --base-url {} --watch 1s --count 1 BTCUSDT ETHUSDT SOLUSDT BNBUSDT XRPUSDT \
         ADAUSDT DOGEUSDT",
        server.url()
    );
    let out = common::on_a_pty(&line, Some((80, 6))).output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("every 1s") && screen.contains("SYMBOL"),
        "{screen:?}"
    );
    // 6 rows: the two header lines, two symbols, "… and 5 more", and one spare.
    assert!(
        screen.contains("ETHUSDT") && !screen.contains("SOLUSDT"),
        "{screen:?}"
    );
    assert!(screen.contains("… and 5 more"), "{screen:?}");
}

#[test]
fn the_offline_mock_moves_its_prices_unless_frozen() {
    // As `mock_binance` serves by default: a price a second, the same for the same seed.
    let moving = MockServer::start_with(mock_binance::Options {
        moving_prices: true,
        ..mock_binance::Options::default()
    });
    let out = pricefetch(&moving)
        .args(["--watch", "1s", "--count", "3", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let prices: BTreeSet<String> = lines(&stdout(&out))
        .iter()
        .map(|r| r["price"].as_str().unwrap().to_owned())
        .collect();
    assert!(prices.len() >= 2, "a price a second, over 3 s: {prices:?}");
    for p in &prices {
        let p: f64 = p.parse().unwrap();
        assert!((p / 97123.45 - 1.0).abs() < 0.003, "{p} wandered too far");
    }
    // Frozen (the library's default, as tests need): the same price every time.
    let frozen = MockServer::start();
    let out = pricefetch(&frozen)
        .args(["--watch", "1s", "--count", "2", "BTCUSDT"])
        .output()
        .unwrap();
    assert!(
        lines(&stdout(&out))
            .iter()
            .all(|r| r["price"] == "97123.45000000")
    );
}

#[test]
fn the_offline_mocks_streams_and_rest_are_one_market() {
    // Each update's price is the one REST gives at the update's instant, whenever the
    // connection opened (a new connection once started again from the listed price).
    let server = MockServer::start_with(mock_binance::Options {
        moving_prices: true,
        streams: mock_binance::StreamOptions {
            interval: std::time::Duration::from_millis(300),
            ..Default::default()
        },
        ..mock_binance::Options::default()
    });
    let out = pricefetch(&server)
        .args(["--stream", "--stream-url", &server.stream_url()])
        .args(["--count", "4", "--ticker", "24h", "BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let updates: Vec<_> = lines(&stdout(&out))
        .into_iter()
        .filter(|r| r["snapshot"] == false)
        .collect();
    assert!(updates.len() >= 4, "{updates:?}");
    let frozen = MockServer::start();
    for u in &updates {
        let (symbol, at) = (
            u["symbol"].as_str().unwrap(),
            u["event_time"].as_u64().unwrap(),
        );
        let rest = server.price_at(symbol, at).unwrap();
        assert_eq!(u["last_price"], rest.as_str(), "{u}");
        assert_ne!(rest, frozen.price_at(symbol, 0).unwrap(), "moving: {u}");
    }
}
