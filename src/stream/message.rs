//! What Binance's stream messages say, as [`Update`]s: combined (`{"stream","data"}`) or raw,
//! one object or the all-market array, and the replies to `SUBSCRIBE`.
//!
//! Values are kept as the strings Binance sent, in the order of `TickerKind::fields()`, so
//! that every renderer treats a streamed update as it treats a fetched ticker.

use std::borrow::Cow;
use std::time::SystemTime;

use serde::Deserialize;
use serde::de::{self, IgnoredAny};

use super::scan::{Fields, Scanned};
use crate::market::{TickerKind, Update};

/// What one text message was.
#[derive(Debug, PartialEq)]
pub(super) enum Parsed {
    /// Market data for one symbol (a symbol's stream).
    Update(Update),
    /// Market data for several (the all-market array).
    Updates(Vec<Update>),
    /// `serverShutdown`: the server will restart soon; move to another connection.
    Shutdown,
    /// The answer to a JSON method; the error text if it failed.
    Reply(Option<String>),
    /// Anything else (kept out of the output, said with -vv).
    Other,
}

/// One JSON object of a stream, read in place (the strings borrowed from the message unless
/// they hold escapes): the keys of every ticker stream (a raw stream sends them at the top),
/// and of the envelope around them (`data`), of replies (`id`, `error`) and of errors (`code`,
/// `msg`). Ten thousand messages a second are read this way without building a tree of values
/// for each, and without a heap allocation for the object.
#[derive(Deserialize, Default)]
struct Object<'a> {
    #[serde(borrow, default)]
    data: Option<Data<'a>>,
    #[serde(default)]
    id: Option<IgnoredAny>,
    #[serde(borrow, default)]
    error: Option<Problem<'a>>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    msg: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    e: Option<Cow<'a, str>>,
    #[serde(rename = "E", default)]
    event: Option<u64>,
    #[serde(borrow, default)]
    s: Option<Cow<'a, str>>,
    #[serde(default)]
    u: Option<u64>,
    #[serde(borrow, default)]
    c: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    p: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "P", default)]
    percent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    h: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    l: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    v: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    q: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    b: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "B", default)]
    bid_qty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    a: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "A", default)]
    ask_qty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    i: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    r: Option<Cow<'a, str>>,
    #[serde(rename = "T", default)]
    next: Option<u64>,
}

impl<'a> Object<'a> {
    /// The ticker keys of a raw stream's message.
    fn into_fields(self) -> Fields<'a> {
        Fields {
            e: self.e,
            event: self.event,
            s: self.s,
            u: self.u,
            c: self.c,
            p: self.p,
            percent: self.percent,
            h: self.h,
            l: self.l,
            v: self.v,
            q: self.q,
            b: self.b,
            bid_qty: self.bid_qty,
            a: self.a,
            ask_qty: self.ask_qty,
            i: self.i,
            r: self.r,
            next: self.next,
        }
    }
}

/// A reply's `error`.
#[derive(Deserialize)]
struct Problem<'a> {
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    msg: Option<Cow<'a, str>>,
}

/// A combined stream's `data`: one ticker, or the all-market array.
#[allow(
    clippy::large_enum_variant,
    reason = "one ticker per message, ten thousand a second: boxing it cost an allocation each"
)]
enum Data<'a> {
    One(Fields<'a>),
    Many(Vec<Fields<'a>>),
}

impl<'de: 'a, 'a> Deserialize<'de> for Data<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> de::Visitor<'de> for Either<'a> {
            type Value = Data<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a ticker object or an array of them")
            }
            fn visit_map<M: de::MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                Fields::deserialize(de::value::MapAccessDeserializer::new(map)).map(Data::One)
            }
            fn visit_seq<S: de::SeqAccess<'de>>(self, seq: S) -> Result<Self::Value, S::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Data::Many)
            }
        }
        d.deserialize_any(Either(std::marker::PhantomData))
    }
}

/// Reads one message of a stream of `kind`: the usual ticker quickly ([`super::scan`]),
/// anything else with serde_json.
#[cfg(test)]
pub(super) fn parse(text: &str, kind: TickerKind, reconnects: u32) -> Parsed {
    parse_at(text, kind, reconnects, SystemTime::now())
}

