//! `table`: aligned columns for a person at a terminal, and the `--compare` wording.
//!
//! Prices are right-aligned so that their decimal points line up (Binance always sends eight
//! decimals). Failed symbols are left to the stderr list. Colour only marks the header and the
//! verdict, never the data, and only when the caller says the terminal wants it.

use std::io::{self, Write};

use crate::fetch::Mode;
use crate::report::{Comparison, Report, Stats};

use super::duration;

const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const RESET: &str = "\x1b[0m";

pub(super) fn render(report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    if let Some(c) = &report.comparison {
        return comparison(c, report.concurrency, out, color);
    }
    let rows: Vec<(&str, &str, String)> = report
        .outcomes
        .iter()
        .filter_map(|o| {
            let t = o.result.as_ref().ok()?;
            Some((
                o.symbol.as_str(),
                t.price.as_str(),
                duration(o.elapsed.as_secs_f64()),
            ))
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let w_sym = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(6);
    let w_price = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(5);
    let (b, r) = if color { (BOLD, RESET) } else { ("", "") };
    writeln!(
        out,
        "{b}{:<w_sym$}  {:>w_price$}  {:>9}{r}",
        "SYMBOL", "PRICE", "TIME"
    )?;
    for (sym, price, time) in rows {
        writeln!(out, "{sym:<w_sym$}  {price:>w_price$}  {time:>9}")?;
    }
    Ok(())
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
