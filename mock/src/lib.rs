//! A local stand-in for Binance's Spot market-data API, for pricefetch's tests and benchmarks.
//!
//! Binance cannot be reached from CI (and must never be hammered by tests), so this server
//! behaves like `shared/binance-api.md` describes the real one: the same paths, the same JSON
//! shapes with prices as 8-decimal strings, the same request weights and the
//! `X-MBX-USED-WEIGHT-1M` header, the same `{"code","msg"}` errors (-1121, -1100, -1101, -1003),
//! a per-minute weight budget that answers 429 with `Retry-After`, and a ban (418) for any client
//! that sends during a `Retry-After` window. On top of that it injects faults on demand
//! ([`Fault`]), adds latency, and records every request it saw ([`Hit`]) and the most requests it
//! had in flight at once, so tests can assert what went over the wire and when.
//!
//! [`MockServer::start`] binds `127.0.0.1:0` on its own thread and runtime, so it works from
//! plain `#[test]` functions that run the pricefetch binary with `assert_cmd`.

mod stream;

pub use stream::{MAX_CONTROL_PER_SECOND, MAX_STREAMS, StreamFault, StreamOptions, StreamStats};

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt as _;
use axum::{Json, Router};
use serde_json::{Value, json};

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
}

/// What the server saw: one entry per request, in arrival order.
#[derive(Debug, Clone)]
pub struct Hit {
    /// When the request arrived.
    pub at: Instant,
    /// The request path, e.g. `/api/v3/ticker/price`.
    pub path: String,
    /// The `symbol` parameter, if any.
    pub symbol: Option<String>,
    /// The `symbols` parameter (the raw JSON array text), if any.
    pub symbols: Option<String>,
    /// The HTTP status the server chose (a `Hang` or `Reset` records 0).
    pub status: u16,
    /// The request weight that was charged.
    pub weight: u32,
}

/// How the server starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Added before every answer, like the round trip to a real host.
    pub latency: Duration,
    /// Request weight allowed per wall-clock minute (Binance: 6000).
    pub weight_limit: u32,
    /// Generated symbols (`SYM0001USDT`, …) added to the realistic list, for big runs.
    pub extra_symbols: usize,
    /// Chance (0.0–1.0) that a request without a scripted fault gets a random transient fault.
    pub fault_rate: f64,
    /// Seed for the random faults, so a run can be replayed.
    pub seed: u64,
    /// Address to bind; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The WebSocket streams' cadence, pings and lifetime.
    pub streams: StreamOptions,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            weight_limit: 6000,
            extra_symbols: 0,
            fault_rate: 0.0,
            seed: 1,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            streams: StreamOptions::default(),
        }
    }
}

/// Realistic symbols with realistic magnitudes; prices are derived from these so that tests can
/// see small-coin prices such as `0.00001234` survive untouched.
const MARKET: &[(&str, &str, &str, f64)] = &[
    ("BTCUSDT", "BTC", "USDT", 97123.45),
    ("ETHUSDT", "ETH", "USDT", 3412.17),
    ("BNBUSDT", "BNB", "USDT", 612.3),
    ("SOLUSDT", "SOL", "USDT", 187.42),
    ("XRPUSDT", "XRP", "USDT", 0.6234),
    ("ADAUSDT", "ADA", "USDT", 0.4512),
    ("DOGEUSDT", "DOGE", "USDT", 0.1623),
    ("DOTUSDT", "DOT", "USDT", 6.731),
    ("LTCUSDT", "LTC", "USDT", 84.12),
    ("LINKUSDT", "LINK", "USDT", 14.87),
    ("TRXUSDT", "TRX", "USDT", 0.1234),
    ("AVAXUSDT", "AVAX", "USDT", 35.61),
    ("SHIBUSDT", "SHIB", "USDT", 0.00001234),
    ("PEPEUSDT", "PEPE", "USDT", 0.00000412),
    ("ETHBTC", "ETH", "BTC", 0.03512),
    ("BNBBTC", "BNB", "BTC", 0.006301),
    ("SOLBTC", "SOL", "BTC", 0.001929),
    ("XRPBTC", "XRP", "BTC", 0.00000642),
    ("BTCEUR", "BTC", "EUR", 91234.5),
    ("ETHEUR", "ETH", "EUR", 3205.11),
    ("BTCFDUSD", "BTC", "FDUSD", 97101.02),
    ("ETHFDUSD", "ETH", "FDUSD", 3410.0),
];

