//! Binance's WebSocket market streams, on the same port as the REST mock.
//!
//! `/ws/<stream>` (raw) and `/stream?streams=<a>/<b>` (combined, each message
//! `{"stream":…,"data":…}`) serve `<symbol>@miniTicker`, `<symbol>@ticker`,
//! `<symbol>@bookTicker` and `!miniTicker@arr`, with prices that move by a small step on every
//! update, so that a client sees changes and `--until` conditions come true. The server answers
//! `SUBSCRIBE`, `UNSUBSCRIBE` and `LIST_SUBSCRIPTIONS`, pings every [`StreamOptions::ping_every`],
//! and enforces Binance's limits: more than 5 incoming messages in a second (pings, pongs and
//! JSON methods alike) closes the connection with 1008; more than 1,024 streams on a connection
//! is refused; a connection lives at most [`StreamOptions::lifetime`] (24 h at Binance). The
//! futures' streams come on routes of their own (`/market`, `/public`, `/coinm`) with their own
//! limits (`venue`); what every stream sends is made in `stream_data`.
//!
//! Faults are scripted per connection, in the order connections arrive ([`StreamFault`]), and
//! [`StreamStats`] says what the server saw: connections, subscriptions, control messages per
//! second, pongs.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse as _, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};

use crate::Shared;
use crate::record::unix_now;
use crate::stream_data::{Sub, parse_stream, payload};
use crate::venue::Venue;

/// How the stream side behaves.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Every stream sends an update this often (Binance: 1 s).
    pub interval: Duration,
    /// The server pings this often (Binance: 20 s).
    pub ping_every: Duration,
    /// A client that has not ponged for this long is disconnected (Binance: 1 minute).
    pub pong_timeout: Duration,
    /// A connection is closed after this long (Binance: 24 hours).
    pub lifetime: Duration,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            ping_every: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(60),
            lifetime: Duration::from_secs(24 * 3600),
        }
    }
}

/// A fault played on one connection.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamFault {
    /// Close the connection (1001, going away) after this long.
    CloseAfter(Duration),
    /// Stop sending anything after this long, keeping the socket open.
    StallAfter(Duration),
    /// Take no notice of the client's pongs (so it is dropped after the pong timeout).
    IgnorePongs,
    /// Send `serverShutdown` after this long, then go on until the lifetime ends.
    ShutdownAfter(Duration),
    /// Every other update carries `"NaN"` as its price (`c`, `b`).
    BadPrices,
    /// Every update is followed by one for `EVILUSDT`, a symbol nobody subscribed to.
    ForeignSymbol,
    /// The all-market array carries every listed pair, those that do not trade included (as
    /// Binance's does not: a client must not rely on that).
    EveryPair,
    /// The upgrade is refused with this REST status and Binance's body: 429 (`Retry-After:
    /// secs`) or 418 (banned for `secs`).
    Refuse { status: u16, secs: u64 },
    /// Every tick sends `{"code":2,"msg":"Invalid request"}` instead of data.
    ErrorOnly,
    /// The first tick sends one text frame of 17 MiB (over tungstenite's 16 MiB frame cap).
    Oversize,
    /// Event times run this far behind the clock (a server that reconnects to a lagging node).
    ClockBehind(Duration),
}

/// What the stream side saw.
#[derive(Debug, Clone, Default)]
pub struct StreamStats {
    /// WebSocket connections accepted, in order.
    pub connections: usize,
    /// Upgrades refused by a scripted [`StreamFault::Refuse`].
    pub refused: usize,
    /// Streams subscribed on each connection (through the URL and SUBSCRIBE), in order.
    pub streams: Vec<usize>,
    /// SUBSCRIBE messages received, over all connections.
    pub subscribe_messages: usize,
    /// The most incoming messages one connection sent within one second.
    pub max_per_second: usize,
    /// Pongs received, over all connections.
    pub pongs: usize,
    /// Connections closed for sending more than 5 messages a second.
    pub closed_for_rate: usize,
    /// Connections still open.
    pub open: usize,
    /// Data messages sent, over all connections.
    pub sent: u64,
}

