//! Binance's kline intervals (`1s` … `1M`, exactly as Binance names them) and where each
//! candle opens: at a fixed offset from UTC, as Binance's `timeZone` parameter takes one, with
//! weeks from Monday 00:00 and months by the calendar. Vocabulary: no network.
//!
//! A zone with daylight saving has two offsets a year; a range that crosses a change is asked
//! for in pieces, each with the offset in force (see [`pieces`]), so that every daily candle
//! opens at local midnight.

/// Milliseconds in a second, a minute, an hour, a day.
const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Every interval Binance serves, in its own spelling (case matters: `1m` and `1M` differ).
pub const NAMES: [&str; 16] = [
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w",
    "1M",
];

/// A kline interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    name: &'static str,
    span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    /// A fixed length (1s … 3d), counted from the epoch at the zone's offset.
    Fixed(i64),
    /// A week, from Monday 00:00.
    Week,
    /// A calendar month, from the 1st at 00:00.
    Month,
}

impl Interval {
    /// `1s`, `1m`, … `1M`; the error names the valid ones (and the likely one for `1min`,
    /// `1D` and friends).
    pub fn parse(text: &str) -> Result<Self, String> {
        let span = match text {
            "1s" => Span::Fixed(SECOND),
            "1m" => Span::Fixed(MINUTE),
            "3m" => Span::Fixed(3 * MINUTE),
            "5m" => Span::Fixed(5 * MINUTE),
            "15m" => Span::Fixed(15 * MINUTE),
            "30m" => Span::Fixed(30 * MINUTE),
            "1h" => Span::Fixed(HOUR),
            "2h" => Span::Fixed(2 * HOUR),
            "4h" => Span::Fixed(4 * HOUR),
            "6h" => Span::Fixed(6 * HOUR),
            "8h" => Span::Fixed(8 * HOUR),
            "12h" => Span::Fixed(12 * HOUR),
            "1d" => Span::Fixed(DAY),
            "3d" => Span::Fixed(3 * DAY),
            "1w" => Span::Week,
            "1M" => Span::Month,
            _ => {
                let hint = match text.to_ascii_lowercase().as_str() {
                    "1min" | "1minute" => " (1m is a minute)",
                    "1mo" | "1mon" | "1month" => " (1M is a month)",
                    "1d" | "1day" | "d" => " (1d is a day)",
                    "1w" | "1week" | "w" => " (1w is a week)",
                    "1h" | "1hour" | "h" => " (1h is an hour)",
                    _ => "",
                };
                return Err(format!(
                    "'{text}' is not one of Binance's intervals{hint}: {}",
                    NAMES.join(", ")
                ));
            }
        };
        let name = NAMES.iter().find(|n| **n == text).expect("a known name");
        Ok(Self { name, span })
    }

    /// As Binance names it.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// Whether the candles' boundaries depend on the offset in whole hours or more (days,
    /// weeks, months, and hours for an offset such as +05:45).
    pub fn length_ms(self) -> Option<i64> {
        match self.span {
            Span::Fixed(ms) => Some(ms),
            Span::Week => Some(7 * DAY),
            Span::Month => None,
        }
    }

    /// The open time of the candle that holds `t` (ms), at `offset` ms east of UTC.
    pub fn open(self, t: i64, offset: i64) -> i64 {
        let local = t + offset;
        let start = match self.span {
            Span::Fixed(len) => local.div_euclid(len) * len,
            // The epoch was a Thursday: weeks start four days after it, on Monday 1970-01-05.
            Span::Week => (local - 4 * DAY).div_euclid(7 * DAY) * 7 * DAY + 4 * DAY,
            Span::Month => {
                let date = jiff::tz::Offset::UTC
                    .to_datetime(jiff::Timestamp::from_millisecond(local).unwrap_or_default())
                    .date();
                let first = jiff::civil::date(date.year(), date.month(), 1).at(0, 0, 0, 0);
                jiff::tz::Offset::UTC
                    .to_timestamp(first)
                    .map_or(local, |t| t.as_millisecond())
            }
        };
        start - offset
    }

