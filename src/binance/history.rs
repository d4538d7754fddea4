//! History's endpoints, on any market: `klines` (a range's candles), `aggTrades` (the trades
//! around a moment) and the futures' `fundingRate`, each one attempt through the client's
//! [`BinanceClient::get`], decoded by `answer::history`.

use crate::market::{Candle, FundingRate, Trade};

use super::{Attempt, BinanceClient, LARGE_BODY_LIMIT};

impl BinanceClient {
    /// One `klines` request (weight 2): `symbol`'s candles of `interval` that open in
    /// [start, end] (ms, UTC; without a start, the latest up to the end), at most `limit`
    /// (Binance's most is 1,000), with Binance's `timeZone` when the zone is not UTC.
    #[allow(clippy::too_many_arguments, reason = "one per query parameter")]
    pub(crate) async fn klines(
        &self,
        host: usize,
        symbol: &str,
        interval: &str,
        start: Option<i64>,
        end: i64,
        limit: u32,
        time_zone: Option<&str>,
    ) -> Attempt<Vec<Candle>> {
        let (start, end, limit) = (
            start.map(|s| s.to_string()),
            end.to_string(),
            limit.to_string(),
        );
        let mut query = vec![
            ("symbol", symbol),
            ("interval", interval),
            ("endTime", end.as_str()),
            ("limit", limit.as_str()),
        ];
        if let Some(start) = &start {
            query.push(("startTime", start));
        }
        if let Some(zone) = time_zone {
            query.push(("timeZone", zone));
        }
        let attempt = self
            .get(host, "api/v3/klines", &query, LARGE_BODY_LIMIT)
            .await;
        attempt.and_then(|raw| crate::answer::history::decode_klines(&raw))
    }

    /// One `aggTrades` request (weight 4): `symbol`'s trades from `start` to `end`
    /// (inclusive, at most an hour apart) or from trade `from_id` on, oldest first, at most
    /// `limit`.
    /// The futures' `fundingRate`: up to `limit` fundings of `symbol` in [start, end] (ms, both
    /// inclusive), oldest first.
    pub(crate) async fn funding_rates(
        &self,
        host: usize,
        symbol: &str,
        (start, end): (i64, i64),
        limit: u32,
    ) -> Attempt<Vec<FundingRate>> {
        let (start, end, limit) = (start.to_string(), end.to_string(), limit.to_string());
        let query = [
            ("symbol", symbol),
            ("startTime", start.as_str()),
            ("endTime", end.as_str()),
            ("limit", limit.as_str()),
        ];
        let attempt = self
            .get(host, "api/v3/fundingRate", &query, LARGE_BODY_LIMIT)
            .await;
        attempt.and_then(|raw| crate::answer::history::decode_funding(&raw, symbol))
    }

    pub(crate) async fn agg_trades(
        &self,
        host: usize,
        symbol: &str,
        window: Option<(i64, i64)>,
        from_id: Option<u64>,
        limit: u32,
    ) -> Attempt<Vec<Trade>> {
        let texts = window.map(|(s, e)| (s.to_string(), e.to_string()));
        let (from_id, limit) = (from_id.map(|i| i.to_string()), limit.to_string());
        let mut query = vec![("symbol", symbol), ("limit", limit.as_str())];
        if let Some((start, end)) = &texts {
            query.push(("startTime", start));
            query.push(("endTime", end));
        }
        if let Some(id) = &from_id {
            query.push(("fromId", id));
        }
        let attempt = self
            .get(host, "api/v3/aggTrades", &query, LARGE_BODY_LIMIT)
            .await;
        attempt.and_then(|raw| crate::answer::history::decode_agg_trades(&raw))
    }
}
