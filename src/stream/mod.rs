//! `--stream`: live prices over Binance's WebSocket streams, as they happen.
//!
//! The pattern of `--watch`, with data that arrives continuously: producers (`link::Link`,
//! one per combined connection of at most 1,024 streams) read the sockets and send each
//! [`Update`] into a bounded channel; one consumer (this module's [`run`]) renders them with the
//! renderers `--watch` uses. A producer never waits for the consumer: when the channel is full
//! the update is dropped and counted (a table keeps only the latest value per symbol anyway, so
//! its consumer stays ahead), and the run says how many were dropped.
//!
//! A stream starts with a snapshot: one REST round (batched, the same engine as every other
//! mode) prints the current values at once and checks the symbols, so unknown ones are named
//! and count in the exit code as they do elsewhere; only the symbols it found are streamed.
//!
//! It ends on Ctrl-C, SIGTERM or SIGHUP (130, 143, 129), after `--count` updates, at
//! `--deadline` (exit 0 if updates arrived, 3 if none did), or when an `--until` condition is
//! met (exit 0, after printing the update that met it).

mod link;
mod message;

pub use message::Update;

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::binance::TickerKind;
use crate::config::Config;
use crate::error::{FetchError, OutputError};
use crate::fetch::{Engine, Mode, StopReason};
use crate::output::{self, Format};
use crate::report::Report;
use crate::strategy::Strategy;

/// Streams per connection (Binance's limit).
pub const STREAMS_PER_CONNECTION: usize = 1024;

/// Updates the channel holds before producers start dropping them.
const BACKLOG: usize = 16 * 1024;

/// In a burst, lines are written out at least this often.
const FLUSH_EVERY: usize = 16;

/// The table is redrawn at most this often.
const REDRAW: Duration = Duration::from_millis(100);

/// Where and how to stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSettings {
    /// `--stream-url`.
    pub url: Url,
    /// Hosts a failing connection moves to, in turn.
    pub mirrors: Vec<Url>,
    /// `--stale`: replace a connection silent for this long.
    pub stale: Duration,
    /// `--stream-rollover`: replace a connection after this long.
    pub rollover: Duration,
}

