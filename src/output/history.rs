//! History's output: `--at`'s prices and `--candles`' rows, in every format that fits them.
//!
//! Candles are written as they come, one row at a time (a year of 1m candles is half a million
//! rows, never held): the table sizes its columns from the first candle, JSON opens its array
//! at once and closes it (with the gaps, which are few) at the end. Times are RFC 3339 in UTC
//! with milliseconds, and also epoch ms in JSON; `-f ledger` and `-f beancount` date each price
//! in `--tz`, with the pair's base and quote assets from `exchangeInfo`.

use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::json;

use crate::error::FetchError;
use crate::history::{PriceAt, Row};
use crate::market::Candle;

use super::candle_table::{self, CandleTable};
use super::format::Format;

/// Base and quote asset by symbol.
pub(crate) type Assets = HashMap<String, (String, String)>;

/// `ms` as RFC 3339 in UTC with milliseconds.
/// A gap's record: an ndjson line at once; in json, kept for the closing `gaps` array; other
/// formats say gaps on stderr only.
pub(super) fn gap_record(
    format: Format,
    record: serde_json::Value,
    gaps: &mut Vec<serde_json::Value>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Ndjson => writeln!(out, "{record}"),
        Format::Json => {
            gaps.push(record);
            Ok(())
        }
        _ => Ok(()),
    }
}

pub(super) fn utc(ms: i64) -> String {
    let mut text = String::with_capacity(24);
    push_utc(ms, &mut text);
    text
}

/// Appends `ms` as RFC 3339 in UTC with milliseconds (`2024-03-01T12:00:00.000Z`): the date is
/// worked out once a day, not for each of half a million candles.
fn push_utc(ms: i64, text: &mut String) {
    use std::fmt::Write as _;
    const DAY: i64 = 86_400_000;
    thread_local! {
        static DATE: std::cell::RefCell<(i64, String)> =
            const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    if !(0..=253_402_300_799_999).contains(&ms) {
        text.push_str(&crate::clock::rfc3339_millis(ms.max(0) as u64));
        return;
    }
    let (day, of_day) = (ms.div_euclid(DAY), ms.rem_euclid(DAY));
    DATE.with_borrow_mut(|(cached, date)| {
        if *cached != day {
            let stamp = crate::clock::rfc3339_millis((day * DAY) as u64);
            *date = stamp[..10].to_owned();
            *cached = day;
        }
        text.push_str(date);
    });
    let _ = write!(
        text,
        "T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3_600_000,
        of_day / 60_000 % 60,
        of_day / 1000 % 60,
        of_day % 1000
    );
}

/// `ms` in `zone` as (`2024-03-01`, `00:00:00`), for ledger and beancount.
fn local(ms: i64, zone: &jiff::tz::TimeZone) -> (String, String) {
    let at = jiff::Timestamp::from_millisecond(ms).unwrap_or_default();
    let dt = zone.to_datetime(at);
    (
        dt.date().to_string(),
        format!("{:02}:{:02}:{:02}", dt.hour(), dt.minute(), dt.second()),
    )
}

/// One price directive: `P 2024-03-01 00:00:00 BTC 61234.56 USDT` (ledger, hledger) or
/// `2024-03-01 price BTC 61234.56 USDT` (beancount), as pricehist writes them. `None` when the
/// pair's assets are not known (said by the caller).
pub(super) fn directive(
    format: Format,
    symbol: &str,
    price: &str,
    ms: i64,
    zone: &jiff::tz::TimeZone,
    assets: &Assets,
) -> Option<String> {
    let (base, quote) = assets.get(symbol)?;
    let (date, time) = local(ms, zone);
    Some(match format {
        Format::Beancount => format!("{date} price {base} {price} {quote}"),
        _ => format!("P {date} {time} {base} {price} {quote}"),
    })
}

/// `--at`'s results, in the asked order (failures are said on stderr by the diagnostics; the
/// line formats leave them out, csv and json carry them).
#[allow(
    clippy::too_many_arguments,
    reason = "what a price at a moment is written with"
)]
pub(crate) fn at_results(
    format: Format,
    header: bool,
    at_ms: i64,
    results: &[(String, Result<PriceAt, FetchError>)],
    zone: &jiff::tz::TimeZone,
    assets: &Assets,
    out: &mut dyn Write,
) -> io::Result<()> {
    let at = utc(at_ms);
    let object = |symbol: &str, r: &Result<PriceAt, FetchError>| match r {
        Ok(p) => json!({"symbol": symbol, "price": p.price, "trade_time": utc(p.trade_ms),
                        "trade_time_ms": p.trade_ms, "at": at, "at_ms": at_ms}),
        Err(e) => json!({"symbol": symbol, "at": at, "at_ms": at_ms,
                         "error": {"kind": e.kind(), "message": e.to_string()}}),
    };
    match format {
        Format::Json => {
            let ok = results.iter().filter(|(_, r)| r.is_ok()).count();
            let doc = json!({
                "at": at, "at_ms": at_ms, "ok": ok, "failed": results.len() - ok,
                "results": results.iter().map(|(s, r)| object(s, r)).collect::<Vec<_>>(),
            });
            writeln!(out, "{doc:#}")
        }
        Format::Ndjson => {
            for (s, r) in results {
                writeln!(out, "{}", object(s, r))?;
            }
            Ok(())
        }
        Format::Csv => {
            if header {
                writeln!(out, "symbol,price,trade_time,at,error")?;
            }
            for (s, r) in results {
                match r {
                    Ok(p) => writeln!(out, "{},{},{},{at},", csv(s), p.price, utc(p.trade_ms))?,
                    Err(e) => writeln!(out, "{},,,{at},{}", csv(s), csv(&e.to_string()))?,
                }
            }
            Ok(())
        }
        Format::Ledger | Format::Beancount => {
            for (s, r) in results {
                if let Ok(p) = r {
                    match directive(format, s, &p.price, at_ms, zone, assets) {
                        Some(line) => writeln!(out, "{line}")?,
                        None => {
                            tracing::warn!(target: crate::error::DATA, "{s}: its base and quote assets are not known")
                        }
                    }
                }
            }
            Ok(())
        }
        Format::Plain => {
            for (s, r) in results {
                if let Ok(p) = r {
                    writeln!(out, "{s}\t{}\t{}", p.price, utc(p.trade_ms))?;
                }
            }
            Ok(())
        }
        Format::Table | Format::Openmetrics => at_table(header, at_ms, results, out),
    }
}