/// `parse`, for a message read at `received`.
pub(super) fn parse_at(
    text: &str,
    kind: TickerKind,
    reconnects: u32,
    received: SystemTime,
) -> Parsed {
    match super::scan::ticker(text) {
        Some(Scanned::One(fields)) => one(fields, kind, received, reconnects),
        Some(Scanned::Many(list)) => many(list, kind, received, reconnects),
        Some(Scanned::Nothing) | None => read(text, kind, reconnects, received),
    }
}

/// One ticker object's message: an update, or `serverShutdown`.
fn one(fields: Fields<'_>, kind: TickerKind, received: SystemTime, reconnects: u32) -> Parsed {
    if fields.e.as_deref() == Some("serverShutdown") {
        return Parsed::Shutdown;
    }
    update(fields, kind, received, reconnects).map_or(Parsed::Other, Parsed::Update)
}

/// Reads any message with serde_json.
fn read(text: &str, kind: TickerKind, reconnects: u32, received: SystemTime) -> Parsed {
    let data = if text.trim_start().starts_with('[') {
        // A raw all-market stream sends the array alone.
        match serde_json::from_str::<Vec<Fields<'_>>>(text) {
            Ok(list) => Data::Many(list),
            Err(_) => return Parsed::Other,
        }
    } else {
        let Ok(mut object) = serde_json::from_str::<Object<'_>>(text) else {
            return Parsed::Other;
        };
        if object.id.is_some() && object.data.is_none() && object.s.is_none() {
            let error = object
                .error
                .map(|e| format!("{} {}", e.code.unwrap_or(0), e.msg.as_deref().unwrap_or("")));
            return Parsed::Reply(error);
        }
        // An error with no request to answer (`{"code":2,"msg":"Invalid request"}`): said, not
        // dropped as noise.
        if let (Some(code), Some(msg), None) = (object.code, &object.msg, &object.data) {
            return Parsed::Reply(Some(format!("{code} {msg}")));
        }
        match object.data.take() {
            Some(data) => data,
            None => Data::One(object.into_fields()),
        }
    };
    match data {
        Data::One(fields) => one(fields, kind, received, reconnects),
        Data::Many(list) => many(list, kind, received, reconnects),
    }
}

/// The all-market array's updates.
fn many(list: Vec<Fields<'_>>, kind: TickerKind, received: SystemTime, reconnects: u32) -> Parsed {
    let updates: Vec<Update> = list
        .into_iter()
        .filter_map(|o| update(o, kind, received, reconnects))
        .collect();
    if updates.is_empty() {
        Parsed::Other
    } else {
        Parsed::Updates(updates)
    }
}

