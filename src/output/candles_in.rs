//! `--in ASSET --candles`' rows: each asset's candles in ASSET, written as they are made, in
//! every format the candles have. Columns: `asset, in, open_time, open, close, route,
//! close_time`, and for a route that is one pair as it is, that pair's own `high, low, volume,
//! quote_volume, trades` (empty in csv for a converted row, absent in JSON: a high and a low
//! cannot be made of two legs).

use std::io::{self, Write};

use serde_json::json;

use crate::convert::candles::InRow;

use super::candle_table;
use super::format::Format;
use super::history::{Assets, csv, directive, gap_record, json_close, utc};

const CSV_HEADER: &str =
    "asset,in,open_time,open,close,route,close_time,high,low,volume,quote_volume,trades";

/// Writes the rows (see the module's docs).
pub(crate) struct InWriter<'a> {
    format: Format,
    header: bool,
    target: &'a str,
    zone: &'a jiff::tz::TimeZone,
    names: &'a Assets,
    written: u64,
    gaps: Vec<serde_json::Value>,
    /// The table's widths: asset, open time, open, close (from the first row, or the header).
    widths: Option<[usize; 4]>,
    /// The widest asset asked (the table's first column).
    asset_width: usize,
}

impl<'a> InWriter<'a> {
    pub(crate) fn new(
        (format, header): (Format, bool),
        target: &'a str,
        zone: &'a jiff::tz::TimeZone,
        names: &'a Assets,
    ) -> Self {
        Self {
            format,
            header,
            target,
            zone,
            names,
            written: 0,
            gaps: Vec::new(),
            widths: None,
            asset_width: 0,
        }
    }

    /// A table as wide as these assets need.
    pub(crate) fn for_assets(mut self, assets: &[String]) -> Self {
        self.asset_width = crate::text::widest(assets);
        self
    }

    /// csv's header, JSON's opening.
    pub(crate) fn start(
        &mut self,
        interval: &str,
        (from, to): (i64, i64),
        out: &mut dyn Write,
    ) -> io::Result<()> {
        match self.format {
            Format::Csv if self.header => writeln!(out, "{CSV_HEADER}"),
            Format::Json => write!(
                out,
                "{{\"in\":\"{}\",\"interval\":\"{interval}\",\"from\":\"{}\",\"from_ms\":{from},\"to\":\"{}\",\"to_ms\":{to},\"candles\":[",
                self.target,
                utc(from),
                utc(to)
            ),
            _ => Ok(()),
        }
    }

    /// One row of `asset`, whose route is `route` (`ADAUSDT/EURUSDT`).
    pub(crate) fn row(
        &mut self,
        (asset, route): (&str, &str),
        row: &InRow<'_>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let first = self.written == 0;
        self.written += 1;
        let (open_ms, close_ms, open, close) = match row {
            InRow::Direct(c) => (c.open_ms, c.close_ms, c.values()[0], c.close()),
            InRow::Converted {
                open_ms,
                close_ms,
                open,
                close,
            } => (*open_ms, *close_ms, open.as_str(), close.as_str()),
        };
        let direct = match row {
            InRow::Direct(c) => Some((c.values(), c.trades)),
            InRow::Converted { .. } => None,
        };
        match self.format {
            Format::Csv => {
                let own = direct.map_or_else(
                    || ",,,,".to_owned(),
                    |(v, trades)| format!("{},{},{},{},{trades}", v[1], v[2], v[4], v[5]),
                );
                writeln!(
                    out,
                    "{},{},{},{open},{close},{route},{},{own}",
                    csv(asset),
                    self.target,
                    utc(open_ms),
                    utc(close_ms)
                )
            }
            Format::Plain => writeln!(out, "{asset}\t{}\t{open}\t{close}", utc(open_ms)),
            Format::Json | Format::Ndjson => {
                let mut object = json!({"asset": asset, "in": self.target, "open_time": utc(open_ms),
                    "open_time_ms": open_ms, "open": open, "close": close, "route": route,
                    "close_time": utc(close_ms), "close_time_ms": close_ms});
                if let (Some((v, trades)), Some(map)) = (direct, object.as_object_mut()) {
                    for (key, value) in [
                        ("high", v[1]),
                        ("low", v[2]),
                        ("volume", v[4]),
                        ("quote_volume", v[5]),
                    ] {
                        map.insert(key.into(), value.into());
                    }
                    map.insert("trades".into(), trades.into());
                }
                match self.format {
                    Format::Json if !first => write!(out, ",\n{object}"),
                    Format::Json => write!(out, "\n{object}"),
                    _ => writeln!(out, "{object}"),
                }
            }
            Format::Ledger | Format::Beancount => {
                match directive(self.format, asset, close, open_ms, self.zone, self.names) {
                    Some(line) => writeln!(out, "{line}"),
                    None => Ok(()),
                }
            }
            Format::Table | Format::Openmetrics => {
                self.table_row(first, (asset, route), (open_ms, open, close), out)
            }
        }
    }

    /// A table row: columns as wide as the widest asset and the first row need (the header,
    /// naming the zone, before it).
    fn table_row(
        &mut self,
        first: bool,
        (asset, route): (&str, &str),
        (open_ms, open, close): (i64, &str, &str),
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let widths = *self.widths.get_or_insert_with(|| {
            let asset = crate::text::width(asset).max(self.asset_width);
            let time = candle_table::zone_header(self.zone).len();
            [
                asset.max(5),
                time.max(16),
                open.len().max(4),
                close.len().max(5),
            ]
        });
        let [wa, tw, wo, wc] = widths;
        if first && self.header {
            let head = candle_table::zone_header(self.zone);
            let line = format!(
                "{:<wa$}  {head:<tw$}  {:>wo$}  {:>wc$}  ROUTE",
                "ASSET", "OPEN", "CLOSE"
            );
            writeln!(out, "{line}")?;
        }
        let time = candle_table::time(self.zone, false, open_ms);
        let asset = crate::text::pad(asset, wa);
        writeln!(
            out,
            "{asset}  {time:<tw$}  {open:>wo$}  {close:>wc$}  {route}"
        )
    }

    /// A stretch of `asset` without rows: its leg `leg` has no candles in [from, to).
    pub(crate) fn gap(
        &mut self,
        (asset, leg): (&str, &str),
        (from, to): (i64, i64),
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let record = json!({"type": "gap", "asset": asset, "in": self.target, "leg": leg,
                            "from": from, "to": to, "from_time": utc(from), "to_time": utc(to)});
        gap_record(self.format, record, &mut self.gaps, out)
    }

    /// JSON's closing, with the gaps.
    pub(crate) fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.format == Format::Json {
            json_close(&self.gaps, out)?;
        }
        Ok(())
    }
}
