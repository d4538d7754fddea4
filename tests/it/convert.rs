//! `--in ASSET`: assets priced through Binance's pairs (direct, inverse, two legs), exactly,
//! rounded once half to even; what the server is asked (one exchangeInfo, cached; the legs in
//! one batch); and every way it can fail.

use crate::common;

use common::{pricefetch, stderr, stdout};
use mock_binance::{MockServer, Options};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

/// The price of each result, by asset.
fn prices(r: &serde_json::Value) -> Vec<(String, String)> {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["asset"].as_str().unwrap().to_owned(),
                x["price"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn direct_inverse_and_two_leg_routes_give_exact_strings() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--strategy", "auto", "--in", "EUR", "-f", "json"])
        .args(["BTC", "ADA", "eur", "PEPE", "LTC"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(
        prices(&r),
        owned(&[
            // The direct pair, as Binance sends it.
            ("BTC", "91234.50000000"),
            // ADAUSDT / EURUSDT = 0.4512 / 1.0823 = 0.416889956…
            ("ADA", "0.41688996"),
            ("EUR", "1"),
            // PEPEUSDT / EURUSDT = 0.00000412 / 1.0823: 8 significant digits.
            ("PEPE", "0.0000038067079"),
            // LTCEUR is delisted: LTCUSDT / EURUSDT = 84.12 / 1.0823.
            ("LTC", "77.72336690"),
        ])
    );
    let ada = &r["results"][1];
    assert_eq!(ada["in"], "EUR");
    assert_eq!(ada["route"], serde_json::json!(["ADAUSDT", "EURUSDT"]));
    assert_eq!(ada["legs"][0]["price"], "0.45120000");
    assert_eq!(ada["legs"][0]["inverted"], false);
    assert_eq!(ada["legs"][1]["symbol"], "EURUSDT");
    assert_eq!(ada["legs"][1]["inverted"], true);
    assert!(ada["legs"][1]["price_time"].is_string());
    assert_eq!(
        r["results"][4]["route"],
        serde_json::json!(["LTCUSDT", "EURUSDT"])
    );
    // One exchangeInfo (20), and every leg in one batch (4).
    let hits = server.hits();
    let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/api/v3/exchangeInfo", "/api/v3/ticker/price"],
        "{hits:?}"
    );
    assert_eq!(r["weight"], 24);
    let legs: Vec<String> = serde_json::from_str(hits[1].symbols.as_deref().unwrap()).unwrap();
    assert_eq!(
        legs,
        ["BTCEUR", "ADAUSDT", "EURUSDT", "PEPEUSDT", "LTCUSDT"],
        "each leg once, and never the delisted LTCEUR"
    );
}

#[test]
fn an_inverse_a_product_and_a_tiny_price_in_btc() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--in", "BTC", "-f", "json", "EUR", "PEPE", "ETH"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        prices(&json(&out)),
        owned(&[
            // 1 / BTCEUR = 1 / 91234.5: 8 significant digits, not 0.00001096.
            ("EUR", "0.000010960766"),
            // PEPEUSDT / BTCUSDT: never 0.00000000.
            ("PEPE", "0.000000000042420239"),
            ("ETH", "0.03512000"),
        ])
    );
    let out = pricefetch(&server)
        .args(["--in", "TRY", "-f", "csv", "ADA"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = stdout(&out);
    assert!(
        csv.starts_with("asset,in,price,route,error,elapsed_ms,attempts,price_time\n"),
        "{csv}"
    );
    // ADAUSDT × USDTTRY = 0.4512 × 34.512.
    assert!(
        csv.contains("\nADA,TRY,15.57181440,ADAUSDT*USDTTRY,,"),
        "{csv}"
    );
}

#[test]
fn a_result_exactly_halfway_is_rounded_to_even() {
    let pair = |s: &str, b: &str, q: &str, p: &str| (s.into(), b.into(), q.into(), p.into());
    let server = MockServer::start_with(Options {
        extra_pairs: vec![
            pair("LOWUSDT", "LOW", "USDT", "1.00000001"),
            pair("HIGHUSDT", "HIGH", "USDT", "1.00000003"),
            pair("USDTHALF", "USDT", "HALF", "0.50000000"),
        ],
        ..Options::default()
    });
    let out = pricefetch(&server)
        .args(["--in", "HALF", "-f", "json", "LOW", "HIGH"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        prices(&json(&out)),
        // 0.500000005 and 0.500000015: half to even, not half up (…01, …02).
        owned(&[("LOW", "0.50000000"), ("HIGH", "0.50000002")])
    );
}

#[test]
fn via_forces_the_hub() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--in", "EUR", "--via", "BTC", "-f", "json", "ETH"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json(&out);
    // ETHBTC × BTCEUR = 0.03512 × 91234.5, although ETHEUR trades.
    assert_eq!(prices(&r), owned(&[("ETH", "3204.15564000")]));
    assert_eq!(
        r["results"][0]["route"],
        serde_json::json!(["ETHBTC", "BTCEUR"])
    );
}

#[test]
fn an_asset_without_a_route_fails_alone_naming_what_is_missing() {
    let server = MockServer::start_with(Options {
        extra_pairs: vec![(
            "AAABBB".into(),
            "AAA".into(),
            "BBB".into(),
            "2.00000000".into(),
        )],
        ..Options::default()
    });
    let out = pricefetch(&server)
        .args(["--in", "EUR", "-f", "json", "BTC", "AAA", "NOPE"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(r["results"][0]["price"], "91234.50000000");
    let aaa = &r["results"][1];
    assert_eq!(aaa["error"]["kind"], "no_route");
    let msg = aaa["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("AAAEUR or EURAAA") && msg.contains("(via USDT)"),
        "{msg}"
    );
    assert_eq!(r["results"][2]["error"]["kind"], "no_route");
    let err = stderr(&out);
    assert!(
        err.contains("NOPE: no route to EUR: no trading pair on Binance names NOPE"),
        "{err}"
    );
    assert!(!err.contains("0 attempts"), "{err}");
}

#[test]
fn usd_is_not_an_asset_and_the_other_flags_are_refused() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--in", "usd", "BTC"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no asset USD") && err.contains("USDT, USDC and FDUSD"),
        "{err}"
    );
    for args in [
        &["--in", "EUR", "--stream", "BTC"][..],
        &["--in", "EUR", "--ticker", "24h", "BTC"],
        &["--in", "EUR", "--compare", "BTC"],
        &["--via", "BTC", "ETH"],
        &["--in", "EUR", "--all"],
        &["--in", "EUR"],
    ] {
        let out = pricefetch(&server).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    assert!(server.hits().is_empty(), "nothing sent");
}

#[test]
fn the_pairs_are_cached_and_an_unknown_asset_refreshes_them_once() {
    let server = MockServer::start();
    let state = common::fresh_state_dir();
    let run = |assets: &[&str]| {
        let out = pricefetch(&server)
            .env("PRICEFETCH_STATE_DIR", &state)
            .args(["--in", "EUR", "-q"])
            .args(assets)
            .output()
            .unwrap();
        let info = server
            .hits()
            .iter()
            .filter(|h| h.path == "/api/v3/exchangeInfo")
            .count();
        (out.status.code(), info)
    };
    assert_eq!(run(&["BTC"]), (Some(0), 1));
    assert_eq!(
        run(&["ADA", "SOL"]),
        (Some(0), 1),
        "the second run reads the cache"
    );
    assert_eq!(
        run(&["NOPE"]),
        (Some(1), 2),
        "an unknown asset asks again, once"
    );
    let cache = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".pairs.json"))
        .expect("a cache file beside the ledger");
    let mode = std::fs::metadata(state.join(&cache)).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    // --no-shared-state keeps the pairs in memory only: every run asks.
    let out = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &state)
        .args(["--no-shared-state", "--in", "EUR", "-q", "BTC"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let info = server
        .hits()
        .iter()
        .filter(|h| h.path == "/api/v3/exchangeInfo")
        .count();
    assert_eq!(info, 3);
}

#[test]
fn the_table_names_the_assets_and_verbose_says_the_route() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--in", "EUR", "-f", "table", "-v", "ADA"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.starts_with("ASSET") && table.contains("IN EUR"),
        "{table}"
    );
    assert!(table.contains("0.41688996"), "{table}");
    let err = stderr(&out);
    assert!(
        err.contains("ADA in EUR: ADAUSDT (0.45120000) × 1/EURUSDT (1.08230000)"),
        "{err}"
    );
}

