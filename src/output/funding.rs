//! `--funding`'s rows: `symbol, funding_time, funding_rate, mark_price`, in csv, json, ndjson,
//! a table or plain lines; the rate exact, as Binance sent it, never a float or a percentage.

use std::io::{self, Write};

use serde_json::json;

use crate::market::FundingRate;

use super::format::Format;
use super::history::utc;

/// Writes every symbol's fundings, in the asked order (failed symbols are said on stderr).
pub(crate) fn write(
    (format, header): (Format, bool),
    (from, to): (i64, i64),
    series: &[(&str, &[FundingRate])],
    out: &mut dyn Write,
) -> io::Result<()> {
    let object = |symbol: &str, r: &FundingRate| {
        let mut v = json!({"symbol": symbol, "funding_time": utc(r.time_ms),
                           "funding_time_ms": r.time_ms, "funding_rate": r.rate});
        if !r.mark.is_empty() {
            v["mark_price"] = r.mark.as_str().into();
        }
        v
    };
    let rows = || {
        series
            .iter()
            .flat_map(|(s, rows)| rows.iter().map(move |r| (*s, r)))
    };
    match format {
        Format::Json => {
            let rates: Vec<_> = rows().map(|(s, r)| object(s, r)).collect();
            let doc = json!({"from": utc(from), "from_ms": from, "to": utc(to), "to_ms": to,
                             "rates": rates});
            writeln!(out, "{doc:#}")
        }
        Format::Ndjson => rows().try_for_each(|(s, r)| writeln!(out, "{}", object(s, r))),
        Format::Csv => {
            if header {
                writeln!(out, "symbol,funding_time,funding_rate,mark_price")?;
            }
            rows().try_for_each(|(s, r)| {
                writeln!(out, "{s},{},{},{}", utc(r.time_ms), r.rate, r.mark)
            })
        }
        Format::Table => table(header, series, out),
        _ => rows().try_for_each(|(s, r)| {
            writeln!(out, "{s}\t{}\t{}\t{}", utc(r.time_ms), r.rate, r.mark)
        }),
    }
}

/// The table: rates aligned on their decimal point (they have the same places), marks right.
fn table(header: bool, series: &[(&str, &[FundingRate])], out: &mut dyn Write) -> io::Result<()> {
    let all = || {
        series
            .iter()
            .flat_map(|(s, rows)| rows.iter().map(move |r| (*s, r)))
    };
    let w_sym = all()
        .map(|(s, _)| crate::text::width(s))
        .max()
        .unwrap_or(0)
        .max(6);
    let w_rate = all().map(|(_, r)| r.rate.len()).max().unwrap_or(0).max(12);
    let w_mark = all().map(|(_, r)| r.mark.len()).max().unwrap_or(0).max(4);
    if header {
        let head = format!(
            "{:<w_sym$}  {:<24}  {:>w_rate$}  {:>w_mark$}",
            "SYMBOL", "FUNDING TIME", "FUNDING RATE", "MARK"
        );
        writeln!(out, "{}", head.trim_end())?;
    }
    for (s, r) in all() {
        let line = format!(
            "{}  {:<24}  {:>w_rate$}  {:>w_mark$}",
            crate::text::pad(s, w_sym),
            utc(r.time_ms),
            r.rate,
            r.mark
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
