//! `--in ASSET --candles`: an asset's candles in ASSET, made of its legs' candles aligned by
//! open time. The open and the close are exact (products and quotients of the legs' opens and
//! closes, by the one rounding rule); a high and a low cannot be made of two legs' extremes
//! (they need not fall at the same moment), so a converted row has none. A route that is one
//! pair as it is (no inverse) gives that pair's candles as sent, every column.
//!
//! The legs' candles are held until every leg's range is in (they must be aligned), so the
//! range is bounded before anything is sent: at most [`MOST_LEG_REQUESTS`] requests of 1,000
//! candles over all legs.

use std::collections::{BTreeMap, HashMap};

use crate::error::FetchError;
use crate::market::Candle;
use crate::pairs::Leg;

/// The most requests (of up to 1,000 candles) the legs of one `--in --candles` run may need:
/// their candles are held to be aligned (about 80 MB at most).
pub(crate) const MOST_LEG_REQUESTS: usize = 300;

/// Every leg's candles, by open time, as they came in.
pub(crate) type LegCandles = HashMap<String, BTreeMap<i64, Candle>>;

/// One row of an asset in the target.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InRow<'a> {
    /// The route is this one pair: its candle as sent.
    Direct(&'a Candle),
    /// Made of the legs: the open and the close in the target.
    Converted {
        open_ms: i64,
        close_ms: i64,
        open: String,
        close: String,
    },
}

impl InRow<'_> {
    /// When the row's candle opens.
    pub(crate) fn open_ms(&self) -> i64 {
        match self {
            Self::Direct(c) => c.open_ms,
            Self::Converted { open_ms, .. } => *open_ms,
        }
    }
}

/// The rows of `asset` along `route` in time order: one for each open time every leg has a
/// candle for (a time a leg has none for is that leg's gap, said as it came). A leg price that
/// cannot be combined (a zero to divide by) is the asset's failure.
pub(crate) fn rows<'a>(
    asset: &str,
    target: &str,
    route: &[Leg],
    legs: &'a LegCandles,
) -> Result<Vec<InRow<'a>>, FetchError> {
    let series: Vec<&BTreeMap<i64, Candle>> = route
        .iter()
        .map(|leg| legs.get(&leg.symbol))
        .collect::<Option<_>>()
        .unwrap_or_default();
    let Some((first, rest)) = series.split_first() else {
        return Ok(Vec::new());
    };
    if let [leg] = route
        && !leg.inverted
    {
        return Ok(first.values().map(InRow::Direct).collect());
    }
    let mut rows = Vec::with_capacity(first.len());
    for (open_ms, head) in first.iter() {
        let Some(others) = rest
            .iter()
            .map(|s| s.get(open_ms))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        let candles: Vec<&Candle> = std::iter::once(head).chain(others).collect();
        let side = |pick: fn(&Candle) -> &str| {
            let prices: Vec<(&str, bool)> = (candles.iter().zip(route))
                .map(|(c, leg)| (pick(c), leg.inverted))
                .collect();
            crate::decimal::convert(&prices).map_err(|why| FetchError::Unusable {
                detail: format!(
                    "{asset} in {target} at {}: {why}",
                    crate::clock::rfc3339_millis(*open_ms as u64)
                ),
            })
        };
        rows.push(InRow::Converted {
            open_ms: *open_ms,
            close_ms: head.close_ms,
            open: side(|c| c.values()[0])?,
            close: side(Candle::close)?,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candle(open_ms: i64, open: &str, close: &str) -> Candle {
        Candle::new(
            open_ms,
            [open, open, close, close, "1", "1"],
            1,
            open_ms + 999,
        )
    }

    /// A leg's candles for a test: (open time, open, close).
    type Series<'a> = &'a [(i64, &'a str, &'a str)];

    fn legs(series: &[(&str, Series<'_>)]) -> LegCandles {
        series
            .iter()
            .map(|(symbol, rows)| {
                let by_open = rows.iter().map(|&(t, o, c)| (t, candle(t, o, c))).collect();
                ((*symbol).to_owned(), by_open)
            })
            .collect()
    }

    fn leg(symbol: &str, inverted: bool) -> Leg {
        Leg {
            symbol: symbol.to_owned(),
            inverted,
        }
    }

    #[test]
    fn two_legs_make_open_and_close_exactly_and_a_missing_leg_makes_no_row() {
        let l = legs(&[
            (
                "ADAUSDT",
                &[
                    (0, "0.5", "0.6"),
                    (1000, "0.6", "0.7"),
                    (2000, "0.7", "0.8"),
                ],
            ),
            ("EURUSDT", &[(0, "1.25", "1.2"), (2000, "1.0", "1.6")]),
        ]);
        let route = [leg("ADAUSDT", false), leg("EURUSDT", true)];
        let rows = rows("ADA", "EUR", &route, &l).unwrap();
        assert_eq!(
            rows,
            [
                InRow::Converted {
                    open_ms: 0,
                    close_ms: 999,
                    open: "0.40000000".into(),
                    close: "0.50000000".into()
                },
                InRow::Converted {
                    open_ms: 2000,
                    close_ms: 2999,
                    open: "0.70000000".into(),
                    close: "0.50000000".into()
                },
            ]
        );
    }

    #[test]
    fn a_direct_pair_is_its_candles_as_sent_and_an_inverse_is_converted() {
        let l = legs(&[("BTCEUR", &[(0, "90000.5", "91000.25")])]);
        let direct = rows("BTC", "EUR", &[leg("BTCEUR", false)], &l).unwrap();
        assert!(matches!(direct[..], [InRow::Direct(c)] if c.close() == "91000.25"));
        let inverse = rows("EUR", "BTC", &[leg("BTCEUR", true)], &l).unwrap();
        assert!(
            matches!(&inverse[..], [InRow::Converted { close, .. }] if close == "0.000010988981")
        );
    }
}
