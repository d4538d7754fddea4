//! Binance's futures markets, as binance-api.md ("Futures") describes them: USD-M under
//! `/fapi/v1` and COIN-M under `/dapi/v1`, each with its own symbols and its own budget (see
//! `limits::market_of`). The last price (`ticker/price`) and the mark price with the funding rate
//! (`premiumIndex`): USD-M answers an object for `symbol=` and an array without; COIN-M always
//! answers an array, each entry with its `pair` (`ps` for the price), and takes `pair=` too. A
//! quarterly contract has no funding: `lastFundingRate` is `""` and `nextFundingTime` 0.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use serde_json::{Value, json};

use crate::Shared;
use crate::endpoints::serve_own;
use crate::record::unix_now;

/// One futures contract.
pub(crate) struct Contract {
    symbol: &'static str,
    pair: &'static str,
    price: &'static str,
    mark: &'static str,
    index: &'static str,
    /// `None` for a quarterly: no funding.
    funding: Option<&'static str>,
}

const USDM: &[Contract] = &[
    Contract {
        symbol: "BTCUSDT",
        pair: "BTCUSDT",
        price: "97150.10",
        mark: "97148.37011594",
        index: "97101.55234783",
        funding: Some("0.00010000"),
    },
    Contract {
        symbol: "ETHUSDT",
        pair: "ETHUSDT",
        price: "3413.05",
        mark: "3412.91000000",
        index: "3411.48613043",
        funding: Some("-0.00003750"),
    },
    Contract {
        symbol: "1000PEPEUSDT",
        pair: "1000PEPEUSDT",
        price: "0.0041230",
        mark: "0.00412345",
        index: "0.00412100",
        funding: Some("0.00005000"),
    },
    Contract {
        symbol: "BTCUSDT_250627",
        pair: "BTCUSDT",
        price: "98520.0",
        mark: "98511.20000000",
        index: "97101.55234783",
        funding: None,
    },
];

const COINM: &[Contract] = &[
    Contract {
        symbol: "BTCUSD_PERP",
        pair: "BTCUSD",
        price: "97140.5",
        mark: "97139.82000000",
        index: "97101.60000000",
        funding: Some("0.00008472"),
    },
    Contract {
        symbol: "ETHUSD_PERP",
        pair: "ETHUSD",
        price: "3412.80",
        mark: "3412.75000000",
        index: "3411.50000000",
        funding: Some("0.00010000"),
    },
    Contract {
        symbol: "BTCUSD_250627",
        pair: "BTCUSD",
        price: "98420.1",
        mark: "98415.70000000",
        index: "97101.60000000",
        funding: None,
    },
];

/// USD-M perpetuals for `--symbols N` (`SYM0001USDT`, …, as on spot), for big runs; their
/// names live as long as the process (a mock's few).
pub(crate) fn generated(n: usize) -> Vec<Contract> {
    crate::market::generated_symbols(n)
        .into_iter()
        .map(|name| {
            let name: &'static str = Box::leak(name.into_boxed_str());
            Contract {
                symbol: name,
                pair: name,
                price: "1.2345",
                mark: "1.23456789",
                index: "1.23400000",
                funding: Some("0.00010000"),
            }
        })
        .collect()
}

/// Which market a path is: its contracts, and whether it answers arrays always (COIN-M).
fn market<'a>(shared: &'a Shared, path: &str) -> (Vec<&'a Contract>, bool) {
    let coin = path.starts_with("/dapi");
    (contracts(shared, coin), coin)
}

/// The contracts of COIN-M (`coin`) or USD-M.
pub(crate) fn contracts(shared: &Shared, coin: bool) -> Vec<&Contract> {
    match coin {
        true => COINM.iter().collect(),
        false => USDM.iter().chain(&shared.usdm_extra).collect(),
    }
}

impl Contract {
    /// e.g. `BTCUSDT`.
    pub(crate) fn symbol(&self) -> &'static str {
        self.symbol
    }
}

/// The contracts `symbol=` (or COIN-M's `pair=`) names, or all; `-1121` for a symbol this market
/// does not list (a COIN-M name on USD-M, a spot quarterly, …).
fn chosen<'a>(
    contracts: Vec<&'a Contract>,
    params: &HashMap<String, String>,
) -> Result<Vec<&'a Contract>, (i64, String)> {
    if let Some(symbol) = params.get("symbol") {
        let found = contracts.into_iter().find(|c| c.symbol == symbol);
        return found
            .map(|c| vec![c])
            .ok_or((-1121, "Invalid symbol.".into()));
    }
    Ok(match params.get("pair") {
        Some(pair) => contracts.into_iter().filter(|c| c.pair == pair).collect(),
        None => contracts,
    })
}

