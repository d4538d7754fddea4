//! The live table of `--watch` and `--stream`: redrawn in place on a terminal, with each
//! symbol's change since its previous value coloured by its sign.

use std::io::{self, Write};

/// One row of a live table: a symbol, its values in `kind.fields()` order (`None` when the
/// refresh failed for it), and its change since the previous value (or why it failed).
pub struct LiveRow<'a> {
    /// e.g. `BTCUSDT`.
    pub symbol: &'a str,
    /// The ticker's values, as sent.
    pub values: Option<&'a [String]>,
    /// `+1.50000000`, `0`, or an error kind.
    pub change: String,
}

/// Draws `rows` under `title` over the previous drawing, with the columns of `kind` narrowed to
/// the terminal as the one-shot table narrows (see `table::fit`), then the change. The cursor
/// goes home, each line is overwritten and what is left of it cleared, then everything below;
/// clearing the whole screen first would flicker. Rows beyond the screen are cut (the last line
/// says how many), so that the header never scrolls away.
pub fn live_table(
    title: &str,
    kind: crate::market::TickerKind,
    rows: &[LiveRow<'_>],
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    const EOL: &str = "\x1b[K\n";
    const W_CHANGE: usize = 14;
    let fields = kind.fields();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| match r.values {
            Some(values) => fields
                .iter()
                .zip(values)
                .map(|(f, v)| super::table::signed(f, v))
                .collect(),
            None => vec!["-".to_owned(); fields.len()],
        })
        .collect();
    let headers: Vec<&str> = fields.iter().map(|f| super::table::header(f)).collect();
    let w_sym = rows
        .iter()
        .map(|r| crate::text::width(r.symbol))
        .max()
        .unwrap_or(0)
        .max(6);
    let widths: Vec<usize> = (0..fields.len())
        .map(|i| {
            let data = cells.iter().map(|c| c[i].chars().count()).max();
            data.unwrap_or(0).max(headers[i].len())
        })
        .collect();
    let size = crate::text::stdout_size();
    let shown = super::table::fit(
        fields,
        &widths,
        w_sym + 2 + W_CHANGE,
        false,
        size.map(|(columns, _)| columns),
    );
    let (bold, reset) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    let screen_rows = size.map_or(usize::MAX, |(_, rows)| rows);
    let room = screen_rows.saturating_sub(3).max(1);
    write!(out, "\x1b[H{title}{EOL}")?;
    write!(out, "{bold}{:<w_sym$}", "SYMBOL")?;
    for (i, (h, w)) in headers.iter().zip(&widths).enumerate() {
        if shown.field(i) {
            write!(out, "  {h:>w$}")?;
        }
    }
    write!(out, "  {:>W_CHANGE$}{reset}{EOL}", "CHANGE")?;
    let cut = rows.len() > room;
    let shown_rows = if cut { room - 1 } else { rows.len() };
    for (row, cells) in rows[..shown_rows].iter().zip(&cells) {
        write!(out, "{}", crate::text::pad(row.symbol, w_sym))?;
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if shown.field(i) {
                write!(out, "  {cell:>w$}")?;
            }
        }
        let tint = match (color, row.change.as_bytes().first()) {
            (true, Some(b'+')) => "\x1b[32m",
            (true, Some(b'-')) => "\x1b[31m",
            _ => "",
        };
        let end = if tint.is_empty() { "" } else { reset };
        write!(out, "  {tint}{:>W_CHANGE$}{end}{EOL}", row.change)?;
    }
    if cut {
        write!(
            out,
            "… and {} more (a taller terminal shows them){EOL}",
            rows.len() - shown_rows
        )?;
    }
    write!(out, "\x1b[J")
}

/// One `--stream` update in a line format: `ndjson` (an object with the `--ticker` fields,
/// Binance's `event_time`, our `received` time, the connection's `reconnects`, and whether it
/// is the opening `snapshot`), `plain` (`SYMBOL<TAB>VALUE…`) or a `csv` row.
pub fn update_line(
    format: super::Format,
    u: &crate::market::Update,
    kind: crate::market::TickerKind,
    out: &mut dyn Write,
) -> io::Result<()> {
    use super::Format;
    let received = Micros(u.received);
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
            out.write_all(b"{\"symbol\":")?;
            json_string(&u.symbol, out)?;
            for (field, value) in kind.fields().iter().zip(&u.values) {
                write!(out, ",\"{field}\":")?;
                json_string(value, out)?;
            }
            match u.event_ms {
                Some(e) => write!(out, ",\"event_time\":{e}")?,
                None => out.write_all(b",\"event_time\":null")?,
            }
            writeln!(
                out,
                ",\"received\":\"{received}\",\"reconnects\":{},\"snapshot\":{}}}",
                u.reconnects, u.snapshot
            )
        }
    }
}

/// `--backfill`: one 1s candle that fills a stream's gap, as an ndjson line that reads like an
/// update (`symbol`, `price`: the candle's close, `event_time`: its last ms) and says what it
/// is: `"backfill":true`, with the candle's `open_time` and `trades` (0: nothing traded, the
/// previous close repeated).
pub fn backfill_line(
    symbol: &str,
    c: &crate::market::Candle,
    out: &mut dyn Write,
) -> io::Result<()> {
    out.write_all(b"{\"symbol\":")?;
    json_string(symbol, out)?;
    out.write_all(b",\"price\":")?;
    json_string(c.close(), out)?;
    writeln!(
        out,
        ",\"event_time\":{},\"open_time\":{},\"trades\":{},\"backfill\":true}}",
        c.close_ms, c.open_ms, c.trades
    )
}

/// A time as RFC 3339 with microseconds (`2026-12-01T14:00:00.123456Z`). The date and time
/// of day are worked out once a second, not for each of ten thousand lines.
struct Micros(std::time::SystemTime);

impl std::fmt::Display for Micros {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        thread_local! {
            static SECOND: std::cell::RefCell<(u64, String)> =
                const { std::cell::RefCell::new((u64::MAX, String::new())) };
        }
        let since = self
            .0
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        SECOND.with(|cell| {
            let mut cached = cell.borrow_mut();
            if cached.0 != since.as_secs() {
                let whole = std::time::UNIX_EPOCH + std::time::Duration::from_secs(since.as_secs());
                let text = humantime::format_rfc3339_seconds(whole).to_string();
                *cached = (since.as_secs(), text.trim_end_matches('Z').to_owned());
            }
            write!(f, "{}.{:06}Z", cached.1, since.subsec_micros())
        })
    }
}

/// `s` as a JSON string: as it is between quotes when nothing in it needs escaping (a symbol,
/// a decimal: the common case, without an allocation), else through serde_json.
fn json_string(s: &str, out: &mut dyn Write) -> io::Result<()> {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.write_all(b"\"")?;
        out.write_all(s.as_bytes())?;
        out.write_all(b"\"")
    } else {
        serde_json::to_writer(&mut *out, s).map_err(io::Error::other)
    }
}

/// The header of `--stream -f csv`.
pub fn update_csv_header(kind: crate::market::TickerKind, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "symbol,{},event_time,received,reconnects",
        kind.fields().join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::Micros;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn microsecond_times_match_humantime_across_seconds() {
        for ms in [
            1_700_000_000_123_456u64,
            1_700_000_000_999_999,
            1_700_000_001_000_001,
        ] {
            let t = UNIX_EPOCH + Duration::from_micros(ms);
            assert_eq!(
                Micros(t).to_string(),
                humantime::format_rfc3339_micros(t).to_string()
            );
        }
    }
}
