//! Wall-clock times as Binance sends them and people read them: milliseconds since the epoch,
//! the longest wait Binance can impose, and RFC 3339 text that never fails. Vocabulary: imports
//! nothing.
//!
//! Every time that comes from outside (a `Retry-After`, a 418's "banned until", a ledger file)
//! passes [`clamp_ms`] or [`clamp_wait`] before it is kept, so that a far-future value is read as
//! Binance's longest ban instead of panicking a formatter (or waiting for centuries).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Binance's longest ban: bans grow from 2 minutes to 3 days for repeat offenders.
pub(crate) const LONGEST_WAIT: Duration = Duration::from_secs(3 * 24 * 3600);

/// Milliseconds since the epoch, now.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `until_ms`, or `now_ms` + [`LONGEST_WAIT`] if it is later than that; the second value says
/// whether it was cut.
pub(crate) fn clamp_ms(until_ms: u64, now_ms: u64) -> (u64, bool) {
    let latest = now_ms.saturating_add(LONGEST_WAIT.as_millis() as u64);
    if until_ms > latest {
        (latest, true)
    } else {
        (until_ms, false)
    }
}

/// `wait`, or [`LONGEST_WAIT`] if it is longer; the second value says whether it was cut.
pub(crate) fn clamp_wait(wait: Duration) -> (Duration, bool) {
    if wait > LONGEST_WAIT {
        (LONGEST_WAIT, true)
    } else {
        (wait, false)
    }
}

/// `ms` since the epoch as RFC 3339 in whole seconds (`2026-12-01T11:02:57Z`); a time past
/// what RFC 3339 can write (year 9999) is written as such, never a panic.
pub(crate) fn rfc3339_seconds(ms: u64) -> String {
    match writable(ms) {
        Some(at) => humantime::format_rfc3339_seconds(at).to_string(),
        None => format!("the year 10000 or later ({ms} ms since 1970)"),
    }
}

/// `ms` since the epoch as RFC 3339 with milliseconds (`2026-12-01T11:02:57.123Z`).
pub(crate) fn rfc3339_millis(ms: u64) -> String {
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

/// `--tz`: `UTC`, a fixed offset (`+05:45`, `-03:00`, `+8`) or an IANA name (`Europe/Paris`).
pub(crate) fn zone(text: &str) -> Result<jiff::tz::TimeZone, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(jiff::tz::TimeZone::UTC);
    }
    if let Some(rest) = t.strip_prefix(['+', '-']) {
        let negative = t.starts_with('-');
        let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
        let minutes = match (h.parse::<i32>(), m.parse::<i32>()) {
            (Ok(h), Ok(m)) if (0..=14).contains(&h) && (0..60).contains(&m) => h * 60 + m,
            _ => {
                return Err(format!(
                    "'{text}' is not an offset: write it as +05:45, -03:00 or +8"
                ));
            }
        };
        let seconds = if negative { -minutes } else { minutes } * 60;
        let offset = jiff::tz::Offset::from_seconds(seconds).map_err(|e| e.to_string())?;
        return Ok(jiff::tz::TimeZone::fixed(offset));
    }
    jiff::tz::TimeZone::get(t).map_err(|_| {
        format!(
            "no time zone '{text}': give an IANA name such as Europe/Paris or \
             America/New_York, UTC, or an offset such as +05:45"
        )
    })
}

