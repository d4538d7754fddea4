//! Binance's decimals, the one place that reads and compares them. Prices, quantities and
//! volumes arrive as strings (`"97123.45000000"`) and stay strings to the output: nothing here
//! turns one into a float. [`is_plain`] is what an answer may hold, [`compare`] orders two
//! decimals exactly (for `--until`), [`difference`] subtracts them exactly (for the live
//! tables' change column), and [`convert`] multiplies and divides them exactly for `--in`,
//! rounding once. Vocabulary: imports nothing of the crate.

use std::cmp::Ordering;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

/// Whether `value` is a decimal as Binance writes one: digits, optionally a point and more
/// digits, and a leading `-` only when `signed` (a change can be negative; a price cannot).
/// No `+`, exponent, spaces, `NaN` or empty part.
pub(crate) fn is_plain(value: &str, signed: bool) -> bool {
    let digits = match value.strip_prefix('-') {
        Some(rest) if signed => rest,
        _ => value,
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    let ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    ok(int) && ok(frac)
}

/// A decimal as (negative, integer digits without leading zeros, fraction digits without
/// trailing zeros); `None` if it is not one.
fn parts(s: &str) -> Option<(bool, &str, &str)> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !ok(int) || !ok(frac) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    // -0 is 0.
    let negative = negative && !(int.is_empty() && frac.is_empty());
    Some((negative, int, frac))
}

/// Whether a person's `s` is a decimal number (`100000`, `+3.5`, `-0.25`, `.5`): looser than
/// [`is_plain`], for values typed on the command line.
pub(crate) fn is_number(s: &str) -> bool {
    parts(s).is_some()
}

/// `a` against `b`, exactly; `None` if either is not a decimal.
pub(crate) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (na, ia, fa) = parts(a)?;
    let (nb, ib, fb) = parts(b)?;
    let magnitude = ia
        .len()
        .cmp(&ib.len())
        .then_with(|| ia.cmp(ib))
        .then_with(|| fa.cmp(fb));
    Some(match (na, nb) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
    })
}

/// `now - before` on decimal strings, exactly (no floats): `+1.50000000`, `-0.00000001`, or
/// `0` when unchanged. `None` if either is not a plain decimal.
pub(crate) fn difference(before: &str, now: &str) -> Option<String> {
    let places = |s: &str| s.split_once('.').map_or(0, |(_, f)| f.len());
    let scale = places(before).max(places(now));
    let units = |s: &str| -> Option<i128> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = format!("{int}{frac:0<scale$}");
        digits.parse().ok()
    };
    let diff = units(now)? - units(before)?;
    if diff == 0 {
        return Some("0".into());
    }
    let sign = if diff > 0 { '+' } else { '-' };
    let abs = diff.unsigned_abs().to_string();
    let abs = format!("{abs:0>width$}", width = scale + 1);
    let (int, frac) = abs.split_at(abs.len() - scale);
    Some(if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

/// The sum of plain decimals, exactly, with as many places as the longest (Binance's volumes:
/// `1.50000000` + `2.25000000` = `3.75000000`). `None` if one is not a plain decimal or the sum
/// does not fit.
pub(crate) fn sum<'a>(values: impl Iterator<Item = &'a str> + Clone) -> Option<String> {
    let places = |s: &str| s.split_once('.').map_or(0, |(_, f)| f.len());
    let scale = values.clone().map(places).max().unwrap_or(0);
    let mut total: i128 = 0;
    for v in values {
        if !is_plain(v, false) {
            return None;
        }
        let (int, frac) = v.split_once('.').unwrap_or((v, ""));
        let units: i128 = format!("{int}{frac:0<scale$}").parse().ok()?;
        total = total.checked_add(units)?;
    }
    let digits = format!("{total:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    Some(if scale == 0 {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    })
}

/// The product of `legs` (each a price, divided by instead when its flag says inverted),
/// computed exactly to 28 significant digits and rounded once, half to even, by the printing
/// rule: 8 decimal places, or as many as 8 significant digits need (1 PEPE in BTC is
/// `0.000000000042420239`, never `0.00000000`). The error says why there is no result: a
/// price that is not a positive decimal, or a result out of the 28 digits' range.
pub(crate) fn convert(legs: &[(&str, bool)]) -> Result<String, Unusable> {
    let mut numerator = Decimal::ONE;
    let mut denominator = Decimal::ONE;
    for (price, inverted) in legs {
        let value = Decimal::from_str(price).map_err(|_| Unusable::NotPositive)?;
        if value <= Decimal::ZERO {
            return Err(Unusable::NotPositive);
        }
        let side = if *inverted {
            &mut denominator
        } else {
            &mut numerator
        };
        *side = side.checked_mul(value).ok_or(Unusable::TooLarge)?;
    }
    let exact = numerator
        .checked_div(denominator)
        .ok_or(Unusable::TooLarge)?;
    if exact.is_zero() {
        return Err(Unusable::TooSmall);
    }
    Ok(rounded(exact))
}

/// Why [`convert`] has no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// A leg's price is zero, negative or not a decimal.
    NotPositive,
    /// The result is below 1e-28, the smallest the 28 digits hold (never printed as 0).
    TooSmall,
    /// The result, or a product on the way, is beyond 7.9e28.
    TooLarge,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotPositive => "a leg has no usable price (zero, negative or not a number)",
            Self::TooSmall => "the result is too small to represent (below 1e-28)",
            Self::TooLarge => "the result is too large to represent (above 7.9e28)",
        })
    }
}

