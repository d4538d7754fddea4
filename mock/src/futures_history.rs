//! The futures markets' history: `klines` (`limit` up to 1,500, weighing 1, 2, 5 or 10 by it,
//! no `1s` interval, no `timeZone`: Binance's -1104 for a parameter it does not read) and
//! `aggTrades` (weight 20), under `/fapi/v1` and `/dapi/v1`. A contract's trades and candles
//! follow the tape of its spot pair (`BTCUSDT_250627` and `BTCUSD_PERP` trade as `BTCUSDT`,
//! `1000PEPEUSDT` as `PEPEUSDT`): the mock's basis is nil, its multipliers ignored. A symbol the
//! market does not list is -1121, as on every futures endpoint.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use crate::Shared;
use crate::endpoints::serve_own;
use crate::futures::contracts;
use crate::history::{kline_ask_up_to, klines, limit_up_to, micros, now_ms, trades};
use crate::market::Listing;
use crate::tape::Tape;

/// The spot listing whose tape `symbol` of this market follows; -1121 if the market does not
/// list it.
fn tape_of<'a>(
    shared: &'a Shared,
    coin: bool,
    params: &HashMap<String, String>,
) -> Result<&'a Listing, (i64, String)> {
    let invalid = || (-1121, "Invalid symbol.".to_owned());
    let symbol = params.get("symbol").ok_or((
        -1102,
        "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.".to_owned(),
    ))?;
    if !contracts(shared, coin).iter().any(|c| c.symbol() == symbol) {
        return Err(invalid());
    }
    let pair = symbol.split('_').next().unwrap_or(symbol);
    let pair = pair.strip_prefix("1000").unwrap_or(pair);
    let spot = match coin {
        true => format!("{pair}T"),
        false => pair.to_owned(),
    };
    shared
        .index
        .get(&spot)
        .map(|&i| &shared.listings[i])
        .ok_or_else(invalid)
}

/// A futures klines request's weight, by its `limit` (500 by default).
fn klines_weight(params: &HashMap<String, String>) -> u32 {
    match limit_up_to(params, 1500).unwrap_or(500) {
        0..100 => 1,
        100..500 => 2,
        500..=1000 => 5,
        _ => 10,
    }
}

async fn futures_klines(
    shared: Arc<Shared>,
    headers: &HeaderMap,
    params: HashMap<String, String>,
    path: &'static str,
) -> Response {
    let scale = if micros(&shared, headers) { 1000 } else { 1 };
    let weight = klines_weight(&params);
    serve_own(shared, path, params, weight, move |shared, params| {
        if params.contains_key("timeZone") {
            return Err((
                -1104,
                "Not all sent parameters were read; read '5' parameter(s) but was sent '6'.".into(),
            ));
        }
        if params.get("interval").is_some_and(|i| i == "1s") {
            return Err((-1120, "Invalid interval.".into()));
        }
        let listing = tape_of(shared, path.starts_with("/dapi"), params)?;
        let ask = kline_ask_up_to(params, 1500)?;
        Ok(Value::Array(klines(
            &Tape::of(listing),
            &ask,
            now_ms(),
            scale,
        )))
    })
    .await
}

async fn futures_trades(
    shared: Arc<Shared>,
    headers: &HeaderMap,
    params: HashMap<String, String>,
    path: &'static str,
) -> Response {
    let scale = if micros(&shared, headers) { 1000 } else { 1 };
    serve_own(shared, path, params, 20, move |shared, params| {
        let listing = tape_of(shared, path.starts_with("/dapi"), params)?;
        limit_up_to(params, 1000)?;
        Ok(Value::Array(trades(listing, params, now_ms(), scale)))
    })
    .await
}

pub(crate) async fn usdm_klines(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    futures_klines(shared, &headers, params, "/fapi/v1/klines").await
}

pub(crate) async fn coinm_klines(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    futures_klines(shared, &headers, params, "/dapi/v1/klines").await
}

pub(crate) async fn usdm_trades(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    futures_trades(shared, &headers, params, "/fapi/v1/aggTrades").await
}

pub(crate) async fn coinm_trades(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    futures_trades(shared, &headers, params, "/dapi/v1/aggTrades").await
}
