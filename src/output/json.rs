//! `json` and `ndjson`: dedicated output structs with stable snake_case field names.
//!
//! These structs *are* the output contract, apart from the engine's types so that a refactor
//! inside cannot rename a field outside. A result has either the ticker's fields (`price`, or
//! the 24h or book fields: the exact strings Binance sent) or `error`; timing lives inside the object, never as a trailing text line, so the
//! document stays valid JSON whatever failed.

use std::io::{self, Write};

use serde::Serialize;

use crate::error::FetchError;
use crate::market::TickerKind;
use crate::outcome::Outcome;
use crate::pairs::Route;
use crate::report::{Comparison, Report, Stats};

use super::format::{millis, rfc3339_ms};

#[derive(Serialize)]
struct JsonReport<'a> {
    /// With `--watch`: when the refresh was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<&'a str>,
    mode: &'static str,
    ticker: &'static str,
    /// `--window`: the rolling window (`15m`).
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<String>,
    /// `--ticker day`: the offset the trading day is counted in (`UTC+05:45`).
    #[serde(skip_serializing_if = "Option::is_none")]
    time_zone: Option<String>,
    strategy: &'static str,
    concurrency: usize,
    elapsed_ms: f64,
    requests: u32,
    retries: u32,
    isolation_requests: u32,
    hedged_requests: u32,
    weight: u32,
    used_weight: Option<u32>,
    ok: usize,
    failed: usize,
    interrupted: bool,
    deadline_hit: bool,
    error: Option<JsonError>,
    results: Vec<JsonResult<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comparison: Option<JsonComparison>,
}

/// One symbol: `symbol`, then the ticker's fields (or `error`), then `elapsed_ms`, `attempts`.
/// Serialised by hand because the fields depend on the ticker kind.
struct JsonResult<'a> {
    /// With `--watch`: when the refresh was taken.
    time: Option<&'a str>,
    symbol: &'a str,
    /// `--in`: the asset the price is in (`symbol` is then written as `asset`).
    target: Option<&'a str>,
    /// `--in`: how the price was made.
    route: Option<&'a Route>,
    fields: &'static [&'static str],
    values: Option<&'a [String]>,
    /// When the price was taken (RFC 3339), with the values.
    price_time: Option<String>,
    error: Option<JsonError>,
    elapsed_ms: f64,
    attempts: u32,
}

/// A ticker field's value in JSON.
pub(crate) enum FieldValue<'a> {
    /// A value the contract does not have (a quarterly's funding): absent, never "" or 0.
    Absent,
    /// A count (the average's minutes) or a time in ms (the next funding): a number, as
    /// Binance sends it.
    Number(u64),
    /// A price or a rate: the exact string.
    Text(&'a str),
}

/// What `field`'s `value` is in JSON (one-shot, `--watch` and `--stream` alike).
pub(crate) fn field_value<'a>(field: &str, value: &'a str) -> FieldValue<'a> {
    if value.is_empty() {
        return FieldValue::Absent;
    }
    match matches!(field, "mins" | "next_funding_time") {
        true => value
            .parse()
            .map_or(FieldValue::Text(value), FieldValue::Number),
        false => FieldValue::Text(value),
    }
}

impl Serialize for JsonResult<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        if let Some(time) = self.time {
            map.serialize_entry("time", time)?;
        }
        match self.target {
            Some(target) => {
                map.serialize_entry("asset", self.symbol)?;
                map.serialize_entry("in", target)?;
            }
            None => map.serialize_entry("symbol", self.symbol)?,
        }
        for (field, value) in self.fields.iter().zip(self.values.unwrap_or_default()) {
            match field_value(field, value) {
                FieldValue::Absent => {}
                FieldValue::Number(n) => map.serialize_entry(field, &n)?,
                FieldValue::Text(v) => map.serialize_entry(field, v)?,
            }
        }
        if let Some(route) = self.route {
            let pairs: Vec<&str> = route.legs.iter().map(|l| l.symbol.as_str()).collect();
            map.serialize_entry("route", &pairs)?;
            let legs: Vec<JsonLeg> = route
                .legs
                .iter()
                .map(|l| JsonLeg {
                    symbol: &l.symbol,
                    price: &l.price,
                    inverted: l.inverted,
                    price_time: rfc3339_ms(l.time_ms),
                })
                .collect();
            map.serialize_entry("legs", &legs)?;
        }
        if let Some(time) = &self.price_time {
            map.serialize_entry("price_time", time)?;
        }
        if let Some(e) = &self.error {
            map.serialize_entry("error", e)?;
        }
        map.serialize_entry("elapsed_ms", &self.elapsed_ms)?;
        map.serialize_entry("attempts", &self.attempts)?;
        map.end()
    }
}

/// One leg of a conversion: the pair's own price, whether it was divided by, and its time.
#[derive(Serialize)]
struct JsonLeg<'a> {
    symbol: &'a str,
    price: &'a str,
    inverted: bool,
    price_time: String,
}

