//! The mock's tape of trades: when each listing trades (from its listing time, every `step`,
//! never in the 2023-03-24 halt), at what price (a triangle wave in units of 1e-8, so that
//! every sum is exact), what a stretch of them adds up to, and where candles of each interval
//! open. The endpoints that serve it are in `history`.

use crate::market::Listing;

/// The spot maintenance halt the mock knows: no trade and no candle in [from, to).
pub const HALT: (u64, u64) = (1_679_660_280_000, 1_679_665_680_000);

/// Listing times (ms): BTCUSDT and ETHUSDT, the UTF-8 pair, the rest, generated pairs.
pub(crate) const LISTED_EARLY: u64 = 1_502_942_400_000;
const LISTED_UTF8: u64 = 1_764_633_600_000;
pub(crate) const LISTED: u64 = 1_546_300_800_000;
const LISTED_GENERATED: u64 = 1_577_836_800_000;

pub(crate) const SECOND: u64 = 1000;
pub(crate) const DAY: u64 = 86_400 * SECOND;
/// Each trade's quantity, in units of 1e-8 (0.001).
pub(crate) const QTY: u128 = 100_000;
/// Half the triangle wave's period, in trades.
pub(crate) const HALF: u64 = 50;

/// The trades of one listing.
#[derive(Debug, Clone, Copy)]
pub struct Tape {
    /// The first trade's time, ms.
    pub listed_ms: u64,
    /// Time between trades, ms.
    pub step_ms: u64,
    /// The price the wave swings around, in 1e-8, and how far one step of it moves.
    pub(crate) base: u128,
    pub(crate) amp: u128,
}

impl Tape {
    /// The tape of `l`.
    pub(crate) fn of(l: &Listing) -> Self {
        let listed_ms = match l.symbol.as_str() {
            "BTCUSDT" | "ETHUSDT" => LISTED_EARLY,
            s if s.starts_with("SYM") => LISTED_GENERATED,
            s if !s.is_ascii() => LISTED_UTF8,
            _ => LISTED,
        };
        let step_ms = if l.symbol == "XRPBTC" {
            150 * SECOND
        } else {
            SECOND
        };
        let base = units(&l.price).max(100);
        Self {
            listed_ms,
            step_ms,
            base,
            amp: (base / 4000).max(1),
        }
    }

    /// Trade `k`'s price, in 1e-8.
    pub(crate) fn price(&self, k: u64) -> u128 {
        self.base + self.amp * u128::from(tri(k)) - self.amp * u128::from(HALF / 2)
    }

    /// Trade `k`'s time.
    pub fn time(&self, k: u64) -> u64 {
        self.listed_ms + k * self.step_ms
    }

    /// Whether trade `k` happened (not in the halt, not after `now`).
    fn happened(&self, k: u64, now: u64) -> bool {
        let t = self.time(k);
        t <= now && !(HALT.0..HALT.1).contains(&t)
    }

    /// The first trade at or after `t` (ms), by number.
    fn first_from(&self, t: u64) -> u64 {
        t.saturating_sub(self.listed_ms).div_ceil(self.step_ms)
    }

    /// The ranges of trade numbers in [from, to) that happened by `now`: at most two (the halt
    /// cuts one in two).
    pub(crate) fn ranges(&self, from: u64, to: u64, now: u64) -> Vec<(u64, u64)> {
        let last_by_now = (now >= self.listed_ms).then(|| (now - self.listed_ms) / self.step_ms);
        let (Some(last_by_now), true) = (last_by_now, to > self.listed_ms) else {
            return Vec::new();
        };
        let lo = self.first_from(from);
        let hi = (self.first_from(to)).saturating_sub(1).min(last_by_now);
        if to <= from || lo > hi || self.first_from(to) == 0 {
            return Vec::new();
        }
        let (h_lo, h_hi) = (self.first_from(HALT.0), self.first_from(HALT.1));
        let mut out = Vec::new();
        if lo < h_lo {
            out.push((lo, hi.min(h_lo.saturating_sub(1))));
        }
        if hi >= h_hi {
            out.push((lo.max(h_hi), hi));
        }
        out.retain(|(a, b)| a <= b);
        out
    }

    /// The last trade before `t` that happened, if any.
    pub(crate) fn last_before(&self, t: u64) -> Option<u64> {
        let mut k = self.first_from(t).checked_sub(1)?;
        if !self.happened(k, u64::MAX) {
            k = self.first_from(HALT.0).checked_sub(1)?;
        }
        Some(k)
    }
}

/// The triangle wave: 0..=50..0 over 100 trades.
fn tri(k: u64) -> u64 {
    (k % (2 * HALF)).abs_diff(HALF)
}

/// The sum of `tri` over 0..n.
fn tri_sum(n: u64) -> u128 {
    let period: u128 = u128::from(HALF * HALF);
    let partial: u128 = (0..n % (2 * HALF)).map(|j| u128::from(tri(j))).sum();
    u128::from(n / (2 * HALF)) * period + partial
}

/// A decimal string in units of 1e-8.
pub(crate) fn units(s: &str) -> u128 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<8}");
    int.parse::<u128>().unwrap_or(0) * 100_000_000 + frac[..8].parse::<u128>().unwrap_or(0)
}

