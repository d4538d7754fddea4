//! What Binance's stream messages say, as [`Update`]s: combined (`{"stream","data"}`) or raw,
//! one object or the all-market array, and the replies to `SUBSCRIBE`.
//!
//! Values are kept as the strings Binance sent, in the order of `TickerKind::fields()`, so
//! that every renderer treats a streamed update as it treats a fetched ticker.

use std::time::SystemTime;

use serde_json::Value;

use crate::market::{TickerKind, Update};

/// What one text message was.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// Market data.
    Updates(Vec<Update>),
    /// `serverShutdown`: the server will restart soon; move to another connection.
    Shutdown,
    /// The answer to a JSON method; the error text if it failed.
    Reply(Option<String>),
    /// Anything else (kept out of the output, said with -vv).
    Other,
}

/// Reads one message of a stream of `kind`.
pub fn parse(text: &str, kind: TickerKind, reconnects: u32) -> Parsed {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Parsed::Other;
    };
    if value.get("id").is_some() && (value.get("result").is_some() || value.get("error").is_some())
    {
        let error = value.get("error").map(|e| {
            let msg = e.get("msg").and_then(Value::as_str).unwrap_or("");
            let code = e.get("code").and_then(Value::as_i64).unwrap_or(0);
            format!("{code} {msg}")
        });
        return Parsed::Reply(error);
    }
    // An error with no request to answer (`{"code":2,"msg":"Invalid request"}`): said, not
    // dropped as noise.
    if value.get("code").is_some() && value.get("msg").is_some() && value.get("data").is_none() {
        let msg = value.get("msg").and_then(Value::as_str).unwrap_or("");
        let code = value.get("code").and_then(Value::as_i64).unwrap_or(0);
        return Parsed::Reply(Some(format!("{code} {msg}")));
    }
    let data = value.get("data").unwrap_or(&value);
    if data.get("e").and_then(Value::as_str) == Some("serverShutdown") {
        return Parsed::Shutdown;
    }
    let received = SystemTime::now();
    let one = |v: &Value| update(v, kind, received, reconnects);
    let updates: Vec<Update> = match data {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        object => one(object).into_iter().collect(),
    };
    if updates.is_empty() {
        Parsed::Other
    } else {
        Parsed::Updates(updates)
    }
}

/// One ticker object: miniTicker (`c`), ticker (`c p P h l v q`) or bookTicker (`b B a A`).
fn update(v: &Value, kind: TickerKind, received: SystemTime, reconnects: u32) -> Option<Update> {
    let field = |k: &str| v.get(k)?.as_str().map(str::to_owned);
    let keys: &[&str] = match kind {
        TickerKind::Price => &["c"],
        TickerKind::Day => &["c", "p", "P", "h", "l", "v", "q"],
        TickerKind::Book => &["b", "B", "a", "A"],
        TickerKind::Avg | TickerKind::Window(_) | TickerKind::TradingDay(_) => return None,
    };
    let values = keys.iter().map(|k| field(k)).collect::<Option<Vec<_>>>()?;
    let event_ms = v.get("E").and_then(Value::as_u64);
    let order = event_ms.or_else(|| v.get("u").and_then(Value::as_u64))?;
    Some(Update {
        symbol: field("s")?,
        values,
        event_ms,
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
        let Parsed::Updates(u) = parse(combined, TickerKind::Price, 2) else {
            panic!("not an update");
        };
        assert_eq!(u[0].symbol, "BTCUSDT");
        assert_eq!(u[0].values, ["97123.45000000"]);
        assert_eq!(
            (u[0].event_ms, u[0].order, u[0].reconnects),
            (Some(1700000000123), 1700000000123, 2)
        );
        let book = r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
        let Parsed::Updates(u) = parse(book, TickerKind::Book, 0) else {
            panic!("not an update");
        };
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
}
