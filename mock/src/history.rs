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
use crate::market::Listing;
use crate::record::unix_now;

/// The spot maintenance halt the mock knows: no trade and no candle in [from, to).
pub const HALT: (u64, u64) = (1_679_660_280_000, 1_679_665_680_000);

/// Listing times (ms): BTCUSDT and ETHUSDT, the UTF-8 pair, the rest, generated pairs.
const LISTED_EARLY: u64 = 1_502_942_400_000;
const LISTED_UTF8: u64 = 1_764_633_600_000;
const LISTED: u64 = 1_546_300_800_000;
const LISTED_GENERATED: u64 = 1_577_836_800_000;

const SECOND: u64 = 1000;
const DAY: u64 = 86_400 * SECOND;
/// Each trade's quantity, in units of 1e-8 (0.001).
const QTY: u128 = 100_000;
/// Half the triangle wave's period, in trades.
const HALF: u64 = 50;

/// The trades of one listing.
#[derive(Debug, Clone, Copy)]
pub struct Tape {
    /// The first trade's time, ms.
    pub listed_ms: u64,
    /// Time between trades, ms.
    pub step_ms: u64,
    /// The price the wave swings around, in 1e-8, and how far one step of it moves.
    base: u128,
    amp: u128,
}

impl Tape {
    /// The tape of `l`.
    pub(crate) fn of(l: &Listing) -> Self {
        let listed_ms = match l.symbol.as_str() {
            "BTCUSDT" | "ETHUSDT" => LISTED_EARLY,
            s if s.starts_with("SYM") => LISTED_GENERATED,
            s if !s.is_ascii() => LISTED_UTF8,
            _ => LISTED,
        };
        let step_ms = if l.symbol == "XRPBTC" {
            150 * SECOND
        } else {
            SECOND
        };
        let base = units(&l.price).max(100);
        Self {
            listed_ms,
            step_ms,
            base,
            amp: (base / 4000).max(1),
        }
    }

    /// Trade `k`'s price, in 1e-8.
    fn price(&self, k: u64) -> u128 {
        self.base + self.amp * u128::from(tri(k)) - self.amp * u128::from(HALF / 2)
    }

    /// Trade `k`'s time.
    pub fn time(&self, k: u64) -> u64 {
        self.listed_ms + k * self.step_ms
    }

    /// Whether trade `k` happened (not in the halt, not after `now`).
    fn happened(&self, k: u64, now: u64) -> bool {
        let t = self.time(k);
        t <= now && !(HALT.0..HALT.1).contains(&t)
    }

    /// The first trade at or after `t` (ms), by number.
    fn first_from(&self, t: u64) -> u64 {
        t.saturating_sub(self.listed_ms).div_ceil(self.step_ms)
    }

    /// The ranges of trade numbers in [from, to) that happened by `now`: at most two (the halt
    /// cuts one in two).
    fn ranges(&self, from: u64, to: u64, now: u64) -> Vec<(u64, u64)> {
        let last_by_now = (now >= self.listed_ms).then(|| (now - self.listed_ms) / self.step_ms);
        let (Some(last_by_now), true) = (last_by_now, to > self.listed_ms) else {
            return Vec::new();
        };
        let lo = self.first_from(from);
        let hi = (self.first_from(to)).saturating_sub(1).min(last_by_now);
        if to <= from || lo > hi || self.first_from(to) == 0 {
            return Vec::new();
        }
        let (h_lo, h_hi) = (self.first_from(HALT.0), self.first_from(HALT.1));
        let mut out = Vec::new();
        if lo < h_lo {
            out.push((lo, hi.min(h_lo.saturating_sub(1))));
        }
        if hi >= h_hi {
            out.push((lo.max(h_hi), hi));
        }
        out.retain(|(a, b)| a <= b);
        out
    }

    /// The last trade before `t` that happened, if any.
    fn last_before(&self, t: u64) -> Option<u64> {
        let mut k = self.first_from(t).checked_sub(1)?;
        if !self.happened(k, u64::MAX) {
            k = self.first_from(HALT.0).checked_sub(1)?;
        }
        Some(k)
    }
}

/// The triangle wave: 0..=50..0 over 100 trades.
fn tri(k: u64) -> u64 {
    (k % (2 * HALF)).abs_diff(HALF)
}

/// The sum of `tri` over 0..n.
fn tri_sum(n: u64) -> u128 {
    let period: u128 = u128::from(HALF * HALF);
    let partial: u128 = (0..n % (2 * HALF)).map(|j| u128::from(tri(j))).sum();
    u128::from(n / (2 * HALF)) * period + partial
}

/// A decimal string in units of 1e-8.
fn units(s: &str) -> u128 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<8}");
    int.parse::<u128>().unwrap_or(0) * 100_000_000 + frac[..8].parse::<u128>().unwrap_or(0)
}

/// Units of 1e-8 as Binance writes them: 8 decimals.
fn decimal(u: u128) -> String {
    format!("{}.{:08}", u / 100_000_000, u % 100_000_000)
}

/// What the trades of some ranges add up to.
struct Stats {
    n: u64,
    first: u64,
    last: u64,
    high: u128,
    low: u128,
    sum: u128,
}

fn stats(tape: &Tape, ranges: &[(u64, u64)]) -> Option<Stats> {
    let mut out: Option<Stats> = None;
    for &(a, b) in ranges {
        let len = b - a + 1;
        let (high, low) = if len >= 2 * HALF {
            (tape.price(0), tape.price(HALF))
        } else {
            (a..=b).fold((0, u128::MAX), |(h, l), k| {
                (h.max(tape.price(k)), l.min(tape.price(k)))
            })
        };
        let sum = u128::from(len) * (tape.base - tape.amp * u128::from(HALF / 2))
            + tape.amp * (tri_sum(b + 1) - tri_sum(a));
        out = Some(match out {
            None => Stats {
                n: len,
                first: a,
                last: b,
                high,
                low,
                sum,
            },
            Some(s) => Stats {
                n: s.n + len,
                first: s.first,
                last: b,
                high: s.high.max(high),
                low: s.low.min(low),
                sum: s.sum + sum,
            },
        });
    }
    out
}

