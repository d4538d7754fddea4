//! One combined stream connection that never goes silent: the producer side of `--stream`.
//!
//! A link owns up to 1,024 streams (200 on the futures) and keeps one connection open for
//! them, for as long as the run lasts:
//!
//! - it subscribes through the URL (`/stream?streams=a/b`), or, when that URL would pass
//!   [`MAX_URL`], with one `SUBSCRIBE` right after connecting: one control message per
//!   connection, far under Binance's 5 a second (pings are answered by tungstenite as it reads);
//! - a connection that delivers nothing for `--stale` is replaced (the socket may be open and
//!   silent: only a data watchdog notices);
//! - a closed or failed connection is reopened after an exponential backoff with full jitter,
//!   from the next host in turn; every attempt of every link passes one [`Attempts`] limiter,
//!   whose window is kept in the host's ledger, so that the IP never makes more than 300
//!   attempts in 5 minutes, however many pricefetch processes share it; backoff restarts only
//!   after a connection has been healthy for 30 s, so a flapping server sees fewer and fewer;
//! - before Binance's 24-hour limit (`--stream-rollover`), and on `serverShutdown`, a
//!   replacement is opened and subscribed first, and the old connection is closed only once the
//!   replacement has delivered: no gap (the consumer drops the duplicates of the overlap);
//! - each reconnect is reported with the gap it left, for one line on stderr.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use reqwest_websocket::{CloseCode, Message, Upgrade as _, WebSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::attempts::{Attempts, BACKOFF_BASE, HEALTHY_AFTER, kind_of, pause};
use super::message::{self, Parsed};
use crate::binance::root_cause;
use crate::host::authority;
use crate::market::{TickerKind, Update};

/// Longest URL to subscribe through; longer lists go in one `SUBSCRIBE` (binance-api.md: URLs
/// over ~8,000 characters break).
pub(super) const MAX_URL: usize = 4000;

/// A link hands its updates to the consumer this many at a time, and then lets it run (see
/// `serve`); fewer when the socket has no more for now. Measured at 10,000 messages a second
/// (user and system CPU over 30 s, medians of 3): 16 cost 0.61 s, 32 0.51 s, 64 0.50 s;
/// pricefetch's own lag p99 stayed well under a millisecond with 32.
pub(super) const BATCH: usize = 32;

/// What one read of a connection takes at most (a bigger frame is read whole all the same).
const READ_BUFFER: usize = 16 * 1024;

/// After a replacement connection takes over, its updates may repeat the old one's for this
/// long (a stream sends each symbol at most once a second); only these are de-duplicated.
const OVERLAP: Duration = Duration::from_secs(3);

/// What every link of a run shares.
pub(super) struct Shared {
    /// An HTTP/1.1 client with the run's proxies and TLS settings, for the upgrade.
    pub(crate) http: reqwest::Client,
    /// The stream host first, then its mirrors.
    pub(crate) hosts: Vec<Url>,
    /// Which stream per symbol (and how to read it).
    pub(crate) kind: TickerKind,
    /// Replace a connection silent for this long.
    pub(crate) stale: Duration,
    /// Replace a connection after this long.
    pub(crate) rollover: Duration,
    /// The limit for one connection attempt (connect, TLS, upgrade).
    pub(crate) connect_timeout: Duration,
    /// Where updates and reports go.
    pub(crate) tx: mpsc::Sender<Event>,
    /// Updates the consumer could not take in time.
    pub(crate) dropped: AtomicU64,
    /// Connection attempts, and when.
    pub(crate) attempts: Attempts,
    /// The run's rate-limit rules, shared with REST: a connection waits out a 429's pause
    /// (this process's or the host's) and ends at a ban; a 429 or a 418 answered to an upgrade
    /// is taken as REST's is (the host's ledger learns of it before the attempt is over).
    pub(crate) throttle: Arc<crate::throttle::Throttle>,
    /// Connections that opened (the first included).
    pub(crate) opened: AtomicU64,
    /// Connection attempts that failed.
    pub(crate) failed: AtomicU64,
    /// The kinds of connection failure already warned about: each is said once at default
    /// verbosity (the rest with -v).
    pub(crate) warned: std::sync::Mutex<std::collections::HashSet<&'static str>>,
    /// Cancelled when the run ends.
    pub(crate) stop: CancellationToken,
}

