//! Renderers: every output format behind one [`render`], plus the stderr wording.
//!
//! stdout carries data only, in the chosen [`Format`]; the timing summary, failures and hints go
//! to stderr (see [`summary`] and [`failure_line`]). Renderers write to a `&mut dyn Write` and
//! return `io::Result`, so a closed pipe surfaces as an error the caller can treat as success,
//! and they never see a float price: prices are the strings Binance sent.

pub(crate) mod at_in;
mod candle_table;
pub(crate) mod candles_in;
mod csv;
pub(crate) mod file;
mod format;
pub(crate) mod funding;
pub(crate) mod history;
mod json;
mod live;
pub(crate) mod metrics;
mod plain;
mod progress;
pub(crate) mod sink;
mod stderr;
mod table;

use std::io::{self, Write};

use crate::error::FetchError;
use crate::outcome::{Mode, Outcome};
use crate::report::Report;
use crate::strategy::Strategy;

use crate::text::{duration, plural, stderr_width, wrap};

pub(crate) use format::{Format, describe};
pub(crate) use json::ndjson_line;
pub(crate) use live::{LiveRow, backfill_line, live_table, update_csv_header, update_line};
pub(crate) use progress::{Progress, StatusLine};
pub(crate) use stderr::let_go;
pub use stderr::{LogLine, StderrLines, say_error, say_usage_error};

/// Writes the finished report in `format` (for a streaming format, only what is left to say).
/// `width` is the terminal's, when stdout is one: a table narrows to it.
pub(crate) fn render(
    format: Format,
    report: &Report,
    out: &mut dyn Write,
    look: Look,
) -> io::Result<()> {
    match format {
        Format::Table => table::render(report, out, look.color, look.width),
        Format::Plain => plain::render(report, out),
        Format::Json => json::render(report, out),
        Format::Ndjson => Ok(()),
        Format::Csv => csv::render(report, look.header, out),
        Format::Openmetrics => metrics::render(report, out),
        // The lowering allows them with history only, which renders on its own.
        Format::Ledger | Format::Beancount => Ok(()),
    }
}

/// How a rendering looks beyond its format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Look {
    /// Colour (a terminal that wants it).
    pub(crate) color: bool,
    /// The terminal's width, when stdout is one: a table narrows to it.
    pub(crate) width: Option<usize>,
    /// csv's header row (`--no-header` leaves it out).
    pub(crate) header: bool,
}

