//! `json` and `ndjson`: dedicated output structs with stable snake_case field names.
//!
//! These structs *are* the output contract, apart from the engine's types so that a refactor
//! inside cannot rename a field outside. A result has either `price` (the exact string Binance
//! sent) or `error`; timing lives inside the object, never as a trailing text line, so the
//! document stays valid JSON whatever failed.

use std::io::{self, Write};

use serde::Serialize;

use crate::fetch::Outcome;
use crate::report::{Comparison, Report, Stats};

use super::millis;

#[derive(Serialize)]
struct JsonReport<'a> {
    mode: &'static str,
    concurrency: usize,
    elapsed_ms: f64,
    requests: u32,
    retries: u32,
    weight: u32,
    used_weight: Option<u32>,
    ok: usize,
    failed: usize,
    interrupted: bool,
    deadline_hit: bool,
    results: Vec<JsonResult<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comparison: Option<JsonComparison>,
}

#[derive(Serialize)]
struct JsonResult<'a> {
    symbol: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<JsonError>,
    elapsed_ms: f64,
    attempts: u32,
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

impl<'a> From<&'a Outcome> for JsonResult<'a> {
    fn from(o: &'a Outcome) -> Self {
        let (price, error) = match &o.result {
            Ok(t) => (Some(t.price.as_str()), None),
            Err(e) => (
                None,
                Some(JsonError {
                    kind: e.kind(),
                    status: e.status(),
                    code: e.code(),
                    message: e.to_string(),
                }),
            ),
        };
        Self {
            symbol: &o.symbol,
            price,
            error,
            elapsed_ms: millis(o.elapsed),
            attempts: o.attempts,
        }
    }
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let doc = JsonReport {
        mode: match report.comparison {
            Some(_) => "compare",
            None => report.mode.name(),
        },
        concurrency: report.concurrency,
        elapsed_ms: millis(report.elapsed),
        requests: report.requests,
        retries: report.retries,
        weight: report.weight,
        used_weight: report.used_weight,
        ok: report.ok(),
        failed: report.failed(),
        interrupted: report.interrupted,
        deadline_hit: report.deadline_hit,
        results: report.outcomes.iter().map(JsonResult::from).collect(),
        comparison: report.comparison.as_ref().map(JsonComparison::from),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// One `ndjson` line for a result, written (and flushed by the caller) as it arrives.
pub fn ndjson_line(o: &Outcome, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &JsonResult::from(o))?;
    writeln!(out)
}