/// What the producers tell the consumer.
#[derive(Debug)]
pub(super) enum Event {
    /// New values, in the order read (a link sends them [`BATCH`] at a time, or what
    /// it has when the socket has no more for now).
    Updates(Vec<Update>),
    /// A connection is back, after a gap without data (none if it never delivered before).
    Reconnected {
        /// Which link.
        link: usize,
        /// How long no data arrived.
        gap: Option<Duration>,
        /// Why the previous connection ended.
        why: String,
    },
}

/// Why a connection ended.
enum End {
    /// Nothing arrived for `--stale`.
    Stale,
    /// The server closed it, or it broke.
    Closed(String),
    /// The run is over.
    Stopped,
}

type Connecting = Pin<Box<dyn Future<Output = Result<WebSocket, String>> + Send>>;

/// One link: its number (for messages) and its streams.
pub(super) struct Link {
    /// 1-based, as printed.
    pub(crate) id: usize,
    /// Stream names, e.g. `btcusdt@miniTicker`.
    pub(crate) streams: Vec<String>,
    /// Shared with the other links.
    pub(crate) shared: Arc<Shared>,
}

impl Link {
    /// Keeps the link's streams flowing until the run stops.
    #[allow(
        clippy::too_many_lines,
        reason = "the reconnect loop: its gate, backoff and gap are one state machine"
    )]
    pub(super) async fn run(self) {
        let mut failures = 0u32;
        let mut host = 0usize;
        let mut reconnects = 0u32;
        // When data last arrived, and why the connection before this one ended.
        let mut last_data: Option<Instant> = None;
        let mut lost: Option<String> = None;
        loop {
            if self.shared.stop.is_cancelled() {
                return;
            }
            // Binance's rate-limit rules hold for the upgrade too: wait out a pause (however
            // long: a stream has no --max-wait to give up at), and stop at a ban.
            let gate = tokio::select! {
                () = self.shared.stop.cancelled() => return,
                g = self.shared.throttle.admit(0) => g.map(|_| ()),
            };
            match gate {
                Ok(()) => {}
                Err(crate::error::FetchError::Throttled { retry_after, .. }) => {
                    if !self.sleep(retry_after).await {
                        return;
                    }
                    continue;
                }
                Err(e) => {
                    tracing::error!("stream {}: {e}: no more connections", self.id);
                    return;
                }
            }
            let connected = tokio::select! {
                () = self.shared.stop.cancelled() => return,
                c = self.connect(host) => c,
            };
            let ws = match connected {
                Ok(ws) => ws,
                Err(why) => {
                    failures += 1;
                    self.shared.failed.fetch_add(1, Ordering::Relaxed);
                    let pause = pause(failures);
                    let first = self.first_of_its_kind(&why);
                    let next = format!(
                        "stream {}: cannot connect to {why}; trying {} in {}",
                        self.id,
                        authority(&self.shared.hosts[(host + 1) % self.shared.hosts.len()]),
                        crate::text::duration(pause.as_secs_f64())
                    );
                    if first {
                        tracing::warn!("{next}");
                    } else {
                        tracing::info!("{next}");
                    }
                    if lost.is_none() {
                        lost = Some(why);
                    }
                    host = (host + 1) % self.shared.hosts.len();
                    if !self.sleep(pause).await {
                        return;
                    }
                    continue;
                }
            };
            self.shared.opened.fetch_add(1, Ordering::Relaxed);
            let mut state = State {
                last_data,
                reconnects,
                lost: lost.take(),
                overlap_until: None,
                batch: Vec::with_capacity(BATCH),
            };
            let opened = Instant::now();
            let end = self.serve(ws, host, &mut state).await;
            self.hand_over(&mut state);
            last_data = state.last_data;
            // Backoff restarts once a connection has delivered for a while; one that dies young
            // counts as a failure like one that never opened.
            if state.lost.is_none() && opened.elapsed() >= HEALTHY_AFTER {
                failures = 0;
            }
            let why = match end {
                End::Stopped => return,
                End::Stale => format!("no data for {}", crate::text::span(self.shared.stale)),
                End::Closed(why) => why,
            };
            if self.first_of_its_kind(&why) {
                tracing::warn!("stream {}: {why}; reconnecting", self.id);
            } else {
                tracing::info!("stream {}: {why}; reconnecting", self.id);
            }
            reconnects += 1;
            lost = Some(why);
            failures += 1;
            if !self.sleep(pause(failures)).await {
                return;
            }
        }
    }

    /// Whether `why` is the first failure of its kind in this run: each kind is said once at
    /// default verbosity, the rest with -v.
    fn first_of_its_kind(&self, why: &str) -> bool {
        self.shared
            .warned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(kind_of(why))
    }

    /// Sleeps for `pause`; false if the run ended meanwhile.
    async fn sleep(&self, pause: Duration) -> bool {
        tokio::select! {
            () = self.shared.stop.cancelled() => false,
            () = tokio::time::sleep(pause) => true,
        }
    }

    /// Opens a connection to host number `host` and subscribes.
    fn connect(&self, host: usize) -> Connecting {
        let shared = Arc::clone(&self.shared);
        let streams = self.streams.clone();
        Box::pin(async move {
            shared.attempts.reserve().await;
            let base = &shared.hosts[host];
            let joined = streams.join("/");
            let by_url = joined.len() + base.as_str().len() + 16 <= MAX_URL;
            let mut url = base.join("stream").map_err(|e| e.to_string())?;
            if by_url {
                url.set_query(Some(&format!("streams={joined}")));
            }
            let attempt = async {
                let answer = shared
                    .http
                    .get(url.as_str())
                    .upgrade()
                    .web_socket_config(ws_config())
                    .send()
                    .await
                    .map_err(|e| format!("{}: {}", authority(base), root_cause(&e)))?;
                let status = answer.status();
                if status != reqwest::StatusCode::SWITCHING_PROTOCOLS {
                    let retry = answer
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let wait = retry
                        .as_deref()
                        .map_or_else(String::new, |v| format!(", Retry-After {v}"));
                    if matches!(status.as_u16(), 418 | 429) {
                        // What a 429 or 418 means is decided where REST's are.
                        let body = answer.into_inner().bytes().await.unwrap_or_default();
                        let raw = crate::answer::RawAnswer {
                            status: status.as_u16(),
                            retry_after: retry.as_deref().and_then(|v| {
                                crate::answer::parse_retry_after(v, std::time::SystemTime::now())
                            }),
                            body: body.to_vec(),
                            location: None,
                            encoding: None,
                        };
                        if let Err(err) = crate::answer::classify(raw) {
                            shared.throttle.refused(&err).await;
                        }
                    }
                    return Err(format!(
                        "{}: HTTP {status} on the upgrade{wait}",
                        authority(base)
                    ));
                }
                let mut ws = answer
                    .into_websocket()
                    .await
                    .map_err(|e| format!("{}: {}", authority(base), root_cause(&e)))?;
                if !by_url {
                    let subscribe = serde_json::json!({
                        "method": "SUBSCRIBE", "params": streams, "id": 1
                    });
                    ws.send(Message::Text(subscribe.to_string()))
                        .await
                        .map_err(|e| root_cause(&e))?;
                }
                Ok::<_, String>(ws)
            };
            match tokio::time::timeout(shared.connect_timeout, attempt).await {
                Ok(result) => result,
                Err(_) => Err(format!(
                    "{}: no connection within {}",
                    authority(base),
                    crate::text::span(shared.connect_timeout)
                )),
            }
        })
    }

    /// Reads one connection until it ends; replaces it before its lifetime ends, or on
    /// `serverShutdown`, without a gap.
    #[allow(
        clippy::too_many_lines,
        reason = "one select over the connection, its replacement and its timers; its arms share the state"
    )]
    async fn serve(&self, mut ws: WebSocket, host: usize, state: &mut State) -> End {
        let shared = &self.shared;
        let mut opened = Instant::now();
        let mut replacement: Option<Connecting> = None;
        let mut fresh: Option<WebSocket> = None;
        let mut retry_replacement_at: Option<Instant> = None;
        // The stop and the two timers are made once and kept: made anew for every message, each
        // registered again with the runtime's timer (a lock) ten thousand times a second. The
        // stale timer is moved only when it fires early (data came since it was set).
        let stop = shared.stop.cancelled();
        let stale_timer = tokio::time::sleep_until((opened + shared.stale).into());
        let rollover_timer = tokio::time::sleep_until((opened + shared.rollover).into());
        tokio::pin!(stop, stale_timer, rollover_timer);
        let mut rollover_set = opened + shared.rollover;
        loop {
            let rollover_at = retry_replacement_at.unwrap_or(opened + shared.rollover);
            if rollover_at != rollover_set {
                rollover_timer.as_mut().reset(rollover_at.into());
                rollover_set = rollover_at;
            }
            tokio::select! {
                biased;
                () = &mut stop => {
                    let _ = ws.close(CloseCode::Normal, None).await;
                    return End::Stopped;
                }
                result = wait(&mut replacement), if replacement.is_some() => {
                    replacement = None;
                    match result {
                        Ok(new) => fresh = Some(new),
                        Err(why) => {
                            tracing::info!("stream {}: replacement failed ({why}); trying again soon", self.id);
                            retry_replacement_at = Some(Instant::now() + BACKOFF_BASE * 4);
                        }
                    }
                }
                msg = next(&mut fresh), if fresh.is_some() => {
                    // The replacement delivers: it takes over, and the old connection goes.
                    let Some(Ok(Message::Text(text))) = msg else {
                        fresh = None;
                        retry_replacement_at = Some(Instant::now() + BACKOFF_BASE * 4);
                        continue;
                    };
                    let old = std::mem::replace(&mut ws, fresh.take().expect("checked"));
                    tokio::spawn(async move {
                        let _ = old.close(CloseCode::Normal, None).await;
                    });
                    opened = Instant::now();
                    state.overlap_until = Some(opened + OVERLAP);
                    retry_replacement_at = None;
                    tracing::info!("stream {}: replaced its connection without a gap", self.id);
                    let _ = self.handle_text(&text, state, Read::now());
                    self.hand_over(state);
                }
                () = &mut rollover_timer, if replacement.is_none() && fresh.is_none() => {
                    retry_replacement_at = None;
                    replacement = Some(self.connect(host));
                    // (Set again at the next turn, from the new connection's open time.)
                    rollover_set = Instant::now();
                }
                () = &mut stale_timer => {
                    let watched_since = state.last_data.map_or(opened, |t| t.max(opened));
                    let stale_at = watched_since + shared.stale;
                    if Instant::now() >= stale_at {
                        return End::Stale;
                    }
                    stale_timer.as_mut().reset(stale_at.into());
                }
                msg = ws.next() => {
                    match self.read_burst(&mut ws, msg, state) {
                        Err(end) => return end,
                        Ok(true) if replacement.is_none() && fresh.is_none() => {
                            tracing::info!("stream {}: the server announced a restart; moving to a new connection", self.id);
                            replacement = Some(self.connect(host));
                        }
                        Ok(_) => {}
                    }
                    // On this one-thread runtime the consumer runs only when this task waits:
                    // the batch goes to it now, and after a full one it gets to write it out.
                    let full = state.batch.len() >= BATCH;
                    self.hand_over(state);
                    if full {
                        tokio::task::yield_now().await;
                    }
                }
            }
        }
    }

    /// The first message after a wait; then what else the socket has now, up to a batch, read
    /// without waiting (and without polling the stop and the timers for each: at most a batch
    /// goes by between looks at them). Whether the server announced a restart.
    fn read_burst(
        &self,
        ws: &mut WebSocket,
        mut msg: Option<Result<Message, reqwest_websocket::Error>>,
        state: &mut State,
    ) -> Result<bool, End> {
        let read = Read::now();
        let mut restart = false;
        loop {
            restart |= self.on_message(msg, state, read)?;
            if state.batch.len() >= BATCH {
                return Ok(restart);
            }
            match futures_util::FutureExt::now_or_never(ws.next()) {
                Some(next) => msg = next,
                None => return Ok(restart),
            }
        }
    }

    /// Sends a message's updates to the consumer (dropped, and counted, when it is behind); the
    /// first data after a reconnect reports the gap first.
    fn deliver(
        &self,
        updates: impl IntoIterator<Item = crate::market::Update>,
        state: &mut State,
        now: Instant,
    ) {
        if let Some(why) = state.lost.take() {
            // What the connection before delivered goes first.
            self.hand_over(state);
            let gap = state.last_data.map(|t| now - t);
            let _ = self.shared.tx.try_send(Event::Reconnected {
                link: self.id,
                gap,
                why,
            });
        }
        state.last_data = Some(now);
        let overlap = state.overlap_until.is_some_and(|t| now < t);
        state.batch.extend(updates.into_iter().map(|mut u| {
            u.overlap = overlap;
            u
        }));
    }

    /// Sends the updates read so far to the consumer (dropped, and counted, when it is behind).
    fn hand_over(&self, state: &mut State) {
        if state.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut state.batch, Vec::with_capacity(BATCH));
        let n = batch.len() as u64;
        if self.shared.tx.try_send(Event::Updates(batch)).is_err() {
            self.shared.dropped.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// One message of the connection: its updates into the batch; true when it announced a
    /// server restart; the end, when it was the last.
    fn on_message(
        &self,
        msg: Option<Result<Message, reqwest_websocket::Error>>,
        state: &mut State,
        read: Read,
    ) -> Result<bool, End> {
        match msg {
            None => Err(End::Closed("the server closed the connection".into())),
            Some(Err(e)) => Err(End::Closed(format!(
                "the connection broke: {}",
                root_cause(&e)
            ))),
            Some(Ok(Message::Close { code, reason })) => Err(End::Closed(format!(
                "the server closed the connection ({} {reason})",
                u16::from(code)
            ))),
            Some(Ok(Message::Text(text))) => Ok(self.handle_text(&text, state, read)),
            Some(Ok(_)) => Ok(false),
        }
    }

    /// Handles one text message; true when it announced a server restart.
    fn handle_text(&self, text: &str, state: &mut State, read: Read) -> bool {
        match message::parse_at(text, self.shared.kind, state.reconnects, read.wall) {
            Parsed::Update(u) => {
                self.deliver(std::iter::once(u), state, read.mono);
                false
            }
            Parsed::Updates(updates) => {
                self.deliver(updates, state, read.mono);
                false
            }
            Parsed::Shutdown => true,
            Parsed::Reply(Some(error)) => {
                let said = format!("the server answered with an error: {error}");
                if self.first_of_its_kind(&said) {
                    tracing::warn!("stream {}: {said}", self.id);
                }
                false
            }
            Parsed::Reply(None) => false,
            Parsed::Other => {
                tracing::debug!("stream {}: ignored a message: {text:.200}", self.id);
                false
            }
        }
    }
}

