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
pub(crate) const NAMES: [&str; 16] = [
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w",
    "1M",
];

/// A kline interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interval {
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
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
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
    pub(crate) fn name(self) -> &'static str {
        self.name
    }

    /// Whether the candles' boundaries depend on the offset in whole hours or more (days,
    /// weeks, months, and hours for an offset such as +05:45).
    pub(crate) fn length_ms(self) -> Option<i64> {
        match self.span {
            Span::Fixed(ms) => Some(ms),
            Span::Week => Some(7 * DAY),
            Span::Month => None,
        }
    }

    /// The open time of the candle that holds `t` (ms), at `offset` ms east of UTC.
    pub(crate) fn open(self, t: i64, offset: i64) -> i64 {
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
    pub(crate) fn next(self, open: i64, offset: i64) -> i64 {
        match self.span {
            Span::Fixed(len) => open + len,
            Span::Week => open + 7 * DAY,
            // From a day inside the next month (every month has at least 28 days).
            Span::Month => self.open(open + 32 * DAY, offset),
        }
    }

    /// The first open time at or after `t`.
    pub(crate) fn first_from(self, t: i64, offset: i64) -> i64 {
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
pub(crate) struct Piece {
    /// The first candle's open time, ms.
    pub(crate) start: i64,
    /// No candle opens at or after this, ms.
    pub(crate) end: i64,
    /// The zone's offset in this piece, ms east of UTC (Binance's `timeZone`).
    pub(crate) offset: i64,
    /// `Some(fine)`: this piece is one local period, [start, end), that a change of offset made
    /// shorter or longer than Binance's candle at any one offset; it is built from the `fine`
    /// candles inside it (UTC-aligned), not asked for as one candle.
    pub(crate) fine: Option<Interval>,
}

/// What a zone is at an instant: its offset, ms east of UTC.
fn offset_at(zone: &jiff::tz::TimeZone, t: i64) -> i64 {
    let at = jiff::Timestamp::from_millisecond(t).unwrap_or_default();
    i64::from(zone.to_offset(at).seconds()) * SECOND
}

/// The instant a local wall-clock time (ms, as if it were UTC) names in `zone`: in a gap the
/// time after it, in a fold the first of the two (jiff's "compatible", as RFC 5545 does).
fn instant(zone: &jiff::tz::TimeZone, civil: i64) -> i64 {
    let dt = jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::from_millisecond(civil).unwrap_or_default());
    zone.to_ambiguous_timestamp(dt)
        .compatible()
        .map_or(civil, |t| t.as_millisecond())
}

/// The local period of `interval` in `zone` that holds the instant `t`: [start, end), ms.
fn period(interval: Interval, t: i64, zone: &jiff::tz::TimeZone) -> (i64, i64) {
    let mut open = interval.open(t + offset_at(zone, t), 0);
    if instant(zone, open) > t {
        open = interval.open(open - 1, 0);
    }
    (instant(zone, open), instant(zone, interval.next(open, 0)))
}

/// Whether Binance's candles at the offset in force at `start` tile [start, end) exactly: then
/// the period needs no building (an hour that a change repeats is two hourly candles).
fn tiled(interval: Interval, (start, end): (i64, i64), offset: i64) -> bool {
    interval.open(start, offset) == start
        && match interval.length_ms() {
            Some(len) if interval.span != Span::Month => (end - start) % len == 0,
            _ => interval.next(start, offset) == end,
        }
}

/// The coarsest candles that tile [start, end) at UTC and are finer than `interval`: hours,
/// or 30m, 15m, 5m, 1m for a zone whose offsets are not whole hours.
fn finer(interval: Interval, (start, end): (i64, i64)) -> Interval {
    ["1h", "30m", "15m", "5m", "1m"]
        .into_iter()
        .filter_map(|name| Interval::parse(name).ok())
        .find(|f| {
            let len = f.length_ms().unwrap_or(MINUTE);
            interval.length_ms().is_none_or(|l| len < l) && start % len == 0 && end % len == 0
        })
        .unwrap_or(Interval {
            name: "1m",
            span: Span::Fixed(MINUTE),
        })
}

/// The candles of `interval` that open in [from, to), split where `zone`'s offset changes (a
/// piece per offset; one for a fixed offset). A candle belongs to the piece whose offset holds
/// at its open. A local period that a change makes shorter or longer than Binance's candle
/// (the 23- and 25-hour days, their weeks and months) is a piece of its own, built from finer
/// candles, so that every local period has exactly one candle.
pub(crate) fn pieces(
    interval: Interval,
    from: i64,
    to: i64,
    zone: &jiff::tz::TimeZone,
) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        let offset = offset_at(zone, t);
        let start = interval.first_from(t, offset);
        let change = zone
            .following(jiff::Timestamp::from_millisecond(t).unwrap_or_default())
            .next()
            .map(|tr| tr.timestamp().as_millisecond())
            .filter(|&c| c > t);
        let Some(c) = change else {
            push(&mut out, start, to, offset, None);
            break;
        };
        let odd = period(interval, c, zone);
        if odd.0 >= to {
            push(&mut out, start, to, offset, None);
            break;
        }
        if tiled(interval, odd, offset_at(zone, odd.0)) {
            // The next piece starts at the first open after the change in the new offset.
            let next = interval.first_from(c, offset_at(zone, c));
            push(&mut out, start, next.min(to), offset, None);
            t = next.max(c);
            continue;
        }
        push(&mut out, start, odd.0.min(to), offset, None);
        if odd.0 >= from {
            let fine = finer(interval, odd);
            push(&mut out, odd.0, odd.1, offset_at(zone, odd.0), Some(fine));
        }
        t = odd.1.max(c);
    }
    out
}