#[test]
fn a_result_too_small_to_hold_or_a_zero_leg_is_said_never_a_zero() {
    let pair = |s: &str, b: &str, q: &str, p: &str| (s.into(), b.into(), q.into(), p.into());
    let server = MockServer::start_with(Options {
        extra_pairs: vec![
            pair("TINYUSDT", "TINY", "USDT", "0.00000000000000000001"),
            pair("BIGUSDT", "BIG", "USDT", "10000000000"),
            pair("NILUSDT", "NIL", "USDT", "0.00000000"),
        ],
        ..Options::default()
    });
    let out = pricefetch(&server)
        .args(["--in", "BIG", "-f", "json", "TINY", "NIL", "BTC"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = json(&out);
    let tiny = r["results"][0]["error"]["message"].as_str().unwrap();
    assert!(tiny.contains("too small to represent"), "{tiny}");
    assert!(
        r["results"][0]
            .get("price")
            .is_none_or(serde_json::Value::is_null)
    );
    let nil = r["results"][1]["error"]["message"].as_str().unwrap();
    assert!(nil.contains("no usable price"), "{nil}");
    assert!(r["results"][2]["price"].as_str().is_some());
    let err = stderr(&out);
    assert!(!err.contains("0 attempts"), "{err}");
}

/// `pricefetch ARGS -f ndjson`, one JSON value per line.
fn ndjson(server: &MockServer, args: &[&str]) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let out = pricefetch(server)
        .args(args)
        .args(["-f", "ndjson"])
        .output()
        .unwrap();
    let lines = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code(), lines, stderr(&out))
}

