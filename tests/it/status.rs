//! Pairs that do not trade: Binance still answers for delisted (`BREAK`) and halted pairs with
//! their last, stale price, so pricefetch asks for trading pairs only (`symbolStatus=TRADING`)
//! and says which pairs do not trade, rather than print a price that is not current.

use crate::common;

use common::{json_report, pricefetch, stderr, stdout};
use mock_binance::MockServer;

#[test]
fn a_delisted_pair_in_a_batch_fails_as_not_trading_and_prints_no_price() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--strategy", "batch", "-f", "json", "BCCBTC", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!(r.results[0].price, None);
    let err = r.results[0].error.as_ref().unwrap();
    assert_eq!(err.kind, "not_trading");
    assert!(
        err.message.contains("not trading (delisted or halted)"),
        "{}",
        err.message
    );
    assert_eq!(r.results[1].price.as_deref(), Some("97123.45000000"));
    assert_eq!(
        r.isolation_requests, 0,
        "not an unknown symbol: nothing to isolate"
    );
    let hits = server.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].symbol_status.as_deref(), Some("TRADING"));
    common::assert_stderr_has(&out, "BCCBTC: not trading");
    common::assert_stderr_has(&out, "--any-status");
}

#[test]
fn a_lone_halted_pair_is_refused_by_binance_with_1220_and_reported_the_same_way() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["-f", "csv", "LUNAUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("LUNAUSDT,,not trading (delisted or halted)"),
        "{}",
        stdout(&out)
    );
    let hits = server.hits();
    assert_eq!(
        (hits.len(), hits[0].status),
        (1, 400),
        "one attempt: -1220 is not retried"
    );
}

#[test]
fn the_whole_market_lists_trading_pairs_only() {
    let server = MockServer::start();
    let out = pricefetch(&server).args(["--all"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("BTCUSDT"));
    for stale in ["BCCBTC", "XMRUSDT", "LUNAUSDT"] {
        assert!(!text.contains(stale), "{stale} printed:\n{text}");
    }
}

#[test]
fn any_status_prints_the_stale_prices_and_names_the_pairs_that_do_not_trade() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--any-status", "--strategy", "batch", "-f", "json"])
        .args(["BCCBTC", "BTCUSDT", "LUNAUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!(r.results[0].price.as_deref(), Some("0.00000000"));
    common::assert_stderr_has(
        &out,
        "not trading, so the prices printed for them are stale: BCCBTC (BREAK), LUNAUSDT (HALT)",
    );
    let hits = server.hits();
    assert!(hits.iter().all(|h| h.symbol_status.is_none()));
    assert_eq!(
        hits.iter()
            .filter(|h| h.path == "/api/v3/exchangeInfo")
            .count(),
        1
    );
    // The batch (4) and exchangeInfo (20), counted as the server counted them.
    let served: u32 = hits.iter().map(|h| h.weight).sum();
    assert_eq!((r.weight, served), (24, 24));
}
