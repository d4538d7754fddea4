//! What Binance's answers mean: the JSON each ticker endpoint sends, decoded into [`Ticker`]s
//! with every value checked ([`check_ticker`]), and an HTTP status and body turned into a value
//! or the [`FetchError`] it means ([`classify`], pure and unit-tested against recorded bodies).

pub(crate) mod history;

use std::time::Duration;

use serde::Deserialize;

use crate::error::FetchError;
use crate::market::Ticker;

/// `/api/v3/ticker/price` as Binance sends it.
#[derive(Deserialize)]
#[serde(expecting = "a price ticker object")]
pub(crate) struct PriceDto {
    symbol: String,
    price: String,
}

/// `/api/v3/ticker/24hr` as Binance sends it (the fields pricefetch shows). COIN-M's counts
/// its `volume` in contracts and sends the coin's as `baseVolume`, and no quote volume.
#[derive(Deserialize)]
#[serde(expecting = "a 24hr ticker object", rename_all = "camelCase")]
pub(crate) struct DayDto {
    symbol: String,
    last_price: String,
    price_change: String,
    price_change_percent: String,
    high_price: String,
    low_price: String,
    volume: String,
    #[serde(default)]
    quote_volume: String,
    #[serde(default)]
    base_volume: Option<String>,
    close_time: u64,
}

/// `/api/v3/ticker/bookTicker` as Binance sends it.
#[derive(Deserialize)]
#[serde(expecting = "a book ticker object", rename_all = "camelCase")]
pub(crate) struct BookDto {
    symbol: String,
    bid_price: String,
    bid_qty: String,
    ask_price: String,
    ask_qty: String,
}

/// The futures' `premiumIndex` as Binance sends it: a quarterly has `lastFundingRate` `""` and
/// `nextFundingTime` 0 (no funding), kept as empty values, never a rate of zero.
#[derive(Deserialize)]
#[serde(expecting = "a premium index object", rename_all = "camelCase")]
pub(crate) struct PremiumDto {
    symbol: String,
    mark_price: String,
    index_price: String,
    estimated_settle_price: String,
    last_funding_rate: String,
    #[serde(default)]
    interest_rate: String,
    next_funding_time: u64,
    time: u64,
}

impl From<PremiumDto> for Ticker {
    fn from(d: PremiumDto) -> Self {
        let next = match d.next_funding_time {
            0 => String::new(),
            ms => ms.to_string(),
        };
        Self {
            symbol: d.symbol,
            values: vec![
                d.mark_price,
                d.index_price,
                d.estimated_settle_price,
                d.last_funding_rate,
                d.interest_rate,
                next,
            ],
            time_ms: d.time,
        }
    }
}

/// `/api/v3/avgPrice` as Binance sends it: the average over `mins` minutes, without the symbol.
#[derive(Deserialize)]
#[serde(expecting = "an average price object", rename_all = "camelCase")]
pub(crate) struct AvgDto {
    mins: u64,
    price: String,
    close_time: u64,
}

/// One `avgPrice` answer, for the `symbol` it was asked for.
pub(crate) fn decode_avg(raw: &RawAnswer, symbol: &str) -> Result<Vec<Ticker>, FetchError> {
    let d = decode::<AvgDto>(raw)?;
    Ok(vec![Ticker {
        symbol: symbol.to_owned(),
        values: vec![d.price, d.mins.to_string()],
        time_ms: d.close_time,
    }])
}

impl From<PriceDto> for Ticker {
    fn from(d: PriceDto) -> Self {
        Self {
            symbol: d.symbol,
            values: vec![d.price],
            time_ms: now_ms(),
        }
    }
}

impl From<DayDto> for Ticker {
    fn from(d: DayDto) -> Self {
        // COIN-M: the coin's volume is the volume; its quote volume is not known (empty).
        let (volume, quote_volume) = match d.base_volume {
            Some(coin) => (coin, String::new()),
            None => (d.volume, d.quote_volume),
        };
        Self {
            symbol: d.symbol,
            values: vec![
                d.last_price,
                d.price_change,
                d.price_change_percent,
                d.high_price,
                d.low_price,
                volume,
                quote_volume,
            ],
            time_ms: d.close_time,
        }
    }
}

impl From<BookDto> for Ticker {
    fn from(d: BookDto) -> Self {
        Self {
            symbol: d.symbol,
            values: vec![d.bid_price, d.bid_qty, d.ask_price, d.ask_qty],
            time_ms: now_ms(),
        }
    }
}

