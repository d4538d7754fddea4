//! What each stream sends: spot's from the mock's tape (`<symbol>@miniTicker`, `@ticker`,
//! `@bookTicker`, `!miniTicker@arr`), the same fields REST's 24-hour and book tickers give at
//! that moment, so that a stream and REST agree; the futures' from [`crate::futures_stream`].

use serde_json::{Value, json};

use crate::Shared;
use crate::endpoints::{book_json, day_json, price_at};
use crate::futures_stream as futures;
use crate::market::Listing;
use crate::venue::Venue;

/// One subscribed stream: which kind, which listing or contract (none for the all-market
/// array), on which exchange.
#[derive(Debug, Clone)]
pub(crate) struct Sub {
    pub(crate) name: String,
    kind: Kind,
    listing: Option<usize>,
    venue: Venue,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Mini,
    Ticker,
    Book,
    AllMini,
    Futures(futures::FKind),
}

pub(crate) fn parse_stream(shared: &Shared, venue: Venue, name: &str) -> Option<Sub> {
    if venue != Venue::Spot {
        let (kind, listing) = futures::parse(shared, venue, name)?;
        return Some(Sub {
            name: name.to_owned(),
            kind: Kind::Futures(kind),
            listing,
            venue,
        });
    }
    if name == "!miniTicker@arr" {
        return Some(Sub {
            name: name.to_owned(),
            kind: Kind::AllMini,
            listing: None,
            venue,
        });
    }
    let (symbol, kind) = name.split_once('@')?;
    let kind = match kind {
        "miniTicker" => Kind::Mini,
        "ticker" => Kind::Ticker,
        "bookTicker" => Kind::Book,
        _ => return None,
    };
    if symbol != symbol.to_lowercase() {
        return None;
    }
    let listing = *shared.index.get(&symbol.to_uppercase())?;
    Some(Sub {
        name: name.to_owned(),
        kind,
        listing: Some(listing),
        venue,
    })
}

/// A listing's last price on a stream at `event_ms`, after `step` updates on this connection. With moving
/// prices it is the price REST gives at the same instant (one market: a new connection does not
/// start again from the listed price); frozen, a small rise per update, exact to 8 decimals, so
/// that live modes still show changes.
fn last_price(shared: &Shared, l: &Listing, step: u64, event_ms: u64) -> String {
    if shared.opts.moving_prices {
        return price_at(shared, l, event_ms);
    }
    let base: f64 = l.price.parse().unwrap_or(1.0);
    format!("{:.8}", base * (1.0 + 0.00001 * step as f64))
}

/// The 24-hour ticker REST would answer for listing `i` at this price: the streams' fields are
/// copied from it, so that the stream and REST agree.
fn day(shared: &Shared, i: usize, step: u64, event_ms: u64) -> Value {
    let l = &shared.listings[i];
    day_json(i, l, &last_price(shared, l, step, event_ms))
}

fn mini(day: &Value, event_ms: u64) -> Value {
    json!({"e": "24hrMiniTicker", "E": event_ms, "s": day["symbol"], "c": day["lastPrice"],
           "o": day["openPrice"], "h": day["highPrice"], "l": day["lowPrice"],
           "v": day["volume"], "q": day["quoteVolume"]})
}

fn ticker(d: &Value, step: u64, event_ms: u64) -> Value {
    json!({"e": "24hrTicker", "E": event_ms, "s": d["symbol"], "p": d["priceChange"],
           "P": d["priceChangePercent"], "w": d["weightedAvgPrice"], "x": d["prevClosePrice"],
           "c": d["lastPrice"], "Q": d["lastQty"], "b": d["bidPrice"], "B": d["bidQty"],
           "a": d["askPrice"], "A": d["askQty"], "o": d["openPrice"], "h": d["highPrice"],
           "l": d["lowPrice"], "v": d["volume"], "q": d["quoteVolume"], "O": d["openTime"],
           "C": event_ms, "F": 1, "L": 1000 + step, "n": 1000 + step})
}

pub(crate) fn payload(
    shared: &Shared,
    sub: &Sub,
    step: u64,
    event_ms: u64,
    every_pair: bool,
) -> Value {
    match (sub.kind, sub.listing) {
        // Binance's all-market array carries the pairs that changed in the last second: a pair
        // that does not trade never changes, so it is never in it.
        (Kind::AllMini, _) => Value::Array(
            (0..shared.listings.len())
                .filter(|&i| every_pair || shared.listings[i].status == "TRADING")
                .map(|i| mini(&day(shared, i, step, event_ms), event_ms))
                .collect(),
        ),
        (Kind::Futures(kind), listing) => {
            futures::payload(shared, sub.venue, (kind, listing), step, event_ms)
        }
        (Kind::Mini, Some(i)) => mini(&day(shared, i, step, event_ms), event_ms),
        (Kind::Ticker, Some(i)) => ticker(&day(shared, i, step, event_ms), step, event_ms),
        (Kind::Book, Some(i)) => {
            let l = &shared.listings[i];
            let b = book_json(l, &last_price(shared, l, step, event_ms));
            json!({"u": 400_900_000 + step, "s": l.symbol, "b": b["bidPrice"], "B": b["bidQty"],
                   "a": b["askPrice"], "A": b["askQty"]})
        }
        _ => Value::Null,
    }
}