/// Adds the piece [start, end) if a candle opens in it.
fn push(out: &mut Vec<Piece>, start: i64, end: i64, offset: i64, fine: Option<Interval>) {
    if start < end {
        out.push(Piece {
            start,
            end,
            offset,
            fine,
        });
    }
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

    /// Every candle the pieces of a range hold: (open, the next open), for checking that
    /// they tile the range.
    fn opens(interval: Interval, pieces: &[Piece]) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        for p in pieces {
            let mut open = p.start;
            while open < p.end {
                let next = match p.fine {
                    Some(_) => p.end,
                    None => interval.next(open, p.offset),
                };
                out.push((open, next));
                open = next;
            }
        }
        out
    }

    fn ms(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn every_local_period_has_one_candle_across_both_changes() {
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        let day = Interval::parse("1d").unwrap();
        // Autumn: 2024-10-25 to 2024-10-29 local is four days, the 27th of 25 hours.
        let p = pieces(
            day,
            ms("2024-10-24T22:00Z"),
            ms("2024-10-28T23:00Z"),
            &paris,
        );
        let got = opens(day, &p);
        let want: Vec<(i64, i64)> = [
            ("2024-10-24T22:00Z", "2024-10-25T22:00Z"),
            ("2024-10-25T22:00Z", "2024-10-26T22:00Z"),
            ("2024-10-26T22:00Z", "2024-10-27T23:00Z"),
            ("2024-10-27T23:00Z", "2024-10-28T23:00Z"),
        ]
        .iter()
        .map(|(a, b)| (ms(a), ms(b)))
        .collect();
        assert_eq!(got, want, "{p:?}");
        // Weeks, months and 12 hours: the period holding a change is built, the rest tile.
        for name in ["3d", "1w", "1M", "12h", "2h"] {
            let i = Interval::parse(name).unwrap();
            let p = pieces(i, ms("2024-09-01T00:00Z"), ms("2024-12-01T00:00Z"), &paris);
            let got = opens(i, &p);
            assert!(got.windows(2).all(|w| w[0].1 == w[1].0), "{name}: {got:?}");
            assert_eq!(p.iter().filter(|p| p.fine.is_some()).count(), 1, "{name}");
        }
        // An hour that the autumn change repeats is two hourly candles, not one built.
        let hour = Interval::parse("1h").unwrap();
        let p = pieces(
            hour,
            ms("2024-10-26T20:00Z"),
            ms("2024-10-27T04:00Z"),
            &paris,
        );
        assert!(p.iter().all(|p| p.fine.is_none()), "{p:?}");
        assert_eq!(opens(hour, &p).len(), 8);
    }

    #[test]
    fn a_half_hour_change_is_built_from_half_hours() {
        // Lord Howe Island moves between +10:30 and +11:00.
        let lord_howe = jiff::tz::TimeZone::get("Australia/Lord_Howe").unwrap();
        let day = Interval::parse("1d").unwrap();
        let p = pieces(
            day,
            ms("2024-10-01T00:00Z"),
            ms("2024-10-15T00:00Z"),
            &lord_howe,
        );
        let built: Vec<_> = p.iter().filter(|p| p.fine.is_some()).collect();
        assert_eq!(built.len(), 1, "{p:?}");
        assert_eq!(built[0].fine, Interval::parse("30m").ok());
        assert_eq!(built[0].end - built[0].start, DAY - 30 * MINUTE);
    }

    #[test]
    fn a_daylight_saving_change_splits_the_range() {
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        let day = Interval::parse("1d").unwrap();
        // 2024-03-29 to 2024-04-02 (UTC): Paris moves from +01:00 to +02:00 on 2024-03-31.
        let p = pieces(day, 1_711_670_400_000, 1_712_016_000_000, &paris);
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!((p[0].offset, p[0].fine), (HOUR, None));
        // The 23-hour 31 March, from local midnight (23:00 UTC) to the next (22:00 UTC), is
        // built from its hours.
        let hour = Interval::parse("1h").unwrap();
        assert_eq!(
            (p[1].start, p[1].end, p[1].fine),
            (1_711_839_600_000, 1_711_922_400_000, Some(hour))
        );
        assert_eq!(p[0].end, p[1].start);
        // The first daily candle after the change opens at local midnight, 22:00 UTC.
        assert_eq!(
            (p[2].start, p[2].offset, p[2].fine),
            (p[1].end, 2 * HOUR, None)
        );
        let utc = pieces(day, 0, 10 * DAY, &jiff::tz::TimeZone::UTC);
        assert_eq!(
            utc,
            [Piece {
                start: 0,
                end: 10 * DAY,
                offset: 0,
                fine: None,
            }]
        );
    }
}