/// What the producers tell the consumer.
#[derive(Debug)]
pub enum Event {
    /// New values for a symbol.
    Update(Update),
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

/// The stream name of `symbol` for `kind` (lower-case, as Binance wants).
pub fn stream_name(symbol: &str, kind: TickerKind) -> String {
    let suffix = match kind {
        TickerKind::Price => "miniTicker",
        TickerKind::Day => "ticker",
        TickerKind::Book => "bookTicker",
    };
    format!("{}@{suffix}", symbol.to_lowercase())
}

/// Runs `--stream`: the snapshot, then updates until the run ends. Returns the snapshot's
/// report, whose failures and stop reason decide the exit code.
pub async fn run(
    engine: &Arc<Engine>,
    config: &Config,
    settings: &StreamSettings,
    out: &mut dyn Write,
) -> anyhow::Result<Report> {
    let start = Instant::now();
    let kind = config.request.kind;
    let snapshot = engine
        .round(&config.symbols, Mode::Async, &mut |_, _| Ok(()))
        .await
        .map_err(OutputError)?;
    let mut report = Report::of(
        config,
        engine,
        snapshot.clone(),
        snapshot.sent,
        start.elapsed(),
        None,
    );
    output::diagnostics(
        &report,
        config.verbosity - 1,
        config.stderr_color,
        &mut io::stderr().lock(),
    );
    let found: Vec<Update> = snapshot
        .outcomes
        .iter()
        .filter_map(|o| {
            let t = o.result.as_ref().ok()?;
            Some(Update {
                symbol: o.symbol.clone(),
                values: t.values.clone(),
                event_ms: None,
                order: 0,
                received: SystemTime::now(),
                reconnects: 0,
                snapshot: true,
                overlap: false,
            })
        })
        .collect();
    if found.is_empty() || engine.stopped() {
        return Ok(report);
    }
    let names: Vec<String> = if config.request.strategy == Strategy::All {
        vec!["!miniTicker@arr".to_owned()]
    } else {
        found.iter().map(|u| stream_name(&u.symbol, kind)).collect()
    };
    // REST on this machine (the mock) with Binance's stream host: said at the start, and again
    // at the end if no stream connection opened (a live table draws over the first).
    let mismatch = (settings.url.as_str().trim_end_matches('/')
        == crate::config::DEFAULT_STREAM_URL
        && config
            .http
            .base_url
            .host_str()
            .is_some_and(crate::host::is_loopback))
    .then(|| {
        format!(
            "REST goes to {} but streams go to {}; for the mock set PRICEFETCH_STREAM_URL \
             (or --stream-url) too",
            crate::binance::host_of(&config.http.base_url),
            crate::config::DEFAULT_STREAM_URL
        )
    });
    if let Some(line) = &mismatch {
        tracing::warn!("{line}");
    }
    let (tx, rx) = mpsc::channel(BACKLOG);
    let shared = Arc::new(link::Shared {
        http: crate::binance::client_builder(&config.http, true)?
            .http1_only()
            .build()?,
        hosts: std::iter::once(settings.url.clone())
            .chain(settings.mirrors.iter().cloned())
            .collect(),
        kind,
        stale: settings.stale,
        rollover: settings.rollover,
        connect_timeout: config.http.connect_timeout.max(config.http.timeout),
        tx,
        dropped: AtomicU64::new(0),
        attempts: link::Attempts::default(),
        opened: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        warned: std::sync::Mutex::default(),
        stop: CancellationToken::new(),
    });
    let mut links = JoinSet::new();
    for (i, chunk) in names.chunks(STREAMS_PER_CONNECTION).enumerate() {
        links.spawn(
            link::Link {
                id: i + 1,
                streams: chunk.to_vec(),
                shared: Arc::clone(&shared),
            }
            .run(),
        );
    }
    tracing::info!(
        "streaming {} symbols over {} connection(s) to {}",
        found.len(),
        links.len(),
        settings.url
    );
    let mut consumer = Consumer::new(config, found.iter().map(|u| u.symbol.clone()).collect());
    if config.request.strategy == Strategy::All {
        // The whole market's stream may carry pairs the snapshot left out because they do not
        // trade; one more whole-market list (weight 4) tells them from pairs listed since.
        match engine.listed_symbols(false).await {
            Ok(listed) => {
                consumer.not_trading = listed
                    .into_iter()
                    .filter(|s| !consumer.subscribed.contains(s))
                    .collect()
            }
            Err(e) => tracing::info!("cannot tell which listed pairs do not trade: {e}"),
        }
    }
    let outcome = consumer.run(engine, found, rx, out).await;
    shared.stop.cancel();
    // Each link closes its socket; do not wait long for a server that does not answer.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while links.join_next().await.is_some() {}
    })
    .await;
    links.abort_all();
    let dropped = shared.dropped.load(Ordering::Relaxed);
    outcome.map_err(OutputError)?;
    if dropped > 0 {
        tracing::warn!("the output fell behind: {dropped} updates were dropped");
    }
    if let Some(line) = mismatch.filter(|_| shared.opened.load(Ordering::Relaxed) == 0) {
        tracing::warn!("{line}");
    }
    if matches!(engine.stop_reason(), Some(StopReason::Deadline(_))) && consumer.updates == 0 {
        report.error = Some(FetchError::Deadline(config.deadline.unwrap_or_default()));
    }
    report.interrupted = match engine.stop_reason() {
        Some(StopReason::Interrupted(signal)) => Some(signal),
        _ => None,
    };
    report.elapsed = start.elapsed();
    if config.verbosity >= 0 {
        let failed = shared.failed.load(Ordering::Relaxed);
        let line = format!(
            "{} from {} in {} ({} opened, {}{}{})",
            plural(consumer.updates, "update"),
            plural(consumer.order.len() as u64, "symbol"),
            output::duration(start.elapsed().as_secs_f64()),
            plural(shared.opened.load(Ordering::Relaxed), "connection"),
            plural(consumer.reconnects, "reconnect"),
            if failed > 0 {
                format!(", {} failed", plural(failed, "attempt"))
            } else {
                String::new()
            },
            if dropped > 0 {
                format!(", {dropped} dropped")
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            io::stderr().lock(),
            "{}",
            output::wrap(&line, output::stderr_width(), 2)
        );
    }
    Ok(report)
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The consumer: renders updates, and decides when the run ends.
struct Consumer<'a> {
    config: &'a Config,
    kind: TickerKind,
    format: Format,
    /// Symbols in the order the table shows them.
    order: Vec<String>,
    /// Per symbol: the newest order key seen (to drop the duplicates of a rollover's overlap),
    /// the latest values and the change of the first one.
    latest: HashMap<String, (u64, Vec<String>, String)>,
    updates: u64,
    reconnects: u64,
    /// Updates left out because a value was not a decimal (or the name not a symbol).
    invalid: u64,
    /// The symbols streamed: the snapshot's, and with `--all` new listings as they appear.
    subscribed: std::collections::HashSet<String>,
    /// With `--all`: listed pairs that do not trade (their updates are left out).
    not_trading: std::collections::HashSet<String>,
    /// Updates left out, by why: a rollover's repeat, a stream not subscribed, a pair that
    /// does not trade.
    duplicates: u64,
    unsubscribed: u64,
    untraded: u64,
}

