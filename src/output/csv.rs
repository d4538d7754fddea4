//! `csv`: a fixed header `symbol,price,error,elapsed_ms,attempts` and one row per symbol.
//!
//! Every symbol gets a row, failed or not, in input order; exactly one of `price` and `error`
//! is filled. Fields are quoted only when they must be (RFC 4180), by [`field`].

use std::borrow::Cow;
use std::io::{self, Write};

use crate::report::Report;

use super::{describe, millis};

/// The header; part of the output contract.
pub const HEADER: &str = "symbol,price,error,elapsed_ms,attempts";

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{HEADER}")?;
    for o in &report.outcomes {
        let (price, error) = match &o.result {
            Ok(t) => (t.price.clone(), String::new()),
            Err(e) => (String::new(), describe(e)),
        };
        writeln!(
            out,
            "{},{},{},{},{}",
            field(&o.symbol),
            field(&price),
            field(&error),
            millis(o.elapsed),
            o.attempts
        )?;
    }
    Ok(())
}

/// Quotes a field that holds a comma, a quote or a line break, doubling inner quotes.
fn field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("BTCUSDT"), "BTCUSDT");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }
}
