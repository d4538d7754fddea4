//! The answers every endpoint, limit and fault builds: Binance's JSON, its error body, the
//! used-weight headers, and the 429 and 418 it sends. Imports nothing of the mock but the clock.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::record::unix_now;

pub(crate) fn with_weight(mut resp: Response, used: u32) -> Response {
    let v = HeaderValue::from(used);
    resp.headers_mut().insert("x-mbx-used-weight-1m", v.clone());
    resp.headers_mut().insert("x-mbx-used-weight", v);
    resp
}

pub(crate) fn json_response(status: StatusCode, body: &Value, used: u32) -> Response {
    with_weight(
        (
            status,
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            body.to_string(),
        )
            .into_response(),
        used,
    )
}

pub(crate) fn api_error(status: StatusCode, code: i64, msg: &str, used: u32) -> Response {
    json_response(status, &json!({"code": code, "msg": msg}), used)
}

pub(crate) fn rate_limit_response(secs: u64, used: u32) -> Response {
    let mut r = api_error(
        StatusCode::TOO_MANY_REQUESTS,
        -1003,
        "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. \
         Please use WebSocket Streams for live updates to avoid polling the API.",
        used,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

pub(crate) fn ban_response(secs: u64, used: u32) -> Response {
    let until = (unix_now() + Duration::from_secs(secs)).as_millis();
    let mut r = api_error(
        StatusCode::IM_A_TEAPOT,
        -1003,
        &format!(
            "Way too much request weight used; IP banned until {until}. \
             Please use WebSocket Streams for live updates to avoid bans."
        ),
        used,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

pub(crate) fn status(s: u16) -> StatusCode {
    StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
