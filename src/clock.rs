//! Wall-clock times as Binance sends them and people read them: milliseconds since the epoch,
//! the longest wait Binance can impose, and RFC 3339 text that never fails. Vocabulary: imports
//! nothing.
//!
//! Every time that comes from outside (a `Retry-After`, a 418's "banned until", a ledger file)
//! passes [`clamp_ms`] or [`clamp_wait`] before it is kept, so that a far-future value is read as
//! Binance's longest ban instead of panicking a formatter (or waiting for centuries).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Binance's longest ban: bans grow from 2 minutes to 3 days for repeat offenders.
pub const LONGEST_WAIT: Duration = Duration::from_secs(3 * 24 * 3600);

/// Milliseconds since the epoch, now.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `until_ms`, or `now_ms` + [`LONGEST_WAIT`] if it is later than that; the second value says
/// whether it was cut.
pub fn clamp_ms(until_ms: u64, now_ms: u64) -> (u64, bool) {
    let latest = now_ms.saturating_add(LONGEST_WAIT.as_millis() as u64);
    if until_ms > latest {
        (latest, true)
    } else {
        (until_ms, false)
    }
}

/// `wait`, or [`LONGEST_WAIT`] if it is longer; the second value says whether it was cut.
pub fn clamp_wait(wait: Duration) -> (Duration, bool) {
    if wait > LONGEST_WAIT {
        (LONGEST_WAIT, true)
    } else {
        (wait, false)
    }
}

/// `ms` since the epoch as RFC 3339 in whole seconds (`2026-12-01T11:02:57Z`); a time past
/// what RFC 3339 can write (year 9999) is written as such, never a panic.
pub fn rfc3339_seconds(ms: u64) -> String {
    match writable(ms) {
        Some(at) => humantime::format_rfc3339_seconds(at).to_string(),
        None => format!("the year 10000 or later ({ms} ms since 1970)"),
    }
}

/// `ms` since the epoch as RFC 3339 with milliseconds (`2026-12-01T11:02:57.123Z`).
pub fn rfc3339_millis(ms: u64) -> String {
    match writable(ms) {
        Some(at) => humantime::format_rfc3339_millis(at).to_string(),
        None => format!("the year 10000 or later ({ms} ms since 1970)"),
    }
}

/// `ms` as a time humantime can format (up to 9999-12-31T23:59:59.999Z).
fn writable(ms: u64) -> Option<SystemTime> {
    const LAST_MS: u64 = 253_402_300_799_999;
    (ms <= LAST_MS).then(|| UNIX_EPOCH + Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_future_times_are_cut_and_written_without_panicking() {
        let now = 1_700_000_000_000;
        assert_eq!(clamp_ms(now + 1000, now), (now + 1000, false));
        assert_eq!(
            clamp_ms(99_999_999_999_999_999, now),
            (now + 259_200_000, true)
        );
        assert_eq!(clamp_ms(u64::MAX, u64::MAX), (u64::MAX, false));
        assert_eq!(
            clamp_wait(Duration::from_secs(1e9 as u64)),
            (LONGEST_WAIT, true)
        );
        assert_eq!(rfc3339_seconds(now), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_millis(now + 5), "2023-11-14T22:13:20.005Z");
        assert!(rfc3339_seconds(u64::MAX).starts_with("the year 10000 or later"));
        assert!(rfc3339_millis(99_999_999_999_999_999).starts_with("the year 10000"));
    }
}
