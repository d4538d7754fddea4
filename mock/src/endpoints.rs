//! The REST endpoints: ticker price, 24hr and bookTicker with `symbol`, `symbols` or neither;
//! exchangeInfo, ping and time; the recorded hits behind `/__mock/stats`; and the headers and
//! error bodies every answer carries.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Shared;
use crate::faults::play;
use crate::limits::Gate;
use crate::market::Listing;
use crate::record::{InFlight, unix_now};
use crate::respond::{api_error, json_response};

impl Shared {
    /// The listings a selection names, in the asked order; all of them for no selection.
    pub(crate) fn pick(&self, sel: Option<Vec<usize>>) -> Vec<&Listing> {
        match sel {
            Some(ix) => ix.iter().map(|&i| &self.listings[i]).collect(),
            None => self.listings.iter().collect(),
        }
    }
}

/// Binance's rule since UTF-8 symbols (2025-12-02): 1 to 20 characters, no lower-case ASCII.
pub(crate) fn legal_symbol(s: &str) -> bool {
    (1..=20).contains(&s.chars().count())
        && s.chars()
            .all(|c| (c.is_alphanumeric() && !c.is_ascii_lowercase()) || "-_.".contains(c))
}

/// Which symbols a `symbol` / `symbols` / neither selection names, or the Binance error for it.
pub(crate) fn select(
    shared: &Shared,
    params: &HashMap<String, String>,
) -> Result<Option<Vec<usize>>, (i64, String)> {
    let lookup = |s: &str| -> Result<usize, (i64, String)> {
        if !legal_symbol(s) {
            return Err((
                -1100,
                "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'."
                    .into(),
            ));
        }
        shared
            .index
            .get(s)
            .copied()
            .ok_or((-1121, "Invalid symbol.".into()))
    };
    let wanted = match params.get("symbolStatus") {
        Some(s) if crate::market::STATUSES.contains(&s.as_str()) => Some(s.as_str()),
        Some(_) => return Err((-1122, "Invalid symbolStatus.".into())),
        None => None,
    };
    let matches = |i: &usize| wanted.is_none_or(|w| shared.listings[*i].status == w);
    let sel = select_names(params, lookup)?;
    match (sel, params.contains_key("symbol")) {
        // One symbol whose status does not match: an error of its own.
        (Some(one), true) if !one.iter().all(matches) => Err((
            -1220,
            "The symbol's status does not match the requested symbolStatus.".into(),
        )),
        // A list, or the whole market: the rows that do not match are left out.
        (Some(list), _) if wanted.is_some() => Ok(Some(list.into_iter().filter(matches).collect())),
        (None, _) if wanted.is_some() => {
            Ok(Some((0..shared.listings.len()).filter(matches).collect()))
        }
        (sel, _) => Ok(sel),
    }
}

/// The listings `symbol` / `symbols` / neither name, in the asked order.
fn select_names(
    params: &HashMap<String, String>,
    lookup: impl Fn(&str) -> Result<usize, (i64, String)>,
) -> Result<Option<Vec<usize>>, (i64, String)> {
    match (params.get("symbol"), params.get("symbols")) {
        (Some(_), Some(_)) => Err((
            -1101,
            "Too many parameters; expected '0' and received '2'.".into(),
        )),
        (Some(s), None) => lookup(s).map(|i| Some(vec![i])),
        (None, Some(list)) => {
            let names: Vec<String> = serde_json::from_str(list).map_err(|_| {
                (
                    -1100,
                    "Illegal characters found in parameter 'symbols'; legal range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'."
                        .to_string(),
                )
            })?;
            if names.is_empty() {
                return Err((
                    -1102,
                    "Mandatory parameter 'symbols' was not sent, was empty/null, or malformed."
                        .into(),
                ));
            }
            names
                .iter()
                .map(|s| lookup(s))
                .collect::<Result<_, _>>()
                .map(Some)
        }
        (None, None) => Ok(None),
    }
}

/// A listing's price now: as listed, or with `moving_prices` a deterministic wander of at
/// most ±0.25% that changes every second (a slow swing plus a seeded jitter).
pub(crate) fn price_now(shared: &Shared, l: &Listing) -> String {
    price_at(shared, l, now_ms())
}