/// `value` rounded half to even to 8 decimal places, or to 8 significant digits when that
/// needs more, and written with exactly that many places.
fn rounded(value: Decimal) -> String {
    let mut magnitude = 0i32;
    let mut x = value.abs();
    if !x.is_zero() {
        while x >= Decimal::TEN {
            x /= Decimal::TEN;
            magnitude += 1;
        }
        while x < Decimal::ONE {
            x *= Decimal::TEN;
            magnitude -= 1;
        }
    }
    let places = (7 - magnitude).clamp(8, 28) as u32;
    let mut r = value.round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven);
    r.rescale(places);
    r.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_exact_at_the_longest_scale() {
        let v = ["1.50000000", "2.25000000", "0.00000001"];
        assert_eq!(sum(v.iter().copied()).as_deref(), Some("3.75000001"));
        assert_eq!(sum(["1", "2.5"].iter().copied()).as_deref(), Some("3.5"));
        assert_eq!(sum(["0.1", "0.2"].iter().copied()).as_deref(), Some("0.3"));
        assert_eq!(sum(["1e3"].iter().copied()), None);
        assert_eq!(sum(std::iter::empty()).as_deref(), Some("0"));
    }

    #[test]
    fn only_plain_decimals_pass() {
        assert!(is_plain("97123.45000000", false));
        assert!(is_plain("0", false));
        assert!(is_plain("-1.25", true));
        for bad in [
            "", "-1.25", "1e5", "NaN", ".5", "5.", "+1", " 1", "1\n", "1.2.3",
        ] {
            assert!(!is_plain(bad, false), "{bad:?}");
        }
    }

    #[test]
    fn decimals_compare_exactly() {
        assert_eq!(compare("97123.45000000", "97123.45"), Some(Ordering::Equal));
        assert_eq!(compare("0.10000000", "0.1"), Some(Ordering::Equal));
        assert_eq!(
            compare("0.30000000000000004", "0.3"),
            Some(Ordering::Greater)
        );
        assert_eq!(compare("99999.99999999", "100000"), Some(Ordering::Less));
        assert_eq!(
            compare("100000.00000001", "100000"),
            Some(Ordering::Greater)
        );
        assert_eq!(compare("-1.5", "-1.25"), Some(Ordering::Less));
        assert_eq!(compare("-0", "0"), Some(Ordering::Equal));
        assert_eq!(compare("00012", "12.0"), Some(Ordering::Equal));
        assert_eq!(compare("1e5", "1"), None);
        assert_eq!(compare("NaN", "1"), None);
    }

    #[test]
    fn changes_are_exact_decimal_differences() {
        assert_eq!(
            difference("97123.45000000", "97125.95000000").as_deref(),
            Some("+2.50000000")
        );
        assert_eq!(
            difference("0.00000412", "0.00000411").as_deref(),
            Some("-0.00000001")
        );
        assert_eq!(difference("1.10000000", "1.10000000").as_deref(), Some("0"));
        assert_eq!(
            difference("0.1", "0.3").as_deref(),
            Some("+0.2"),
            "never 0.19999999999999998"
        );
        assert_eq!(difference("5", "3.25").as_deref(), Some("-1.75"));
        assert_eq!(difference("abc", "1"), None);
    }

    #[test]
    fn conversions_are_exact_and_rounded_once_half_to_even() {
        // ADA in EUR through USDT: 0.4512 / 1.0823.
        assert_eq!(
            convert(&[("0.45120000", false), ("1.08230000", true)])
                .ok()
                .as_deref(),
            Some("0.41688996")
        );
        // 1 EUR in BTC, the inverse of BTCEUR 28000: 8 significant digits.
        assert_eq!(
            convert(&[("28000.00000000", true)]).ok().as_deref(),
            Some("0.000035714286")
        );
        // Exactly halfway at the 8th place goes to the even neighbour, both ways.
        assert_eq!(
            convert(&[("1.000000005", false)]).ok().as_deref(),
            Some("1.00000000")
        );
        assert_eq!(
            convert(&[("1.000000015", false)]).ok().as_deref(),
            Some("1.00000002")
        );
        assert_eq!(
            convert(&[("2.00000001", false), ("2", true)])
                .ok()
                .as_deref(),
            Some("1.00000000")
        );
        // A tiny price in BTC keeps 8 significant digits.
        assert_eq!(
            convert(&[("0.00000412", false), ("97123.45000000", true)])
                .ok()
                .as_deref(),
            Some("0.000000000042420239")
        );
        assert_eq!(
            convert(&[("97123.45", false), ("34.512", false)])
                .ok()
                .as_deref(),
            Some("3351924.50640000")
        );
        assert_eq!(convert(&[("0", true)]), Err(Unusable::NotPositive));
        assert_eq!(convert(&[("abc", false)]), Err(Unusable::NotPositive));
        // 1e-20 / 1e10 is 1e-30: not a 0.
        assert_eq!(
            convert(&[("0.00000000000000000001", false), ("10000000000", true)]),
            Err(Unusable::TooSmall)
        );
    }
}
