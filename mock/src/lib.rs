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
//!
//! # Layout
//!
//! - this file: [`Options`], [`MockServer`] (start, scripts, what it saw) and the shared book;
//! - `market`: the listed symbols and their prices;
//! - `endpoints`: the REST endpoints, their JSON and headers, `/__mock/stats`;
//! - `limits`: the per-IP weight window, 429 and 418;
//! - `faults`: [`Fault`] and how each is played;
//! - `record`: requests in flight, the clock;
//! - `timer`: the sub-millisecond latency timer;
//! - `stream`: the WebSocket market streams;
//! - `tape`: the trades history is made of; `history`: klines, uiKlines and aggTrades.

mod endpoints;
mod faults;
mod futures;
mod futures_history;
mod futures_stream;
pub mod history;
mod limits;
mod market;
mod record;
mod respond;
mod stream;
mod stream_data;
mod tape;
mod tickers;
mod timer;
mod tls;
mod venue;

pub use faults::Fault;
pub use market::generated_symbols;
pub use stream::{StreamFault, StreamOptions, StreamStats};
pub use venue::{MAX_CONTROL_PER_SECOND, MAX_STREAMS};

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::endpoints::{
    book_ticker, exchange_info, not_found, ping, stats, ticker_24hr, ticker_price, time,
};
use crate::market::{Listing, market};
use crate::timer::PreciseTimer;
use axum::Router;
use axum::routing::get;
use axum::serve::ListenerExt as _;

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
    /// The `symbolStatus` parameter, if any.
    pub symbol_status: Option<String>,
    /// Every query parameter (`windowSize`, `timeZone`, …), by name.
    pub params: std::collections::BTreeMap<String, String>,
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
    /// The futures markets' own limit (USD-M and COIN-M each; 2,400 at Binance).
    pub futures_weight_limit: u32,
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
    /// Serve HTTPS (h2 and http/1.1 by ALPN) with a certificate from a private CA.
    pub tls: TlsMode,
    /// Prices move a little every second, the same way for the same `seed`, on REST and on
    /// every stream alike (the offline demo's `--watch` and `--stream` show changes); off, REST
    /// prices never change and each stream rises a small step per update (tests that compare
    /// output).
    pub moving_prices: bool,
    /// Pairs added to the market, trading: `(symbol, base, quote, price)`, for routes a test
    /// needs exact prices on (`--in`).
    pub extra_pairs: Vec<(String, String, String, String)>,
    /// History answers give times in microseconds whatever was asked (as Binance's public data
    /// files have since 2025); otherwise only with `X-MBX-TIME-UNIT: MICROSECOND`.
    pub micros: bool,
}

/// Whether the mock speaks TLS, and with which certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain http.
    #[default]
    Off,
    /// HTTPS with a valid certificate for `127.0.0.1` and `localhost` (see [`MockServer::ca_pem`]).
    On,
    /// HTTPS with a certificate that expired in 2021.
    Expired,
    /// HTTPS offering HTTP/1.1 only by ALPN (no h2).
    Http1Only,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            weight_limit: 6000,
            futures_weight_limit: 2400,
            extra_symbols: 0,
            fault_rate: 0.0,
            seed: 1,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            streams: StreamOptions::default(),
            tls: TlsMode::Off,
            moving_prices: false,
            extra_pairs: Vec::new(),
            micros: false,
        }
    }
}

/// One market's budget: spot, USD-M and COIN-M never share a minute, a pause or a ban.
#[derive(Debug, Default)]
struct Budget {
    /// `(minute index, weight used in it)`: Binance's window is the wall-clock minute.
    window: (u64, u32),
    /// After a 429 `(sent at, window end)`: requests before the end are refused.
    limited: Option<(Instant, Instant)>,
    /// While banned, every request gets 418.
    banned_until: Option<Instant>,
    /// The futures' funding history's own limit: `(5-minute window index, requests in it)`.
    funding: (u64, u32),
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
    /// Spot's, USD-M's and COIN-M's budgets (see [`Budget`]), by [`limits::market_of`].
    budgets: [Budget; 3],
    scripts: HashMap<String, Script>,
    rng: fastrand::Rng,
    /// TCP connections accepted, to check that clients reuse them.
    connections: usize,
    /// Of those, the ones that negotiated HTTP/2 by ALPN.
    h2_connections: usize,
    /// Requests whose client hung up before the answer was ready.
    cancelled: usize,
}

struct Shared {
    /// When the server started (ms since the epoch): moving prices are a function of the whole
    /// seconds since.
    started_ms: u64,
    /// Set when the server stops: open stream connections end.
    closing: std::sync::atomic::AtomicBool,
    streams: Mutex<stream::StreamBook>,
    timer: PreciseTimer,
    opts: Options,
    listings: Vec<Listing>,
    index: HashMap<String, usize>,
    /// USD-M perpetuals generated for `extra_symbols`, beside the few listed ones.
    usdm_extra: Vec<futures::Contract>,
    book: Mutex<Book>,
}