/// A listing's price at `unix_ms` (REST's and the streams' alike).
pub(crate) fn price_at(shared: &Shared, l: &Listing, unix_ms: u64) -> String {
    if !shared.opts.moving_prices {
        return l.price.clone();
    }
    let Ok(base) = l.price.parse::<f64>() else {
        return l.price.clone();
    };
    let second = unix_ms.saturating_sub(shared.started_ms) / 1000;
    let mut rng = fastrand::Rng::with_seed(
        shared.opts.seed ^ second.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ l.symbol.len() as u64,
    );
    let phase = l.symbol.bytes().map(f64::from).sum::<f64>();
    let swing = 0.002 * (second as f64 / 10.0 + phase).sin();
    let jitter = 0.0005 * (rng.f64() * 2.0 - 1.0);
    format!("{:.8}", base * (1.0 + swing + jitter))
}

/// Now in ms since the epoch, as the 24h ticker's `closeTime` is.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) fn price_json(l: &Listing, price: &str) -> Value {
    json!({"symbol": l.symbol, "price": price})
}

/// A 24-hour ticker derived from the price: every other symbol is down on the day.
pub(crate) fn day_json(i: usize, l: &Listing, price: &str) -> Value {
    let last: f64 = price.parse().unwrap_or(1.0);
    let pct = if i.is_multiple_of(2) { 2.5 } else { -1.25 };
    let open = last / (1.0 + pct / 100.0);
    let f = |x: f64| format!("{x:.8}");
    json!({
        "symbol": l.symbol, "priceChange": f(last - open), "priceChangePercent": format!("{pct:.3}"),
        "weightedAvgPrice": f((last + open) / 2.0), "prevClosePrice": f(open), "lastPrice": price,
        "lastQty": "0.01000000", "bidPrice": f(last * 0.9999), "bidQty": "1.50000000",
        "askPrice": f(last * 1.0001), "askQty": "2.00000000", "openPrice": f(open),
        "highPrice": f(last.max(open) * 1.01), "lowPrice": f(last.min(open) * 0.99),
        "volume": "12345.67800000", "quoteVolume": f(12345.678 * last),
        "openTime": now_ms().saturating_sub(86_400_000), "closeTime": now_ms(),
        "firstId": 1, "lastId": 1000, "count": 1000
    })
}

pub(crate) fn book_json(l: &Listing, price: &str) -> Value {
    let last: f64 = price.parse().unwrap_or(1.0);
    json!({
        "symbol": l.symbol, "bidPrice": format!("{:.8}", last * 0.9999), "bidQty": "1.50000000",
        "askPrice": format!("{:.8}", last * 1.0001), "askQty": "2.00000000"
    })
}

/// How many symbols a `symbols=[…]` parameter names (0 if it is not a JSON array).
pub(crate) fn symbols_count(params: &HashMap<String, String>) -> usize {
    params
        .get("symbols")
        .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
        .map_or(0, |v| v.len())
}

pub(crate) async fn ticker_24hr(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    // binance-api.md: 2 for one symbol or 1-20, 40 for 21-100, 80 for more or all.
    let weight = match (params.contains_key("symbol"), symbols_count(&params)) {
        (true, _) | (false, 1..=20) => 2,
        (false, 21..=100) => 40,
        _ => 80,
    };
    serve(
        shared,
        "/api/v3/ticker/24hr",
        params,
        weight,
        |shared, sel| {
            let pick = shared.pick(sel);
            Value::Array(
                pick.into_iter()
                    .map(|l| day_json(shared.index[&l.symbol], l, &price_now(shared, l)))
                    .collect(),
            )
        },
    )
    .await
}

pub(crate) async fn book_ticker(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    one_per_listing(shared, params, "/api/v3/ticker/bookTicker", book_json).await
}

pub(crate) async fn ticker_price(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    one_per_listing(shared, params, "/api/v3/ticker/price", price_json).await
}

/// The price and book tickers: weight 2 for one symbol, 4 for a list or the whole market.
pub(crate) async fn one_per_listing(
    shared: Arc<Shared>,
    params: HashMap<String, String>,
    path: &str,
    each: fn(&Listing, &str) -> Value,
) -> Response {
    let weight = if params.contains_key("symbol") { 2 } else { 4 };
    serve(shared, path, params, weight, |shared, sel| {
        Value::Array(
            shared
                .pick(sel)
                .into_iter()
                .map(|l| each(l, &price_now(shared, l)))
                .collect(),
        )
    })
    .await
}

/// The common path of every data endpoint: latency, gate, selection, fault, answer.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    path: &str,
    params: HashMap<String, String>,
    weight: u32,
    answer: impl FnOnce(&Shared, Option<Vec<usize>>) -> Value,
) -> Response {
    serve_checked(shared, path, params, weight, |_| Ok(()), answer).await
}