/// The stream side's book, kept in the server's shared state.
#[derive(Debug, Default)]
pub(crate) struct StreamBook {
    pub(crate) stats: StreamStats,
    pub(crate) faults: VecDeque<Option<StreamFault>>,
    pub(crate) rejected: Vec<String>,
}

impl crate::MockServer {
    /// The base URL of the streams, e.g. `ws://127.0.0.1:41234`, to pass as `--stream-url`.
    pub fn stream_url(&self) -> String {
        self.url()
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1)
    }

    /// Plays these faults on the next connections, one each (`None`: a normal connection).
    pub fn script_streams(&self, faults: impl IntoIterator<Item = Option<StreamFault>>) {
        self.shared.streams.lock().unwrap().faults.extend(faults);
    }

    /// Answers a SUBSCRIBE naming this stream with an error.
    pub fn reject_stream(&self, name: &str) {
        let mut book = self.shared.streams.lock().unwrap();
        book.rejected.push(name.to_owned());
    }

    /// What the stream side saw so far.
    pub fn stream_stats(&self) -> StreamStats {
        self.shared.streams.lock().unwrap().stats.clone()
    }
}

/// `/ws/<stream>`: one raw stream.
pub(crate) async fn raw(
    State(shared): State<Arc<Shared>>,
    Path(stream): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    if let Some(refused) = refusal(&shared) {
        return refused;
    }
    ws.on_upgrade(move |socket| serve(shared, socket, (vec![stream], false), Venue::Spot))
}

/// `/<route>/ws/<stream>`: a raw stream of a futures market (`market`, `public`, `coinm`).
pub(crate) async fn raw_routed(
    State(shared): State<Arc<Shared>>,
    Path((route, stream)): Path<(String, String)>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(venue) = Venue::of(&route) else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    if let Some(refused) = refusal(&shared) {
        return refused;
    }
    ws.on_upgrade(move |socket| serve(shared, socket, (vec![stream], false), venue))
}

/// `/<route>/stream?streams=a/b`: a combined connection to a futures market.
pub(crate) async fn combined_routed(
    State(shared): State<Arc<Shared>>,
    Path(route): Path<String>,
    Query(params): Query<std::collections::HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(venue) = Venue::of(&route) else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    connect(shared, &params, ws, venue)
}

/// The answer to an upgrade the next scripted fault refuses, if it does.
fn refusal(shared: &Shared) -> Option<Response> {
    let mut book = shared.streams.lock().unwrap();
    let Some(Some(StreamFault::Refuse { status, secs })) = book.faults.front().cloned() else {
        return None;
    };
    book.faults.pop_front();
    book.stats.refused += 1;
    Some(if status == 418 {
        crate::respond::ban_response(secs, 0)
    } else {
        crate::respond::rate_limit_response(secs, 0)
    })
}

/// `/stream?streams=a/b/c`: a combined connection.
pub(crate) async fn combined(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<std::collections::HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    connect(shared, &params, ws, Venue::Spot)
}

