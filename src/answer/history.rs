//! What Binance's history answers mean: `klines` rows (arrays of twelve) and `aggTrades`
//! objects, with their times in milliseconds or microseconds (Binance sends microseconds when
//! asked, and its public data files use them since 2025), and every price an exact decimal.

use serde::Deserialize;

use super::{RawAnswer, decode};
use crate::decimal::is_plain;
use crate::error::FetchError;
use crate::market::{Candle, FundingRate, Trade};

/// A time Binance wrote, in ms: microseconds are told by their size (sixteen digits; ms have
/// thirteen until the year 2286).
pub(crate) fn millis(t: i64) -> i64 {
    if t.abs() >= 100_000_000_000_000 {
        t / 1000
    } else {
        t
    }
}

fn bad(raw: &RawAnswer, detail: String) -> FetchError {
    FetchError::Decode {
        status: raw.status,
        detail,
    }
}

/// One `klines` row, its strings borrowed from the body: `[openTime, open, high, low, close,
/// volume, closeTime, quoteVolume, trades, …]` (fields past the ninth, and any Binance adds
/// later, are skipped).
struct Row<'a> {
    open_ms: i64,
    values: [&'a str; 6],
    close_ms: i64,
    trades: u64,
}

impl<'de> Deserialize<'de> for Row<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Row<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a kline: [openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, …]")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Row<'de>, A::Error> {
                use serde::de::Error;
                let open_ms: i64 = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::custom("no open time"))?;
                let mut values = [""; 6];
                for (i, name) in ["open", "high", "low", "close", "volume"]
                    .iter()
                    .enumerate()
                {
                    values[i] = seq
                        .next_element::<&'de str>()?
                        .ok_or_else(|| A::Error::custom(format!("no {name}")))?;
                }
                let close_ms: i64 = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::custom("no close time"))?;
                values[5] = seq
                    .next_element::<&'de str>()?
                    .ok_or_else(|| A::Error::custom("no quote volume"))?;
                let trades: u64 = seq.next_element()?.unwrap_or_default();
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Row {
                    open_ms,
                    values,
                    close_ms,
                    trades,
                })
            }
        }
        d.deserialize_seq(Visitor)
    }
}

/// `klines` / `uiKlines`: arrays of twelve, oldest first.
pub(crate) fn decode_klines(raw: &RawAnswer) -> Result<Vec<Candle>, FetchError> {
    let rows: Vec<Row<'_>> = serde_json::from_slice(&raw.body)
        .map_err(|e| bad(raw, format!("not the expected klines ({e})")))?;
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            if let Some(v) = row.values.iter().find(|v| !is_plain(v, false)) {
                return Err(bad(raw, format!("candle {i}: {v:?} is not a decimal")));
            }
            Ok(Candle::new(
                millis(row.open_ms),
                row.values,
                row.trades,
                millis(row.close_ms),
            ))
        })
        .collect()
}

/// `aggTrades`: `[{"a":id,"p":"price","T":time,…}]`, oldest first.
pub(crate) fn decode_agg_trades(raw: &RawAnswer) -> Result<Vec<Trade>, FetchError> {
    #[derive(Deserialize)]
    struct Dto {
        a: u64,
        p: String,
        #[serde(rename = "T")]
        time: i64,
    }
    let rows: Vec<Dto> = decode(raw)?;
    rows.into_iter()
        .map(|d| {
            if !is_plain(&d.p, false) {
                return Err(bad(
                    raw,
                    format!("trade {}: price {:?} is not a decimal", d.a, d.p),
                ));
            }
            Ok(Trade {
                id: d.a,
                price: d.p,
                time_ms: millis(d.time),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(body: &str) -> RawAnswer {
        RawAnswer {
            status: 200,
            retry_after: None,
            body: body.as_bytes().to_vec(),
            location: None,
            encoding: None,
        }
    }

    #[test]
    fn candles_and_trades_in_ms_or_microseconds() {
        let row = r#"[[1709251200000,"61000.10","61500.00","60900.00","61234.56","12.5",1709254799999,"765432.1",321,"6","300000.0","0"]]"#;
        let c = decode_klines(&raw(row)).unwrap();
        assert_eq!(
            (c[0].open_ms, c[0].close_ms, c[0].trades),
            (1_709_251_200_000, 1_709_254_799_999, 321)
        );
        assert_eq!(c[0].close(), "61234.56");
        assert_eq!(c[0].values()[5], "765432.1");
        let micros = row
            .replace("1709251200000", "1709251200000000")
            .replace("1709254799999", "1709254799999999");
        assert_eq!(
            decode_klines(&raw(&micros)).unwrap()[0].open_ms,
            1_709_251_200_000
        );
        let t = decode_agg_trades(&raw(r#"[{"a":7,"p":"1.50000000","q":"1","f":1,"l":1,"T":1709251200123456,"m":true,"M":true}]"#)).unwrap();
        assert_eq!((t[0].id, t[0].time_ms), (7, 1_709_251_200_123));
        assert!(decode_klines(&raw(r#"[[1,"NaN","1","1","1","1",2,"1",0]]"#)).is_err());
        assert!(decode_agg_trades(&raw(r#"[{"a":1,"p":"-5","T":1}]"#)).is_err());
    }
}

/// One row of the futures' `fundingRate`, as Binance sends it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FundingDto {
    symbol: String,
    funding_rate: String,
    funding_time: i64,
    #[serde(default)]
    mark_price: String,
}

/// `fundingRate` for `symbol`: its rows oldest first, each rate an exact decimal (negative ones
/// too), the mark price one or empty (COIN-M's older rows have none).
pub(crate) fn decode_funding(
    raw: &RawAnswer,
    symbol: &str,
) -> Result<Vec<FundingRate>, FetchError> {
    let rows: Vec<FundingDto> = decode(raw)?;
    let mut last = i64::MIN;
    rows.into_iter()
        .map(|d| {
            let time_ms = millis(d.funding_time);
            let good = d.symbol == symbol
                && is_plain(&d.funding_rate, true)
                && (d.mark_price.is_empty() || is_plain(&d.mark_price, false))
                && time_ms > last;
            if !good {
                return Err(bad(
                    raw,
                    format!("a funding row that is not {symbol}'s next one"),
                ));
            }
            last = time_ms;
            Ok(FundingRate {
                time_ms,
                rate: d.funding_rate,
                mark: d.mark_price,
            })
        })
        .collect()
}
