//! The tickers beyond price, 24hr and book: the 5-minute average (`avgPrice`, one symbol), the
//! rolling window (`/api/v3/ticker` with `windowSize`) and the trading day
//! (`/api/v3/ticker/tradingDay` with `timeZone`), with their weights and parameter errors.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use serde_json::{Value, json};

use crate::Shared;
use crate::endpoints::{price_now, serve_checked, symbols_count};
use crate::market::Listing;
use crate::record::unix_now;

fn now_ms() -> u64 {
    unix_now().as_millis() as u64
}

/// `GET /api/v3/avgPrice`: `symbol` only, weight 2; the answer does not name the symbol.
pub(crate) async fn avg_price(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let check = |p: &HashMap<String, String>| {
        if p.contains_key("symbol") {
            Ok(())
        } else {
            Err((
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.".into(),
            ))
        }
    };
    serve_checked(shared, "/api/v3/avgPrice", params, 2, check, |shared, sel| {
        let pick = shared.pick(sel);
        Value::Array(
            pick.into_iter()
                .map(|l| {
                    // The mock's average is the price a little below now, over 5 minutes.
                    let price: f64 = price_now(shared, l).parse().unwrap_or(1.0);
                    json!({"mins": 5, "price": format!("{:.8}", price * 0.9995), "closeTime": now_ms()})
                })
                .collect(),
        )
    })
    .await
}

/// Binance's weight for the rolling and trading-day tickers: 4 a symbol, at most 200 above 50.
fn per_symbol_weight(params: &HashMap<String, String>) -> u32 {
    match (params.contains_key("symbol"), symbols_count(params)) {
        (true, _) => 4,
        (false, n @ 1..=50) => 4 * n as u32,
        _ => 200,
    }
}

/// Both need a symbol or a list: neither serves the whole market.
fn needs_symbols(p: &HashMap<String, String>) -> Result<(), (i64, String)> {
    if p.contains_key("symbol") || p.contains_key("symbols") {
        Ok(())
    } else {
        Err((
            -1102,
            "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.".into(),
        ))
    }
}

/// `windowSize` in minutes: 1m…59m, 1h…23h, 1d…7d (default 1d), or the error Binance gives.
fn window_minutes(p: &HashMap<String, String>) -> Result<u64, (i64, String)> {
    let Some(w) = p.get("windowSize") else {
        return Ok(1440);
    };
    let bad = || (-1100, "Invalid windowSize.".to_owned());
    let (n, unit) = w.split_at(w.len().saturating_sub(1));
    let n: u64 = n.parse().map_err(|_| bad())?;
    match unit {
        "m" if (1..=59).contains(&n) => Ok(n),
        "h" if (1..=23).contains(&n) => Ok(n * 60),
        "d" if (1..=7).contains(&n) => Ok(n * 1440),
        _ => Err(bad()),
    }
}

/// `timeZone` in minutes: hours (`8`, `-3`) or hours and minutes (`5:45`), -12:00 to +14:00.
fn zone_minutes(p: &HashMap<String, String>) -> Result<i64, (i64, String)> {
    let Some(z) = p.get("timeZone") else {
        return Ok(0);
    };
    let bad = || (-1100, "Invalid timeZone.".to_owned());
    let (negative, rest) = match z.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, z.strip_prefix('+').unwrap_or(z)),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let minutes = if negative { -(h * 60 + m) } else { h * 60 + m };
    if !(0..60).contains(&m) || !(-720..=840).contains(&minutes) {
        return Err(bad());
    }
    Ok(minutes)
}

/// The 24hr fields over `minutes` ending now, opening at `open_ms`: every other symbol down.
fn window_json(i: usize, l: &Listing, price: &str, minutes: u64, open_ms: u64) -> Value {
    let last: f64 = price.parse().unwrap_or(1.0);
    let size = (minutes as f64 / 1440.0).min(7.0);
    let pct = if i.is_multiple_of(2) {
        0.5 + size
    } else {
        -(0.25 + size)
    };
    let open = last / (1.0 + pct / 100.0);
    let f = |x: f64| format!("{x:.8}");
    json!({
        "symbol": l.symbol, "priceChange": f(last - open), "priceChangePercent": format!("{pct:.3}"),
        "weightedAvgPrice": f((last + open) / 2.0), "openPrice": f(open),
        "highPrice": f(last.max(open) * 1.005), "lowPrice": f(last.min(open) * 0.995),
        "lastPrice": price, "volume": f(100.0 * size.max(0.01)), "quoteVolume": f(100.0 * size.max(0.01) * last),
        "openTime": open_ms, "closeTime": now_ms(), "firstId": 1, "lastId": 100, "count": 100
    })
}

/// `GET /api/v3/ticker`: the rolling-window statistics; its open time starts on a minute.
pub(crate) async fn rolling(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let span = window_minutes(&params).map(|minutes| {
        let now = now_ms();
        (minutes, (now - minutes * 60_000) / 60_000 * 60_000)
    });
    windowed(shared, "/api/v3/ticker", params, span).await
}

/// `GET /api/v3/ticker/tradingDay`: the calendar day so far in `timeZone`.
pub(crate) async fn trading_day(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let span = zone_minutes(&params).map(|zone| {
        let now = now_ms() as i64;
        let local = now + zone * 60_000;
        let midnight = local - local.rem_euclid(86_400_000) - zone * 60_000;
        (((now - midnight) / 60_000).max(1) as u64, midnight as u64)
    });
    windowed(shared, "/api/v3/ticker/tradingDay", params, span).await
}

/// Either window ticker over `span` (minutes, open time), or the parameter error it holds.
async fn windowed(
    shared: Arc<Shared>,
    path: &str,
    params: HashMap<String, String>,
    span: Result<(u64, u64), (i64, String)>,
) -> Response {
    let weight = per_symbol_weight(&params);
    let check = {
        let span = span.clone();
        move |p: &HashMap<String, String>| needs_symbols(p).and(span.map(|_| ()))
    };
    let (minutes, open) = span.unwrap_or((1440, 0));
    serve_checked(shared, path, params, weight, check, move |shared, sel| {
        Value::Array(
            shared
                .pick(sel)
                .into_iter()
                .map(|l| {
                    let i = shared.index[&l.symbol];
                    window_json(i, l, &price_now(shared, l), minutes, open)
                })
                .collect(),
        )
    })
    .await
}