/// A kline interval, as Binance names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interval {
    /// A fixed length in ms (1s … 3d), aligned to the epoch in the asked zone.
    Fixed(u64),
    /// A week, from Monday 00:00.
    Week,
    /// A calendar month.
    Month,
}

impl Interval {
    fn parse(s: &str) -> Option<Self> {
        let minute = 60 * SECOND;
        let hour = 60 * minute;
        Some(match s {
            "1s" => Self::Fixed(SECOND),
            "1m" => Self::Fixed(minute),
            "3m" => Self::Fixed(3 * minute),
            "5m" => Self::Fixed(5 * minute),
            "15m" => Self::Fixed(15 * minute),
            "30m" => Self::Fixed(30 * minute),
            "1h" => Self::Fixed(hour),
            "2h" => Self::Fixed(2 * hour),
            "4h" => Self::Fixed(4 * hour),
            "6h" => Self::Fixed(6 * hour),
            "8h" => Self::Fixed(8 * hour),
            "12h" => Self::Fixed(12 * hour),
            "1d" => Self::Fixed(DAY),
            "3d" => Self::Fixed(3 * DAY),
            "1w" => Self::Week,
            "1M" => Self::Month,
            _ => return None,
        })
    }

    /// The open time of the candle holding `t`, with the zone `offset` (ms east of UTC).
    fn open(self, t: u64, offset: i64) -> u64 {
        let local = t as i64 + offset;
        let start = match self {
            Self::Fixed(len) => local.div_euclid(len as i64) * len as i64,
            // 1970-01-05 was a Monday.
            Self::Week => {
                (local - 4 * DAY as i64).div_euclid(7 * DAY as i64) * 7 * DAY as i64
                    + 4 * DAY as i64
            }
            Self::Month => {
                let utc = jiff::tz::Offset::UTC;
                let date = utc
                    .to_datetime(jiff::Timestamp::from_millisecond(local).unwrap_or_default())
                    .date();
                utc.to_timestamp(jiff::civil::date(date.year(), date.month(), 1).at(0, 0, 0, 0))
                    .map_or(0, |t| t.as_millisecond())
            }
        };
        (start - offset).max(0) as u64
    }

    /// The open time of the candle after the one opening at `open`.
    fn next(self, open: u64, offset: i64) -> u64 {
        match self {
            Self::Fixed(len) => open + len,
            Self::Week => open + 7 * DAY,
            // The month after: from a day inside it (a month is at least 28 days).
            Self::Month => self.open(self.open(open, offset) + 32 * DAY, offset),
        }
    }
}

/// `timeZone`: hours or hours:minutes, -12:00 to +14:00; ms east of UTC.
fn zone_offset(s: &str) -> Option<i64> {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = sign * (h * 60 + m);
    ((-12 * 60..=14 * 60).contains(&minutes) && (0..60).contains(&m)).then_some(minutes * 60 * 1000)
}

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
    match p.get("limit") {
        None => Ok(500),
        Some(v) => v.parse::<usize>().map(|n| n.clamp(1, 1000)).map_err(|_| {
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
fn micros(shared: &Shared, headers: &HeaderMap) -> bool {
    shared.opts.micros
        || headers
            .get("x-mbx-time-unit")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("microsecond"))
}

fn now_ms() -> u64 {
    unix_now().as_millis() as u64
}

/// The parameters of a klines request, checked as Binance does.
struct KlineAsk {
    interval: Interval,
    offset: i64,
    start: Option<u64>,
    end: Option<u64>,
    limit: usize,
}

fn kline_ask(p: &HashMap<String, String>) -> Result<KlineAsk, (i64, String)> {
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
        limit: limit(p)?,
    })
}

/// The candles `ask` selects of `tape`, oldest first, as Binance's arrays.
fn klines(tape: &Tape, ask: &KlineAsk, now: u64, scale: u64) -> Vec<Value> {
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
            let tape = Tape::of(l);
            let n = limit(&params).expect("checked");
            let start = time_param(&params, "startTime").expect("checked");
            let end = time_param(&params, "endTime").expect("checked");
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
            let rows = ks
                .into_iter()
                .map(|k| {
                    json!({
                        "a": k, "p": decimal(tape.price(k)), "q": decimal(QTY),
                        "f": k, "l": k, "T": tape.time(k) * scale, "m": k % 2 == 0, "M": true
                    })
                })
                .collect();
            Value::Array(vec![Value::Array(rows)])
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> Tape {
        Tape {
            listed_ms: LISTED_EARLY,
            step_ms: SECOND,
            base: units("97123.45"),
            amp: units("97123.45") / 4000,
        }
    }

    #[test]
    fn sums_match_the_trades_one_by_one() {
        let t = btc();
        for (a, b) in [(0, 0), (3, 250), (99, 100), (1234, 5678)] {
            let s = stats(&t, &[(a, b)]).unwrap();
            let sum: u128 = (a..=b).map(|k| t.price(k)).sum();
            let high = (a..=b).map(|k| t.price(k)).max().unwrap();
            let low = (a..=b).map(|k| t.price(k)).min().unwrap();
            assert_eq!((s.sum, s.high, s.low, s.n), (sum, high, low, b - a + 1));
        }
    }

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