/// Units of 1e-8 as Binance writes them: 8 decimals.
pub(crate) fn decimal(u: u128) -> String {
    format!("{}.{:08}", u / 100_000_000, u % 100_000_000)
}

/// What the trades of some ranges add up to.
pub(crate) struct Stats {
    pub(crate) n: u64,
    pub(crate) first: u64,
    pub(crate) last: u64,
    pub(crate) high: u128,
    pub(crate) low: u128,
    pub(crate) sum: u128,
}

pub(crate) fn stats(tape: &Tape, ranges: &[(u64, u64)]) -> Option<Stats> {
    let mut out: Option<Stats> = None;
    for &(a, b) in ranges {
        let len = b - a + 1;
        let (high, low) = if len >= 2 * HALF {
            (tape.price(0), tape.price(HALF))
        } else {
            (a..=b).fold((0, u128::MAX), |(h, l), k| {
                (h.max(tape.price(k)), l.min(tape.price(k)))
            })
        };
        let sum = u128::from(len) * (tape.base - tape.amp * u128::from(HALF / 2))
            + tape.amp * (tri_sum(b + 1) - tri_sum(a));
        out = Some(match out {
            None => Stats {
                n: len,
                first: a,
                last: b,
                high,
                low,
                sum,
            },
            Some(s) => Stats {
                n: s.n + len,
                first: s.first,
                last: b,
                high: s.high.max(high),
                low: s.low.min(low),
                sum: s.sum + sum,
            },
        });
    }
    out
}

/// A kline interval, as Binance names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interval {
    /// A fixed length in ms (1s … 3d), aligned to the epoch in the asked zone.
    Fixed(u64),
    /// A week, from Monday 00:00.
    Week,
    /// A calendar month.
    Month,
}

impl Interval {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let minute = 60 * SECOND;
        let hour = 60 * minute;
        Some(match s {
            "1s" => Self::Fixed(SECOND),
            "1m" => Self::Fixed(minute),
            "3m" => Self::Fixed(3 * minute),
            "5m" => Self::Fixed(5 * minute),
            "15m" => Self::Fixed(15 * minute),
            "30m" => Self::Fixed(30 * minute),
            "1h" => Self::Fixed(hour),
            "2h" => Self::Fixed(2 * hour),
            "4h" => Self::Fixed(4 * hour),
            "6h" => Self::Fixed(6 * hour),
            "8h" => Self::Fixed(8 * hour),
            "12h" => Self::Fixed(12 * hour),
            "1d" => Self::Fixed(DAY),
            "3d" => Self::Fixed(3 * DAY),
            "1w" => Self::Week,
            "1M" => Self::Month,
            _ => return None,
        })
    }

    /// The open time of the candle holding `t`, with the zone `offset` (ms east of UTC).
    pub(crate) fn open(self, t: u64, offset: i64) -> u64 {
        let local = t as i64 + offset;
        let start = match self {
            Self::Fixed(len) => local.div_euclid(len as i64) * len as i64,
            // 1970-01-05 was a Monday.
            Self::Week => {
                (local - 4 * DAY as i64).div_euclid(7 * DAY as i64) * 7 * DAY as i64
                    + 4 * DAY as i64
            }
            Self::Month => {
                let utc = jiff::tz::Offset::UTC;
                let date = utc
                    .to_datetime(jiff::Timestamp::from_millisecond(local).unwrap_or_default())
                    .date();
                utc.to_timestamp(jiff::civil::date(date.year(), date.month(), 1).at(0, 0, 0, 0))
                    .map_or(0, |t| t.as_millisecond())
            }
        };
        (start - offset).max(0) as u64
    }

    /// The open time of the candle after the one opening at `open`.
    pub(crate) fn next(self, open: u64, offset: i64) -> u64 {
        match self {
            Self::Fixed(len) => open + len,
            Self::Week => open + 7 * DAY,
            // The month after: from a day inside it (a month is at least 28 days).
            Self::Month => self.open(self.open(open, offset) + 32 * DAY, offset),
        }
    }
}

/// `timeZone`: hours or hours:minutes, -12:00 to +14:00; ms east of UTC.
pub(crate) fn zone_offset(s: &str) -> Option<i64> {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = sign * (h * 60 + m);
    ((-12 * 60..=14 * 60).contains(&minutes) && (0..60).contains(&m)).then_some(minutes * 60 * 1000)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// BTCUSDT's tape, as `Tape::of` makes it (for the tests here and in `history`).
    pub(crate) fn btc() -> Tape {
        Tape {
            listed_ms: LISTED_EARLY,
            step_ms: SECOND,
            base: units("97123.45"),
            amp: units("97123.45") / 4000,
        }
    }

    #[test]
    fn sums_match_the_trades_one_by_one() {
        let t = btc();
        for (a, b) in [(0, 0), (3, 250), (99, 100), (1234, 5678)] {
            let s = stats(&t, &[(a, b)]).unwrap();
            let sum: u128 = (a..=b).map(|k| t.price(k)).sum();
            let high = (a..=b).map(|k| t.price(k)).max().unwrap();
            let low = (a..=b).map(|k| t.price(k)).min().unwrap();
            assert_eq!((s.sum, s.high, s.low, s.n), (sum, high, low, b - a + 1));
        }
    }
}
