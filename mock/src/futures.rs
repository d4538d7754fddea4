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
struct Contract {
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

/// Which market a path is: its contracts, and whether it answers arrays always (COIN-M).
fn market(path: &str) -> (&'static [Contract], bool) {
    if path.starts_with("/dapi") {
        (COINM, true)
    } else {
        (USDM, false)
    }
}

/// The contracts `symbol=` (or COIN-M's `pair=`) names, or all; `-1121` for a symbol this market
/// does not list (a COIN-M name on USD-M, a spot quarterly, …).
fn chosen<'a>(
    contracts: &'a [Contract],
    params: &HashMap<String, String>,
) -> Result<Vec<&'a Contract>, (i64, String)> {
    if let Some(symbol) = params.get("symbol") {
        let found = contracts.iter().find(|c| c.symbol == symbol);
        return found
            .map(|c| vec![c])
            .ok_or((-1121, "Invalid symbol.".into()));
    }
    Ok(match params.get("pair") {
        Some(pair) => contracts.iter().filter(|c| c.pair == pair).collect(),
        None => contracts.iter().collect(),
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
    serve_own(shared, path, params, weight, move |_, params| {
        let (contracts, arrays) = market(path);
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

fn price(c: &Contract, coin: bool, now: u64) -> Value {
    let mut v = json!({"symbol": c.symbol, "price": c.price, "time": now});
    if coin {
        v["ps"] = c.pair.into();
    }
    v
}

fn premium(c: &Contract, coin: bool, now: u64) -> Value {
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