/// Serves `path` with `each` contract's object, weighing `one` for a symbol and `all` otherwise.
async fn answer(
    shared: Arc<Shared>,
    path: &'static str,
    params: HashMap<String, String>,
    (one, all): (u32, u32),
    each: fn(&Contract, bool, u64) -> Value,
) -> Response {
    let weight = if params.contains_key("symbol") {
        one
    } else {
        all
    };
    serve_own(shared, path, params, weight, move |shared, params| {
        let (contracts, arrays) = market(shared, path);
        let now = unix_now().as_millis() as u64;
        let picked: Vec<Value> = (chosen(contracts, params)?.into_iter())
            .map(|c| each(c, arrays, now))
            .collect();
        Ok(
            match (params.contains_key("symbol") && !arrays, picked.as_slice()) {
                (true, [one]) => one.clone(),
                _ => Value::Array(picked),
            },
        )
    })
    .await
}

pub(crate) fn price(c: &Contract, coin: bool, now: u64) -> Value {
    let mut v = json!({"symbol": c.symbol, "price": c.price, "time": now});
    if coin {
        v["ps"] = c.pair.into();
    }
    v
}

pub(crate) fn premium(c: &Contract, coin: bool, now: u64) -> Value {
    // Funding every 8 hours: 00:00, 08:00, 16:00 UTC.
    let eight = 8 * 3_600_000;
    let next = c.funding.map_or(0, |_| (now / eight + 1) * eight);
    let mut v = json!({"symbol": c.symbol, "markPrice": c.mark, "indexPrice": c.index,
        "estimatedSettlePrice": c.index, "lastFundingRate": c.funding.unwrap_or(""),
        "interestRate": if c.funding.is_some() { "0.00010000" } else { "" },
        "nextFundingTime": next, "time": now});
    if coin {
        v["pair"] = c.pair.into();
    }
    v
}

pub(crate) async fn usdm_price(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    answer(shared, "/fapi/v1/ticker/price", params, (1, 2), price).await
}

pub(crate) async fn coinm_price(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    answer(shared, "/dapi/v1/ticker/price", params, (1, 2), price).await
}

pub(crate) async fn usdm_premium(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    answer(shared, "/fapi/v1/premiumIndex", params, (1, 10), premium).await
}

pub(crate) async fn coinm_premium(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    answer(shared, "/dapi/v1/premiumIndex", params, (1, 10), premium).await
}

/// Funding every 8 hours from this moment (2019-09-10T08:00Z, USD-M's first perpetual) on, for
/// every perpetual the mock lists; a quarterly has none.
const FUNDING_FROM: u64 = 1_568_102_400_000;
const EIGHT_HOURS: u64 = 8 * 3_600_000;
/// When `1000PEPEUSDT` was listed: its funding starts here (a gap before it, for a range).
const PEPE_FROM: u64 = 1_683_072_000_000;

/// The funding rate of funding number `k`: a slow wave of exact decimals, now and then negative.
fn funding_rate(k: u64) -> String {
    let step = (k % 20) as i64 - 5;
    let units = step * 1250;
    let sign = if units < 0 { "-" } else { "" };
    format!("{sign}0.{:08}", units.unsigned_abs())
}

/// `fundingRate`: `symbol` required here (the mock's own rule), `startTime`/`endTime` inclusive,
/// `limit` 100 by default and at most 1,000; the first `limit` from the start, or the latest
/// `limit` without times. Weight 1, and its own limit (see `limits`).
async fn funding_history(
    shared: Arc<Shared>,
    path: &'static str,
    params: HashMap<String, String>,
) -> Response {
    serve_own(shared, path, params, 1, move |shared, params| {
        let (contracts, _) = market(shared, path);
        let contract = chosen(contracts, params)?
            .into_iter()
            .next()
            .ok_or((-1102, "Mandatory parameter 'symbol' was not sent.".into()))?;
        let number = |key: &str| params.get(key).and_then(|v| v.parse::<u64>().ok());
        let limit = number("limit").unwrap_or(100).clamp(1, 1000);
        let now = unix_now().as_millis() as u64;
        let first = if contract.symbol == "1000PEPEUSDT" {
            PEPE_FROM
        } else {
            FUNDING_FROM
        };
        let end = number("endTime").unwrap_or(now).min(now);
        let start = number("startTime").unwrap_or(0).max(first);
        if contract.funding.is_none() || start > end {
            return Ok(Value::Array(Vec::new()));
        }
        let k0 = (start - first).div_ceil(EIGHT_HOURS);
        let k1 = (end - first) / EIGHT_HOURS;
        let ks: Vec<u64> = match params.contains_key("startTime") {
            true => (k0..=k1).take(limit as usize).collect(),
            false => (k1.saturating_sub(limit - 1).max(k0)..=k1).collect(),
        };
        Ok(Value::Array(
            ks.into_iter()
                .map(|k| {
                    json!({"symbol": contract.symbol, "fundingTime": first + k * EIGHT_HOURS,
                           "fundingRate": funding_rate(k), "markPrice": contract.mark})
                })
                .collect(),
        ))
    })
    .await
}