/// One ticker object: miniTicker (`c`), ticker (`c p P h l v q`), bookTicker (`b B a A`) or
/// markPriceUpdate (`p i P r T`).
fn update(
    o: Fields<'_>,
    kind: TickerKind,
    received: SystemTime,
    reconnects: u32,
) -> Option<Update> {
    let own = |v: Option<Cow<'_, str>>| v.map(Cow::into_owned);
    let values: Vec<String> = match kind {
        TickerKind::Price => vec![own(o.c)?],
        TickerKind::Day => vec![
            own(o.c)?,
            own(o.p)?,
            own(o.percent)?,
            own(o.h)?,
            own(o.l)?,
            own(o.v)?,
            own(o.q)?,
        ],
        TickerKind::Book => vec![own(o.b)?, own(o.bid_qty)?, own(o.a)?, own(o.ask_qty)?],
        // The interest rate is not streamed: the consumer keeps the snapshot's. A quarterly's
        // funding rate is "" and its next funding 0: empty, as REST's are made.
        TickerKind::Mark => vec![
            own(o.p)?,
            own(o.i)?,
            own(o.percent)?,
            own(o.r)?,
            String::new(),
            match o.next? {
                0 => String::new(),
                ms => ms.to_string(),
            },
        ],
        TickerKind::Avg | TickerKind::Window(_) | TickerKind::TradingDay(_) => return None,
    };
    let order = o.event.or(o.u)?;
    Some(Update {
        symbol: o.s?.into_owned(),
        values,
        event_ms: o.event,
        order,
        received,
        reconnects,
        snapshot: false,
        overlap: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_raw_and_array_messages_become_updates() {
        let combined = r#"{"stream":"btcusdt@miniTicker","data":{"e":"24hrMiniTicker","E":1700000000123,"s":"BTCUSDT","c":"97123.45000000","o":"1","h":"1","l":"1","v":"1","q":"1"}}"#;
        let Parsed::Update(u) = parse(combined, TickerKind::Price, 2) else {
            panic!("not an update");
        };
        let u = [u];
        assert_eq!(u[0].symbol, "BTCUSDT");
        assert_eq!(u[0].values, ["97123.45000000"]);
        assert_eq!(
            (u[0].event_ms, u[0].order, u[0].reconnects),
            (Some(1700000000123), 1700000000123, 2)
        );
        let book = r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
        let Parsed::Update(u) = parse(book, TickerKind::Book, 0) else {
            panic!("not an update");
        };
        let u = [u];
        assert_eq!(
            u[0].values,
            ["25.35190000", "31.21000000", "25.36520000", "40.66000000"]
        );
        assert_eq!((u[0].event_ms, u[0].order), (None, 400900217));
        let all = r#"{"stream":"!miniTicker@arr","data":[{"E":1,"s":"A","c":"1"},{"E":1,"s":"B","c":"2"}]}"#;
        let Parsed::Updates(u) = parse(all, TickerKind::Price, 0) else {
            panic!("not updates");
        };
        assert_eq!(u.len(), 2);
    }

    #[test]
    fn a_mark_price_update_is_the_mark_ticker_a_quarterlys_without_funding() {
        let perp = r#"{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"-0.00038167","T":1562306400000}}"#;
        let Parsed::Update(u) = parse(perp, TickerKind::Mark, 0) else {
            panic!("not an update");
        };
        assert_eq!(
            u.values,
            [
                "11794.15000000",
                "11784.62659091",
                "11784.25641265",
                "-0.00038167",
                "",
                "1562306400000"
            ]
        );
        assert_eq!(u.event_ms, Some(1562305380000));
        let quarterly = r#"[{"e":"markPriceUpdate","E":1,"s":"BTCUSD_250627","p":"2","i":"1","P":"1","r":"","T":0}]"#;
        let Parsed::Updates(list) = parse(quarterly, TickerKind::Mark, 0) else {
            panic!("not updates");
        };
        assert_eq!(list[0].values, ["2", "1", "1", "", "", ""]);
    }

    #[test]
    fn replies_shutdowns_and_noise_are_told_apart() {
        assert_eq!(
            parse(r#"{"result":null,"id":1}"#, TickerKind::Price, 0),
            Parsed::Reply(None)
        );
        assert_eq!(
            parse(
                r#"{"error":{"code":2,"msg":"Invalid request: bad"},"id":1}"#,
                TickerKind::Price,
                0
            ),
            Parsed::Reply(Some("2 Invalid request: bad".into()))
        );
        assert_eq!(
            parse(
                r#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}"#,
                TickerKind::Price,
                0
            ),
            Parsed::Shutdown
        );
        assert_eq!(parse("not json", TickerKind::Price, 0), Parsed::Other);
        assert_eq!(parse(r#"{"s":"X"}"#, TickerKind::Price, 0), Parsed::Other);
    }

    /// Every update with the same time of reading, to compare two readings of one message.
    fn timeless(p: Parsed) -> Parsed {
        let at = |mut u: Update| {
            u.received = SystemTime::UNIX_EPOCH;
            u
        };
        match p {
            Parsed::Update(u) => Parsed::Update(at(u)),
            Parsed::Updates(list) => Parsed::Updates(list.into_iter().map(at).collect()),
            other => other,
        }
    }

    #[test]
    fn the_quick_reading_agrees_with_serde_or_leaves_it_to_serde() {
        let mini = r#"{"e":"24hrMiniTicker","E":1700000000123,"s":"BTCUSDT","c":"97123.45000000","o":"1.0","h":"2","l":"0.5","v":"10","q":"20"}"#;
        let day = r#"{"e":"24hrTicker","E":1,"s":"ETHUSDT","p":"-1.5","P":"-0.3","w":"1","x":"2","c":"3000.1","Q":"1","b":"1","B":"2","a":"3","A":"4","o":"1","h":"3100","l":"2900","v":"5","q":"6","O":0,"C":86400000,"F":-1,"L":-1,"n":0}"#;
        let book = r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
        let quick = [
            format!(r#"{{"stream":"btcusdt@miniTicker","data":{mini}}}"#),
            mini.to_owned(),
            day.to_owned(),
            book.to_owned(),
            format!(r#"{{"stream":"bnbusdt@bookTicker","data":{book}}}"#),
            format!(" \n{{ \"data\" :\t{mini} , \"stream\" : \"x\" }}\r\n"),
            r#"{"E":1,"s":"币安人生USDT","c":"0.01","x":true,"y":false,"z":1.5e-3,"w":-0}"#.into(),
            r#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}"#.into(),
            r#"{"s":"X"}"#.into(),
            r#"{"E":18446744073709551615,"s":"X","c":"1"}"#.into(),
            r#"{"stream":"!miniTicker@arr","data":[{"E":1,"s":"A","c":"1"},{"E":2,"s":"B","c":"2"}]}"#.into(),
            r#" [ {"E":1,"s":"A","c":"1"} , {"E":1,"s":"B","c":"x"} ] "#.into(),
            r#"{"data":[]}"#.into(),
            r#"{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"-0.00038167","T":1562306400000}"#.into(),
            r#"{"stream":"!markPrice@arr@1s","data":{"e":"markPriceUpdate","E":1,"s":"BTCUSD_250627","p":"1","i":"1","P":"1","r":"","T":0}}"#.into(),
            "{}".into(),
        ];
        let long_way = [
            r#"{"E":1,"s":"BTC\u0055SDT","c":"1"}"#,
            r#"{"E":1,"s":"X","c":null}"#,
            r#"{"E":"1","s":"X","c":"1"}"#,
            r#"{"E":1.0,"s":"X","c":"1"}"#,
            r#"{"E":-1,"s":"X","c":"1"}"#,
            r#"{"E":01,"s":"X","c":"1"}"#,
            r#"{"E":18446744073709551616,"s":"X","c":"1"}"#,
            r#"{"E":1,"s":"X","c":"1","c":"2"}"#,
            r#"{"E":1,"E":2,"s":"X","c":"1"}"#,
            r#"[{"E":1,"s":"A","c":"1"},]"#,
            r#"[{"E":1,"s":"A","c":"1"}] ]"#,
            r#"[1]"#,
            r#"{"data":[{"E":1,"s":"A","c":"1"}],"data":[]}"#,
            r#"{"data":[{"E":1,"s":"A","c":"1","k":{"x":1}}]}"#,
            r#"{"s":"B","data":[{"E":1,"s":"A","c":"1"}]}"#,
            r#"{"E":1,"s":"X","p":"1","i":"1","P":"1","r":"1","T":1,"T":2}"#,
            r#"{"E":1,"s":"X","p":"1","i":"1","P":"1","r":"1","T":-1}"#,
            r#"{"E":1,"s":"X","c":"1","k":{"t":1}}"#,
            r#"{"E":1,"s":"X","c":"1","k":[1]}"#,
            r#"{"E":1,"s":"X","c":"1"} x"#,
            r#"{"E":1,"s":"X","c":"1",}"#,
            r#"{"E":1,"s":"X" "c":"1"}"#,
            r#"{"E":1,"s":"X","c":"1""#,
            r#"{"E":1,"s":"X","c":"1","x":1.}"#,
            r#"{"E":1,"s":"X","c":"1","x":tru}"#,
            r#"{"s":"Y","stream":"y","data":{"E":1,"s":"X","c":"1"}}"#,
            r#"{"stream":"x","data":null,"E":1,"s":"X","c":"1"}"#,
            r#"{"result":null,"id":1}"#,
            r#"{"error":{"code":2,"msg":"Invalid request: bad"},"id":1}"#,
            r#"{"code":2,"msg":"Invalid request"}"#,
            "not json",
            "",
        ];
        for text in quick.iter().map(String::as_str).chain(long_way) {
            let fields = super::super::scan::ticker(text);
            assert_eq!(
                fields.is_some(),
                quick.iter().any(|q| q == text),
                "the quick way taken or not: {text}"
            );
            for kind in [
                TickerKind::Price,
                TickerKind::Day,
                TickerKind::Book,
                TickerKind::Mark,
            ] {
                let slow = timeless(read(text, kind, 3, SystemTime::now()));
                let fast = match super::super::scan::ticker(text) {
                    Some(Scanned::One(f)) => Some(one(f, kind, SystemTime::UNIX_EPOCH, 3)),
                    Some(Scanned::Many(list)) => Some(many(list, kind, SystemTime::UNIX_EPOCH, 3)),
                    Some(Scanned::Nothing) | None => None,
                };
                if let Some(fast) = fast {
                    assert_eq!(timeless(fast), slow, "{kind:?}: {text}");
                }
                assert_eq!(timeless(parse(text, kind, 3)), slow, "{kind:?}: {text}");
            }
        }
    }
}