/// One listed symbol.
#[derive(Debug, Clone)]
struct Listing {
    symbol: String,
    base: String,
    quote: String,
    price: String,
}

/// The names of the first `n` generated symbols (`Options::extra_symbols`): `SYM0001USDT`, …
pub fn generated_symbols(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("SYM{i:04}USDT")).collect()
}

fn market(extra: usize) -> Vec<Listing> {
    let mut out: Vec<Listing> = MARKET
        .iter()
        .map(|(s, b, q, p)| Listing {
            symbol: (*s).into(),
            base: (*b).into(),
            quote: (*q).into(),
            price: format!("{p:.8}"),
        })
        .collect();
    for (i, symbol) in generated_symbols(extra).into_iter().enumerate() {
        out.push(Listing {
            base: symbol.trim_end_matches("USDT").to_owned(),
            quote: "USDT".into(),
            price: format!("{:.8}", 1.0 + ((i + 1) as f64) * 0.012_345),
            symbol,
        });
    }
    out
}

/// A per-key list of faults, played one per request; then `then` forever (if set).
#[derive(Debug, Default)]
struct Script {
    queue: VecDeque<Fault>,
    then: Option<Fault>,
}

#[derive(Debug)]
struct Book {
    hits: Vec<Hit>,
    in_flight: usize,
    max_in_flight: usize,
    /// `(minute index, weight used in it)`: Binance's window is the wall-clock minute.
    window: (u64, u32),
    /// After a 429 `(sent at, window end)`: requests before the end are refused.
    limited: Option<(Instant, Instant)>,
    /// While banned, every request gets 418.
    banned_until: Option<Instant>,
    scripts: HashMap<String, Script>,
    rng: fastrand::Rng,
    /// TCP connections accepted, to check that clients reuse them.
    connections: usize,
    /// Requests whose client hung up before the answer was ready.
    cancelled: usize,
}

struct Shared {
    /// Set when the server stops: open stream connections end.
    closing: std::sync::atomic::AtomicBool,
    streams: Mutex<stream::StreamBook>,
    timer: PreciseTimer,
    opts: Options,
    listings: Vec<Listing>,
    index: HashMap<String, usize>,
    book: Mutex<Book>,
}

/// A running mock Binance. Dropping it stops the server.
pub struct MockServer {
    url: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Requests arriving this soon after a 429 were already on the wire when it was sent; they get
/// a 429 too. Anything later inside the `Retry-After` window is a client that did not back off,
/// and gets the 418 ban.
pub const IN_FLIGHT_GRACE: Duration = Duration::from_millis(200);

/// The key for faults that apply to every request that has no script of its own.
pub const ANY: &str = "*";

impl MockServer {
    /// Starts a server with default options on `127.0.0.1:0`.
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    /// Starts a server with a given latency on `127.0.0.1:0`.
    pub fn with_latency(latency: Duration) -> Self {
        Self::start_with(Options {
            latency,
            ..Options::default()
        })
    }

    /// Starts a server on its own thread and tokio runtime; panics if the address is taken.
    pub fn start_with(opts: Options) -> Self {
        Self::try_start_with(opts).expect("bind mock server")
    }

