//! One klines request of history's, through the engine's throttle and retries, and Binance's
//! page size: shared by the candles of a range and by `--at`'s search.

use crate::error::FetchError;
use crate::fetch::Engine;
use crate::market::Candle;

/// Binance's most candles (and trades) per request.
pub(crate) const PAGE: u32 = 1000;

pub(super) const MINUTE_MS: i64 = 60_000;

/// One klines request: up to the market's page (1,000 on spot, 1,500 on the futures) of
/// `interval` candles of `symbol` that open in [start, end] (ms; the latest page before `end`
/// without a start), at `zone`'s offset (UTC without one), through the throttle and retries of
/// every request.
pub(super) async fn klines(
    engine: &Engine,
    symbol: &str,
    interval: &str,
    (start, end): (Option<i64>, i64),
    zone: Option<&str>,
) -> Result<Vec<Candle>, FetchError> {
    let what = format!("{symbol} {interval} candles");
    let market = engine.market();
    let limit = limit(market.klines_page(), interval, (start, end));
    engine
        .call(market.klines_weight(limit), &what, |host| {
            engine
                .client()
                .klines(host, symbol, interval, start, end, limit, zone)
        })
        .await
}

/// The `limit` of a klines request for [start, end]: as many candles as can open in it, at
/// most a page (the futures weigh a request by its limit, not by what it answers).
fn limit(page: u32, interval: &str, (start, end): (Option<i64>, i64)) -> u32 {
    let shortest = crate::interval::Interval::parse(interval)
        .ok()
        .map(|i| i.length_ms().unwrap_or(28 * 24 * 60 * MINUTE_MS));
    match (start, shortest) {
        (Some(start), Some(len)) if len > 0 => {
            let fits = (end - start) / len + 1;
            u32::try_from(fits.clamp(1, i64::from(page))).unwrap_or(page)
        }
        _ => page,
    }
}