/// A moment as people write it, in ms since the epoch: RFC 3339 (`2024-03-01T12:00:00Z`,
/// `…+08:00`), a date and time without an offset (`2024-03-01T12:00`, `2024-03-01 12:00:00`) or a
/// date (`2024-03-01`, midnight) read in `zone`, epoch seconds or milliseconds after `@`
/// (`@1709294400`, `@1709294400000`), `now`, or a time before now (`-15m`, `-2d`, `-1h30m`).
/// The error says what was understood.
pub(crate) fn parse_time(
    text: &str,
    zone: &jiff::tz::TimeZone,
    now_ms: u64,
) -> Result<i64, String> {
    let t = text.trim();
    let formats = "give RFC 3339 (2024-03-01T12:00:00Z), a date (2024-03-01), a time in --tz \
                   (2024-03-01T12:00), @epoch seconds or ms (@1709294400), or a time before \
                   now (-15m, -2d)";
    if t.eq_ignore_ascii_case("now") {
        return Ok(now_ms as i64);
    }
    if let Some(epoch) = t.strip_prefix('@') {
        let n: i64 = epoch
            .parse()
            .map_err(|_| format!("'{text}': '{epoch}' after @ is not a whole number"))?;
        // Ten digits are seconds until the year 5138; thirteen are milliseconds.
        return Ok(if n.abs() >= 100_000_000_000 {
            n
        } else {
            n * 1000
        });
    }
    if let Some(ago) = t.strip_prefix('-') {
        let d = humantime::parse_duration(ago)
            .map_err(|e| format!("'{text}': '{ago}' is not a duration ({e}); {formats}"))?;
        return Ok(now_ms as i64 - i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2));
    }
    if let Ok(at) = t.parse::<jiff::Timestamp>() {
        return Ok(at.as_millisecond());
    }
    let civil = t
        .parse::<jiff::civil::DateTime>()
        .or_else(|_| t.parse::<jiff::civil::Date>().map(|d| d.at(0, 0, 0, 0)));
    match civil {
        Ok(dt) => zone
            .to_timestamp(dt)
            .map(|at| at.as_millisecond())
            .map_err(|e| format!("'{text}': {e}")),
        // The parser's own words only for what looks like a date (a month out of range).
        Err(e) => Err(match t.to_ascii_lowercase().as_str() {
            "yesterday" => format!("'{text}' is not a time: for a day ago write -1d, or a date"),
            "today" => format!("'{text}' is not a time: for midnight write a date, or now"),
            _ if t.starts_with(|c: char| c.is_ascii_digit()) => {
                format!("'{text}' is not a time ({e}); {formats}")
            }
            _ => format!("'{text}' is not a time; {formats}"),
        }),
    }
}

/// How many minutes `zone` is ahead of UTC at `ms` since the epoch.
pub(crate) fn offset_minutes(zone: &jiff::tz::TimeZone, ms: u64) -> i32 {
    let at = jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX))
        .unwrap_or(jiff::Timestamp::MAX);
    zone.to_offset(at).seconds() / 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_for_a_time_is_answered_with_what_to_write() {
        let utc = jiff::tz::TimeZone::UTC;
        let e = parse_time("yesterday", &utc, 0).unwrap_err();
        assert!(e.contains("write -1d"), "{e}");
        assert!(!e.contains("four digit"), "no parser words: {e}");
        let e = parse_time("2024-13-45", &utc, 0).unwrap_err();
        assert!(e.contains("month"), "{e}");
    }

    #[test]
    fn times_are_read_in_every_form() {
        let utc = jiff::tz::TimeZone::UTC;
        let paris = zone("Europe/Paris").unwrap();
        let now = 1_709_294_400_000;
        assert_eq!(parse_time("2024-03-01T12:00:00Z", &utc, 0), Ok(now as i64));
        assert_eq!(
            parse_time("2024-03-01T20:00:00+08:00", &utc, 0),
            Ok(now as i64)
        );
        assert_eq!(parse_time("2024-03-01T12:00", &utc, 0), Ok(now as i64));
        assert_eq!(parse_time("2024-03-01 13:00:00", &paris, 0), Ok(now as i64));
        assert_eq!(
            parse_time("2024-03-01", &utc, 0),
            Ok(now as i64 - 43_200_000)
        );
        assert_eq!(parse_time("@1709294400", &utc, 0), Ok(now as i64));
        assert_eq!(parse_time("@1709294400000", &utc, 0), Ok(now as i64));
        assert_eq!(parse_time("-15m", &utc, now), Ok(now as i64 - 900_000));
        assert_eq!(parse_time("now", &utc, now), Ok(now as i64));
        let bad = parse_time("2024-13-01", &utc, now).unwrap_err();
        assert!(bad.contains("2024-13-01") && bad.contains("month"), "{bad}");
        assert!(
            parse_time("-2x", &utc, now)
                .unwrap_err()
                .contains("not a duration")
        );
    }

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

    #[test]
    fn zones_are_names_or_offsets_and_daylight_saving_moves_the_offset() {
        let winter = 1_700_000_000_000; // 2023-11-14
        let summer = 1_690_000_000_000; // 2023-07-22
        let paris = zone("Europe/Paris").unwrap();
        assert_eq!(offset_minutes(&paris, winter), 60);
        assert_eq!(offset_minutes(&paris, summer), 120);
        assert_eq!(offset_minutes(&zone("+05:45").unwrap(), winter), 345);
        assert_eq!(offset_minutes(&zone("-3:30").unwrap(), winter), -210);
        assert_eq!(offset_minutes(&zone("UTC").unwrap(), winter), 0);
        assert!(zone("Mars/Olympus").unwrap_err().contains("IANA name"));
        assert!(zone("+25:00").unwrap_err().contains("not an offset"));
    }
}