/// Now, in ms since the epoch: when an answer without a time of its own arrived.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Decodes one object (`symbol=`) or an array (`symbols=` or all) of `D` into tickers.
pub(crate) fn decode_tickers<D>(raw: &RawAnswer, one: bool) -> Result<Vec<Ticker>, FetchError>
where
    D: serde::de::DeserializeOwned + Into<Ticker>,
{
    if one {
        decode::<D>(raw).map(|d| vec![d.into()])
    } else {
        decode::<Vec<D>>(raw).map(|v| v.into_iter().map(Into::into).collect())
    }
}

/// What is wrong with a ticker from an answer, if anything: its symbol must follow the same
/// rules as input, and every value must be a decimal as Binance writes them (`-` at most, digits,
/// one `.`). Anything else (an empty price, a newline that would forge a row, an escape sequence,
/// `NaN`, `1e5`, `0x10`, `1,5`, non-ASCII digits) never reaches the output.
pub(crate) fn check_ticker(t: &Ticker, kind: crate::market::TickerKind) -> Result<(), String> {
    check_values(&t.symbol, &t.values, kind)
}

/// [`check_ticker`] on a symbol and its values as they came (a streamed update's).
pub(crate) fn check_values(
    symbol: &str,
    values: &[String],
    kind: crate::market::TickerKind,
) -> Result<(), String> {
    if !crate::symbols::is_valid(symbol) {
        return Err(format!("the answer names a symbol {:?}", cut(symbol)));
    }
    for (value, field) in values.iter().zip(kind.fields()) {
        // Prices, quantities and volumes are never negative; only a change (and a funding
        // rate) can be. A contract without funding has no rate and no funding time, COIN-M's
        // 24-hour ticker no quote volume: empty.
        let signed = matches!(
            *field,
            "price_change" | "price_change_percent" | "funding_rate"
        );
        let may_be_empty = matches!(
            *field,
            "funding_rate" | "interest_rate" | "next_funding_time" | "quote_volume"
        );
        if !(value.is_empty() && may_be_empty || crate::decimal::is_plain(value, signed)) {
            return Err(format!(
                "{} has the value {:?}, not a decimal number",
                symbol,
                cut(value)
            ));
        }
    }
    Ok(())
}

/// At most 40 characters of a server's text, for a message.
fn cut(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// The parts of an HTTP answer that [`classify`] needs.
#[derive(Debug)]
pub(crate) struct RawAnswer {
    /// HTTP status code.
    pub(crate) status: u16,
    /// `Retry-After`, in seconds as Binance sends it.
    pub(crate) retry_after: Option<Duration>,
    /// The whole body (already capped).
    pub(crate) body: Vec<u8>,
    /// `Location`, for a redirect.
    pub(crate) location: Option<String>,
    /// `Content-Encoding`, if the server compressed a body nobody asked it to.
    pub(crate) encoding: Option<String>,
}

/// Binance's error body: `{"code": -1121, "msg": "Invalid symbol."}`.
#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    code: i64,
    msg: String,
}

/// Turns an HTTP answer into its body or the failure it means (binance-api.md, "Errors").
pub(crate) fn classify(raw: RawAnswer) -> Result<RawAnswer, FetchError> {
    let status = raw.status;
    if (200..300).contains(&status) {
        // pricefetch asks for no compression; a body in one is not JSON it can read.
        if let Some(encoding) = &raw.encoding {
            return Err(FetchError::Decode {
                status,
                detail: format!("the body is {encoding}-encoded, which pricefetch did not ask for"),
            });
        }
        return Ok(raw);
    }
    let (code, msg) = match serde_json::from_slice::<ApiErrorBody>(&raw.body) {
        Ok(b) => (Some(b.code), b.msg),
        Err(_) => (None, describe_body(&raw.body)),
    };
    Err(match status {
        429 => FetchError::RateLimited {
            retry_after: raw.retry_after,
            msg,
        },
        418 => FetchError::Banned {
            retry_after: raw.retry_after,
            until_ms: {
                let now = crate::clock::unix_ms();
                let until = banned_until(&msg)
                    .or_else(|| Some(now.saturating_add(raw.retry_after?.as_millis() as u64)));
                until.map(|ms| {
                    let (ms, cut) = crate::clock::clamp_ms(ms, now);
                    if cut {
                        tracing::warn!(
                            "Binance's ban ends past its longest (3 days): read as {}",
                            crate::clock::rfc3339_seconds(ms)
                        );
                    }
                    ms
                })
            },
            msg,
        },
        451 => FetchError::GeoBlocked { msg },
        // Redirects are not followed; asking again would only be redirected again.
        304 => FetchError::Api {
            status,
            code,
            msg: "304 Not Modified, though pricefetch sent no cache headers (a caching proxy?)"
                .into(),
        },
        300..=399 => FetchError::Api {
            status,
            code,
            msg: match &raw.location {
                Some(to) => format!("unexpected redirect to {to}; is --base-url right?"),
                None => "unexpected redirect, with no Location; is --base-url right?".into(),
            },
        },
        400..=499 => FetchError::Api { status, code, msg },
        _ => FetchError::Server {
            status,
            code,
            msg,
            retry_after: raw.retry_after,
        },
    })
}

