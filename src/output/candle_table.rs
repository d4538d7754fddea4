//! `--candles` as a table, for a person: spaced headers like the other tables (`OPEN TIME`),
//! times in `--tz` to the minute (to the second for `1s` candles), columns sized from the first
//! candle, and on a terminal the least important columns left out until the table fits, as the
//! ticker tables do (the close time first: the next row's open says it).

use std::io::{self, Write};

/// The headers, in the order of `history::COLUMNS`.
const HEADERS: [&str; 10] = [
    "SYMBOL",
    "OPEN TIME",
    "OPEN",
    "HIGH",
    "LOW",
    "CLOSE",
    "VOLUME",
    "QUOTE VOLUME",
    "TRADES",
    "CLOSE TIME",
];

/// When each column goes if the terminal is too narrow, lowest first; 0 stays (the symbol,
/// when, the open and the close). High and low go together.
const DROP: [u8; 10] = [0, 0, 0, 5, 5, 0, 3, 2, 4, 1];

/// The columns shown and their widths, fixed by the first candle.
pub(super) struct CandleTable {
    widths: [usize; 10],
    shown: [bool; 10],
    /// The zone the times are written in (the header names it).
    zone: jiff::tz::TimeZone,
}

impl CandleTable {
    /// Sized for `first` (a candle's cells, times by [`time`]) and symbols `symbol_width`
    /// wide, narrowed to `width` when stdout is a terminal; also what was left out, for `-v`.
    pub(super) fn new(
        first: &[String; 10],
        symbol_width: usize,
        zone: &jiff::tz::TimeZone,
        width: Option<usize>,
    ) -> (Self, Vec<&'static str>) {
        let mut widths = HEADERS.map(crate::text::width);
        widths[0] = widths[0].max(symbol_width);
        widths[1] = widths[1].max(zone_header(zone).len());
        for (w, cell) in widths.iter_mut().zip(first) {
            *w = (*w).max(crate::text::width(cell));
        }
        let mut table = Self {
            widths,
            shown: [true; 10],
            zone: zone.clone(),
        };
        let hidden = table.fit(width);
        (table, hidden)
    }

    /// Leaves out columns, lowest rank first, until the rows fit `width`; then takes back,
    /// most important first, those that fit in the room left (the trades, once high and low
    /// went).
    fn fit(&mut self, width: Option<usize>) -> Vec<&'static str> {
        let Some(width) = width else {
            return Vec::new();
        };
        let group = |rank: u8| (0..10).filter(move |&i| DROP[i] == rank);
        for rank in 1..=5 {
            if self.total() > width {
                group(rank).for_each(|i| self.shown[i] = false);
            }
        }
        for rank in (1..=5).rev() {
            group(rank).for_each(|i| self.shown[i] = true);
            if self.total() > width {
                group(rank).for_each(|i| self.shown[i] = false);
            }
        }
        (0..10)
            .filter(|&i| !self.shown[i])
            .map(|i| HEADERS[i])
            .collect()
    }

    fn total(&self) -> usize {
        let shown = self.widths.iter().zip(self.shown).filter(|(_, on)| *on);
        shown.map(|(w, _)| w + 2).sum::<usize>() - 2
    }

    /// The header line: the open time's header names the zone.
    pub(super) fn header(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut cells = HEADERS.map(str::to_owned);
        cells[1] = zone_header(&self.zone);
        cells[9] = format!("CLOSE TIME ({})", zone_name(&self.zone));
        self.line(&cells, out)
    }

    /// One row of cells, numbers to the right.
    pub(super) fn row(&self, cells: &[String; 10], out: &mut dyn Write) -> io::Result<()> {
        self.line(cells, out)
    }

    fn line(&self, cells: &[String; 10], out: &mut dyn Write) -> io::Result<()> {
        let mut line = String::with_capacity(160);
        for (i, cell) in cells.iter().enumerate().filter(|(i, _)| self.shown[*i]) {
            if !line.is_empty() {
                line.push_str("  ");
            }
            let pad = " ".repeat(self.widths[i].saturating_sub(crate::text::width(cell)));
            match i {
                0 | 1 | 9 => line.extend([cell.as_str(), &pad]),
                _ => line.extend([pad.as_str(), cell]),
            }
        }
        writeln!(out, "{}", line.trim_end())
    }
}

/// A time cell: `2024-03-01 12:00` in `zone` (`12:00:01` with `seconds`, for `1s` candles).
pub(super) fn time(zone: &jiff::tz::TimeZone, seconds: bool, ms: i64) -> String {
    let at = jiff::Timestamp::from_millisecond(ms).unwrap_or_default();
    let format = if seconds {
        "%Y-%m-%d %H:%M:%S"
    } else {
        "%Y-%m-%d %H:%M"
    };
    zone.to_datetime(at).strftime(format).to_string()
}

/// `OPEN TIME (UTC)`, `OPEN TIME (Europe/Paris)`.
pub(super) fn zone_header(zone: &jiff::tz::TimeZone) -> String {
    format!("OPEN TIME ({})", zone_name(zone))
}

/// The zone as `--tz` names it (`UTC`, `Europe/Paris`), or its offset (`UTC+05:45`).
fn zone_name(zone: &jiff::tz::TimeZone) -> String {
    match zone.iana_name() {
        Some(name) => name.into(),
        None => format!("UTC{}", zone.to_offset(jiff::Timestamp::UNIX_EPOCH)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(symbol: &str) -> [String; 10] {
        [
            symbol,
            "2024-03-01 00:00",
            "97730.47156250",
            "97730.47156250",
            "96516.42843750",
            "97706.19070000",
            "86.40000000",
            "8391466.08000000",
            "86400",
            "2024-03-01 23:59",
        ]
        .map(str::to_owned)
    }

    #[test]
    fn a_terminal_of_80_columns_keeps_when_open_and_close() {
        let utc = jiff::tz::TimeZone::UTC;
        let (table, hidden) = CandleTable::new(&cells("BTCUSDT"), 7, &utc, Some(80));
        assert_eq!(hidden, ["HIGH", "LOW", "QUOTE VOLUME", "CLOSE TIME"]);
        let mut out = Vec::new();
        table.header(&mut out).unwrap();
        table.row(&cells("BTCUSDT"), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "SYMBOL   OPEN TIME (UTC)             OPEN           CLOSE       VOLUME  TRADES\n\
             BTCUSDT  2024-03-01 00:00  97730.47156250  97706.19070000  86.40000000   86400\n"
        );
        assert!(text.lines().all(|l| l.len() <= 80));
        // A wide terminal, or a pipe, has every column.
        let (_, hidden) = CandleTable::new(&cells("BTCUSDT"), 7, &utc, Some(200));
        assert!(hidden.is_empty());
        let (_, hidden) = CandleTable::new(&cells("BTCUSDT"), 7, &utc, None);
        assert!(hidden.is_empty());
    }

    #[test]
    fn times_are_in_the_zone_to_the_minute_or_the_second() {
        let paris: jiff::tz::TimeZone = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(time(&paris, false, 1_735_599_600_000), "2024-12-31 00:00");
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(time(&utc, true, 1_735_599_601_000), "2024-12-30 23:00:01");
        assert_eq!(zone_header(&paris), "OPEN TIME (Europe/Paris)");
    }
}
