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
            "{}  {price:>w1$}  {tint}{change:>14}{end}{EOL}",
            super::pad(symbol, w0)
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

/// One `--stream` update in a line format: `ndjson` (an object with the `--ticker` fields,
/// Binance's `event_time`, our `received` time, the connection's `reconnects`, and whether it
/// is the opening `snapshot`), `plain` (`SYMBOL<TAB>VALUE…`) or a `csv` row.
pub fn update_line(
    format: super::Format,
    u: &crate::stream::Update,
    kind: crate::binance::TickerKind,
    out: &mut dyn Write,
) -> io::Result<()> {
    use super::Format;
    let received = humantime::format_rfc3339_micros(u.received);
    match format {
        Format::Plain => writeln!(out, "{}\t{}", u.symbol, u.values.join("\t")),
        Format::Csv => {
            write!(out, "{}", super::csv::field(&u.symbol))?;
            for v in &u.values {
                write!(out, ",{}", super::csv::field(v))?;
            }
            let event = u.event_ms.map(|e| e.to_string()).unwrap_or_default();
            writeln!(out, ",{event},{received},{}", u.reconnects)
        }
        _ => {
            let text = |s: &str| serde_json::to_string(s).expect("a string serialises");
            write!(out, "{{\"symbol\":{}", text(&u.symbol))?;
            for (field, value) in kind.fields().iter().zip(&u.values) {
                write!(out, ",\"{field}\":{}", text(value))?;
            }
            let event = u
                .event_ms
                .map_or_else(|| "null".to_owned(), |e| e.to_string());
            writeln!(
                out,
                ",\"event_time\":{event},\"received\":\"{received}\",\"reconnects\":{},\"snapshot\":{}}}",
                u.reconnects, u.snapshot
            )
        }
    }
}

/// The header of `--stream -f csv`.
pub fn update_csv_header(kind: crate::binance::TickerKind, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "symbol,{},event_time,received,reconnects",
        kind.fields().join(",")
    )
}
