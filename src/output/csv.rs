//! `csv`: a fixed header and one row per symbol: `symbol,price,error,elapsed_ms,attempts` for
//! prices, with the 24h or book fields in place of `price` for the other tickers.
//!
//! Every symbol gets a row, failed or not, in input order; either the ticker fields or `error`
//! are filled. Fields are quoted only when they must be (RFC 4180), by [`field`].

use std::borrow::Cow;
use std::io::{self, Write};

use crate::binance::TickerKind;
use crate::report::Report;

use super::{describe, millis};

/// The header for a ticker kind; part of the output contract.
pub fn header(kind: TickerKind) -> String {
    format!(
        "symbol,{},error,elapsed_ms,attempts",
        kind.fields().join(",")
    )
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", header(report.kind))?;
    let blank = vec![String::new(); report.kind.fields().len()];
    for o in &report.outcomes {
        let (values, error) = match &o.result {
            Ok(t) => (&t.values, String::new()),
            Err(e) => (&blank, describe(e)),
        };
        let values: Vec<Cow<'_, str>> = values.iter().map(|v| field(v)).collect();
        writeln!(
            out,
            "{},{},{},{},{}",
            field(&o.symbol),
            values.join(","),
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
            "symbol,price,error,elapsed_ms,attempts"
        );
        assert_eq!(
            header(TickerKind::Book),
            "symbol,bid_price,bid_qty,ask_price,ask_qty,error,elapsed_ms,attempts"
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
