//! History: `klines`, `uiKlines` and `aggTrades`, as Binance serves them, from a tape of trades
//! made by a formula, so that any moment since a pair's listing answers the same every time.
//!
//! Each listing trades every `step` (1 s; 150 s for the illiquid XRPBTC, whose minutes are
//! often empty) from its listing time (BTCUSDT and ETHUSDT 2017-08-17T04:00Z, the UTF-8 pair
//! 2025-12-02, the rest 2019-01-01, generated pairs 2020-01-01) until now, except during the
//! maintenance halt of 2023-03-24 12:18 to 13:48 UTC, when nothing trades and no candle exists.
//! Trade `k`'s price is a triangle wave around the listing's price (in units of 1e-8, so that
//! every sum is exact); each trade is 0.001 of the base asset and its own aggregate trade (id
//! `k`). Candles follow Binance's rules: identified by their open time, none before the first
//! trade or inside a halt, an interval with no trade repeats the previous close with volume 0 and
//! 0 trades; `timeZone` shifts the boundaries, weeks start on Monday, months by the calendar.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use crate::Shared;
use crate::endpoints::serve_checked;
use crate::record::unix_now;
use crate::tape::{HALT, Interval, QTY, Tape, decimal, stats, zone_offset};

/// A time parameter: ms, or µs when it is that large (Binance takes either once microseconds
/// are asked for).
fn time_param(p: &HashMap<String, String>, name: &str) -> Result<Option<u64>, (i64, String)> {
    match p.get(name) {
        None => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .map(|t| {
                Some(if t >= 100_000_000_000_000 {
                    t / 1000
                } else {
                    t
                })
            })
            .map_err(|_| {
                (
                    -1100,
                    format!("Illegal characters found in parameter '{name}'."),
                )
            }),
    }
}

fn limit(p: &HashMap<String, String>) -> Result<usize, (i64, String)> {
    limit_up_to(p, 1000)
}

/// `limit` (500 by default), at most `most`: spot's 1,000, the futures klines' 1,500.
pub(crate) fn limit_up_to(
    p: &HashMap<String, String>,
    most: usize,
) -> Result<usize, (i64, String)> {
    match p.get("limit") {
        None => Ok(500),
        Some(v) => v.parse::<usize>().map(|n| n.clamp(1, most)).map_err(|_| {
            (
                -1100,
                "Illegal characters found in parameter 'limit'.".into(),
            )
        }),
    }
}

fn needs(p: &HashMap<String, String>, name: &str) -> Result<(), (i64, String)> {
    if p.get(name).is_some_and(|v| !v.is_empty()) {
        Ok(())
    } else {
        Err((
            -1102,
            format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
        ))
    }
}

/// Whether the answer's times are in microseconds (the header, or the mock's option).
pub(crate) fn micros(shared: &Shared, headers: &HeaderMap) -> bool {
    shared.opts.micros
        || headers
            .get("x-mbx-time-unit")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("microsecond"))
}

pub(crate) fn now_ms() -> u64 {
    unix_now().as_millis() as u64
}

/// The parameters of a klines request, checked as Binance does.
pub(crate) struct KlineAsk {
    interval: Interval,
    offset: i64,
    start: Option<u64>,
    end: Option<u64>,
    limit: usize,
}

fn kline_ask(p: &HashMap<String, String>) -> Result<KlineAsk, (i64, String)> {
    kline_ask_up_to(p, 1000)
}

/// The klines `p` asks for, `limit` at most `most`.
pub(crate) fn kline_ask_up_to(
    p: &HashMap<String, String>,
    most: usize,
) -> Result<KlineAsk, (i64, String)> {
    needs(p, "symbol")?;
    needs(p, "interval")?;
    let interval = Interval::parse(&p["interval"]).ok_or((-1120, "Invalid interval.".into()))?;
    let offset = match p.get("timeZone") {
        None => 0,
        Some(z) => zone_offset(z).ok_or((
            -1100,
            "Illegal characters found in parameter 'timeZone'.".into(),
        ))?,
    };
    let (start, end) = (time_param(p, "startTime")?, time_param(p, "endTime")?);
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err((-1023, "Start time is greater than end time.".into()));
    }
    Ok(KlineAsk {
        interval,
        offset,
        start,
        end,
        limit: limit_up_to(p, most)?,
    })
}