/// `Retry-After` as seconds (Binance sends whole ones; a fraction is taken as meant) or as an
/// HTTP-date (RFC 9110); `None` for anything else (negative, garbage), so that the caller
/// applies its own fallback rather than a made-up number.
pub(crate) fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    // Beyond Binance's longest ban (3 days), a wait is read as that (a far-future value must
    // neither panic a formatter nor stop pricefetch for centuries).
    if let Ok(secs) = value.parse::<f64>() {
        return (0.0..1e18)
            .contains(&secs)
            .then(|| crate::clock::clamp_wait(Duration::from_secs_f64(secs)).0);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(crate::clock::clamp_wait(at.duration_since(now).unwrap_or_default()).0)
}

/// Decodes a 2xx body, naming what was wrong with it.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(raw: &RawAnswer) -> Result<T, FetchError> {
    serde_json::from_slice(&raw.body).map_err(|e| FetchError::Decode {
        status: raw.status,
        detail: if raw.body.is_empty() {
            format!("an empty body (HTTP {}), not a ticker", raw.status)
        } else if e.is_eof() {
            "body cut short".into()
        } else {
            format!("not the expected JSON ({e})")
        },
    })
}

/// A short, one-line description of a body that is not Binance's error JSON.
fn describe_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.starts_with('<') {
        return "an HTML page (from a proxy or load balancer?)".into();
    }
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// The ban's end from Binance's message: "IP banned until 1700000000000."
fn banned_until(msg: &str) -> Option<u64> {
    let rest = &msg[msg.find("banned until ")? + "banned until ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::TickerKind;

    fn raw(status: u16, body: &str) -> RawAnswer {
        RawAnswer {
            location: None,
            encoding: None,
            status,
            retry_after: Some(Duration::from_secs(7)),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn invalid_symbol_is_an_api_error_with_code_and_msg() {
        let err = classify(raw(400, r#"{"code":-1121,"msg":"Invalid symbol."}"#)).unwrap_err();
        assert_eq!(
            err,
            FetchError::Api {
                status: 400,
                code: Some(-1121),
                msg: "Invalid symbol.".into()
            }
        );
    }

    #[test]
    fn rate_limit_ban_and_geo_block_are_told_apart() {
        let e = classify(raw(
            429,
            r#"{"code":-1003,"msg":"Too much request weight used"}"#,
        ));
        assert!(matches!(
            e,
            Err(FetchError::RateLimited { retry_after: Some(d), .. }) if d == Duration::from_secs(7)
        ));
        let e = classify(raw(
            418,
            r#"{"code":-1003,"msg":"Way too much request weight used; IP banned until 1700000000123. Please use"}"#,
        ));
        assert!(matches!(
            e,
            Err(FetchError::Banned {
                until_ms: Some(1_700_000_000_123),
                ..
            })
        ));
        let e = classify(raw(
            451,
            r#"{"code":0,"msg":"Service unavailable from a restricted location"}"#,
        ));
        assert!(matches!(e, Err(FetchError::GeoBlocked { .. })));
    }

    #[test]
    fn a_proxy_html_page_is_a_server_error_described_in_one_line() {
        let e = classify(raw(
            502,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        ))
        .unwrap_err();
        assert_eq!(
            e,
            FetchError::Server {
                status: 502,
                code: None,
                msg: "an HTML page (from a proxy or load balancer?)".into(),
                retry_after: Some(Duration::from_secs(7)),
            }
        );
    }

    #[test]
    fn redirects_name_their_location_a_304_is_not_called_one_and_gzip_is_named() {
        let moved = RawAnswer {
            location: Some("https://example.com/api".into()),
            ..raw(301, "")
        };
        let e = classify(moved).unwrap_err();
        assert!(
            e.to_string()
                .contains("redirect to https://example.com/api"),
            "{e}"
        );
        let e = classify(raw(304, "")).unwrap_err();
        assert!(
            e.to_string().contains("304 Not Modified") && !e.to_string().contains("redirect"),
            "{e}"
        );
        let zipped = RawAnswer {
            encoding: Some("gzip".into()),
            ..raw(200, "\u{1f}\u{8b}")
        };
        let e = classify(zipped).unwrap_err();
        assert!(e.to_string().contains("gzip-encoded"), "{e}");
    }

    #[test]
    fn a_redirect_is_not_followed_nor_retried() {
        let e = classify(raw(301, "")).unwrap_err();
        assert!(matches!(e, FetchError::Api { status: 301, .. }), "{e:?}");
        assert!(!crate::retry::is_retryable(&e));
    }

    #[test]
    fn a_cut_body_and_a_wrong_shape_are_decode_errors() {
        let cut = decode_tickers::<PriceDto>(&raw(200, r#"{"symbol":"BTCUSDT","pri"#), true);
        assert!(
            matches!(cut, Err(FetchError::Decode { detail, .. }) if detail == "body cut short")
        );
        let wrong = decode_tickers::<PriceDto>(&raw(200, r#"{"symbol":"BTCUSDT"}"#), true);
        assert!(
            matches!(wrong, Err(FetchError::Decode { detail, .. }) if detail.contains("price"))
        );
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date_and_nothing_else() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let p = |v| parse_retry_after(v, now);
        assert_eq!(p("30"), Some(Duration::from_secs(30)));
        assert_eq!(p(" 1.5 "), Some(Duration::from_millis(1500)));
        assert_eq!(
            p("Wed, 21 Oct 2015 07:28:10 GMT"),
            Some(Duration::from_secs(10))
        );
        assert_eq!(p("Wed, 21 Oct 2015 07:27:00 GMT"), Some(Duration::ZERO));
        assert_eq!(p("99999999999"), Some(crate::clock::LONGEST_WAIT));
        for bad in ["-5", "soon", "", "NaN", "inf", "1e30"] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_decimals_as_binance_writes_them_pass() {
        let t = |symbol: &str, v: &str| Ticker {
            symbol: symbol.into(),
            values: vec![v.into()],
            time_ms: 0,
        };
        for good in ["97123.45000000", "0.00000000", "12", "币安人生USDT"] {
            let ticker = if good.contains('U') {
                t(good, "1.0")
            } else {
                t("BTCUSDT", good)
            };
            assert_eq!(check_ticker(&ticker, TickerKind::Price), Ok(()), "{good}");
        }
        for bad in [
            "",
            "NaN",
            "inf",
            "-5e3",
            "0x10",
            "1,5",
            "1.",
            ".5",
            "+1",
            "1\nETHUSDT 0.1",
            "\u{1b}[31m1",
            "١٢",
            "-5.00000000",
        ] {
            let err = check_ticker(&t("BTCUSDT", bad), TickerKind::Price);
            assert!(err.is_err(), "{bad:?}");
        }
        for name in ["", "BTC\nUSDT", "btcusdt", "BTC USDT"] {
            assert!(
                check_ticker(&t(name, "1.0"), TickerKind::Price).is_err(),
                "{name:?}"
            );
        }
        // A 24h change may be negative; its last price may not.
        let day = |last: &str, change: &str| Ticker {
            symbol: "BTCUSDT".into(),
            values: [last, change, "-1.250", "1", "1", "1", "1"]
                .map(String::from)
                .to_vec(),
            time_ms: 0,
        };
        assert_eq!(check_ticker(&day("1.0", "-0.5"), TickerKind::Day), Ok(()));
        assert!(check_ticker(&day("-1.0", "0.5"), TickerKind::Day).is_err());
    }

    #[test]
    fn prices_stay_strings() {
        let t = decode_tickers::<PriceDto>(
            &raw(200, r#"{"symbol":"PEPEUSDT","price":"0.00000412"}"#),
            true,
        )
        .unwrap();
        assert_eq!(t[0].price(), "0.00000412");
    }

    #[test]
    fn each_kind_keeps_its_fields_in_the_documented_order() {
        let day = decode_tickers::<DayDto>(
            &raw(
                200,
                r#"[{"symbol":"BTCUSDT","priceChange":"-12.5","priceChangePercent":"-0.013",
                    "weightedAvgPrice":"1","prevClosePrice":"1","lastPrice":"97123.45","lastQty":"1",
                    "bidPrice":"1","bidQty":"1","askPrice":"1","askQty":"1","openPrice":"1",
                    "highPrice":"98000.00","lowPrice":"96000.00","volume":"1234.5",
                    "quoteVolume":"119876543.2","openTime":0,"closeTime":0,"firstId":0,"lastId":0,
                    "count":0}]"#,
            ),
            false,
        )
        .unwrap();
        assert_eq!(TickerKind::Day.fields().len(), day[0].values.len());
        assert_eq!(
            day[0].values,
            [
                "97123.45",
                "-12.5",
                "-0.013",
                "98000.00",
                "96000.00",
                "1234.5",
                "119876543.2"
            ]
        );
        let book = decode_tickers::<BookDto>(
            &raw(
                200,
                r#"{"symbol":"ETHBTC","bidPrice":"0.035","bidQty":"2.1","askPrice":"0.036","askQty":"3"}"#,
            ),
            true,
        )
        .unwrap();
        assert_eq!(book[0].values, ["0.035", "2.1", "0.036", "3"]);
    }
}