#[derive(Serialize)]
struct JsonError {
    kind: &'static str,
    status: Option<u16>,
    code: Option<i64>,
    message: String,
}

#[derive(Serialize)]
struct JsonComparison {
    runs: u32,
    warmup: u32,
    #[serde(rename = "async")]
    async_stats: JsonStats,
    sync: JsonStats,
    speedup: Option<JsonSpeedup>,
}

#[derive(Serialize)]
struct JsonStats {
    mean_ms: f64,
    stddev_ms: f64,
    min_ms: f64,
    max_ms: f64,
    samples_ms: Vec<f64>,
    requests_per_round: f64,
    failed: usize,
}

#[derive(Serialize)]
struct JsonSpeedup {
    faster: &'static str,
    ratio: f64,
    stddev: f64,
}

fn ms(secs: f64) -> f64 {
    (secs * 1e6).round() / 1e3
}

impl From<&Stats> for JsonStats {
    fn from(s: &Stats) -> Self {
        Self {
            mean_ms: ms(s.mean),
            stddev_ms: ms(s.stddev),
            min_ms: ms(s.min),
            max_ms: ms(s.max),
            samples_ms: s.samples.iter().copied().map(ms).collect(),
            requests_per_round: s.requests_per_round,
            failed: s.failed,
        }
    }
}

impl From<&Comparison> for JsonComparison {
    fn from(c: &Comparison) -> Self {
        Self {
            runs: c.runs,
            warmup: c.warmup,
            async_stats: (&c.async_stats).into(),
            sync: (&c.sync_stats).into(),
            speedup: c.speedup.map(|s| JsonSpeedup {
                faster: s.faster.name(),
                ratio: (s.ratio * 1000.0).round() / 1000.0,
                stddev: (s.stddev * 1000.0).round() / 1000.0,
            }),
        }
    }
}

impl From<&FetchError> for JsonError {
    fn from(e: &FetchError) -> Self {
        Self {
            kind: e.kind(),
            status: e.status(),
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl<'a> JsonResult<'a> {
    fn new(o: &'a Outcome, kind: TickerKind, target: Option<&'a str>) -> Self {
        Self {
            time: None,
            symbol: &o.symbol,
            target,
            route: o.route.as_ref(),
            fields: kind.fields(),
            values: o.result.as_ref().ok().map(|t| t.values.as_slice()),
            price_time: o.result.as_ref().ok().map(|t| rfc3339_ms(t.time_ms)),
            error: o.result.as_ref().err().map(JsonError::from),
            elapsed_ms: millis(o.elapsed),
            attempts: o.attempts,
        }
    }
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(report, None))?;
    writeln!(out)
}

/// `--watch -f json`: one compact object per refresh, with its time, on one line.
pub(super) fn render_refresh(report: &Report, time: &str, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &document(report, Some(time)))?;
    writeln!(out)
}

/// `--watch -f ndjson`: one line per symbol, each with the refresh's time.
pub(super) fn ndjson_refresh(report: &Report, time: &str, out: &mut dyn Write) -> io::Result<()> {
    for o in &report.outcomes {
        let line = JsonResult {
            time: Some(time),
            ..JsonResult::new(o, report.kind, report.target.as_deref())
        };
        serde_json::to_writer(&mut *out, &line)?;
        writeln!(out)?;
    }
    Ok(())
}

fn document<'a>(report: &'a Report, time: Option<&'a str>) -> JsonReport<'a> {
    JsonReport {
        time,
        mode: match report.comparison {
            Some(_) => "compare",
            None => report.mode.name(),
        },
        ticker: report.kind.name(),
        window: match report.kind {
            TickerKind::Window(w) => Some(w.param()),
            _ => None,
        },
        time_zone: match report.kind {
            TickerKind::TradingDay(offset) => Some(offset.label()),
            _ => None,
        },
        strategy: report.strategy.name(),
        concurrency: report.concurrency,
        elapsed_ms: millis(report.elapsed),
        requests: report.sent.requests,
        retries: report.sent.retries,
        isolation_requests: report.sent.isolation,
        hedged_requests: report.sent.hedged,
        weight: report.sent.weight,
        used_weight: report.used_weight,
        ok: report.ok(),
        failed: report.failed(),
        interrupted: report.interrupted.is_some(),
        deadline_hit: report.deadline_hit,
        error: report.error.as_ref().map(JsonError::from),
        results: report
            .outcomes
            .iter()
            .map(|o| JsonResult::new(o, report.kind, report.target.as_deref()))
            .collect(),
        comparison: report.comparison.as_ref().map(JsonComparison::from),
    }
}

/// One `ndjson` line for a result, written (and flushed by the caller) as it arrives.
pub(crate) fn ndjson_line(
    o: &Outcome,
    kind: TickerKind,
    target: Option<&str>,
    out: &mut dyn Write,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &JsonResult::new(o, kind, target))?;
    writeln!(out)
}
