//! Renderers: every output format behind one [`render`], plus the stderr wording.
//!
//! stdout carries data only, in the chosen [`Format`]; the timing summary, failures and hints go
//! to stderr (see [`summary`] and [`failure_line`]). Renderers write to a `&mut dyn Write` and
//! return `io::Result`, so a closed pipe surfaces as an error the caller can treat as success,
//! and they never see a float price: prices are the strings Binance sent.

mod csv;
mod json;
mod plain;
mod progress;
mod table;

use std::io::{self, Write};

use crate::error::FetchError;
use crate::fetch::{Mode, Outcome, Strategy};
use crate::report::Report;

pub use json::ndjson_line;
pub use progress::Progress;

/// The output formats (`-f`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people (default on a terminal).
    Table,
    /// `SYMBOL<TAB>PRICE` lines (default when stdout is not a terminal).
    Plain,
    /// One JSON object with the run's facts and every result.
    Json,
    /// One JSON object per result, written as each result arrives.
    Ndjson,
    /// `symbol,price,error,elapsed_ms,attempts` with a header row.
    Csv,
}

impl Format {
    /// Formats that print each result as soon as it arrives rather than at the end.
    pub fn streams(self) -> bool {
        self == Self::Ndjson
    }
}

/// Writes the finished report in `format` (for a streaming format, only what is left to say).
pub fn render(format: Format, report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    match format {
        Format::Table => table::render(report, out, color),
        Format::Plain => plain::render(report, out),
        Format::Json => json::render(report, out),
        Format::Ndjson => Ok(()),
        Format::Csv => csv::render(report, out),
    }
}

/// `--watch`: one refresh in a piped format (ndjson lines or one JSON object), with its time.
pub fn render_refresh(
    format: Format,
    report: &Report,
    time: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => json::render_refresh(report, time, out),
        _ => json::ndjson_refresh(report, time, out),
    }
}

/// A duration in the unit that reads best: `850 µs`, `48.2 ms`, `1.23 s`.
pub fn duration(secs: f64) -> String {
    if secs < 1e-3 {
        format!("{:.0} µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{secs:.2} s")
    }
}

/// Milliseconds with three decimals, for JSON and CSV.
fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// A failure in one line: the HTTP status (if any) first, then what went wrong.
pub fn describe(err: &FetchError) -> String {
    match err.status() {
        Some(status) => format!("HTTP {status}: {err}"),
        None => err.to_string(),
    }
}

fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The stderr line for a symbol that has no price.
pub fn failure_line(o: &Outcome) -> Option<String> {
    let err = o.result.as_ref().err()?;
    Some(format!(
        "{}: {} ({})",
        o.symbol,
        describe(err),
        plural(o.attempts, "attempt", "attempts")
    ))
}

/// The one-line timing summary for stderr.
pub fn summary(report: &Report) -> String {
    let server = report
        .used_weight
        .map(|w| format!(", server used weight {w}"))
        .unwrap_or_default();
    let mut extra = Vec::new();
    if report.isolation > 0 {
        extra.push(format!("{} to isolate unknown symbols", report.isolation));
    }
    if report.hedged > 0 {
        extra.push(format!("{} hedged to mirrors", report.hedged));
    }
    let isolation = if extra.is_empty() {
        String::new()
    } else {
        format!(" ({})", extra.join(", "))
    };
    let counts = format!(
        "{}{isolation}, {}, weight {}{server}",
        plural(report.requests, "request", "requests"),
        plural(report.retries, "retry", "retries"),
        report.weight
    );
    let elapsed = duration(report.elapsed.as_secs_f64());
    if let Some(c) = &report.comparison {
        return format!(
            "compared over {} + {} per mode in {elapsed} ({counts})",
            plural(c.warmup, "warmup round", "warmup rounds"),
            plural(c.runs, "measured round", "measured rounds"),
        );
    }
    let mut found = plural(report.ok() as u64, "price", "prices");
    if report.failed() > 0 {
        found += &format!(", {} failed", report.failed());
    }
    let plan = match report.strategy {
        Strategy::Each => String::new(),
        Strategy::Batch(size) => format!(", batches of up to {size}"),
        Strategy::All => ", whole market".to_owned(),
    };
    let mode = match report.mode {
        Mode::Async => format!("async{plan}, concurrency {}", report.concurrency),
        Mode::Sync => format!("sync{plan}"),
    };
    let stopped = match (report.interrupted, report.deadline_hit) {
        (Some(_), _) => "interrupted: ",
        (_, true) => "deadline passed: ",
        _ => "",
    };
    format!("{stopped}{found} in {elapsed} ({mode}, {counts})")
}

/// Failures, hints and the summary, on stderr. `verbosity` -1 drops the summary, -2 all of it.
/// Write errors are ignored: a closed stderr must not turn a good run into a failure.
pub fn diagnostics(report: &Report, verbosity: i8, color: bool, err: &mut dyn Write) {
    let (red, yellow, reset) = if color {
        ("\x1b[31m", "\x1b[33m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    if verbosity >= -1 {
        let mut hints: Vec<String> = Vec::new();
        if let Some(e) = &report.error {
            let _ = writeln!(err, "{red}pricefetch: whole market: {}{reset}", describe(e));
            hints.extend(crate::error::hint(e));
        }
        for o in &report.outcomes {
            if let Some(line) = failure_line(o) {
                let _ = writeln!(err, "{red}pricefetch: {line}{reset}");
            }
            if let Some(h) = o.result.as_ref().err().and_then(crate::error::hint)
                && !hints.contains(&h)
            {
                hints.push(h);
            }
        }
        for h in hints {
            let _ = writeln!(err, "{yellow}hint:{reset} {h}");
        }
    }
    if verbosity >= 0 {
        let _ = writeln!(err, "{}", summary(report));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration(0.000_85), "850 µs");
        assert_eq!(duration(0.048_21), "48.2 ms");
        assert_eq!(duration(1.234), "1.23 s");
    }
}