/// The candles `ask` selects of `tape`, oldest first, as Binance's arrays.
pub(crate) fn klines(tape: &Tape, ask: &KlineAsk, now: u64, scale: u64) -> Vec<Value> {
    let (iv, off) = (ask.interval, ask.offset);
    // A candle exists from the one holding the first trade, up to the one holding now, except
    // those wholly inside the halt.
    let exists = |o: u64| {
        let close = iv.next(o, off);
        close > tape.listed_ms && o <= now && !(o >= HALT.0 && close <= HALT.1)
    };
    let first_open = iv.open(tape.listed_ms, off);
    let opens: Vec<u64> = match (ask.start, ask.end) {
        (Some(start), end) => {
            let end = end.unwrap_or(now).min(now);
            let mut o = iv.open(start.max(first_open), off);
            if o < start {
                o = iv.next(o, off);
            }
            let mut out = Vec::new();
            while o <= end && out.len() < ask.limit {
                if exists(o) {
                    out.push(o);
                }
                o = iv.next(o, off);
            }
            out
        }
        (None, end) => {
            // The most recent `limit` up to the end (or now).
            let end = end.unwrap_or(now).min(now);
            let mut out = Vec::new();
            let mut o = iv.open(end, off);
            while out.len() < ask.limit && iv.next(o, off) > tape.listed_ms && o >= first_open {
                if exists(o) {
                    out.push(o);
                }
                if o == 0 {
                    break;
                }
                o = iv.open(o - 1, off);
            }
            out.reverse();
            out
        }
    };
    opens
        .into_iter()
        .map(|o| {
            let close_time = iv.next(o, off) - 1;
            let ranges = tape.ranges(o, close_time + 1, now);
            let (open, high, low, close, n, sum) = match stats(tape, &ranges) {
                Some(s) => {
                    let (open, close) = (tape.price(s.first), tape.price(s.last));
                    (open, s.high, s.low, close, s.n, s.sum)
                }
                None => {
                    // Nothing traded: the previous close, four times.
                    let prev = tape.last_before(o).map_or(tape.base, |k| tape.price(k));
                    (prev, prev, prev, prev, 0, 0)
                }
            };
            let volume = u128::from(n) * QTY;
            let quote = sum * QTY / 100_000_000;
            json!([
                o * scale,
                decimal(open),
                decimal(high),
                decimal(low),
                decimal(close),
                decimal(volume),
                close_time * scale + (scale - 1),
                decimal(quote),
                n,
                decimal(volume / 2),
                decimal(quote / 2),
                "0"
            ])
        })
        .collect()
}

/// `GET /api/v3/klines` and `/api/v3/uiKlines`: weight 2.
pub(crate) async fn klines_endpoint(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let scale = if micros(&shared, &headers) { 1000 } else { 1 };
    let checked = kline_ask(&params).map(|_| ());
    serve_checked(
        shared,
        "/api/v3/klines",
        params.clone(),
        2,
        move |_| checked,
        move |shared, sel| {
            let ask = kline_ask(&params).expect("checked");
            let now = now_ms();
            let rows = shared
                .pick(sel)
                .first()
                .map(|l| klines(&Tape::of(l), &ask, now, scale))
                .unwrap_or_default();
            // One symbol's answer is an array: wrapped, since a `symbol=` answer is unwrapped.
            Value::Array(vec![Value::Array(rows)])
        },
    )
    .await
}

/// `GET /api/v3/aggTrades`: weight 4; `startTime` and `endTime` (inclusive) at most an hour
/// apart (-1127), or `fromId`, or neither (the most recent).
pub(crate) async fn agg_trades(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let scale = if micros(&shared, &headers) { 1000 } else { 1 };
    let check = |p: &HashMap<String, String>| -> Result<(), (i64, String)> {
        needs(p, "symbol")?;
        limit(p)?;
        let (start, end) = (time_param(p, "startTime")?, time_param(p, "endTime")?);
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err((-1023, "Start time is greater than end time.".into()));
            }
            if e - s > 3_600_000 {
                return Err((
                    -1127,
                    "More than 1 hours between startTime and endTime.".into(),
                ));
            }
        }
        if let Some(id) = p.get("fromId")
            && id.parse::<u64>().is_err()
        {
            return Err((
                -1100,
                "Illegal characters found in parameter 'fromId'.".into(),
            ));
        }
        Ok(())
    };
    let checked = check(&params);
    serve_checked(
        shared,
        "/api/v3/aggTrades",
        params.clone(),
        4,
        move |_| checked,
        move |shared, sel| {
            let now = now_ms();
            let Some(l) = shared.pick(sel).first().copied() else {
                return Value::Array(vec![Value::Array(Vec::new())]);
            };
            Value::Array(vec![Value::Array(trades(l, &params, now, scale))])
        },
    )
    .await
}

