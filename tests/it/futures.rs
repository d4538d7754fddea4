//! `--market usdm|coinm`: Binance's futures markets, each its own exchange: its paths, its
//! symbols (COIN-M answering arrays), `--ticker mark` (the mark price and the funding rate, a
//! quarterly's absent), its own budget in the shared ledger, and clear words for what the
//! futures do not have, or pricefetch does not ask them yet.

use crate::common;

use common::{ndjson, pricefetch, stderr, stdout};
use mock_binance::{Fault, MockServer};
use serde_json::Value;

/// What the mock was asked, less each market's limit (`exchangeInfo`, weight 1), which a run
/// asks once a day, so in every test (each has a state directory of its own).
fn asked(server: &MockServer) -> Vec<mock_binance::Hit> {
    let mut hits = server.hits();
    hits.retain(|h| !h.path.ends_with("/v1/exchangeInfo"));
    hits
}

#[test]
fn each_market_has_its_paths_symbols_and_weights() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--market", "usdm", "-f", "json", "BTCUSDT", "1000PEPEUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["results"][0]["price"], "97150.10");
    assert_eq!(r["results"][1]["price"], "0.0041230");
    // One symbol a request on the futures (no symbols=[…]), weight 1 each, no symbolStatus;
    // the market's limit asked first (exchangeInfo) is bookkeeping, not counted.
    assert_eq!(
        (r["requests"].as_u64(), r["weight"].as_u64()),
        (Some(2), Some(2))
    );
    let hits = asked(&server);
    assert!(
        hits.iter().all(|h| h.path == "/fapi/v1/ticker/price"),
        "{hits:?}"
    );
    assert!(
        hits.iter()
            .all(|h| h.symbol_status.is_none() && h.symbols.is_none())
    );
    // COIN-M answers an array even for one symbol.
    let out = pricefetch(&server)
        .args(["--market", "coinm", "-f", "ndjson", "BTCUSD_PERP"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ndjson(&out)[0]["price"], "97140.5");
    assert_eq!(server.hits().last().unwrap().path, "/dapi/v1/ticker/price");
}