pub(crate) async fn usdm_funding(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    funding_history(shared, "/fapi/v1/fundingRate", params).await
}

pub(crate) async fn coinm_funding(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    funding_history(shared, "/dapi/v1/fundingRate", params).await
}

pub(crate) fn book(c: &Contract, coin: bool, now: u64) -> Value {
    let price: f64 = c.price.parse().unwrap_or(1.0);
    let mut v = json!({"symbol": c.symbol, "bidPrice": format!("{:.8}", price * 0.9999),
        "bidQty": "1.500", "askPrice": format!("{:.8}", price * 1.0001), "askQty": "2.000",
        "time": now});
    if coin {
        v["pair"] = c.pair.into();
    }
    v
}

/// The 24-hour ticker. COIN-M's counts its `volume` in contracts (of 100 USD here), gives the
/// coin's as `baseVolume`, and has no quote volume.
pub(crate) fn day(c: &Contract, coin: bool, now: u64) -> Value {
    let last: f64 = c.price.parse().unwrap_or(1.0);
    let open = last / 1.025;
    let f = |x: f64| format!("{x:.2}");
    let mut v = json!({"symbol": c.symbol, "priceChange": f(last - open),
        "priceChangePercent": "2.500", "weightedAvgPrice": f((last + open) / 2.0),
        "lastPrice": c.price, "lastQty": "1", "openPrice": f(open), "highPrice": f(last * 1.01),
        "lowPrice": f(open * 0.99), "volume": "123456.789", "quoteVolume": f(123_456.789 * last),
        "openTime": now.saturating_sub(86_400_000), "closeTime": now, "firstId": 1,
        "lastId": 1000, "count": 1000});
    if coin {
        v["pair"] = c.pair.into();
        v["volume"] = "123456".into();
        v["baseVolume"] = format!("{:.8}", 123_456.0 * 100.0 / last).into();
        v.as_object_mut().map(|o| o.remove("quoteVolume"));
    }
    v
}

pub(crate) async fn usdm_book(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    answer(shared, "/fapi/v1/ticker/bookTicker", params, (2, 5), book).await
}

pub(crate) async fn coinm_book(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    answer(shared, "/dapi/v1/ticker/bookTicker", params, (2, 5), book).await
}

pub(crate) async fn coinm_day(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    answer(shared, "/dapi/v1/ticker/24hr", params, (1, 40), day).await
}

pub(crate) async fn usdm_day(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    answer(shared, "/fapi/v1/ticker/24hr", params, (1, 40), day).await
}

/// `exchangeInfo` (weight 1): the market's `rateLimits` (its request weight a minute, the
/// mock's `futures_weight_limit`) and its contracts.
async fn info(
    shared: Arc<Shared>,
    path: &'static str,
    params: HashMap<String, String>,
) -> Response {
    serve_own(shared, path, params, 1, move |shared, _| {
        let (contracts, coin) = market(shared, path);
        let symbols: Vec<Value> = contracts
            .iter()
            .map(|c| {
                let quote = if coin { "USD" } else { "USDT" };
                let base = c.pair.strip_suffix(quote).unwrap_or(c.pair);
                let kind = match c.funding {
                    Some(_) => "PERPETUAL",
                    None => "CURRENT_QUARTER",
                };
                json!({"symbol": c.symbol, "pair": c.pair, "contractType": kind,
                       "status": "TRADING", "baseAsset": base, "quoteAsset": quote,
                       "marginAsset": if coin { base } else { quote },
                       "onboardDate": FUNDING_FROM, "deliveryDate": 4_133_404_800_000_u64})
            })
            .collect();
        Ok(
            json!({"timezone": "UTC", "serverTime": unix_now().as_millis() as u64,
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": shared.opts.futures_weight_limit},
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200}
            ],
            "symbols": symbols}),
        )
    })
    .await
}

pub(crate) async fn usdm_info(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    info(shared, "/fapi/v1/exchangeInfo", params).await
}

pub(crate) async fn coinm_info(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    info(shared, "/dapi/v1/exchangeInfo", params).await
}