/// The aggregate trades `params` ask of listing `l` (checked): from `fromId`, from `startTime`
/// (an hour at most), or the most recent `limit`.
pub(crate) fn trades(
    l: &crate::market::Listing,
    params: &HashMap<String, String>,
    now: u64,
    scale: u64,
) -> Vec<Value> {
    let tape = Tape::of(l);
    let n = limit(params).expect("checked");
    let start = time_param(params, "startTime").expect("checked");
    let end = time_param(params, "endTime").expect("checked");
    let from_id = params.get("fromId").and_then(|v| v.parse::<u64>().ok());
    let ks: Vec<u64> = match (from_id, start) {
        (Some(id), _) => {
            let end = end.unwrap_or(now);
            tape.ranges(tape.time(id), end.saturating_add(1), now)
                .into_iter()
                .flat_map(|(a, b)| a..=b)
                .take(n)
                .collect()
        }
        (None, Some(start)) => {
            let end = end.unwrap_or(start + 3_600_000);
            tape.ranges(start, end.saturating_add(1), now)
                .into_iter()
                .flat_map(|(a, b)| a..=b)
                .take(n)
                .collect()
        }
        (None, None) => {
            // The most recent n up to the end (or now).
            let end = end.unwrap_or(now).min(now);
            let ranges = tape.ranges(0, end.saturating_add(1), now);
            let mut ks: Vec<u64> = ranges
                .iter()
                .rev()
                .flat_map(|&(a, b)| (a..=b).rev())
                .take(n)
                .collect();
            ks.reverse();
            ks
        }
    };
    ks.into_iter()
        .map(|k| {
            json!({
                "a": k, "p": decimal(tape.price(k)), "q": decimal(QTY),
                "f": k, "l": k, "T": tape.time(k) * scale, "m": k % 2 == 0, "M": true
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tape::tests::btc;
    use crate::tape::{LISTED, LISTED_EARLY, SECOND};

    #[test]
    fn candles_skip_the_halt_and_start_at_the_listing() {
        let t = btc();
        let ask = |iv: &str, start, end| KlineAsk {
            interval: Interval::parse(iv).unwrap(),
            offset: 0,
            start: Some(start),
            end: Some(end),
            limit: 1000,
        };
        let now = now_ms();
        let rows = klines(&t, &ask("1m", HALT.0 - 120_000, HALT.1 + 60_000), now, 1);
        let opens: Vec<u64> = rows.iter().map(|r| r[0].as_u64().unwrap()).collect();
        assert_eq!(
            opens,
            [HALT.0 - 120_000, HALT.0 - 60_000, HALT.1, HALT.1 + 60_000]
        );
        let before = klines(
            &t,
            &ask("1h", LISTED_EARLY - 7_200_000, LISTED_EARLY + 3_600_000),
            now,
            1,
        );
        assert_eq!(before[0][0].as_u64(), Some(LISTED_EARLY));
        // Weeks start on Monday, months on the first.
        let w = klines(&t, &ask("1w", 1_704_153_600_000, 1_705_000_000_000), now, 1);
        assert_eq!(w[0][0].as_u64(), Some(1_704_672_000_000)); // from a Tuesday: the next Monday
        let m = klines(&t, &ask("1M", 1_704_067_200_000, 1_709_294_400_000), now, 1);
        let opens: Vec<u64> = m.iter().map(|r| r[0].as_u64().unwrap()).collect();
        assert_eq!(
            opens,
            [1_704_067_200_000, 1_706_745_600_000, 1_709_251_200_000]
        );
    }

    #[test]
    fn an_illiquid_minute_repeats_the_previous_close() {
        let t = Tape {
            listed_ms: LISTED,
            step_ms: 150 * SECOND,
            base: 642,
            amp: 1,
        };
        let ask = KlineAsk {
            interval: Interval::Fixed(60 * SECOND),
            offset: 0,
            start: Some(LISTED),
            end: Some(LISTED + 10 * 60 * SECOND),
            limit: 1000,
        };
        let rows = klines(&t, &ask, now_ms(), 1);
        let empty = rows.iter().find(|r| r[8] == 0).expect("an empty minute");
        assert_eq!(empty[1], empty[4]);
        assert_eq!(empty[5], "0.00000000");
        assert_eq!(zone_offset("+05:45"), Some(345 * 60_000));
        assert_eq!(zone_offset("-12:00"), Some(-720 * 60_000));
        assert_eq!(zone_offset("+15"), None);
    }
}