#[test]
fn mark_prices_and_funding_rates_are_exact_and_a_quarterly_has_none() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--market", "usdm", "--ticker", "mark", "-f", "ndjson"])
        .args(["BTCUSDT", "ETHUSDT", "BTCUSDT_250627"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // ndjson lines come as the answers do: found by symbol.
    let all = ndjson(&out);
    let of = |symbol: &str| all.iter().find(|r| r["symbol"] == symbol).unwrap().clone();
    let rows = [of("BTCUSDT"), of("ETHUSDT"), of("BTCUSDT_250627")];
    assert_eq!(rows[0]["mark_price"], "97148.37011594");
    assert_eq!(rows[0]["index_price"], "97101.55234783");
    assert_eq!(rows[0]["funding_rate"], "0.00010000");
    // A negative rate, as sent: a string, never a float or a percentage.
    assert_eq!(rows[1]["funding_rate"], "-0.00003750");
    let next = rows[0]["next_funding_time"].as_u64().unwrap();
    assert_eq!(next % (8 * 3_600_000), 0, "funding every 8 hours: {next}");
    // The quarterly has no funding: absent, not zero.
    assert_eq!(rows[2]["mark_price"], "98511.20000000");
    for field in ["funding_rate", "interest_rate", "next_funding_time"] {
        assert!(rows[2].get(field).is_none(), "{field}: {}", rows[2]);
    }
    // COIN-M, the whole market in one request (weight 10), its arrays with `pair`.
    let out = pricefetch(&server)
        .args([
            "--market", "coinm", "--ticker", "mark", "--all", "-f", "csv",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("symbol,mark_price,index_price,estimated_settle_price,funding_rate,"));
    assert!(text.contains("\nBTCUSD_PERP,97139.82000000,"), "{text}");
    assert!(
        text.contains("\nBTCUSD_250627,98415.70000000,97101.60000000,97101.60000000,,,,"),
        "{text}"
    );
    let last = server.hits().last().unwrap().clone();
    assert_eq!(
        (last.path.as_str(), last.weight),
        ("/dapi/v1/premiumIndex", 10)
    );
}

#[test]
fn a_ban_on_one_market_leaves_the_others_running() {
    let server = MockServer::start();
    let state = common::fresh_state_dir();
    let run = |args: &[&str]| {
        pricefetch(&server)
            .env("PRICEFETCH_STATE_DIR", &state)
            .args(args)
            .output()
            .unwrap()
    };
    server.script(
        "/fapi/v1/ticker/price BTCUSDT",
        [Fault::Ban {
            retry_after_secs: 120,
        }],
    );
    let out = run(&["--market", "usdm", "BTCUSDT"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    // Spot and COIN-M still run; USD-M stays banned without sending (its ledger says so).
    let out = run(&["BTCUSDT"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&["--market", "coinm", "BTCUSD_PERP"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before = server.hits().len();
    let out = run(&["--market", "usdm", "ETHUSDT"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(server.hits().len(), before, "nothing sent while banned");
    let mut files: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.ends_with(".json") && !n.ends_with(".pairs.json") && !n.ends_with(".limit.json")
        })
        .collect();
    files.sort();
    let port = server.url().rsplit(':').next().unwrap().to_owned();
    assert_eq!(
        files,
        [
            format!("127.0.0.1_{port}.coinm.json"),
            format!("127.0.0.1_{port}.json"),
            format!("127.0.0.1_{port}.usdm.json"),
        ]
    );
}

#[test]
fn the_wrong_market_is_named_with_the_one_that_has_the_symbol() {
    let server = MockServer::start();
    for (args, hint) in [
        (
            &["--market", "usdm", "BTCUSD_PERP"][..],
            "hint: BTCUSD_PERP is a COIN-M futures symbol: add --market coinm",
        ),
        (
            &["--market", "coinm", "BTCUSDT_250627"],
            "hint: BTCUSDT_250627 is a USD-M futures symbol: add --market usdm",
        ),
        (
            &["BTCUSDT_250627"],
            "hint: BTCUSDT_250627 is a USD-M futures symbol: add --market usdm",
        ),
    ] {
        let out = pricefetch(&server).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("-1121") && err.contains(hint),
            "{args:?}: {err}"
        );
        assert!(!err.contains("check the symbol's spelling"), "{err}");
    }
}

#[test]
fn what_the_futures_lack_is_refused_before_anything_is_sent() {
    // What Binance lacks there, and what is not asked yet.
    let server = MockServer::start();
    for (args, said) in [
        (&["--ticker", "mark", "BTCUSDT"][..], "add --market usdm"),
        (
            &["--market", "usdm", "--ticker", "avg", "BTCUSDT"],
            "Binance's usdm market has no such endpoint",
        ),
        (
            &["--market", "coinm", "--window", "1h", "BTCUSD_PERP"],
            "no such endpoint",
        ),
        (
            &["--market", "usdm", "--in", "EUR", "BTC"],
            "--in with --market usdm",
        ),
        // The futures' aggTrades weigh 20, not spot's 4: two symbols' --at is at least 40.
        (
            &[
                "--market",
                "usdm",
                "--at",
                "2024-03-01",
                "--max-weight",
                "30",
                "BTCUSDT",
                "ETHUSDT",
            ],
            "--at for 2 symbols costs at least 40 request weight",
        ),
        (
            &[
                "--market",
                "coinm",
                "--candles",
                "1s",
                "--from",
                "2024-03-01",
                "BTCUSD_PERP",
            ],
            "Binance's coinm market has no 1-second candles",
        ),
        // Days in Paris would need Binance's timeZone, which the futures do not take.
        (
            &[
                "--market",
                "usdm",
                "--candles",
                "1d",
                "--tz",
                "Europe/Paris",
                "--from",
                "2024-03-01",
                "BTCUSDT",
            ],
            "the futures' candles open in UTC",
        ),
        (
            &[
                "--market",
                "usdm",
                "--stream",
                "--backfill",
                "-f",
                "ndjson",
                "BTCUSDT",
            ],
            "--backfill (1-second candles): Binance's usdm market has no such endpoint",
        ),
        (
            &["--market", "usdm", "--strategy", "batch", "BTCUSDT"],
            "leave out --strategy batch",
        ),
    ] {
        let out = pricefetch(&server).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(said), "{args:?}: {}", stderr(&out));
    }
    assert!(server.hits().is_empty(), "{:?}", server.hits());
}

#[test]
fn a_funding_rate_watch_polls_the_mark_prices() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--market", "usdm", "--ticker", "mark", "--watch", "1s", "--count", "2",
        ])
        .args(["-f", "ndjson", "BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = ndjson(&out);
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r["time"].is_string() && r["funding_rate"].is_string())
    );
    let eth: Vec<_> = rows.iter().filter(|r| r["symbol"] == "ETHUSDT").collect();
    assert_eq!(eth.len(), 2);
    assert!(
        eth.iter().all(|r| r["funding_rate"] == "-0.00003750"),
        "{eth:?}"
    );
    let paths: Vec<_> = asked(&server).iter().map(|h| h.path.clone()).collect();
    assert!(
        paths.iter().all(|p| p == "/fapi/v1/premiumIndex"),
        "{paths:?}"
    );
}

#[test]
fn mark_prices_as_openmetrics_for_a_textfile_collector() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--market", "usdm", "--ticker", "mark", "-f", "openmetrics"])
        .args(["BTCUSDT", "BTCUSDT_250627"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let labels = "{symbol=\"BTCUSDT\",market=\"usdm\",pair=\"BTCUSDT\"}";
    for line in [
        format!("binance_futures_mark_price{labels} 97148.37011594"),
        format!("binance_futures_index_price{labels} 97101.55234783"),
        format!("binance_futures_funding_rate{labels} 0.00010000"),
    ] {
        assert!(text.contains(&format!("\n{line}\n")), "{line}\n{text}");
    }
    let next = text
        .lines()
        .find(|l| {
            l.starts_with("binance_futures_next_funding_timestamp_seconds{symbol=\"BTCUSDT\"")
        })
        .unwrap();
    let seconds: u64 = next.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(seconds % (8 * 3600), 0, "{next}");
    // The quarterly has a mark price, and no funding samples at all.
    assert!(text.contains(
        "binance_futures_mark_price{symbol=\"BTCUSDT_250627\",market=\"usdm\",pair=\"BTCUSDT\"} "
    ));
    assert!(
        !text.contains("binance_futures_funding_rate{symbol=\"BTCUSDT_250627\""),
        "{text}"
    );
    // Labels come from the symbol: no exchangeInfo asked.
    assert!(
        asked(&server)
            .iter()
            .all(|h| h.path == "/fapi/v1/premiumIndex")
    );
    if let Some((ok, said)) = common::promtool(&text) {
        assert!(ok, "promtool: {said}\n{text}");
    }
}

#[test]
fn the_book_and_the_24h_ticker_where_the_futures_have_them() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--market", "usdm", "--ticker", "24h", "-f", "ndjson", "BTCUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ndjson(&out)[0]["last_price"], "97150.10");
    let out = pricefetch(&server)
        .args([
            "--market", "coinm", "--ticker", "book", "--all", "-f", "csv",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("\nBTCUSD_PERP,97130.78595000,1.500,"),
        "{}",
        stdout(&out)
    );
    let weights: Vec<(String, u32)> = (server.hits().iter())
        .map(|h| (h.path.clone(), h.weight))
        .collect();
    assert_eq!(
        weights,
        [
            ("/fapi/v1/exchangeInfo".to_owned(), 1),
            ("/fapi/v1/ticker/24hr".to_owned(), 1),
            ("/dapi/v1/exchangeInfo".to_owned(), 1),
            ("/dapi/v1/ticker/bookTicker".to_owned(), 5)
        ]
    );
    // COIN-M's 24-hour ticker counts its volume in contracts: the coin's (baseVolume) is the
    // volume, and there is no quote volume (absent, never contracts under its name).
    let out = pricefetch(&server)
        .args([
            "--market",
            "coinm",
            "--ticker",
            "24h",
            "-f",
            "ndjson",
            "BTCUSD_PERP",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let row = &ndjson(&out)[0];
    assert_eq!(row["last_price"], "97140.5");
    assert_eq!(row["volume"], "127.09014263", "{row}");
    assert!(row.get("quote_volume").is_none(), "{row}");
    // Its stream's volumes are contracts too: not followed yet, said so.
    let out = pricefetch(&server)
        .args([
            "--market",
            "coinm",
            "--stream",
            "--ticker",
            "24h",
            "BTCUSD_PERP",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    common::assert_stderr_has(
        &out,
        "COIN-M's ticker stream counts its volume in contracts",
    );
}

#[test]
fn show_config_says_the_markets_host_and_limit() {
    // The market's name in any case, as symbols are.
    let out = common::bare()
        .args(["--market", "USDM", "--show-config"])
        .output()
        .unwrap();
    let text = stdout(&out);
    for (setting, value) in [
        ("market", "usdm"),
        ("base-url", "https://fapi.binance.com"),
        ("weight-limit", "2400"),
    ] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().take(2).eq([setting, value])),
            "{setting} {value}:\n{text}"
        );
    }
}

#[test]
fn verbose_names_the_budget_a_run_spends() {
    let server = MockServer::start();
    for (args, said) in [
        (
            &["--market", "usdm", "BTCUSDT"][..],
            "budget usdm (2400 a minute)",
        ),
        (&["BTCUSDT"], "budget spot (6000 a minute)"),
        (
            &[
                "--market",
                "usdm",
                "--funding",
                "--from",
                "2024-01-01",
                "BTCUSDT",
            ],
            "budget usdm.funding (100 a minute)",
        ),
    ] {
        let out = pricefetch(&server)
            .arg("-v")
            .args(args)
            .env("PRICEFETCH_STATE_DIR", common::fresh_state_dir())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        common::assert_stderr_has(&out, said);
    }
}

#[test]
fn each_futures_market_has_its_own_limit_asked_once_a_day() {
    let server = MockServer::start_with(mock_binance::Options {
        futures_weight_limit: 1200,
        ..mock_binance::Options::default()
    });
    let state = common::fresh_state_dir();
    let run = |args: &[&str]| {
        let out = pricefetch(&server)
            .env("PRICEFETCH_STATE_DIR", &state)
            .arg("-v")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        out
    };
    let infos = || {
        (server.hits().iter())
            .filter(|h| h.path.ends_with("/v1/exchangeInfo"))
            .count()
    };
    let out = run(&["--market", "usdm", "BTCUSDT"]);
    common::assert_stderr_has(
        &out,
        "budget usdm: 1200 a minute, as Binance's exchangeInfo says",
    );
    assert_eq!(infos(), 1);
    // The next run reads it from beside the ledger; COIN-M asks its own; a limit given is kept.
    let out = run(&["--market", "usdm", "ETHUSDT"]);
    common::assert_stderr_has(&out, "budget usdm: 1200 a minute");
    assert_eq!(infos(), 1);
    run(&["--market", "coinm", "BTCUSD_PERP"]);
    assert_eq!(infos(), 2);
    let out = run(&["--market", "coinm", "--weight-limit", "900", "BTCUSD_PERP"]);
    common::assert_stderr_has(&out, "budget coinm (900 a minute)");
    assert!(!stderr(&out).contains("exchangeInfo says"));
    assert_eq!(infos(), 2);
}