#[test]
fn at_a_moment_each_leg_is_its_last_trade_and_the_price_is_exact() {
    let server = MockServer::start();
    let at = "2024-12-31T23:59:59Z";
    let (code, rows, err) = ndjson(&server, &["--in", "EUR", "--at", at, "ADA", "BTC"]);
    assert_eq!(code, Some(0), "{err}");
    // Two legs: ADAUSDT 0.45390720 / EURUSDT 1.08879368 = 0.41689000252… → 0.41689000.
    let ada = &rows[0];
    assert_eq!(
        (ada["asset"].as_str(), ada["in"].as_str()),
        (Some("ADA"), Some("EUR"))
    );
    assert_eq!(ada["price"], "0.41689000");
    assert_eq!(ada["route"], serde_json::json!(["ADAUSDT", "EURUSDT"]));
    assert_eq!(ada["legs"][0]["price"], "0.45390720");
    assert_eq!(ada["legs"][1]["inverted"], true);
    assert_eq!(ada["legs"][1]["trade_time"], "2024-12-31T23:59:59.000Z");
    assert_eq!(ada["legs_skew_ms"], 0);
    // A direct pair is its own last trade, as sent.
    assert_eq!(rows[1]["price"], "91781.90700000");
    assert_eq!(rows[1]["route"], serde_json::json!(["BTCEUR"]));
    // Legs that traded apart: XRPBTC every 150 s, BTCEUR every second.
    let (_, rows, _) = ndjson(&server, &["--in", "EUR", "--via", "BTC", "--at", at, "XRP"]);
    // 0.00000658 × 91781.90700000 = 0.60392494806 → 0.60392495.
    assert_eq!(rows[0]["price"], "0.60392495");
    assert_eq!(rows[0]["legs_skew_ms"], 149_000);
    // Each leg was asked once, though two assets (ADA, and XRP's BTC leg) share none here and
    // EURUSDT is asked for ADA alone.
    let trades = |symbol: &str| {
        (server.hits().iter())
            .filter(|h| h.path == "/api/v3/aggTrades" && h.symbol.as_deref() == Some(symbol))
            .count()
    };
    assert_eq!(trades("EURUSDT"), 1);
}

#[test]
fn a_leg_without_a_trade_fails_the_assets_that_need_it_only() {
    // The UTF-8 pair was listed on 2025-12-02: before, its asset has no price; BTC has.
    let server = MockServer::start();
    let (code, rows, err) = ndjson(
        &server,
        &["--in", "USDT", "--at", "2025-06-01", "币安人生", "BTC"],
    );
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(rows[0]["error"]["kind"], "no_trade");
    let message = rows[0]["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("its leg 币安人生USDT: no trade"),
        "{message}"
    );
    assert_eq!(rows[1]["price"], "97730.47156250");
    assert!(
        err.contains("pricefetch: 币安人生: its leg 币安人生USDT: no trade"),
        "{err}"
    );
}

#[test]
fn a_year_of_prices_in_your_currency_for_beancount_and_bad_input() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--in",
            "EUR",
            "--at",
            "2024-12-31T23:59:59",
            "--tz",
            "Europe/Paris",
        ])
        .args([
            "-f",
            "beancount",
            "--commodity",
            "1INCH=ONEINCH",
            "ADA",
            "BTC",
            "1INCH",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("2024-12-31 price ADA "), "{text}");
    assert!(text.contains("\n2024-12-31 price ONEINCH "), "{text}");
    crate::accounting::check_with_tools("beancount", &text);
    // Refused with nothing sent: a time before Binance, legs' candles too many to hold, USD.
    for (args, said) in [
        (
            &["--in", "EUR", "--at", "2016-01-01", "ADA"][..],
            "before Binance's first trades",
        ),
        (
            &[
                "--in",
                "EUR",
                "--candles",
                "1m",
                "--from",
                "2018-01-01",
                "ADA",
            ],
            "holds its legs' candles",
        ),
        (
            &[
                "--in",
                "EUR",
                "--candles",
                "1d",
                "--from",
                "2024-02-01",
                "--to",
                "2024-01-01",
                "ADA",
            ],
            "is not before --to",
        ),
        (
            &["--in", "USD", "--at", "-1d", "ADA"],
            "Binance has no asset USD",
        ),
        (&["--in", "EUR", "--stream", "ADA"], "leave out --stream"),
    ] {
        let server = MockServer::start();
        let out = pricefetch(&server).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(said), "{args:?}: {}", stderr(&out));
        assert!(server.hits().is_empty(), "{args:?}");
    }
}