/// How a connection reads: a read buffer of [`READ_BUFFER`] (tungstenite zeroes the free part
/// of it before every read, so its default of 128 KiB cost more than the reads); frames and
/// messages capped as tungstenite's defaults do (16 MiB, 64 MiB).
fn ws_config() -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default().read_buffer_size(READ_BUFFER)
}

/// When the messages of one wake were read (they came off the socket together): taken once
/// for all of them, not for each (two clock reads a message were 4% of the process's CPU).
#[derive(Clone, Copy)]
struct Read {
    wall: std::time::SystemTime,
    mono: Instant,
}

impl Read {
    fn now() -> Self {
        Self {
            wall: std::time::SystemTime::now(),
            mono: Instant::now(),
        }
    }
}

/// A connection's view of the link's history.
struct State {
    last_data: Option<Instant>,
    reconnects: u32,
    /// Why the previous connection ended, until this one delivers.
    lost: Option<String>,
    /// Until when updates may repeat the replaced connection's (see [`OVERLAP`]).
    overlap_until: Option<Instant>,
    /// Updates read and not yet sent to the consumer.
    batch: Vec<crate::market::Update>,
}

async fn wait(f: &mut Option<Connecting>) -> Result<WebSocket, String> {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

async fn next(ws: &mut Option<WebSocket>) -> Option<Result<Message, reqwest_websocket::Error>> {
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}