/// `--at`'s results as a table: symbol, price, when it traded, how long before the moment.
fn at_table(
    header: bool,
    at_ms: i64,
    results: &[(String, Result<PriceAt, FetchError>)],
    out: &mut dyn Write,
) -> io::Result<()> {
    let rows: Vec<[String; 4]> = results
        .iter()
        .filter_map(|(s, r)| {
            let p = r.as_ref().ok()?;
            Some([
                s.clone(),
                p.price.clone(),
                utc(p.trade_ms),
                crate::history::ago(at_ms - p.trade_ms),
            ])
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let head = ["SYMBOL", "PRICE", "TRADED", "BEFORE --at"];
    let mut widths = head.map(crate::text::width);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(crate::text::width(cell));
        }
    }
    let line = |cells: [&str; 4]| {
        format!(
            "{:<w0$}  {:>w1$}  {:<w2$}  {:>w3$}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        )
    };
    if header {
        writeln!(out, "{}", line(head).trim_end())?;
    }
    for row in &rows {
        writeln!(
            out,
            "{}",
            line([&row[0], &row[1], &row[2], &row[3]]).trim_end()
        )?;
    }
    Ok(())
}

/// The end of a JSON document of rows written as they came: the array closed, the gaps after.
pub(super) fn json_close(gaps: &[serde_json::Value], out: &mut dyn Write) -> io::Result<()> {
    let gaps = serde_json::to_string(gaps).unwrap_or_else(|_| "[]".into());
    writeln!(out, "\n],\"gaps\":{gaps}}}")
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
pub(super) fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// The candle columns, in order (csv's header, JSON's fields).
const COLUMNS: [&str; 10] = [
    "symbol",
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trades",
    "close_time",
];

/// Writes candles and gaps as they come (see the module's docs).
pub(crate) struct CandleWriter<'a> {
    format: Format,
    header: bool,
    zone: &'a jiff::tz::TimeZone,
    assets: &'a Assets,
    /// Candles written so far (JSON's commas, the header).
    written: u64,
    /// JSON: the gaps, written after the candles.
    gaps: Vec<serde_json::Value>,
    /// The table, sized from the first candle (and the widest symbol); the terminal's width
    /// it fits.
    table: Option<CandleTable>,
    width: Option<usize>,
    symbol_width: usize,
    /// `1s` candles: the table's times to the second.
    seconds: bool,
    /// Symbols whose assets were found missing (said once each).
    unknown: std::collections::HashSet<String>,
    /// The line being built (csv, plain), kept between rows.
    line: String,
}

impl<'a> CandleWriter<'a> {
    /// A writer for `format`.
    pub(crate) fn new(
        format: Format,
        header: bool,
        zone: &'a jiff::tz::TimeZone,
        assets: &'a Assets,
    ) -> Self {
        Self {
            format,
            header,
            zone,
            assets,
            written: 0,
            gaps: Vec::new(),
            table: None,
            width: None,
            symbol_width: 0,
            seconds: false,
            unknown: std::collections::HashSet::new(),
            line: String::with_capacity(256),
        }
    }

    /// A table for these symbols that fits `width` (a terminal's columns), if given.
    pub(crate) fn fit(mut self, width: Option<usize>, symbols: &[String]) -> Self {
        self.width = width;
        self.symbol_width = crate::text::widest(symbols);
        self
    }

    /// What comes before the first row: csv's header, JSON's opening.
    pub(crate) fn start(
        &mut self,
        interval: &str,
        from: i64,
        to: i64,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        self.seconds = interval == "1s";
        match self.format {
            Format::Csv if self.header => writeln!(out, "{}", COLUMNS.join(",")),
            Format::Json => write!(
                out,
                "{{\"interval\":\"{interval}\",\"from\":\"{}\",\"from_ms\":{from},\"to\":\"{}\",\"to_ms\":{to},\"candles\":[",
                utc(from),
                utc(to)
            ),
            _ => Ok(()),
        }
    }

    /// One candle or gap.
    pub(crate) fn row(&mut self, row: &Row<'_>, out: &mut dyn Write) -> io::Result<()> {
        match row {
            Row::Candle(symbol, c) => self.candle(symbol, c, out),
            Row::Gap {
                symbol, from, to, ..
            } => {
                let record = json!({"type": "gap", "symbol": symbol, "from": from, "to": to,
                                    "from_time": utc(*from), "to_time": utc(*to)});
                gap_record(self.format, record, &mut self.gaps, out)
            }
        }
    }

    fn candle(&mut self, symbol: &str, c: &Candle, out: &mut dyn Write) -> io::Result<()> {
        let first = self.written == 0;
        self.written += 1;
        match self.format {
            Format::Csv | Format::Plain => self.delimited_row(symbol, c, out),
            Format::Json | Format::Ndjson => self.json_row(symbol, c, first, out),
            Format::Ledger | Format::Beancount => self.directive_row(symbol, c, out),
            Format::Table | Format::Openmetrics => self.table_row(symbol, c, first, out),
        }
    }

    /// A csv or plain row: the hot path (a row a candle), one line built and written at once.
    fn delimited_row(&mut self, symbol: &str, c: &Candle, out: &mut dyn Write) -> io::Result<()> {
        let [open, high, low, close, volume, quote_volume] = c.values();
        // The hot path (a row a candle): one line built and written at once. Decimals
        // and times never need CSV quoting; a symbol is quoted if it must be.
        let sep = if self.format == Format::Csv {
            ','
        } else {
            '\t'
        };
        let line = &mut self.line;
        line.clear();
        if sep == ',' {
            line.push_str(&csv(symbol));
        } else {
            line.push_str(symbol);
        }
        line.push(sep);
        push_utc(c.open_ms, line);
        for v in [open, high, low, close, volume, quote_volume] {
            line.push(sep);
            line.push_str(v);
        }
        line.push(sep);
        line.push_str(crate::text::itoa(c.trades, &mut [0u8; 20]));
        line.push(sep);
        push_utc(c.close_ms, line);
        line.push('\n');
        out.write_all(line.as_bytes())
    }

    /// A json or ndjson object.
    fn json_row(
        &mut self,
        symbol: &str,
        c: &Candle,
        first: bool,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let [open, high, low, close, volume, quote_volume] = c.values();
        // Built by hand, as csv is: decimals, times and numbers need no escaping, and
        // the symbol is escaped once.
        let line = &mut self.line;
        line.clear();
        if self.format == Format::Json {
            line.push_str(if first { "\n" } else { ",\n" });
        }
        line.push_str("{\"symbol\":");
        line.push_str(&serde_json::to_string(symbol).unwrap_or_default());
        line.push_str(",\"open_time\":\"");
        push_utc(c.open_ms, line);
        line.push_str("\",\"open_time_ms\":");
        line.push_str(crate::text::itoa(c.open_ms.max(0) as u64, &mut [0u8; 20]));
        for (name, v) in [
            ("open", open),
            ("high", high),
            ("low", low),
            ("close", close),
            ("volume", volume),
            ("quote_volume", quote_volume),
        ] {
            line.push_str(",\"");
            line.push_str(name);
            line.push_str("\":\"");
            line.push_str(v);
            line.push('"');
        }
        line.push_str(",\"trades\":");
        line.push_str(crate::text::itoa(c.trades, &mut [0u8; 20]));
        line.push_str(",\"close_time\":\"");
        push_utc(c.close_ms, line);
        line.push_str("\",\"close_time_ms\":");
        line.push_str(crate::text::itoa(c.close_ms.max(0) as u64, &mut [0u8; 20]));
        line.push('}');
        if self.format == Format::Ndjson {
            line.push('\n');
        }
        out.write_all(line.as_bytes())
    }

    /// A ledger or beancount price directive: the close, dated at the open in the zone.
    fn directive_row(&mut self, symbol: &str, c: &Candle, out: &mut dyn Write) -> io::Result<()> {
        let close = c.close();
        match directive(
            self.format,
            symbol,
            close,
            c.open_ms,
            self.zone,
            self.assets,
        ) {
            Some(line) => writeln!(out, "{line}"),
            None => {
                if self.unknown.insert(symbol.to_owned()) {
                    tracing::warn!(target: crate::error::DATA, "{symbol}: its base and quote assets are not known");
                }
                Ok(())
            }
        }
    }

    /// A table row, columns as wide as the first row needs (the header before it).
    fn table_row(
        &mut self,
        symbol: &str,
        c: &Candle,
        first: bool,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let [open, high, low, close, volume, quote_volume] = c.values();
        let mut cells = [
            symbol,
            "",
            open,
            high,
            low,
            close,
            volume,
            quote_volume,
            "",
            "",
        ]
        .map(str::to_owned);
        let time = |ms| candle_table::time(self.zone, self.seconds, ms);
        (cells[1], cells[8], cells[9]) = (time(c.open_ms), c.trades.to_string(), time(c.close_ms));
        let (table, hidden) = match self.table.take() {
            Some(table) => (table, Vec::new()),
            None => CandleTable::new(&cells, self.symbol_width, self.zone, self.width),
        };
        let table = self.table.insert(table);
        if first && self.header {
            table.header(out)?;
        }
        if !hidden.is_empty() {
            tracing::info!(
                "left out to fit {} columns: {} (a wider terminal, or -f csv, shows them)",
                self.width.unwrap_or_default(),
                hidden.join(", ")
            );
        }
        table.row(&cells, out)
    }

    /// What comes after the last row: JSON's closing, with the gaps.
    pub(crate) fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.format == Format::Json {
            json_close(&self.gaps, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_are_dated_in_the_zone() {
        let assets: Assets = [("BTCUSDT".to_owned(), ("BTC".to_owned(), "USDT".to_owned()))].into();
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        // 2024-03-01T00:00:00Z is 01:00 in Paris.
        let ms = 1_709_251_200_000;
        assert_eq!(
            directive(Format::Ledger, "BTCUSDT", "61234.56", ms, &paris, &assets).unwrap(),
            "P 2024-03-01 01:00:00 BTC 61234.56 USDT"
        );
        assert_eq!(
            directive(
                Format::Beancount,
                "BTCUSDT",
                "61234.56",
                ms,
                &jiff::tz::TimeZone::UTC,
                &assets
            )
            .unwrap(),
            "2024-03-01 price BTC 61234.56 USDT"
        );
        assert_eq!(
            directive(Format::Ledger, "XYZ", "1", ms, &paris, &assets),
            None
        );
    }
}