/// A running mock Binance. Dropping it stops the server.
pub struct MockServer {
    url: String,
    /// With TLS: the private CA that signed the server's certificate (PEM).
    ca_pem: Option<String>,
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
        let listings = market(opts.extra_symbols, &opts.extra_pairs);
        let index = listings
            .iter()
            .enumerate()
            .map(|(i, l)| (l.symbol.clone(), i))
            .collect();
        let shared = Arc::new(Shared {
            started_ms: record::unix_now().as_millis() as u64,
            closing: std::sync::atomic::AtomicBool::new(false),
            streams: Mutex::default(),
            timer: PreciseTimer::start(),
            book: Mutex::new(Book {
                hits: Vec::new(),
                in_flight: 0,
                max_in_flight: 0,
                budgets: Default::default(),
                scripts: HashMap::new(),
                rng: fastrand::Rng::with_seed(opts.seed),
                connections: 0,
                h2_connections: 0,
                cancelled: 0,
            }),
            usdm_extra: futures::generated(opts.extra_symbols),
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
            .route("/api/v3/avgPrice", get(tickers::avg_price))
            .route("/api/v3/ticker", get(tickers::rolling))
            .route("/api/v3/ticker/tradingDay", get(tickers::trading_day))
            .route("/api/v3/klines", get(history::klines_endpoint))
            .route("/api/v3/uiKlines", get(history::klines_endpoint))
            .route("/api/v3/aggTrades", get(history::agg_trades))
            .route("/api/v3/ping", get(ping))
            .route("/fapi/v1/ticker/price", get(futures::usdm_price))
            .route("/dapi/v1/ticker/price", get(futures::coinm_price))
            .route("/fapi/v1/premiumIndex", get(futures::usdm_premium))
            .route("/dapi/v1/premiumIndex", get(futures::coinm_premium))
            .route("/fapi/v1/fundingRate", get(futures::usdm_funding))
            .route("/fapi/v1/ticker/bookTicker", get(futures::usdm_book))
            .route("/dapi/v1/ticker/bookTicker", get(futures::coinm_book))
            .route("/fapi/v1/ticker/24hr", get(futures::usdm_day))
            .route("/dapi/v1/ticker/24hr", get(futures::coinm_day))
            .route("/dapi/v1/fundingRate", get(futures::coinm_funding))
            .route("/fapi/v1/exchangeInfo", get(futures::usdm_info))
            .route("/dapi/v1/exchangeInfo", get(futures::coinm_info))
            .route("/fapi/v1/klines", get(futures_history::usdm_klines))
            .route("/dapi/v1/klines", get(futures_history::coinm_klines))
            .route("/fapi/v1/aggTrades", get(futures_history::usdm_trades))
            .route("/dapi/v1/aggTrades", get(futures_history::coinm_trades))
            .route("/api/v3/time", get(time))
            .route("/__mock/stats", get(stats))
            .route("/ws/{stream}", get(stream::raw))
            .route("/stream", get(stream::combined))
            .route("/{route}/ws/{stream}", get(stream::raw_routed))
            .route("/{route}/stream", get(stream::combined_routed))
            .fallback(not_found)
            .with_state(shared.clone());
        let tls = match shared.opts.tls {
            TlsMode::Off => None,
            TlsMode::On => Some(tls::make(false, true)),
            TlsMode::Expired => Some(tls::make(true, true)),
            TlsMode::Http1Only => Some(tls::make(false, false)),
        };
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let acceptor = tls.map(|t| t.acceptor);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("mock runtime");
            rt.block_on(async move {
                let tcp = tokio::net::TcpListener::from_std(listener).expect("listener");
                let stop = async {
                    let _ = rx.await;
                };
                match acceptor {
                    Some(acceptor) => {
                        let listener = tls::TlsListener {
                            tcp,
                            acceptor,
                            on_connect: Box::new(move |h2| {
                                let mut book = counter.book.lock().unwrap();
                                match h2 {
                                    None => book.connections += 1,
                                    Some(true) => book.h2_connections += 1,
                                    Some(false) => {}
                                }
                            }),
                        };
                        axum::serve(listener, app)
                            .with_graceful_shutdown(stop)
                            .await
                            .ok();
                    }
                    None => {
                        let listener =
                            tcp.tap_io(move |_| counter.book.lock().unwrap().connections += 1);
                        axum::serve(listener, app)
                            .with_graceful_shutdown(stop)
                            .await
                            .ok();
                    }
                }
            });
            // Hung handlers never finish on their own; do not wait for them.
            rt.shutdown_timeout(Duration::from_millis(100));
        });
        let scheme = if ca_pem.is_some() { "https" } else { "http" };
        Ok(Self {
            url: format!("{scheme}://{addr}"),
            ca_pem,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// With TLS: connections that negotiated HTTP/2 by ALPN.
    pub fn h2_connections(&self) -> usize {
        self.shared.book.lock().unwrap().h2_connections
    }

    /// With TLS: the PEM of the private CA that signed the server's certificate, for the
    /// client's `--cacert` or `SSL_CERT_FILE`.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`, to pass as `--base-url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The last price of `symbol` at `unix_ms` (ms since the epoch), as REST and the streams
    /// give it then; `None` for a symbol the mock does not list.
    pub fn price_at(&self, symbol: &str, unix_ms: u64) -> Option<String> {
        let listing = &self.shared.listings[*self.shared.index.get(symbol)?];
        Some(endpoints::price_at(&self.shared, listing, unix_ms))
    }

    /// Plays `faults` one per request for `key` (a symbol, an endpoint and a symbol such as
    /// `/api/v3/klines BTCUSDT`, or [`ANY`]), then answers normally. The most specific key
    /// that has a fault plays it.
    pub fn script(&self, key: &str, faults: impl IntoIterator<Item = Fault>) {
        let mut book = self.shared.book.lock().unwrap();
        let script = book.scripts.entry(key.to_owned()).or_default();
        script.queue.extend(faults);
    }

    /// Plays `fault` for every request for `key` (as for [`MockServer::script`]) once its
    /// script is spent.
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

    /// Every trading symbol the mock lists, in listing order (not the delisted or halted ones,
    /// which have no current price).
    pub fn symbols(&self) -> Vec<String> {
        self.shared
            .listings
            .iter()
            .filter(|l| l.status == "TRADING")
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

impl Book {
    fn next_fault(&mut self, key: &str) -> Option<Fault> {
        let script = self.scripts.get_mut(key)?;
        script.queue.pop_front().or_else(|| script.then.clone())
    }
}
