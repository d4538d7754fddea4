//! `--funding`: each perpetual's funding rates over a range, from the futures' `fundingRate`:
//! 1,000 a request, page after page from the range's start (Binance answers the first 1,000
//! from `startTime`), `-c` symbols at once, each symbol's rows in time order and the symbols in
//! the asked order. Paced by the funding history's own limit (500 requests per 5 minutes per
//! IP), a throttle of its own that the caller gives.

use futures_util::StreamExt as _;

use crate::error::FetchError;
use crate::fetch::Engine;
use crate::market::FundingRate;
use crate::throttle::Throttle;

/// Fundings per request: Binance's most.
pub(crate) const FUNDING_PAGE: u32 = 1000;

/// Requests the funding limit allows a minute, spread: 500 per 5 minutes.
pub(crate) const FUNDING_PER_MINUTE: u32 = 100;

/// The most pages one symbol may take: 64,000 fundings (58 years of 8-hour fundings); a server
/// that never gets to the end of a range is a decode error, never a loop.
const MOST_PAGES: usize = 64;

/// What `--funding` asks: fundings in [from, to), ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FundingAsk {
    pub(crate) from_ms: i64,
    pub(crate) to_ms: i64,
}

/// Every symbol's fundings, `-c` symbols at once, in the asked order.
pub(crate) async fn funding(
    engine: &Engine,
    throttle: &Throttle,
    symbols: &[String],
    ask: FundingAsk,
) -> Vec<Result<Vec<FundingRate>, FetchError>> {
    futures_util::stream::iter(symbols.iter().map(|s| series(engine, throttle, s, ask)))
        .buffered(engine.concurrency().max(1))
        .collect()
        .await
}

/// One symbol's fundings in the range, page after page.
async fn series(
    engine: &Engine,
    throttle: &Throttle,
    symbol: &str,
    ask: FundingAsk,
) -> Result<Vec<FundingRate>, FetchError> {
    let what = format!("{symbol} funding rates");
    let (mut rows, mut start) = (Vec::new(), ask.from_ms);
    for _ in 0..MOST_PAGES {
        let page: Vec<FundingRate> = engine
            .call_through(throttle, (1, &what), |host| {
                (engine.client()).funding_rates(host, symbol, (start, ask.to_ms - 1), FUNDING_PAGE)
            })
            .await?;
        if page
            .iter()
            .any(|r| r.time_ms < start || r.time_ms >= ask.to_ms)
        {
            return Err(outside(symbol));
        }
        let full = page.len() == FUNDING_PAGE as usize;
        start = page.last().map_or(ask.to_ms, |r| r.time_ms + 1);
        rows.extend(page);
        if !full || start >= ask.to_ms {
            return Ok(rows);
        }
    }
    Err(outside(symbol))
}

fn outside(symbol: &str) -> FetchError {
    FetchError::Decode {
        status: 200,
        detail: format!("{symbol}'s funding rates do not keep to the asked range"),
    }
}