/// [`serve`], with the endpoint's own parameter rules (`check`) applied before the selection.
pub(crate) async fn serve_checked(
    shared: Arc<Shared>,
    path: &str,
    params: HashMap<String, String>,
    weight: u32,
    check: impl FnOnce(&HashMap<String, String>) -> Result<(), (i64, String)>,
    answer: impl FnOnce(&Shared, Option<Vec<usize>>) -> Value,
) -> Response {
    // A `symbol=` selection answers one object; `symbols=` and "all" answer an array.
    let single = params.contains_key("symbol");
    let chosen = |shared: &Shared, params: &HashMap<String, String>| {
        let sel = check(params).and_then(|()| select(shared, params))?;
        let mut body = answer(shared, sel);
        if single && let Value::Array(mut a) = body {
            body = a.pop().unwrap_or(Value::Null);
        }
        Ok(body)
    };
    serve_own(shared, path, params, weight, chosen).await
}

/// The common path of every endpoint: latency, gate, fault, then `answer`'s body or its Binance
/// error (`(code, msg)`, HTTP 400).
pub(crate) async fn serve_own(
    shared: Arc<Shared>,
    path: &str,
    params: HashMap<String, String>,
    weight: u32,
    answer: impl FnOnce(&Shared, &HashMap<String, String>) -> Result<Value, (i64, String)>,
) -> Response {
    let mut in_flight = InFlight::enter(&shared);
    let arrived = Instant::now();
    let gate = shared.admit(path, &params, weight);
    if !shared.opts.latency.is_zero() {
        shared
            .timer
            .sleep_until(arrived + shared.opts.latency)
            .await;
    }
    let (fault, used, at) = match gate {
        Gate::Refuse(r) => {
            in_flight.answered = true;
            return r;
        }
        Gate::Pass(used, at) => (None, used, at),
        Gate::Fault(f, used, at) => (Some(f), used, at),
    };
    let ok = || match answer(&shared, &params) {
        Err((code, msg)) => api_error(StatusCode::BAD_REQUEST, code, &msg, used),
        Ok(body) => json_response(StatusCode::OK, &body, used),
    };
    let resp = match fault {
        Some(f) => play(f, used, &shared.timer, ok).await,
        None => ok(),
    };
    // The answer may differ from what the gate expected (e.g. -1121 on a clean request).
    shared.book.lock().unwrap().hits[at].status = resp.status().as_u16();
    in_flight.answered = true;
    resp
}

pub(crate) async fn exchange_info(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    serve(shared, "/api/v3/exchangeInfo", params, 20, |shared, sel| {
        let pick = shared.pick(sel);
        json!({
            "timezone": "UTC",
            "serverTime": unix_now().as_millis() as u64,
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": shared.opts.weight_limit},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000}
            ],
            "exchangeFilters": [],
            "symbols": pick.iter().map(|l| json!({
                "symbol": l.symbol, "status": l.status, "baseAsset": l.base, "quoteAsset": l.quote,
                "baseAssetPrecision": 8, "quotePrecision": 8
            })).collect::<Vec<_>>(),
        })
    })
    .await
}

pub(crate) async fn ping(State(shared): State<Arc<Shared>>) -> Response {
    serve(shared, "/api/v3/ping", HashMap::new(), 1, |_, _| json!({})).await
}

pub(crate) async fn time(State(shared): State<Arc<Shared>>) -> Response {
    serve(
        shared,
        "/api/v3/time",
        HashMap::new(),
        1,
        |_, _| json!({"serverTime": unix_now().as_millis() as u64}),
    )
    .await
}

/// Not part of Binance: lets a benchmark script read what the server saw.
pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let book = shared.book.lock().unwrap();
    let by_status = book.hits.iter().fold(HashMap::new(), |mut m, h| {
        *m.entry(h.status.to_string()).or_insert(0u64) += 1;
        m
    });
    let weight: u64 = book.hits.iter().map(|h| u64::from(h.weight)).sum();
    Json(json!({
        "requests": book.hits.len(),
        "max_in_flight": book.max_in_flight,
        "weight": weight,
        "by_status": by_status,
    }))
    .into_response()
}

pub(crate) async fn not_found(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!(
            "<html><body><h1>404 Not Found</h1><p>{}</p></body></html>",
            uri.path()
        ),
    )
        .into_response()
}
