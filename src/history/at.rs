//! `--at`: for each symbol, the last trade at or before a moment. One `aggTrades` request for
//! the five seconds before it answers a traded pair; otherwise the 1m candles of `--lookback`
//! say which minute last traded, and one `aggTrades` request inside that minute gives the
//! trade. No trade within the lookback is an error that names the last trade before it (or,
//! before a listing, the first trade ever): a price is never shown as if it were current at a
//! moment it was not, and no time is printed that no trade carries. Rows outside the asked
//! range, and a server that contradicts itself, are decode errors after a few requests, never
//! a loop.

use futures_util::StreamExt as _;

use super::request::{MINUTE_MS, PAGE, klines};
use crate::error::FetchError;
use crate::fetch::Engine;
use crate::market::{Candle, Trade};

/// The first look for a trade: this long before the moment (one request for a traded pair).
const FIRST_LOOK_MS: i64 = 5_000;

/// The most pages of trades read for one window (at most a minute, or the first five
/// seconds): 64,000 aggregate trades, far more than any pair has made in a minute. A server
/// that pages on past it is not believed.
const MAX_TRADE_PAGES: u32 = 64;

/// What `--at` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AtAsk {
    /// The moment, ms since the epoch.
    pub(crate) at_ms: i64,
    /// How far before it a trade still counts (`--lookback`), ms.
    pub(crate) lookback_ms: i64,
}

/// One symbol's price at a moment: the last trade at or before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PriceAt {
    /// The trade's price, as Binance wrote it.
    pub(crate) price: String,
    /// When it traded, ms.
    pub(crate) trade_ms: i64,
}

/// `--at` for every symbol, `-c` at a time; results in the asked order.
pub(crate) async fn at(
    engine: &Engine,
    symbols: &[String],
    ask: &AtAsk,
) -> Vec<Result<PriceAt, FetchError>> {
    futures_util::stream::iter(symbols.iter().map(|s| price_at(engine, s, ask)))
        .buffered(engine.concurrency().max(1))
        .collect()
        .await
}

/// The last trade of `symbol` at or before `ask.at_ms`, within `ask.lookback_ms`.
async fn price_at(engine: &Engine, symbol: &str, ask: &AtAsk) -> Result<PriceAt, FetchError> {
    let at = ask.at_ms;
    let since = at - ask.lookback_ms;
    // A traded pair: one request for the few seconds before the moment.
    if let Some(t) = last_trade(engine, symbol, (at - FIRST_LOOK_MS).max(since), at).await? {
        return Ok(found(t));
    }
    // Otherwise the minute that last traded within the lookback, then its last trade. Only the
    // minute that holds the moment can have traded after it alone; the one before it must hold
    // a trade, or the server contradicts itself.
    let mut to = at;
    for _ in 0..2 {
        let Some(minute) = last_traded_minute(engine, symbol, since, to).await? else {
            break;
        };
        let window = (minute.open_ms.max(since), minute.close_ms.min(at));
        if let Some(t) = last_trade(engine, symbol, window.0, window.1).await? {
            return Ok(found(t));
        }
        if minute.close_ms < at {
            return Err(empty_minute(symbol, &minute));
        }
        to = minute.open_ms - 1;
    }
    Err(FetchError::NoTrade {
        symbol: symbol.to_owned(),
        detail: no_trade(engine, symbol, ask).await?,
    })
}

/// A 1m candle that counts trades, none of which `aggTrades` has: a server that breaks the
/// contract (a decode error, never a loop or an invented time).
fn empty_minute(symbol: &str, minute: &Candle) -> FetchError {
    FetchError::Decode {
        status: 200,
        detail: format!(
            "{symbol}'s 1m candle at {} counts {} trades, but aggTrades has none in it",
            crate::clock::rfc3339_millis(minute.open_ms.max(0) as u64),
            minute.trades
        ),
    }
}

/// An answer none of whose rows lie in the asked range [from, to]: Binance never sends one.
fn out_of_range(symbol: &str, what: &str, (from, to): (i64, i64)) -> FetchError {
    FetchError::Decode {
        status: 200,
        detail: format!(
            "{symbol}'s {what} lie outside the asked {} to {}",
            crate::clock::rfc3339_millis(from.max(0) as u64),
            crate::clock::rfc3339_millis(to.max(0) as u64)
        ),
    }
}

/// How long before, for people: `42m 1s`, `3d 2h`, `0s`.
pub(crate) fn ago(ms: i64) -> String {
    crate::text::span_ms(ms)
}

fn found(t: Trade) -> PriceAt {
    PriceAt {
        price: t.price,
        trade_ms: t.time_ms,
    }
}

