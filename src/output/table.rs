//! `table`: aligned columns for a person at a terminal, and the `--compare` wording.
//!
//! Values are right-aligned so that their decimal points line up (Binance always sends eight
//! decimals). Changes (24h) show their sign. Failed symbols are left to the stderr list. Colour
//! marks the header, the sign of a change and the verdict, and only when the caller says the
//! terminal wants it.

use std::io::{self, Write};

use crate::outcome::Mode;
use crate::report::{Comparison, Report, Stats};

use crate::text::duration;

const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

/// The table; with `width` (a terminal's), the least important columns are left out until
/// it fits (see [`drop_order`]); without (a file or a pipe), every column is written.
#[allow(
    clippy::too_many_lines,
    reason = "the table's columns, their widths and what is dropped to fit are one layout"
)]
pub(super) fn render(
    report: &Report,
    out: &mut dyn Write,
    color: bool,
    width: Option<usize>,
) -> io::Result<()> {
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
    // --in: the rows are assets, and their one value is a price in the target asset.
    let (first, headers): (&str, Vec<String>) = match &report.target {
        Some(target) => ("ASSET", vec![format!("IN {target}")]),
        None => (
            "SYMBOL",
            fields.iter().map(|f| header(f).to_owned()).collect(),
        ),
    };
    let w_sym = rows
        .iter()
        .map(|r| crate::text::width(r.0))
        .max()
        .unwrap_or(0)
        .max(6);
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
    let shown = fit(fields, &widths, w_sym, true, width);
    let (b, r) = if color { (BOLD, RESET) } else { ("", "") };
    write!(out, "{b}{first:<w_sym$}")?;
    for (i, (h, w)) in headers.iter().zip(&widths).enumerate() {
        if shown.field(i) {
            write!(out, "  {h:>w$}")?;
        }
    }
    if shown.time {
        write!(out, "  {:>TIME_WIDTH$}", "LATENCY")?;
    }
    writeln!(out, "{r}")?;
    for (sym, values, time) in &rows {
        write!(out, "{}", crate::text::pad(sym, w_sym))?;
        for (i, ((value, w), f)) in values.iter().zip(&widths).zip(fields).enumerate() {
            if !shown.field(i) {
                continue;
            }
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
        if shown.time {
            write!(out, "  {time:>TIME_WIDTH$}")?;
        }
        writeln!(out)?;
    }
    if !shown.hidden.is_empty() {
        tracing::info!(
            "left out to fit {} columns: {} (a wider terminal, or -f table to a file, shows them)",
            width.unwrap_or_default(),
            shown.hidden.join(", ")
        );
    }
    Ok(())
}

const TIME_WIDTH: usize = 9;

/// Which columns a table shows.
pub(super) struct Shown {
    /// Per ticker field, in `kind.fields()` order.
    fields: Vec<bool>,
    /// The request time column.
    time: bool,
    /// The headers of what was left out, for `-v`.
    hidden: Vec<&'static str>,
}

impl Shown {
    pub(super) fn field(&self, i: usize) -> bool {
        self.fields[i]
    }
}

/// The least important columns first: the time, then volumes, the absolute change, the range;
/// the symbol, the price (or bid and ask) and the change in percent always stay. Columns of
/// the same rank go together (a book's two quantities).
fn drop_order(field: &str) -> Option<u8> {
    match field {
        "quote_volume" => Some(1),
        "volume" => Some(2),
        "price_change" => Some(3),
        "low_price" => Some(4),
        "high_price" => Some(5),
        "bid_qty" | "ask_qty" => Some(1),
        _ => None,
    }
}

/// Leaves out columns, least important first, until the table fits `width`. `w_sym` is what
/// always stays besides the fields (the symbol, a live table's change); `time` whether the
/// table has a TIME column.
pub(super) fn fit(
    fields: &[&str],
    widths: &[usize],
    w_sym: usize,
    time: bool,
    width: Option<usize>,
) -> Shown {
    let mut shown = Shown {
        fields: vec![true; fields.len()],
        time,
        hidden: Vec::new(),
    };
    let Some(width) = width else {
        return shown;
    };
    let total = |s: &Shown| {
        w_sym
            + widths
                .iter()
                .zip(&s.fields)
                .filter(|(_, on)| **on)
                .map(|(w, _)| 2 + w)
                .sum::<usize>()
            + if s.time { 2 + TIME_WIDTH } else { 0 }
    };
    let mut order: Vec<(u8, usize)> = fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| Some((drop_order(f)?, i)))
        .collect();
    order.sort_unstable();
    if shown.time && total(&shown) > width {
        shown.time = false;
        shown.hidden.push("LATENCY");
    }
    for group in order.chunk_by(|a, b| a.0 == b.0) {
        if total(&shown) <= width {
            break;
        }
        for &(_, i) in group {
            shown.fields[i] = false;
            shown.hidden.push(header(fields[i]));
        }
    }
    shown
}