    /// Starts a server on its own thread and tokio runtime, or says why it could not bind.
    pub fn try_start_with(opts: Options) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(opts.addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr().expect("local addr");
        let listings = market(opts.extra_symbols);
        let index = listings
            .iter()
            .enumerate()
            .map(|(i, l)| (l.symbol.clone(), i))
            .collect();
        let shared = Arc::new(Shared {
            closing: std::sync::atomic::AtomicBool::new(false),
            streams: Mutex::default(),
            timer: PreciseTimer::start(),
            book: Mutex::new(Book {
                hits: Vec::new(),
                in_flight: 0,
                max_in_flight: 0,
                window: (0, 0),
                limited: None,
                banned_until: None,
                scripts: HashMap::new(),
                rng: fastrand::Rng::with_seed(opts.seed),
                connections: 0,
                cancelled: 0,
            }),
            opts,
            listings,
            index,
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let counter = shared.clone();
        let app = Router::new()
            .route("/api/v3/ticker/price", get(ticker_price))
            .route("/api/v3/ticker/24hr", get(ticker_24hr))
            .route("/api/v3/ticker/bookTicker", get(book_ticker))
            .route("/api/v3/exchangeInfo", get(exchange_info))
            .route("/api/v3/ping", get(ping))
            .route("/api/v3/time", get(time))
            .route("/__mock/stats", get(stats))
            .route("/ws/{stream}", get(stream::raw))
            .route("/stream", get(stream::combined))
            .fallback(not_found)
            .with_state(shared.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("mock runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .expect("listener")
                    .tap_io(move |_| counter.book.lock().unwrap().connections += 1);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .ok();
            });
            // Hung handlers never finish on their own; do not wait for them.
            rt.shutdown_timeout(Duration::from_millis(100));
        });
        Ok(Self {
            url: format!("http://{addr}"),
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`, to pass as `--base-url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Plays `faults` one per request for `key` (a symbol, or [`ANY`]), then answers normally.
    pub fn script(&self, key: &str, faults: impl IntoIterator<Item = Fault>) {
        let mut book = self.shared.book.lock().unwrap();
        let script = book.scripts.entry(key.to_owned()).or_default();
        script.queue.extend(faults);
    }

    /// Plays `fault` for every request for `key` (a symbol, or [`ANY`]) once its script is spent.
    pub fn always(&self, key: &str, fault: Fault) {
        let mut book = self.shared.book.lock().unwrap();
        book.scripts.entry(key.to_owned()).or_default().then = Some(fault);
    }

    /// Every request seen so far, in arrival order.
    pub fn hits(&self) -> Vec<Hit> {
        self.shared.book.lock().unwrap().hits.clone()
    }

    /// Requests seen for one symbol.
    pub fn hits_for(&self, symbol: &str) -> usize {
        self.hits()
            .iter()
            .filter(|h| h.symbol.as_deref() == Some(symbol))
            .count()
    }

    /// The most requests that were being handled at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.shared.book.lock().unwrap().max_in_flight
    }

    /// Requests whose client went away before the answer (hedged losers, timeouts).
    pub fn cancelled(&self) -> usize {
        self.shared.book.lock().unwrap().cancelled
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.book.lock().unwrap().connections
    }

    /// Every symbol the mock lists, in listing order.
    pub fn symbols(&self) -> Vec<String> {
        self.shared
            .listings
            .iter()
            .map(|l| l.symbol.clone())
            .collect()
    }

    /// The exact price string the mock answers for `symbol`.
    pub fn price(&self, symbol: &str) -> Option<String> {
        let i = *self.shared.index.get(symbol)?;
        Some(self.shared.listings[i].price.clone())
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shared
            .closing
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sleeps with sub-millisecond precision, for latencies that benchmarks use as their floor.
///
/// tokio's timer has a 1 ms tick and rounds every deadline up, which makes a "50 ms" answer take
/// about 51 ms: 2% of the floor, more than a benchmark's error budget. Instead one thread keeps
/// the deadlines in order and fires each with `recv_timeout`, which parks on a futex with
/// nanosecond resolution.
struct PreciseTimer {
    tx: Mutex<std::sync::mpsc::Sender<(Instant, tokio::sync::oneshot::Sender<()>)>>,
}

impl PreciseTimer {
    fn start() -> Self {
        use std::sync::mpsc::RecvTimeoutError;
        let (tx, rx) = std::sync::mpsc::channel::<(Instant, tokio::sync::oneshot::Sender<()>)>();
        std::thread::spawn(move || {
            let mut due = std::collections::BTreeMap::new();
            let mut seq = 0u64;
            loop {
                let now = Instant::now();
                while let Some(entry) = due.first_entry() {
                    let (at, _): &(Instant, u64) = entry.key();
                    if *at > now {
                        break;
                    }
                    let waker: tokio::sync::oneshot::Sender<()> = entry.remove();
                    let _ = waker.send(());
                }
                let next = match due.first_key_value() {
                    Some(((at, _), _)) => rx.recv_timeout(at.saturating_duration_since(now)),
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                match next {
                    Ok((at, waker)) => {
                        due.insert((at, seq), waker);
                        seq += 1;
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        Self { tx: Mutex::new(tx) }
    }

    async fn sleep_until(&self, at: Instant) {
        let (waker, fired) = tokio::sync::oneshot::channel();
        if self.tx.lock().unwrap().send((at, waker)).is_ok() {
            let _ = fired.await;
        }
    }
}

/// Tracks one request in flight; the count drops even when the client hangs up and the
/// handler future is dropped, which is then counted as a cancellation.
struct InFlight {
    shared: Arc<Shared>,
    answered: bool,
}

impl InFlight {
    fn enter(shared: &Arc<Shared>) -> Self {
        let mut book = shared.book.lock().unwrap();
        book.in_flight += 1;
        book.max_in_flight = book.max_in_flight.max(book.in_flight);
        Self {
            shared: shared.clone(),
            answered: false,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut book = self.shared.book.lock().unwrap();
        book.in_flight -= 1;
        if !self.answered {
            book.cancelled += 1;
        }
    }
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// What the gatekeeping decided for one request, before its own answer is made.
enum Gate {
    /// Go on; the weight was charged and this is the minute's total so far.
    Pass(u32, usize),
    /// Refuse with this response (429 or 418).
    Refuse(Response),
    /// Play this fault after charging the weight.
    Fault(Fault, u32, usize),
}

impl Shared {
    /// Charges `weight`, applies the ban and rate-limit rules, and picks a fault, recording the hit.
    fn admit(&self, path: &str, params: &HashMap<String, String>, weight: u32) -> Gate {
        let now = Instant::now();
        let mut book = self.book.lock().unwrap();
        let minute = unix_now().as_secs() / 60;
        if book.window.0 != minute {
            book.window = (minute, 0);
        }
        let mut hit = Hit {
            at: now,
            path: path.to_owned(),
            symbol: params.get("symbol").cloned(),
            symbols: params.get("symbols").cloned(),
            status: 200,
            weight,
        };
        if let Some((since, until)) = book.limited
            && now < until
            && now - since < IN_FLIGHT_GRACE
        {
            // Sent before the client could have seen the 429: over the limit, but not defiant.
            hit.status = 429;
            let used = book.window.1;
            book.hits.push(hit);
            return Gate::Refuse(rate_limit_response((until - now).as_secs().max(1), used));
        }
        let banned = book.banned_until.is_some_and(|t| now < t)
            || book.limited.is_some_and(|(_, until)| now < until);
        if banned {
            // Sending inside a Retry-After window is what gets real IPs banned.
            let secs = 120;
            book.banned_until = Some(now + Duration::from_secs(secs));
            hit.status = 418;
            let used = book.window.1;
            book.hits.push(hit);
            return Gate::Refuse(ban_response(secs, used));
        }
        book.window.1 += weight;
        let used = book.window.1;
        if used > self.opts.weight_limit {
            let secs = 60 - unix_now().as_secs() % 60;
            book.limited = Some((now, now + Duration::from_secs(secs)));
            hit.status = 429;
            book.hits.push(hit);
            return Gate::Refuse(rate_limit_response(secs, used));
        }
        let key = hit.symbol.clone().unwrap_or_default();
        let fault = book
            .next_fault(&key)
            .or_else(|| book.next_fault(ANY))
            .or_else(|| {
                let rate = self.opts.fault_rate;
                (rate > 0.0 && book.rng.f64() < rate).then(|| random_fault(&mut book.rng))
            });
        match &fault {
            Some(Fault::RateLimit { retry_after_secs }) => {
                book.limited = Some((now, now + Duration::from_secs(*retry_after_secs)));
                hit.status = 429;
            }
            Some(Fault::Ban { retry_after_secs }) => {
                book.banned_until = Some(now + Duration::from_secs(*retry_after_secs));
                hit.status = 418;
            }
            Some(Fault::Status(s) | Fault::Html(s) | Fault::RetryAfter { status: s, .. }) => {
                hit.status = *s;
            }
            Some(Fault::GeoBlock) => hit.status = 451,
            Some(Fault::Hang | Fault::Reset) => hit.status = 0,
            _ => {}
        }
        book.hits.push(hit);
        let at = book.hits.len() - 1;
        match fault {
            Some(f) => Gate::Fault(f, used, at),
            None => Gate::Pass(used, at),
        }
    }
}

impl Shared {
    /// The listings a selection names, in the asked order; all of them for no selection.
    fn pick(&self, sel: Option<Vec<usize>>) -> Vec<&Listing> {
        match sel {
            Some(ix) => ix.iter().map(|&i| &self.listings[i]).collect(),
            None => self.listings.iter().collect(),
        }
    }
}

impl Book {
    fn next_fault(&mut self, key: &str) -> Option<Fault> {
        let script = self.scripts.get_mut(key)?;
        script.queue.pop_front().or_else(|| script.then.clone())
    }
}

/// The transient faults a flaky network or a busy Binance produces; all of them can heal. One
/// in 25 is a 429 with a 1 s `Retry-After`, so that a soak also checks the client's back-off.
fn random_fault(rng: &mut fastrand::Rng) -> Fault {
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

fn with_weight(mut resp: Response, used: u32) -> Response {
    let v = HeaderValue::from(used);
    resp.headers_mut().insert("x-mbx-used-weight-1m", v.clone());
    resp.headers_mut().insert("x-mbx-used-weight", v);
    resp
}

fn json_response(status: StatusCode, body: &Value, used: u32) -> Response {
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

fn api_error(status: StatusCode, code: i64, msg: &str, used: u32) -> Response {
    json_response(status, &json!({"code": code, "msg": msg}), used)
}

fn rate_limit_response(secs: u64, used: u32) -> Response {
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

fn ban_response(secs: u64, used: u32) -> Response {
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

/// Turns a fault into its response; `ok` is the answer the request would otherwise get.
async fn play(
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
        Fault::GeoBlock => json_response(
            StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
            &json!({"code": 0, "msg": "Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms. Please contact customer service if you believe you received this message in error."}),
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

fn status(s: u16) -> StatusCode {
    StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn legal_symbol(s: &str) -> bool {
    (1..=20).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

/// Which symbols a `symbol` / `symbols` / neither selection names, or the Binance error for it.
fn select(
    shared: &Shared,
    params: &HashMap<String, String>,
) -> Result<Option<Vec<usize>>, (i64, String)> {
    let lookup = |s: &str| -> Result<usize, (i64, String)> {
        if !legal_symbol(s) {
            return Err((
                -1100,
                "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'."
                    .into(),
            ));
        }
        shared
            .index
            .get(s)
            .copied()
            .ok_or((-1121, "Invalid symbol.".into()))
    };
    match (params.get("symbol"), params.get("symbols")) {
        (Some(_), Some(_)) => Err((
            -1101,
            "Too many parameters; expected '0' and received '2'.".into(),
        )),
        (Some(s), None) => lookup(s).map(|i| Some(vec![i])),
        (None, Some(list)) => {
            let names: Vec<String> = serde_json::from_str(list).map_err(|_| {
                (
                    -1100,
                    "Illegal characters found in parameter 'symbols'; legal range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'."
                        .to_string(),
                )
            })?;
            if names.is_empty() {
                return Err((
                    -1102,
                    "Mandatory parameter 'symbols' was not sent, was empty/null, or malformed."
                        .into(),
                ));
            }
            names
                .iter()
                .map(|s| lookup(s))
                .collect::<Result<_, _>>()
                .map(Some)
        }
        (None, None) => Ok(None),
    }
}

fn price_json(l: &Listing) -> Value {
    json!({"symbol": l.symbol, "price": l.price})
}

/// A 24-hour ticker derived from the price: every other symbol is down on the day.
fn day_json(i: usize, l: &Listing) -> Value {
    let last: f64 = l.price.parse().unwrap_or(1.0);
    let pct = if i.is_multiple_of(2) { 2.5 } else { -1.25 };
    let open = last / (1.0 + pct / 100.0);
    let f = |x: f64| format!("{x:.8}");
    json!({
        "symbol": l.symbol, "priceChange": f(last - open), "priceChangePercent": format!("{pct:.3}"),
        "weightedAvgPrice": f((last + open) / 2.0), "prevClosePrice": f(open), "lastPrice": l.price,
        "lastQty": "0.01000000", "bidPrice": f(last * 0.9999), "bidQty": "1.50000000",
        "askPrice": f(last * 1.0001), "askQty": "2.00000000", "openPrice": f(open),
        "highPrice": f(last.max(open) * 1.01), "lowPrice": f(last.min(open) * 0.99),
        "volume": "12345.67800000", "quoteVolume": f(12345.678 * last),
        "openTime": 1_700_000_000_000u64, "closeTime": 1_700_086_399_999u64,
        "firstId": 1, "lastId": 1000, "count": 1000
    })
}

fn book_json(l: &Listing) -> Value {
    let last: f64 = l.price.parse().unwrap_or(1.0);
    json!({
        "symbol": l.symbol, "bidPrice": format!("{:.8}", last * 0.9999), "bidQty": "1.50000000",
        "askPrice": format!("{:.8}", last * 1.0001), "askQty": "2.00000000"
    })
}

/// How many symbols a `symbols=[…]` parameter names (0 if it is not a JSON array).
fn symbols_count(params: &HashMap<String, String>) -> usize {
    params
        .get("symbols")
        .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
        .map_or(0, |v| v.len())
}

async fn ticker_24hr(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    // binance-api.md: 2 for one symbol or 1-20, 40 for 21-100, 80 for more or all.
    let weight = match (params.contains_key("symbol"), symbols_count(&params)) {
        (true, _) | (false, 1..=20) => 2,
        (false, 21..=100) => 40,
        _ => 80,
    };
    serve(
        shared,
        "/api/v3/ticker/24hr",
        params,
        weight,
        |shared, sel| {
            let pick = shared.pick(sel);
            Value::Array(
                pick.into_iter()
                    .map(|l| day_json(shared.index[&l.symbol], l))
                    .collect(),
            )
        },
    )
    .await
}

async fn book_ticker(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    one_per_listing(shared, params, "/api/v3/ticker/bookTicker", book_json).await
}

async fn ticker_price(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    one_per_listing(shared, params, "/api/v3/ticker/price", price_json).await
}

/// The price and book tickers: weight 2 for one symbol, 4 for a list or the whole market.
async fn one_per_listing(
    shared: Arc<Shared>,
    params: HashMap<String, String>,
    path: &str,
    each: fn(&Listing) -> Value,
) -> Response {
    let weight = if params.contains_key("symbol") { 2 } else { 4 };
    serve(shared, path, params, weight, |shared, sel| {
        Value::Array(shared.pick(sel).into_iter().map(each).collect())
    })
    .await
}

/// The common path of every data endpoint: latency, gate, selection, fault, answer.
async fn serve(
    shared: Arc<Shared>,
    path: &str,
    params: HashMap<String, String>,
    weight: u32,
    answer: impl FnOnce(&Shared, Option<Vec<usize>>) -> Value,
) -> Response {
    let mut in_flight = InFlight::enter(&shared);
    let arrived = Instant::now();
    let gate = shared.admit(path, &params, weight);
    if !shared.opts.latency.is_zero() {
        shared
            .timer
            .sleep_until(arrived + shared.opts.latency)
            .await;
    }
    let (fault, used, at) = match gate {
        Gate::Refuse(r) => {
            in_flight.answered = true;
            return r;
        }
        Gate::Pass(used, at) => (None, used, at),
        Gate::Fault(f, used, at) => (Some(f), used, at),
    };
    // A `symbol=` selection answers one object; `symbols=` and "all" answer an array.
    let ok = || match select(&shared, &params) {
        Err((code, msg)) => api_error(StatusCode::BAD_REQUEST, code, &msg, used),
        Ok(sel) => {
            let single = params.contains_key("symbol");
            let mut body = answer(&shared, sel);
            if single && let Value::Array(mut a) = body {
                body = a.pop().unwrap_or(Value::Null);
            }
            json_response(StatusCode::OK, &body, used)
        }
    };
    let resp = match fault {
        Some(f) => play(f, used, &shared.timer, ok).await,
        None => ok(),
    };
    // The answer may differ from what the gate expected (e.g. -1121 on a clean request).
    shared.book.lock().unwrap().hits[at].status = resp.status().as_u16();
    in_flight.answered = true;
    resp
}

async fn exchange_info(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    serve(shared, "/api/v3/exchangeInfo", params, 20, |shared, sel| {
        let pick = shared.pick(sel);
        json!({
            "timezone": "UTC",
            "serverTime": unix_now().as_millis() as u64,
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": shared.opts.weight_limit},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000}
            ],
            "exchangeFilters": [],
            "symbols": pick.iter().map(|l| json!({
                "symbol": l.symbol, "status": "TRADING", "baseAsset": l.base, "quoteAsset": l.quote,
                "baseAssetPrecision": 8, "quotePrecision": 8
            })).collect::<Vec<_>>(),
        })
    })
    .await
}

async fn ping(State(shared): State<Arc<Shared>>) -> Response {
    serve(shared, "/api/v3/ping", HashMap::new(), 1, |_, _| json!({})).await
}

async fn time(State(shared): State<Arc<Shared>>) -> Response {
    serve(
        shared,
        "/api/v3/time",
        HashMap::new(),
        1,
        |_, _| json!({"serverTime": unix_now().as_millis() as u64}),
    )
    .await
}

/// Not part of Binance: lets a benchmark script read what the server saw.
async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let book = shared.book.lock().unwrap();
    let by_status = book.hits.iter().fold(HashMap::new(), |mut m, h| {
        *m.entry(h.status.to_string()).or_insert(0u64) += 1;
        m
    });
    let weight: u64 = book.hits.iter().map(|h| u64::from(h.weight)).sum();
    Json(json!({
        "requests": book.hits.len(),
        "max_in_flight": book.max_in_flight,
        "weight": weight,
        "by_status": by_status,
    }))
    .into_response()
}

async fn not_found(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!(
            "<html><body><h1>404 Not Found</h1><p>{}</p></body></html>",
            uri.path()
        ),
    )
        .into_response()
}