/// The last trade in [from, to] (at most an hour apart), paging forward while a page is full.
/// Every page starts past the last, so it ends; trades outside [from, to] are not used.
async fn last_trade(
    engine: &Engine,
    symbol: &str,
    from: i64,
    to: i64,
) -> Result<Option<Trade>, FetchError> {
    let mut start = from;
    let mut last: Option<Trade> = None;
    let mut pages = 0;
    loop {
        let what = format!("{symbol} trades");
        let page = engine
            .call(engine.market().agg_trades_weight(), &what, |host| {
                engine
                    .client()
                    .agg_trades(host, symbol, Some((start, to)), None, PAGE)
            })
            .await?;
        let full = page.len() >= PAGE as usize;
        let sent = !page.is_empty();
        let Some(t) = page
            .into_iter()
            .rfind(|t| t.time_ms >= start && t.time_ms <= to)
        else {
            return match sent {
                true => Err(out_of_range(symbol, "trades", (start, to))),
                false => Ok(last),
            };
        };
        // A full page of trades within one millisecond cannot move on: take its last.
        let moved = t.time_ms > start;
        start = t.time_ms;
        last = Some(t);
        pages += 1;
        if !(full && moved) {
            return Ok(last);
        }
        if pages == MAX_TRADE_PAGES {
            return Err(FetchError::Decode {
                status: 200,
                detail: format!(
                    "{symbol}: more than {} trades between {} and {}",
                    MAX_TRADE_PAGES * PAGE,
                    crate::clock::rfc3339_millis(from.max(0) as u64),
                    crate::clock::rfc3339_millis(to.max(0) as u64)
                ),
            });
        }
    }
}

/// The last 1m candle with a trade that opens in [from, to], newest pages first (1,000
/// minutes a request); candles outside the asked page are not used.
async fn last_traded_minute(
    engine: &Engine,
    symbol: &str,
    from: i64,
    to: i64,
) -> Result<Option<Candle>, FetchError> {
    let mut end = to;
    while end >= from {
        let start = (end - i64::from(PAGE) * MINUTE_MS + 1).max(from - from.rem_euclid(MINUTE_MS));
        let rows = klines(engine, symbol, "1m", (Some(start), end), None).await?;
        let sent = !rows.is_empty();
        let inside: Vec<Candle> = rows
            .into_iter()
            .filter(|c| c.open_ms >= start && c.open_ms <= end)
            .collect();
        if sent && inside.is_empty() {
            return Err(out_of_range(symbol, "1m candles", (start, end)));
        }
        if let Some(c) = inside.into_iter().rfind(|c| c.trades > 0) {
            return Ok(Some(c));
        }
        end = start - 1;
    }
    Ok(None)
}

/// Why there is no price: the last trade before the lookback (from the daily candles of the
/// 1,000 days before it, then its minute and trade), or, before the pair's listing, its first
/// trade. A time is printed only when a trade carries it.
async fn no_trade(engine: &Engine, symbol: &str, ask: &AtAsk) -> Result<String, FetchError> {
    let at = ask.at_ms;
    let since = at - ask.lookback_ms;
    let none = format!(
        "no trade in the {} before {}",
        crate::text::span_ms(ask.lookback_ms),
        crate::clock::rfc3339_millis(at.max(0) as u64)
    );
    let days = klines(engine, symbol, "1d", (None, since), None).await?;
    // The day that holds `since` may have traded only after it: then the traded day before.
    let traded = days
        .iter()
        .rev()
        .filter(|c| c.open_ms <= since && c.trades > 0)
        .take(2);
    for day in traded {
        if let Some(when) = last_trade_before(engine, symbol, day, since).await? {
            return Ok(format!(
                "{none}; last traded {}, {} before",
                crate::clock::rfc3339_millis(when.max(0) as u64),
                ago(at - when)
            ));
        }
    }
    Ok(match first_trade(engine, symbol).await? {
        Some(t) if t.time_ms > since => format!(
            "{none}: it had not traded yet; first traded {}",
            crate::clock::rfc3339_millis(t.time_ms.max(0) as u64)
        ),
        _ => format!("{none}, nor in the 1,000 days before"),
    })
}

/// The pair's first trade ever (`aggTrades` from id 0), if it has one.
pub(super) async fn first_trade(
    engine: &Engine,
    symbol: &str,
) -> Result<Option<Trade>, FetchError> {
    let what = format!("{symbol} first trade");
    let first = engine
        .call(engine.market().agg_trades_weight(), &what, |host| {
            engine.client().agg_trades(host, symbol, None, Some(0), 1)
        })
        .await?;
    Ok(first.into_iter().next())
}

/// The time of `day`'s last trade at or before `since`, if it has one.
async fn last_trade_before(
    engine: &Engine,
    symbol: &str,
    day: &Candle,
    since: i64,
) -> Result<Option<i64>, FetchError> {
    let end = day.close_ms.min(since);
    let Some(minute) = last_traded_minute(engine, symbol, day.open_ms, end).await? else {
        return Ok(None);
    };
    match last_trade(engine, symbol, minute.open_ms, minute.close_ms.min(since)).await? {
        Some(t) => Ok(Some(t.time_ms)),
        None if minute.close_ms <= since => Err(empty_minute(symbol, &minute)),
        None => Ok(None),
    }
}