/// A combined connection's upgrade, its streams from the URL.
fn connect(
    shared: Arc<Shared>,
    params: &std::collections::HashMap<String, String>,
    ws: WebSocketUpgrade,
    venue: Venue,
) -> Response {
    let streams = params
        .get("streams")
        .map(|s| {
            s.split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(refused) = refusal(&shared) {
        return refused;
    }
    ws.on_upgrade(move |socket| serve(shared, socket, (streams, true), venue))
}

fn text(v: &Value) -> Message {
    Message::Text(Utf8Bytes::from(v.to_string()))
}

/// Counts incoming messages in the current second; `true` once over the limit.
struct RateWindow {
    start: Instant,
    count: usize,
    most: usize,
}

impl RateWindow {
    fn hit(&mut self, shared: &Shared) -> bool {
        let now = Instant::now();
        if now - self.start >= Duration::from_secs(1) {
            self.start = now;
            self.count = 0;
        }
        self.count += 1;
        let mut book = shared.streams.lock().unwrap();
        book.stats.max_per_second = book.stats.max_per_second.max(self.count);
        self.count > self.most
    }
}

/// One connection, from upgrade to close.
async fn serve(
    shared: Arc<Shared>,
    socket: WebSocket,
    (names, combined): (Vec<String>, bool),
    venue: Venue,
) {
    let (conn, fault) = {
        let mut book = shared.streams.lock().unwrap();
        book.stats.connections += 1;
        book.stats.open += 1;
        book.stats.streams.push(0);
        let fault = book.faults.pop_front().flatten();
        (book.stats.connections - 1, fault)
    };
    run(&shared, socket, (names, combined, venue), conn, fault).await;
    shared.streams.lock().unwrap().stats.open -= 1;
}

async fn run(
    shared: &Arc<Shared>,
    socket: WebSocket,
    (names, combined, venue): (Vec<String>, bool, Venue),
    conn: usize,
    fault: Option<StreamFault>,
) {
    let opts = shared.opts.streams.clone();
    let (mut tx, mut rx) = socket.split();
    let mut subs: Vec<Sub> = Vec::new();
    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }))
    };
    for name in &names {
        match parse_stream(shared, venue, name) {
            Some(sub) => subs.push(sub),
            None => {
                let _ = tx.send(close(1008, "Invalid stream name")).await;
                return;
            }
        }
    }
    if subs.len() > venue.max_streams() {
        let _ = tx.send(close(1008, "Too many streams")).await;
        return;
    }
    shared.streams.lock().unwrap().stats.streams[conn] = subs.len();
    let started = Instant::now();
    let after = |d: Duration| started + d;
    let mut ticks = tokio::time::interval(opts.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut pings = tokio::time::interval_at((started + opts.ping_every).into(), opts.ping_every);
    let mut last_pong = Instant::now();
    let mut window = RateWindow {
        start: Instant::now(),
        count: 0,
        most: venue.max_per_second(),
    };
    let mut step = 0u64;
    let mut shutdown_sent = false;
    let stall_at = match fault {
        Some(StreamFault::StallAfter(d)) => Some(after(d)),
        _ => None,
    };
    let close_at = match fault {
        Some(StreamFault::CloseAfter(d)) => after(d),
        _ => after(opts.lifetime),
    };
    let shutdown_at = match fault {
        Some(StreamFault::ShutdownAfter(d)) => Some(after(d)),
        _ => None,
    };
    let mut check = tokio::time::interval(Duration::from_millis(50));
    loop {
        let stalled = stall_at.is_some_and(|t| Instant::now() >= t);
        tokio::select! {
            incoming = rx.next() => {
                let Some(Ok(msg)) = incoming else { return };
                if window.hit(shared) {
                    shared.streams.lock().unwrap().stats.closed_for_rate += 1;
                    let _ = tx.send(close(1008, "Too many messages")).await;
                    return;
                }
                match msg {
                    Message::Pong(_) => {
                        shared.streams.lock().unwrap().stats.pongs += 1;
                        if fault != Some(StreamFault::IgnorePongs) {
                            last_pong = Instant::now();
                        }
                    }
                    Message::Text(t) => {
                        let reply = method(shared, &t, (&mut subs, venue), conn);
                        if tx.send(text(&reply)).await.is_err() {
                            return;
                        }
                    }
                    Message::Close(_) => return,
                    _ => {}
                }
            }
            _ = ticks.tick(), if !stalled => {
                step += 1;
                if fault == Some(StreamFault::ErrorOnly) {
                    let err = json!({"code": 2, "msg": "Invalid request"});
                    if tx.send(text(&err)).await.is_err() {
                        return;
                    }
                    continue;
                }
                if fault == Some(StreamFault::Oversize) && step == 1 {
                    let huge = "x".repeat(17 << 20);
                    if tx.send(Message::Text(Utf8Bytes::from(huge))).await.is_err() {
                        return;
                    }
                    continue;
                }
                let mut sent = 0u64;
                for sub in &subs {
                    // Stamped as it is sent, so that a client's lag can be measured from it.
                    let behind = match fault {
                        Some(StreamFault::ClockBehind(d)) => d.as_millis() as u64,
                        _ => 0,
                    };
                    let event_ms = (unix_now().as_millis() as u64).saturating_sub(behind);
                    let every_pair = fault == Some(StreamFault::EveryPair);
                    let mut data = payload(shared, sub, step, event_ms, every_pair);
                    if fault == Some(StreamFault::BadPrices) && step.is_multiple_of(2) {
                        for key in ["c", "b"] {
                            if let Some(v) = data.get_mut(key) {
                                *v = Value::from("NaN");
                            }
                        }
                    }
                    if fault == Some(StreamFault::ForeignSymbol) {
                        let mut evil = data.clone();
                        if let Some(v) = evil.get_mut("s") {
                            *v = Value::from("EVILUSDT");
                        }
                        let evil = if combined {
                            json!({"stream": "evilusdt@miniTicker", "data": evil})
                        } else {
                            evil
                        };
                        if tx.feed(text(&evil)).await.is_err() {
                            return;
                        }
                    }
                    let msg = if combined {
                        json!({"stream": sub.name, "data": data})
                    } else {
                        data
                    };
                    // Written out every few messages: a whole buffered burst would stamp its
                    // first messages long before they leave, one write each costs the machine
                    // the client is measured on.
                    if tx.feed(text(&msg)).await.is_err() {
                        return;
                    }
                    sent += 1;
                    if sent.is_multiple_of(16) && tx.flush().await.is_err() {
                        return;
                    }
                }
                if tx.flush().await.is_err() {
                    return;
                }
                shared.streams.lock().unwrap().stats.sent += sent;
            }
            _ = pings.tick(), if !stalled => {
                if last_pong.elapsed() > opts.pong_timeout {
                    let _ = tx.send(close(1008, "Pong timeout")).await;
                    return;
                }
                if tx.send(Message::Ping(axum::body::Bytes::from_static(b"mock"))).await.is_err() {
                    return;
                }
            }
            _ = check.tick() => {
                let now = Instant::now();
                if shared.closing.load(Ordering::Relaxed) {
                    return;
                }
                if now >= close_at {
                    let _ = tx.send(close(1001, "Connection lifetime reached")).await;
                    return;
                }
                if !shutdown_sent && shutdown_at.is_some_and(|t| now >= t) {
                    shutdown_sent = true;
                    let data = json!({"e": "serverShutdown", "E": unix_now().as_millis() as u64});
                    let msg = if combined {
                        json!({"stream": "!serverShutdown", "data": data})
                    } else {
                        data
                    };
                    if tx.send(text(&msg)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Answers a JSON method: SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS.
fn method(
    shared: &Shared,
    text: &str,
    (subs, venue): (&mut Vec<Sub>, Venue),
    conn: usize,
) -> Value {
    let request: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let params: Vec<String> = request
        .get("params")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let invalid = |msg: &str| json!({"error": {"code": 2, "msg": format!("Invalid request: {msg}")}, "id": id});
    match request.get("method").and_then(Value::as_str) {
        Some("SUBSCRIBE") => {
            let mut book = shared.streams.lock().unwrap();
            book.stats.subscribe_messages += 1;
            if let Some(bad) = params.iter().find(|p| book.rejected.contains(p)) {
                return invalid(&format!("invalid stream name {bad}"));
            }
            drop(book);
            let mut new = Vec::new();
            for p in &params {
                match parse_stream(shared, venue, p) {
                    Some(sub) => new.push(sub),
                    None => return invalid(&format!("invalid stream name {p}")),
                }
            }
            if subs.len() + new.len() > venue.max_streams() {
                return invalid("too many streams on one connection");
            }
            for sub in new {
                if !subs.iter().any(|s| s.name == sub.name) {
                    subs.push(sub);
                }
            }
            shared.streams.lock().unwrap().stats.streams[conn] = subs.len();
            json!({"result": null, "id": id})
        }
        Some("UNSUBSCRIBE") => {
            subs.retain(|s| !params.contains(&s.name));
            json!({"result": null, "id": id})
        }
        Some("LIST_SUBSCRIPTIONS") => {
            json!({"result": subs.iter().map(|s| s.name.clone()).collect::<Vec<_>>(), "id": id})
        }
        _ => invalid("unknown method"),
    }
}
