//! The futures markets' streams, as binance-api.md ("Futures") and Binance's 2026 routing
//! describe them: USD-M's under `/market` (mark prices, mini tickers, tickers) and `/public`
//! (book tickers), a stream asked on the wrong route refused; COIN-M's under `/coinm` here (one
//! port for three exchanges: `dstream.binance.com` has no route of its own). Every message is
//! made from the object REST answers for the contract at that moment, so a stream and REST
//! agree: `markPriceUpdate` from `premiumIndex`, the tickers from the 24-hour ticker, the book
//! from `bookTicker`. At most 200 streams and 10 incoming messages a second a connection.

use serde_json::{Value, json};

use crate::Shared;
use crate::futures::{book, contracts, day, premium};
use crate::venue::Venue;

/// One futures stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FKind {
    Mini,
    Ticker,
    Book,
    Mark,
    AllMini,
    AllMark,
}

/// `name` on `venue`: which stream of which contract (its index among the venue's), or
/// `None` for a name this venue does not serve (the book off `/public`, the rest on it).
pub(crate) fn parse(shared: &Shared, venue: Venue, name: &str) -> Option<(FKind, Option<usize>)> {
    let (kind, contract) = match name {
        "!miniTicker@arr" => (FKind::AllMini, None),
        // (COIN-M has no all-market mark price stream: a symbol's, or a pair's.)
        "!markPrice@arr" | "!markPrice@arr@1s" if venue != Venue::Coinm => (FKind::AllMark, None),
        _ => {
            let (symbol, stream) = name.split_once('@')?;
            let kind = match stream {
                "miniTicker" => FKind::Mini,
                "ticker" => FKind::Ticker,
                "bookTicker" => FKind::Book,
                "markPrice" | "markPrice@1s" => FKind::Mark,
                _ => return None,
            };
            if symbol != symbol.to_lowercase() {
                return None;
            }
            let upper = symbol.to_uppercase();
            let i = contracts(shared, venue.coin())
                .iter()
                .position(|c| c.symbol() == upper)?;
            (kind, Some(i))
        }
    };
    let routed = match venue {
        Venue::UsdmPublic => kind == FKind::Book,
        Venue::UsdmMarket => kind != FKind::Book,
        Venue::Coinm => true,
        Venue::Spot => false,
    };
    routed.then_some((kind, contract))
}

/// The message of one stream at `event_ms` (`step`: updates so far on this connection).
pub(crate) fn payload(
    shared: &Shared,
    venue: Venue,
    (kind, contract): (FKind, Option<usize>),
    step: u64,
    event_ms: u64,
) -> Value {
    let coin = venue.coin();
    let all = contracts(shared, coin);
    let one = |c| match kind {
        FKind::Mini | FKind::AllMini => mini(&day(c, coin, event_ms), event_ms),
        FKind::Ticker => ticker(&day(c, coin, event_ms), event_ms),
        FKind::Book => {
            let b = book(c, coin, event_ms);
            json!({"e": "bookTicker", "u": 400_900_000 + step, "E": event_ms, "T": event_ms,
                   "s": b["symbol"], "b": b["bidPrice"], "B": b["bidQty"], "a": b["askPrice"],
                   "A": b["askQty"]})
        }
        FKind::Mark | FKind::AllMark => mark(&premium(c, coin, event_ms), event_ms),
    };
    match contract {
        Some(i) => all.get(i).map_or(Value::Null, |c| one(c)),
        None => Value::Array(all.into_iter().map(one).collect()),
    }
}

fn mark(p: &Value, event_ms: u64) -> Value {
    json!({"e": "markPriceUpdate", "E": event_ms, "s": p["symbol"], "p": p["markPrice"],
           "i": p["indexPrice"], "P": p["estimatedSettlePrice"], "r": p["lastFundingRate"],
           "T": p["nextFundingTime"]})
}

/// (COIN-M's `q` is the coin's volume, its `v` contracts.)
fn mini(d: &Value, event_ms: u64) -> Value {
    let q = d.get("quoteVolume").unwrap_or(&d["baseVolume"]);
    json!({"e": "24hrMiniTicker", "E": event_ms, "s": d["symbol"], "c": d["lastPrice"],
           "o": d["openPrice"], "h": d["highPrice"], "l": d["lowPrice"],
           "v": d["volume"], "q": q})
}

fn ticker(d: &Value, event_ms: u64) -> Value {
    let q = d.get("quoteVolume").unwrap_or(&d["baseVolume"]);
    json!({"e": "24hrTicker", "E": event_ms, "s": d["symbol"], "p": d["priceChange"],
           "P": d["priceChangePercent"], "w": d["weightedAvgPrice"], "c": d["lastPrice"],
           "Q": d["lastQty"], "o": d["openPrice"], "h": d["highPrice"], "l": d["lowPrice"],
           "v": d["volume"], "q": q, "O": d["openTime"], "C": event_ms,
           "F": d["firstId"], "L": d["lastId"], "n": d["count"]})
}
