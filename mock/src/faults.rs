//! Faults the mock plays on demand ([`Fault`], scripted per symbol or for any request) or at
//! random (`--fault-rate`), and how each turns into what a client meets on the wire.

use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::respond::{api_error, ban_response, rate_limit_response, status, with_weight};
use crate::timer::PreciseTimer;

/// A fault the server plays instead of (or on top of) a normal answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// A 5xx with a Binance JSON body (`-1001` for 500, `-1008` for 503, `-1007` otherwise).
    Status(u16),
    /// A 5xx HTML page, as a proxy or load balancer in front of Binance sends.
    Html(u16),
    /// HTTP 429 `-1003` with `Retry-After: secs`; opens a window in which any request is banned.
    RateLimit { retry_after_secs: u64 },
    /// A 429 `-1003` (or a 503 `-1008`) whose `Retry-After` is this text as it is, e.g. `1.5`,
    /// `-5`, `soon` or an HTTP-date; `{in N}` stands for the HTTP-date N seconds from now. A 429
    /// of this kind opens no ban window (the server gave no usable length).
    RetryAfter { status: u16, value: String },
    /// HTTP 418 `-1003` "IP banned until …" with `Retry-After: secs`.
    Ban { retry_after_secs: u64 },
    /// HTTP 418 `-1003` "IP banned until `until`" as written, whatever it says (a hostile or
    /// broken server: `99999999999999999` is past the year 9999), with `Retry-After: 60`.
    BanText { until: String },
    /// HTTP 451, the geo-block Binance answers from restricted locations.
    GeoBlock,
    /// Accept the request and never answer (until the server shuts down).
    Hang,
    /// A 200 whose body is not the expected JSON.
    Malformed,
    /// A 200 whose body stops half-way: `Content-Length` promises more than is sent.
    Truncated,
    /// Drop the connection without any answer.
    Reset,
    /// Answer normally, but only after this extra delay.
    Delay(Duration),
    /// A 200 whose body is this many bytes of padding inside a valid JSON string.
    Huge(usize),
    /// A 200 whose headers come at once but whose body trickles, one byte per interval.
    SlowBody(Duration),
    /// A 200 with exactly this body (for answers that are JSON but not what Binance means).
    Body(String),
}

/// The transient faults a flaky network or a busy Binance produces; all of them can heal. One
/// in 25 is a 429 with a 1 s `Retry-After`, so that a soak also checks the client's back-off.
pub(crate) fn random_fault(rng: &mut fastrand::Rng) -> Fault {
    match rng.u8(0..25) {
        0..=5 => Fault::Status(503),
        6..=10 => Fault::Html(502),
        11..=14 => Fault::Truncated,
        15..=18 => Fault::Malformed,
        19..=23 => Fault::Reset,
        _ => Fault::RateLimit {
            retry_after_secs: 1,
        },
    }
}

/// Turns a fault into its response; `ok` is the answer the request would otherwise get.
pub(crate) async fn play(
    fault: Fault,
    used: u32,
    timer: &PreciseTimer,
    ok: impl FnOnce() -> Response,
) -> Response {
    match fault {
        Fault::Status(s) => {
            let code = match s {
                500 => -1001,
                503 => -1008,
                _ => -1007,
            };
            let msg = match code {
                -1001 => "Internal error; unable to process your request. Please try again.",
                -1008 => {
                    "Server is currently overloaded with other requests. Please try again in a few minutes."
                }
                _ => {
                    "Timeout waiting for response from backend server. Send status unknown; execution status unknown."
                }
            };
            api_error(status(s), code, msg, used)
        }
        Fault::Html(s) => (
            status(s),
            [(header::CONTENT_TYPE, "text/html")],
            format!(
                "<html><head><title>{s} Bad Gateway</title></head>\
                 <body><center><h1>{s} Bad Gateway</h1></center></body></html>"
            ),
        )
            .into_response(),
        Fault::RateLimit { retry_after_secs } => rate_limit_response(retry_after_secs, used),
        Fault::Ban { retry_after_secs } => ban_response(retry_after_secs, used),
        Fault::BanText { until } => {
            let mut r = api_error(
                StatusCode::IM_A_TEAPOT,
                -1003,
                &format!("Way too much request weight used; IP banned until {until}."),
                used,
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(60u32));
            r
        }
        Fault::RetryAfter { status: s, value } => {
            let mut r = if s == 429 {
                rate_limit_response(0, used)
            } else {
                api_error(
                    status(s),
                    -1008,
                    "Server is currently overloaded with other requests.",
                    used,
                )
            };
            let value = match value.strip_prefix("{in ").and_then(|v| v.strip_suffix('}')) {
                Some(n) => httpdate::fmt_http_date(
                    SystemTime::now() + Duration::from_secs(n.parse().unwrap_or(0)),
                ),
                None => value,
            };
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&value).expect("a header value"),
            );
            r
        }
        // Binance sends this one pretty-printed, with `"code": 0`.
        Fault::GeoBlock => with_weight(
            (
                StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::to_string_pretty(&json!({"code": 0, "msg": "Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms. Please contact customer service if you believe you received this message in error."}))
                    .expect("JSON"),
            )
                .into_response(),
            used,
        ),
        Fault::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            ok()
        }
        Fault::Malformed => with_weight(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "{\"symbol\":\"BTCUSDT\",\"pri",
            )
                .into_response(),
            used,
        ),
        Fault::Truncated => {
            // Part of the body, then the connection is aborted (a stream error makes hyper drop
            // it); a short body alone would leave the client waiting for the promised rest.
            let parts: [Result<&'static str, std::io::Error>; 2] = [
                Ok("{\"symbol\":\"BTCUSDT\","),
                Err(std::io::Error::other("connection cut")),
            ];
            let mut r = with_weight(
                Response::new(Body::from_stream(futures_util::stream::iter(parts))),
                used,
            );
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(4096u32));
            r
        }
        Fault::Reset => {
            // Unwinding out of the handler makes hyper drop the connection without an answer,
            // which the client sees as a reset. `resume_unwind` skips the panic hook's noise.
            std::panic::resume_unwind(Box::new("mock reset"))
        }
        Fault::Body(text) => with_weight(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
                text,
            )
                .into_response(),
            used,
        ),
        Fault::Delay(d) => {
            timer.sleep_until(Instant::now() + d).await;
            ok()
        }
        Fault::SlowBody(every) => {
            let body = ok().into_body();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let stream = futures_util::stream::unfold(bytes, move |rest| async move {
                if rest.is_empty() {
                    return None;
                }
                tokio::time::sleep(every).await;
                Some((Ok::<_, std::io::Error>(rest.slice(..1)), rest.slice(1..)))
            });
            with_weight(Response::new(Body::from_stream(stream)), used)
        }
        Fault::Huge(n) => with_weight(
            Response::new(Body::from(format!(
                "{{\"symbol\":\"BTCUSDT\",\"price\":\"1.00000000\",\"pad\":\"{}\"}}",
                "x".repeat(n)
            ))),
            used,
        ),
    }
}