impl<'a> Consumer<'a> {
    fn new(config: &'a Config, order: Vec<String>) -> Self {
        Self {
            config,
            kind: config.request.kind,
            format: config.format,
            latest: HashMap::new(),
            updates: 0,
            reconnects: 0,
            invalid: 0,
            subscribed: order.iter().cloned().collect(),
            order,
            not_trading: std::collections::HashSet::new(),
            duplicates: 0,
            unsubscribed: 0,
            untraded: 0,
        }
    }

    async fn run(
        &mut self,
        engine: &Engine,
        snapshot: Vec<Update>,
        mut rx: mpsc::Receiver<Event>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if self.format == Format::Csv && self.config.header {
            output::update_csv_header(self.kind, out)?;
        }
        let mut met = false;
        for u in snapshot {
            met |= self.show(&u, out)?;
        }
        let mut dirty = true;
        if met {
            return self.finish(dirty, out);
        }
        out.flush()?;
        let mut redraw = tokio::time::interval(REDRAW);
        redraw.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let table = self.format == Format::Table;
        let mut unflushed = 0usize;
        loop {
            tokio::select! {
                biased;
                () = engine.stop_signal() => break,
                event = rx.recv() => {
                    let Some(event) = event else { break };
                    match event {
                        Event::Update(u) => {
                            if !self.fresh(&u) {
                                continue;
                            }
                            // The same rule as for REST answers: a symbol, and decimals.
                            let ticker = crate::binance::Ticker {
                                symbol: u.symbol.clone(),
                                values: u.values.clone(),
                                time_ms: u.event_ms.unwrap_or_default(),
                            };
                            if let Err(why) = crate::answer::check_ticker(&ticker, self.kind) {
                                self.invalid += 1;
                                if self.invalid == 1 {
                                    tracing::warn!("left out an update that is not a price: {why}");
                                }
                                continue;
                            }
                            self.updates += 1;
                            let met = self.show(&u, out)?;
                            dirty = true;
                            if met || self.config.count.is_some_and(|n| self.updates >= n) {
                                break;
                            }
                        }
                        Event::Reconnected { link, gap, why } => {
                            self.reconnects += 1;
                            let gap = gap.map_or_else(
                                || "before any data".to_owned(),
                                |g| format!("after a gap of {}", output::duration(g.as_secs_f64())),
                            );
                            tracing::warn!("stream {link}: reconnected {gap} ({why})");
                        }
                    }
                    // Write out what has arrived once nothing more is waiting, or every few
                    // lines in a burst: few writes, no update held back for long.
                    unflushed += 1;
                    if !table && (rx.is_empty() || unflushed >= FLUSH_EVERY) {
                        out.flush()?;
                        unflushed = 0;
                    }
                }
                _ = redraw.tick(), if table && dirty => {
                    self.draw(out)?;
                    out.flush()?;
                    dirty = false;
                }
            }
        }
        self.finish(dirty, out)
    }

