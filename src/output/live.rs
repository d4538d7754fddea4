//! The live table of `--watch` and `--stream`: redrawn in place on a terminal, with each
//! symbol's change since its previous value coloured by its sign.

use std::io::{self, Write};

/// One row of a live table: a symbol, its values in `kind.fields()` order (`None` when the
/// refresh failed for it), and its change since the previous value (or why it failed).
pub(crate) struct LiveRow<'a> {
    /// e.g. `BTCUSDT`.
    pub(crate) symbol: &'a str,
    /// The ticker's values, as sent.
    pub(crate) values: Option<&'a [String]>,
    /// `+1.50000000`, `0`, or an error kind.
    pub(crate) change: String,
}

/// Each row's cells, the fields as the tables write them (a signed change), `-` for a symbol
/// with no value yet.
fn live_cells(fields: &[&str], rows: &[LiveRow<'_>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| match r.values {
            Some(values) => fields
                .iter()
                .zip(values)
                .map(|(f, v)| super::table::signed(f, v))
                .collect(),
            None => vec!["-".to_owned(); fields.len()],
        })
        .collect()
}

/// Draws `rows` under `title` over the previous drawing, with the columns of `kind` narrowed to
/// the terminal as the one-shot table narrows (see `table::fit`), then the change. The cursor
/// goes home, each line is overwritten and what is left of it cleared, then everything below;
/// clearing the whole screen first would flicker. Rows beyond the screen are cut (the last line
/// says how many), so that the header never scrolls away.
pub(crate) fn live_table(
    title: &str,
    kind: crate::market::TickerKind,
    rows: &[LiveRow<'_>],
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    const EOL: &str = "\x1b[K\n";
    const W_CHANGE: usize = 14;
    let fields = kind.fields();
    let cells = live_cells(fields, rows);
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
    // Not CHANGE: in a 24h table that is Binance's 24-hour change, one meaning per word.
    write!(out, "  {:>W_CHANGE$}{reset}{EOL}", "LAST MOVE")?;
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
pub(crate) fn update_line<W: Write + ?Sized>(
    format: super::format::Format,
    u: &crate::market::Update,
    kind: crate::market::TickerKind,
    out: &mut W,
) -> io::Result<()> {
    use super::format::Format;
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
                // Written without the formatting machinery: ten thousand lines a second.
                let key = |out: &mut W| {
                    out.write_all(b",\"")?;
                    out.write_all(field.as_bytes())?;
                    out.write_all(b"\":")
                };
                match super::json::field_value(field, value) {
                    super::json::FieldValue::Absent => {}
                    super::json::FieldValue::Number(n) => {
                        key(out)?;
                        out.write_all(crate::text::itoa(n, &mut [0u8; 20]).as_bytes())?;
                    }
                    super::json::FieldValue::Text(v) => {
                        key(out)?;
                        json_string(v, out)?;
                    }
                }
            }
            // Ten thousand lines a second: numbers written without the formatting machinery.
            let mut digits = [0u8; 20];
            match u.event_ms {
                Some(e) => {
                    out.write_all(b",\"event_time\":")?;
                    out.write_all(crate::text::itoa(e, &mut digits).as_bytes())?;
                }
                None => out.write_all(b",\"event_time\":null")?,
            }
            out.write_all(b",\"received\":\"")?;
            received.write_to(out)?;
            out.write_all(b"\",\"reconnects\":")?;
            out.write_all(crate::text::itoa(u64::from(u.reconnects), &mut digits).as_bytes())?;
            out.write_all(if u.snapshot {
                b",\"snapshot\":true}\n"
            } else {
                b",\"snapshot\":false}\n"
            })
        }
    }
}

/// `--backfill`: one 1s candle that fills a stream's gap, as an ndjson line that reads like an
/// update (`symbol`, `price`: the candle's close, `event_time`: its last ms) and says what it
/// is: `"backfill":true`, with the candle's `open_time` and `trades` (0: nothing traded, the
/// previous close repeated).
pub(crate) fn backfill_line(
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

impl Micros {
    /// Writes it as [`std::fmt::Display`] does, without the formatting machinery.
    fn write_to<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        let since = self
            .0
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self::second(since.as_secs(), |text| out.write_all(text.as_bytes()))?;
        let mut frac = *b".000000Z";
        let mut us = since.subsec_micros();
        for d in frac[1..7].iter_mut().rev() {
            *d = b'0' + (us % 10) as u8;
            us /= 10;
        }
        out.write_all(&frac)
    }

    /// Calls `with` on the date and time of day of `secs` (`2026-12-01T14:00:00`), worked out
    /// once a second.
    fn second<T>(secs: u64, with: impl FnOnce(&str) -> T) -> T {
        thread_local! {
            static SECOND: std::cell::RefCell<(u64, String)> =
                const { std::cell::RefCell::new((u64::MAX, String::new())) };
        }
        SECOND.with(|cell| {
            let mut cached = cell.borrow_mut();
            if cached.0 != secs {
                let whole = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
                let text = humantime::format_rfc3339_seconds(whole).to_string();
                *cached = (secs, text.trim_end_matches('Z').to_owned());
            }
            with(&cached.1)
        })
    }
}

impl std::fmt::Display for Micros {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let since = self
            .0
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self::second(since.as_secs(), |text| {
            write!(f, "{text}.{:06}Z", since.subsec_micros())
        })
    }
}

/// `s` as a JSON string: as it is between quotes when nothing in it needs escaping (a symbol,
/// a decimal: the common case, without an allocation), else through serde_json.
fn json_string<W: Write + ?Sized>(s: &str, out: &mut W) -> io::Result<()> {
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
pub(crate) fn update_csv_header(
    kind: crate::market::TickerKind,
    out: &mut dyn Write,
) -> io::Result<()> {
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
            let mut written = Vec::new();
            Micros(t).write_to(&mut written).unwrap();
            assert_eq!(
                String::from_utf8(written).unwrap(),
                humantime::format_rfc3339_micros(t).to_string()
            );
        }
    }

    #[test]
    fn an_ndjson_update_line_is_the_json_it_says() {
        let u = crate::market::Update {
            symbol: "币安人生USDT".into(),
            values: vec!["0.15340000".into()],
            event_ms: Some(1_700_000_000_123),
            order: 1,
            received: UNIX_EPOCH + Duration::from_micros(1_700_000_000_124_005),
            reconnects: 3,
            snapshot: false,
            overlap: false,
        };
        let mut line = Vec::new();
        super::update_line(
            crate::output::Format::Ndjson,
            &u,
            crate::market::TickerKind::Price,
            &mut line,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "{\"symbol\":\"币安人生USDT\",\"price\":\"0.15340000\",\"event_time\":1700000000123,\"received\":\"2023-11-14T22:13:20.124005Z\",\"reconnects\":3,\"snapshot\":false}\n"
        );
    }
}
