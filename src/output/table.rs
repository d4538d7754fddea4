//! `table`: aligned columns for a person at a terminal, and the `--compare` wording.
//!
//! Values are right-aligned so that their decimal points line up (Binance always sends eight
//! decimals). Changes (24h) show their sign. Failed symbols are left to the stderr list. Colour
//! marks the header, the sign of a change and the verdict, and only when the caller says the
//! terminal wants it.

use std::io::{self, Write};

use crate::fetch::Mode;
use crate::report::{Comparison, Report, Stats};

use super::duration;

const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

pub(super) fn render(report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    if let Some(c) = &report.comparison {
        return comparison(c, report.concurrency, out, color);
    }
    let fields = report.kind.fields();
    // Each row: the symbol, the shown values (a sign added to changes), the time.
    let rows: Vec<(&str, Vec<String>, String)> = report
        .outcomes
        .iter()
        .filter_map(|o| {
            let t = o.result.as_ref().ok()?;
            let values = fields
                .iter()
                .zip(&t.values)
                .map(|(f, v)| signed(f, v))
                .collect();
            Some((o.symbol.as_str(), values, duration(o.elapsed.as_secs_f64())))
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let headers: Vec<&str> = fields.iter().map(|f| header(f)).collect();
    let w_sym = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(6);
    let widths: Vec<usize> = (0..fields.len())
        .map(|i| {
            let data = rows
                .iter()
                .map(|r| r.1[i].chars().count())
                .max()
                .unwrap_or(0);
            data.max(headers[i].len())
        })
        .collect();
    let (b, r) = if color { (BOLD, RESET) } else { ("", "") };
    write!(out, "{b}{:<w_sym$}", "SYMBOL")?;
    for (h, w) in headers.iter().zip(&widths) {
        write!(out, "  {h:>w$}")?;
    }
    writeln!(out, "  {:>9}{r}", "TIME")?;
    for (sym, values, time) in &rows {
        write!(out, "{sym:<w_sym$}")?;
        for ((value, w), f) in values.iter().zip(&widths).zip(fields) {
            // Pad first, so that colour codes do not count towards the width.
            let cell = format!("{value:>w$}");
            let tint = match (color, is_change(f), value.starts_with('-')) {
                (false, _, _) | (_, false, _) => "",
                (true, true, true) => RED,
                (true, true, false) if value.starts_with('+') => GREEN,
                _ => "",
            };
            let end = if tint.is_empty() { "" } else { RESET };
            write!(out, "  {tint}{cell}{end}")?;
        }
        writeln!(out, "  {time:>9}")?;
    }
    Ok(())
}

/// Column headers for the ticker fields.
fn header(field: &str) -> &'static str {
    match field {
        "price" => "PRICE",
        "last_price" => "LAST",
        "price_change" => "CHANGE",
        "price_change_percent" => "CHANGE %",
        "high_price" => "HIGH",
        "low_price" => "LOW",
        "volume" => "VOLUME",
        "quote_volume" => "QUOTE VOLUME",
        "bid_price" => "BID",
        "bid_qty" => "BID QTY",
        "ask_price" => "ASK",
        "ask_qty" => "ASK QTY",
        _ => "",
    }
}

fn is_change(field: &str) -> bool {
    matches!(field, "price_change" | "price_change_percent")
}

/// A change shows its sign, `+2.500` as well as `-1.250`; other values are shown as sent.
fn signed(field: &str, value: &str) -> String {
    let zero = value
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.');
    if is_change(field) && !value.starts_with('-') && !zero {
        format!("+{value}")
    } else {
        value.to_owned()
    }
}

/// The hyperfine-style comparison: one line of statistics per mode, then the verdict.
pub(super) fn comparison(
    c: &Comparison,
    concurrency: usize,
    out: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    let line = |label: &str, s: &Stats| {
        format!(
            "{label:<26} {:>10} ± {:<10} (min {} … max {})  {:.0} requests/round{}",
            duration(s.mean),
            duration(s.stddev),
            duration(s.min),
            duration(s.max),
            s.requests_per_round,
            if s.failed > 0 {
                format!(", {} failed", s.failed)
            } else {
                String::new()
            }
        )
    };
    writeln!(
        out,
        "{}",
        line(
            &format!("async (concurrency {concurrency}):"),
            &c.async_stats
        )
    )?;
    writeln!(out, "{}", line("sync (one at a time):", &c.sync_stats))?;
    let (g, r) = if color { (GREEN, RESET) } else { ("", "") };
    match c.speedup {
        Some(up) => {
            let slower = match up.faster {
                Mode::Async => Mode::Sync,
                Mode::Sync => Mode::Async,
            };
            writeln!(
                out,
                "{g}{}{r} ran {:.2} ± {:.2} times faster than {}",
                up.faster.name(),
                up.ratio,
                up.stddev,
                slower.name()
            )
        }
        None => writeln!(out, "no speed-up: a mode took no measurable time"),
    }
}

#[cfg(test)]
mod tests {
    use super::signed;

    #[test]
    fn changes_show_a_sign_and_other_values_do_not() {
        assert_eq!(signed("price_change_percent", "2.500"), "+2.500");
        assert_eq!(signed("price_change_percent", "-1.250"), "-1.250");
        assert_eq!(signed("price_change_percent", "0.000"), "0.000");
        assert_eq!(signed("last_price", "97123.45"), "97123.45");
    }
}