    fn finish(&mut self, dirty: bool, out: &mut dyn Write) -> io::Result<()> {
        if self.invalid > 1 {
            tracing::warn!("left out {} updates that were not prices", self.invalid);
        }
        let left_out: Vec<String> = [
            (self.duplicates, "repeated by a replacement connection"),
            (self.unsubscribed, "for streams not subscribed"),
            (self.untraded, "for pairs that do not trade"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, why)| format!("{} {why}", plural(*n, "update")))
        .collect();
        if !left_out.is_empty() {
            tracing::warn!("left out {}", left_out.join(", "));
        }
        if self.format == Format::Table && dirty {
            self.draw(out)?;
        }
        out.flush()
    }

    /// Whether `u` is shown. Left out, and counted: a symbol never subscribed (whatever the
    /// server sends, only asked-for symbols are printed and kept), a pair that does not trade,
    /// and the repeats of a rollover's overlap (only there: a reconnected stream whose clock
    /// runs behind is still news). With `--all`, a pair the snapshot did not have is a new
    /// listing: shown, and said once.
    fn fresh(&mut self, u: &Update) -> bool {
        let all = self.config.request.strategy == Strategy::All;
        if !self.subscribed.contains(&u.symbol) {
            if !all || !self.config.request.filter.keeps(&u.symbol) {
                self.unsubscribed += 1;
                return false;
            }
            if self.not_trading.contains(&u.symbol) {
                self.untraded += 1;
                return false;
            }
            tracing::warn!(
                "{}: not in the snapshot, listed since; streaming it too",
                u.symbol
            );
            self.subscribed.insert(u.symbol.clone());
        }
        let repeat = u.overlap
            && self
                .latest
                .get(&u.symbol)
                .is_some_and(|(order, _, _)| u.order <= *order);
        if repeat {
            self.duplicates += 1;
        }
        !repeat
    }

    /// Shows one update; true if it meets an `--until` condition.
    fn show(&mut self, u: &Update, out: &mut dyn Write) -> io::Result<bool> {
        let change = self
            .latest
            .get(&u.symbol)
            .and_then(|(_, before, _)| crate::watch::change(before.first()?, u.price()))
            .unwrap_or_default();
        if !self.latest.contains_key(&u.symbol) && !self.order.contains(&u.symbol) {
            self.order.push(u.symbol.clone());
        }
        self.latest
            .insert(u.symbol.clone(), (u.order, u.values.clone(), change));
        if self.format != Format::Table {
            output::update_line(self.format, u, self.kind, out)?;
        }
        let Some(until) = &self.config.until else {
            return Ok(false);
        };
        let Some(c) = until.met_by(&u.symbol, u.price()) else {
            return Ok(false);
        };
        // The update that met it is out before the word that it did.
        out.flush()?;
        if self.config.verbosity >= 0 {
            let _ = writeln!(
                io::stderr().lock(),
                "{} {} meets --until '{c}': stopping",
                u.symbol,
                u.price()
            );
        }
        Ok(true)
    }

    fn draw(&self, out: &mut dyn Write) -> io::Result<()> {
        let rows: Vec<output::LiveRow<'_>> = self
            .order
            .iter()
            .filter_map(|s| {
                let (_, values, change) = self.latest.get(s)?;
                Some(output::LiveRow {
                    symbol: s,
                    values: Some(values),
                    change: change.clone(),
                })
            })
            .collect();
        let title = format!(
            "live · {} updates · {} reconnects · Ctrl-C to stop",
            self.updates, self.reconnects
        );
        output::live_table(&title, self.kind, &rows, self.config.color, out)
    }
}