/// The rounding rule, independently: half to even to 8 decimal places, or to 8 significant
/// digits where 8 places hold fewer.
fn rounded(x: rust_decimal::Decimal) -> rust_decimal::Decimal {
    use rust_decimal::RoundingStrategy::MidpointNearestEven;
    if x.abs() >= rust_decimal::Decimal::new(1, 1) {
        x.round_dp_with_strategy(8, MidpointNearestEven)
    } else {
        x.round_sf_with_strategy(8, MidpointNearestEven).unwrap()
    }
}

#[test]
fn candles_in_your_currency_are_their_legs_candles_combined_exactly() {
    use rust_decimal::Decimal;
    let server = MockServer::start();
    let range = [
        "--candles",
        "1d",
        "--from",
        "2024-12-20",
        "--to",
        "2024-12-30",
    ];
    // Each leg's own candles, asked as pairs: the reference.
    let (_, pairs, _) = ndjson(
        &server,
        &[&range[..], &["BTCEUR", "ADAUSDT", "EURUSDT", "XRPBTC"]].concat(),
    );
    let leg = |symbol: &str, field: &str| -> Vec<Decimal> {
        (pairs.iter())
            .filter(|r| r["symbol"] == symbol)
            .map(|r| r[field].as_str().unwrap().parse().unwrap())
            .collect()
    };
    let one = Decimal::ONE;
    for (args, close) in [
        // Direct: the pair's candle as sent, every column.
        (&["--in", "EUR", "BTC"][..], leg("BTCEUR", "close")),
        // Inverse: 1/BTCEUR.
        (
            &["--in", "BTC", "EUR"],
            leg("BTCEUR", "close").iter().map(|c| one / c).collect(),
        ),
        // Two legs through USDT: ADAUSDT/EURUSDT.
        (&["--in", "EUR", "ADA"], {
            let (a, e) = (leg("ADAUSDT", "close"), leg("EURUSDT", "close"));
            a.iter().zip(&e).map(|(a, e)| a / e).collect()
        }),
        // Through BTC: XRPBTC*BTCEUR.
        (&["--in", "EUR", "--via", "BTC", "XRP"], {
            let (x, b) = (leg("XRPBTC", "close"), leg("BTCEUR", "close"));
            x.iter().zip(&b).map(|(x, b)| x * b).collect()
        }),
    ] {
        let (code, rows, err) = ndjson(&server, &[&range[..], args].concat());
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert_eq!(rows.len(), 10, "ten days: {args:?}");
        for (row, want) in rows.iter().zip(&close) {
            let got: Decimal = row["close"].as_str().unwrap().parse().unwrap();
            assert_eq!(got, rounded(*want), "{args:?}: {row}");
        }
        let direct = args == ["--in", "EUR", "BTC"];
        assert_eq!(
            rows[0].get("high").is_some(),
            direct,
            "{args:?}: {}",
            rows[0]
        );
    }
}

#[test]
fn a_leg_without_candles_is_a_gap_naming_it_and_beancount_reads_the_rest() {
    // The UTF-8 pair was listed on 2025-12-02: before, the asset's days have no row.
    let server = MockServer::start();
    let range = [
        "--candles",
        "1d",
        "--from",
        "2025-11-29",
        "--to",
        "2025-12-04",
    ];
    let (code, rows, err) = ndjson(
        &server,
        &[&range[..], &["--in", "USDT", "币安人生", "BTC"]].concat(),
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(rows[0]["type"], "gap");
    assert_eq!(rows[0]["leg"], "币安人生USDT");
    assert_eq!(rows[0]["to_time"], "2025-12-02T00:00:00.000Z");
    let days = |asset: &str| {
        rows.iter()
            .filter(|r| r["asset"] == asset && r["type"].is_null())
            .count()
    };
    assert_eq!((days("币安人生"), days("BTC")), (2, 5));
    assert!(err.contains("its leg 币安人生USDT has none"), "{err}");
    // A year of daily prices in EUR for a ledger, one command: read by bean-check.
    let out = pricefetch(&server)
        .args([
            "--in",
            "EUR",
            "--candles",
            "1d",
            "--from",
            "2024-01-01",
            "--to",
            "2025-01-01",
        ])
        .args([
            "-f",
            "beancount",
            "--tz",
            "Europe/Paris",
            "BTC",
            "ADA",
            "ETH",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 3 * 366, "{}", stderr(&out));
    assert!(text.starts_with("2024-01-01 price BTC "), "{text}");
    crate::accounting::check_with_tools("beancount", &text);
}
