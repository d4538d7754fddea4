//! The live table of `--watch` and `--stream`: redrawn in place on a terminal, with each
//! symbol's change since its previous value coloured by its sign.

use std::io::{self, Write};

/// Draws `rows` (symbol, price, change) under `title` over the previous drawing: the cursor
/// goes home, each line is overwritten and what is left of it cleared, then everything below;
/// clearing the whole screen first would flicker. Rows beyond the screen are cut (the last line
/// says how many), so that the header never scrolls away.
pub fn live_table(
    title: &str,
    rows: &[(&str, String, String)],
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    const EOL: &str = "\x1b[K\n";
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(6);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(5);
    let (bold, reset) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    let screen_rows = super::stdout_size().map_or(usize::MAX, |(_, rows)| rows);
    let room = screen_rows.saturating_sub(3).max(1);
    write!(out, "\x1b[H{title}{EOL}")?;
    write!(
        out,
        "{bold}{:<w0$}  {:>w1$}  {:>14}{reset}{EOL}",
        "SYMBOL", "PRICE", "CHANGE"
    )?;
    let cut = rows.len() > room;
    let shown = if cut { room - 1 } else { rows.len() };
    for (symbol, price, change) in &rows[..shown] {
        let tint = match (color, change.as_bytes().first()) {
            (true, Some(b'+')) => "\x1b[32m",
            (true, Some(b'-')) => "\x1b[31m",
            _ => "",
        };
        let end = if tint.is_empty() { "" } else { reset };
        write!(
            out,
            "{symbol:<w0$}  {price:>w1$}  {tint}{change:>14}{end}{EOL}"
        )?;
    }
    if cut {
        write!(
            out,
            "… and {} more (a taller terminal shows them){EOL}",
            rows.len() - shown
        )?;
    }
    write!(out, "\x1b[J")
}
