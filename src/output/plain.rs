//! `plain`: `SYMBOL<TAB>VALUE…`, one line per symbol with a ticker, for `cut`, `awk` and
//! `while read`: the price, or the 24h or book fields in the order of `TickerKind::fields`.
//!
//! Failed symbols are not printed here (they are on stderr), so every line parses. With
//! `--compare` the comparison is printed instead, as in the table format.

use std::io::{self, Write};

use crate::report::Report;

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if let Some(c) = &report.comparison {
        return super::table::comparison(c, report.concurrency, out, false);
    }
    for o in &report.outcomes {
        if let Ok(t) = &o.result {
            writeln!(out, "{}\t{}", o.symbol, t.values.join("\t"))?;
        }
    }
    Ok(())
}
