//! One klines request of history's, through the engine's throttle and retries, and Binance's
//! page size: shared by the candles of a range and by `--at`'s search.

use crate::error::FetchError;
use crate::fetch::Engine;
use crate::market::{Candle, KLINES_WEIGHT};

/// Binance's most candles (and trades) per request.
pub(crate) const PAGE: u32 = 1000;

pub(super) const MINUTE_MS: i64 = 60_000;

/// One klines request: up to 1,000 `interval` candles of `symbol` that open in [start, end]
/// (ms; the latest 1,000 before `end` without a start), at `zone`'s offset (UTC without one),
/// through the throttle and retries of every request.
pub(super) async fn klines(
    engine: &Engine,
    symbol: &str,
    interval: &str,
    (start, end): (Option<i64>, i64),
    zone: Option<&str>,
) -> Result<Vec<Candle>, FetchError> {
    let what = format!("{symbol} {interval} candles");
    engine
        .call(KLINES_WEIGHT, &what, |host| {
            engine
                .client()
                .klines(host, symbol, interval, start, end, PAGE, zone)
        })
        .await
}