/// `--watch`: one refresh in a piped format (ndjson lines or one JSON object), with its time.
pub(crate) fn render_refresh(
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

/// The stderr line for a symbol that has no price.
pub(crate) fn failure_line(o: &Outcome) -> Option<String> {
    let err = o.result.as_ref().err()?;
    // A failure decided before any request (no route, a name a ledger cannot take, a leg
    // priced at zero) has no attempts to count.
    if o.attempts == 0 {
        return Some(format!("{}: {}", o.symbol, describe(err)));
    }
    Some(format!(
        "{}: {} ({})",
        o.symbol,
        describe(err),
        plural(o.attempts, "attempt", "attempts")
    ))
}

/// The one-line timing summary for stderr; the request weight only when `verbose`, so that
/// the common case fits 80 columns.
pub(crate) fn summary(report: &Report, verbose: bool) -> String {
    let mut extra = Vec::new();
    if report.sent.isolation > 0 {
        extra.push(format!(
            "{} to isolate unknown symbols",
            report.sent.isolation
        ));
    }
    if report.sent.hedged > 0 {
        extra.push(format!("{} hedged to mirrors", report.sent.hedged));
    }
    let mut requests = plural(report.sent.requests, "request", "requests");
    if !extra.is_empty() {
        requests += &format!(" ({})", extra.join(", "));
    }
    let mut counts = vec![requests];
    if report.sent.retries > 0 {
        counts.push(plural(report.sent.retries, "retry", "retries"));
    }
    if verbose {
        counts.push(format!("weight {}", report.sent.weight));
        if let Some(w) = report.used_weight {
            counts.push(format!("server used weight {w}"));
        }
    }
    let counts = counts.join(", ");
    let elapsed = duration(report.elapsed.as_secs_f64());
    if let Some(c) = &report.comparison {
        return format!(
            "compared {} per mode (+{} warm-up) in {elapsed} ({counts})",
            plural(c.runs, "round", "rounds"),
            c.warmup,
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
        Mode::Async => format!("async{plan}, -c {}", report.concurrency),
        Mode::Sync => format!("sync{plan}"),
    };
    let stopped = match (report.interrupted, report.deadline_hit) {
        (Some(_), _) => "interrupted: ",
        (_, true) => "deadline passed: ",
        _ => "",
    };
    format!("{stopped}{found} in {elapsed} ({mode}, {counts})")
}

/// The exporter's status line: what arrived, who scraped and when, what `/healthz` answers
/// (`health`: as the board's `fresh` says).
pub(crate) fn serve_status(
    updates: u64,
    scrapes: u64,
    last_scrape: Option<std::time::Duration>,
    health: Result<(), Option<std::time::Duration>>,
) -> String {
    // Whole seconds: the line is redrawn every second.
    let ago =
        |d: std::time::Duration| crate::text::span(std::time::Duration::from_secs(d.as_secs()));
    let scrapes = match last_scrape {
        Some(at) => format!(
            "{}, the last {} ago",
            plural(scrapes, "scrape", "scrapes"),
            ago(at)
        ),
        None => "no scrape yet".into(),
    };
    let health = match health {
        Ok(()) => "healthy".to_owned(),
        Err(Some(age)) => format!("stale: no value for {}", ago(age)),
        Err(None) => "waiting for the first value".to_owned(),
    };
    format!(
        "{} · {scrapes} · {health}",
        plural(updates, "update", "updates")
    )
}

/// Failures and hints on stderr (`verbosity` -2 drops them; the summary is [`say_summary`]'s).
/// Write errors are ignored: a closed stderr must not turn a good run into a failure.
pub(crate) fn diagnostics(report: &Report, verbosity: i8, color: bool, err: &mut dyn Write) {
    let width = stderr_width();
    let (red, yellow, reset) = if color {
        ("\x1b[31m", "\x1b[33m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    if verbosity >= -1 {
        // "Did you mean" says more than the general advice on spelling.
        let mut hints: Vec<String> = report.suggestions.clone();
        let unknown = FetchError::Api {
            status: 400,
            code: Some(-1121),
            msg: String::new(),
        };
        // Every unknown symbol is named at the head of a suggestion (`BTC USDT: …`, `BTC is an
        // asset: …`): the general advice on spelling would only repeat them.
        let suggested = |symbol: &str| {
            (report.suggestions.iter())
                .filter_map(|s| s.split(':').next())
                .any(|head| head.split(' ').any(|word| word == symbol))
        };
        let all_suggested = report.outcomes.iter().all(|o| {
            !matches!(
                &o.result,
                Err(FetchError::Api {
                    code: Some(-1121),
                    ..
                })
            ) || suggested(&o.symbol)
        });
        let spelling = crate::error::hint(&unknown).filter(|_| all_suggested);
        if let Some(e) = &report.error {
            let _ = writeln!(err, "{red}pricefetch: whole market: {}{reset}", describe(e));
            hints.extend(crate::error::hint(e));
        }
        for o in &report.outcomes {
            if let Some(line) = failure_line(o) {
                let line = wrap(&format!("pricefetch: {line}"), width, 2);
                let _ = writeln!(err, "{red}{line}{reset}");
            }
            if let Some(h) = o.result.as_ref().err().and_then(crate::error::hint)
                && !hints.contains(&h)
                && spelling.as_ref() != Some(&h)
            {
                hints.push(h);
            }
        }
        // A hint's own lines (a command to type) stay whole, each under the first.
        for h in hints {
            let lines: Vec<String> = (h.split('\n'))
                .map(|l| {
                    let text = l.trim_start();
                    let indent = &l[..l.len() - text.len()];
                    indent.to_owned() + &wrap(text, width.map(|w| w.saturating_sub(6)), 6)
                })
                .collect();
            let _ = writeln!(err, "{yellow}hint:{reset} {}", lines.join("\n      "));
        }
    }
}

/// A run's closing line on stderr, wrapped, unless quiet (`verbosity` below 0): every runner
/// ends with this one function, with `summary`'s words or its own.
pub(crate) fn say_summary(line: &str, verbosity: i8) {
    if verbosity >= 0 {
        let _ = writeln!(io::stderr().lock(), "{}", wrap(line, stderr_width(), 2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_at_spaces_with_an_indent() {
        let text = "1000 prices in 57.3 ms (async, batches of up to 100, -c 16, 10 requests)";
        assert_eq!(wrap(text, None, 2), text);
        assert_eq!(wrap(text, Some(80), 2), text);
        assert_eq!(
            wrap(text, Some(40), 2),
            "1000 prices in 57.3 ms (async, batches\n  of up to 100, -c 16, 10 requests)"
        );
        assert!(
            wrap(text, Some(30), 2)
                .lines()
                .all(|l| l.chars().count() <= 30)
        );
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration(0.000_85), "850 µs");
        assert_eq!(duration(0.048_21), "48.2 ms");
        assert_eq!(duration(1.234), "1.23 s");
    }
}