    /// The open time of the candle after the one that opens at `open`.
    pub fn next(self, open: i64, offset: i64) -> i64 {
        match self.span {
            Span::Fixed(len) => open + len,
            Span::Week => open + 7 * DAY,
            // From a day inside the next month (every month has at least 28 days).
            Span::Month => self.open(open + 32 * DAY, offset),
        }
    }

    /// The first open time at or after `t`.
    pub fn first_from(self, t: i64, offset: i64) -> i64 {
        let open = self.open(t, offset);
        if open < t {
            self.next(open, offset)
        } else {
            open
        }
    }
}

/// A stretch of a range with one offset: candles open from `start` (the first open) and
/// before `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// The first candle's open time, ms.
    pub start: i64,
    /// No candle opens at or after this, ms.
    pub end: i64,
    /// The zone's offset in this piece, ms east of UTC (Binance's `timeZone`).
    pub offset: i64,
}

/// The candles of `interval` that open in [from, to), split where `zone`'s offset changes (a
/// piece per offset; one for a fixed offset). A candle belongs to the piece whose offset holds
/// at its open.
pub fn pieces(interval: Interval, from: i64, to: i64, zone: &jiff::tz::TimeZone) -> Vec<Piece> {
    let offset_at = |t: i64| {
        i64::from(
            zone.to_offset(jiff::Timestamp::from_millisecond(t).unwrap_or_default())
                .seconds(),
        ) * SECOND
    };
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        let offset = offset_at(t);
        let start = interval.first_from(t, offset);
        // Where the offset next changes (if before `to`).
        let change = zone
            .following(jiff::Timestamp::from_millisecond(t).unwrap_or_default())
            .next()
            .map(|tr| tr.timestamp().as_millisecond())
            .filter(|&c| c > t && c < to);
        // The next piece starts at the first open after the change in the new offset.
        let end = change.map_or(to, |c| interval.first_from(c, offset_at(c)).min(to));
        if start < end {
            out.push(Piece { start, end, offset });
        }
        match change {
            Some(c) => t = end.max(c),
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_exactly_and_say_the_valid_ones() {
        assert_eq!(Interval::parse("1M").unwrap().name(), "1M");
        assert_eq!(Interval::parse("1m").unwrap().length_ms(), Some(MINUTE));
        let e = Interval::parse("1min").unwrap_err();
        assert!(
            e.contains("1m is a minute") && e.contains("1s, 1m, 3m"),
            "{e}"
        );
        assert!(Interval::parse("2d").is_err());
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let week = Interval::parse("1w").unwrap();
        // 2024-01-03 (a Wednesday) is in the week of Monday 2024-01-01.
        assert_eq!(week.open(1_704_240_000_000, 0), 1_704_067_200_000);
        let month = Interval::parse("1M").unwrap();
        // 2024-02-15 → 2024-02-01; the next is 2024-03-01.
        assert_eq!(month.open(1_707_955_200_000, 0), 1_706_745_600_000);
        assert_eq!(month.next(1_706_745_600_000, 0), 1_709_251_200_000);
        // At +08:00, a day opens at 16:00 UTC the day before.
        let day = Interval::parse("1d").unwrap();
        assert_eq!(day.open(1_709_294_400_000, 8 * HOUR), 1_709_222_400_000);
    }

    #[test]
    fn a_daylight_saving_change_splits_the_range() {
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        let day = Interval::parse("1d").unwrap();
        // 2024-03-29 to 2024-04-02 (UTC): Paris moves from +01:00 to +02:00 on 2024-03-31.
        let p = pieces(day, 1_711_670_400_000, 1_712_016_000_000, &paris);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].offset, HOUR);
        assert_eq!(p[1].offset, 2 * HOUR);
        // The first daily candle after the change opens at local midnight, 22:00 UTC.
        assert_eq!(p[1].start, 1_711_922_400_000);
        assert_eq!(p[0].end, p[1].start);
        let utc = pieces(day, 0, 10 * DAY, &jiff::tz::TimeZone::UTC);
        assert_eq!(
            utc,
            [Piece {
                start: 0,
                end: 10 * DAY,
                offset: 0
            }]
        );
    }
}