/// Column headers for the ticker fields.
pub(super) fn header(field: &str) -> &'static str {
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
        "mins" => "MINS",
        "mark_price" => "MARK",
        "index_price" => "INDEX",
        "estimated_settle_price" => "SETTLE",
        "funding_rate" => "FUNDING RATE",
        "interest_rate" => "INTEREST",
        "next_funding_time" => "NEXT FUNDING MS",
        _ => "",
    }
}

pub(super) fn is_change(field: &str) -> bool {
    matches!(field, "price_change" | "price_change_percent")
}

/// A change shows its sign, `+2.500` as well as `-1.250`; other values are shown as sent.
pub(super) fn signed(field: &str, value: &str) -> String {
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
    // At most 80 columns: "async, -c 16:  361.4 ms ± 2.1 ms  (min 358.2 ms … max 364.0 ms)  100 requests"
    let line = |label: &str, s: &Stats| {
        format!(
            "{label:<14} {:>8} ± {:<8} (min {} … max {})  {:.0} requests{}",
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
        line(&format!("async, -c {concurrency}:"), &c.async_stats)
    )?;
    writeln!(out, "{}", line("sync:", &c.sync_stats))?;
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
    use super::{fit, signed};

    #[test]
    fn a_narrow_terminal_keeps_the_important_columns() {
        let day = crate::market::TickerKind::Day.fields();
        // LAST, CHANGE, CHANGE %, HIGH, LOW, VOLUME, QUOTE VOLUME as wide as real ones.
        let widths = [14, 14, 8, 14, 14, 14, 19];
        let all = fit(day, &widths, 8, true, None);
        assert!(all.time && all.fields.iter().all(|on| *on));
        let at_120 = fit(day, &widths, 8, true, Some(120));
        assert!(
            !at_120.time && at_120.fields.iter().all(|on| *on),
            "every field at 120"
        );
        let at_80 = fit(day, &widths, 8, true, Some(80));
        assert_eq!(at_80.fields, [true, false, true, true, true, false, false]);
        assert_eq!(
            at_80.hidden,
            ["LATENCY", "QUOTE VOLUME", "VOLUME", "CHANGE"]
        );
        let at_40 = fit(day, &widths, 8, true, Some(40));
        assert_eq!(
            at_40.fields,
            [true, false, true, false, false, false, false]
        );
    }

    #[test]
    fn a_books_two_quantities_go_together() {
        let book = crate::market::TickerKind::Book.fields();
        let widths = [14, 14, 14, 14];
        // 8 + 4 x 16 = 72: at 60 columns one quantity would do, but both go.
        let at_60 = fit(book, &widths, 8, false, Some(60));
        assert_eq!(at_60.fields, [true, false, true, false]);
        assert_eq!(at_60.hidden, ["BID QTY", "ASK QTY"]);
    }

    #[test]
    fn changes_show_a_sign_and_other_values_do_not() {
        assert_eq!(signed("price_change_percent", "2.500"), "+2.500");
        assert_eq!(signed("price_change_percent", "-1.250"), "-1.250");
        assert_eq!(signed("price_change_percent", "0.000"), "0.000");
        assert_eq!(signed("last_price", "97123.45"), "97123.45");
    }
}
