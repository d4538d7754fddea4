//! `csv`: a fixed header and one row per symbol: `symbol,price,error,elapsed_ms,attempts,
//! price_time` for prices, with the 24h or book fields in place of `price` for the other
//! tickers. `price_time` (RFC 3339, UTC, milliseconds) is when the price was taken, so that a
//! log appended to by cron (`--no-header`) says when each row's price held.
//!
//! Every symbol gets a row, failed or not, in input order; either the ticker fields or `error`
//! are filled. Fields are quoted only when they must be (RFC 4180), by [`field`].

use std::borrow::Cow;
use std::io::{self, Write};

use crate::market::TickerKind;
use crate::report::Report;

use super::format::{describe, millis, rfc3339_ms};

/// The header for a ticker kind; part of the output contract.
pub(super) fn header(kind: TickerKind) -> String {
    format!(
        "symbol,{},error,elapsed_ms,attempts,price_time",
        kind.fields().join(",")
    )
}

pub(super) fn render(report: &Report, header_row: bool, out: &mut dyn Write) -> io::Result<()> {
    if let Some(target) = &report.target {
        return conversions(report, target, header_row, out);
    }
    if header_row {
        writeln!(out, "{}", header(report.kind))?;
    }
    let blank = vec![String::new(); report.kind.fields().len()];
    for o in &report.outcomes {
        let (values, error, time) = match &o.result {
            Ok(t) => (&t.values, String::new(), rfc3339_ms(t.time_ms)),
            Err(e) => (&blank, describe(e), String::new()),
        };
        let values: Vec<Cow<'_, str>> = values.iter().map(|v| field(v)).collect();
        writeln!(
            out,
            "{},{},{},{},{},{time}",
            field(&o.symbol),
            values.join(","),
            field(&error),
            millis(o.elapsed),
            o.attempts
        )?;
    }
    Ok(())
}

/// `--in`: `asset,in,price,route,error,elapsed_ms,attempts,price_time`, the route written as
/// arithmetic on pair names (`ADAUSDT/EURUSDT`).
fn conversions(
    report: &Report,
    target: &str,
    header_row: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    if header_row {
        writeln!(
            out,
            "asset,in,price,route,error,elapsed_ms,attempts,price_time"
        )?;
    }
    for o in &report.outcomes {
        let (price, error, time) = match &o.result {
            Ok(t) => (t.price(), String::new(), rfc3339_ms(t.time_ms)),
            Err(e) => ("", describe(e), String::new()),
        };
        let route = o.route.as_ref().map(|r| r.expression()).unwrap_or_default();
        writeln!(
            out,
            "{},{},{price},{route},{},{},{},{time}",
            field(&o.symbol),
            field(target),
            field(&error),
            millis(o.elapsed),
            o.attempts
        )?;
    }
    Ok(())
}

/// Quotes a field that holds a comma, a quote or a line break, doubling inner quotes.
pub(super) fn field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_the_documented_ones() {
        assert_eq!(
            header(TickerKind::Price),
            "symbol,price,error,elapsed_ms,attempts,price_time"
        );
        assert_eq!(
            header(TickerKind::Book),
            "symbol,bid_price,bid_qty,ask_price,ask_qty,error,elapsed_ms,attempts,price_time"
        );
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("BTCUSDT"), "BTCUSDT");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }
}
