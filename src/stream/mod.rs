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

mod attempts;
mod consumer;
mod link;
mod message;
mod scan;

use crate::market::Update;
use crate::text::plural;

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::board::{Board, Facts};
use crate::config::{Config, Ending, StreamSettings};
use crate::error::{FetchError, OutputError};
use crate::fetch::{Engine, StopReason};
use crate::market::TickerKind;
use crate::outcome::Mode;
use crate::output;
use crate::report::Report;
use crate::strategy::Strategy;

/// Streams per connection (Binance's limit).
pub const STREAMS_PER_CONNECTION: usize = 1024;

/// Events the channel holds before producers start dropping them: at most
/// [`link::BATCH`] updates each, so 16 Ki updates, as many as before batching.
const BACKLOG: usize = 16 * 1024 / link::BATCH;

/// The stream name of `symbol` for `kind` (lower-case, as Binance wants).
pub fn stream_name(symbol: &str, kind: TickerKind) -> String {
    // The lowering refuses --stream for the tickers no stream carries.
    let suffix = kind.stream().unwrap_or("miniTicker");
    format!("{}@{suffix}", symbol.to_lowercase())
}

/// Runs `--stream`: the snapshot, then updates until the run ends. Returns the snapshot's
/// report, whose failures and stop reason decide the exit code.
pub async fn run(
    engine: &Arc<Engine>,
    config: &Config,
    (settings, end): (&StreamSettings, &Ending),
    out: &mut dyn Write,
) -> anyhow::Result<Report> {
    let kind = config.ask.kind;
    // --serve binds before anything is sent: an address in use is said at once.
    let exporter = match settings.serve {
        Some(addr) => {
            let board = Arc::new(Board::new(
                kind,
                crate::pairs::cache::assets(config.state_dir.as_deref(), &config.http.base_url),
                settings.stale,
            ));
            let server = crate::serve::start(addr, Arc::clone(&board)).await?;
            if config.verbosity >= 0 {
                let _ = writeln!(
                    io::stderr().lock(),
                    "serving http://{}/metrics (and /healthz); Ctrl-C to stop",
                    server.addr
                );
            }
            Some((board, server))
        }
        None => None,
    };
    let board = exporter.as_ref().map(|(board, _)| Arc::clone(board));
    let report = stream(engine, config, (settings, end), board, out).await;
    if let Some((_, server)) = exporter {
        server.shut_down().await;
    }
    report
}

/// An exporter's `base` and `quote` labels when no fresh cache had them: one `exchangeInfo`
/// (weight 20) at the start of a long run, cached for the next; none if it fails.
async fn labels(
    engine: &Engine,
    config: &Config,
) -> std::collections::HashMap<String, (String, String)> {
    let cache = crate::pairs::cache::path_in(config.state_dir.as_deref(), &config.http.base_url);
    engine
        .pair_assets(cache.as_deref())
        .await
        .unwrap_or_else(|e| {
            tracing::warn!("--serve: no base and quote labels: {e}");
            Default::default()
        })
}

/// The stream proper: the snapshot, the links, the consumer (which writes `board` too, if
/// serving).
async fn stream(
    engine: &Arc<Engine>,
    config: &Config,
    (settings, end): (&StreamSettings, &Ending),
    board: Option<Arc<Board>>,
    out: &mut dyn Write,
) -> anyhow::Result<Report> {
    let start = Instant::now();
    let kind = config.ask.kind;
    let snapshot = engine
        .round(&config.symbols, Mode::Async, &mut |_, _| Ok(()))
        .await
        .map_err(OutputError)?;
    let mut report = Report::of(
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
    if let Some(board) = &board {
        if board.lock().assets.is_empty() && !engine.stopped() {
            board.lock().assets = labels(engine, config).await;
        }
        board.lock().failed = snapshot
            .outcomes
            .iter()
            .filter_map(|o| Some((o.symbol.clone(), o.result.as_ref().err()?.kind())))
            .collect();
    }
    if found.is_empty() || engine.stopped() {
        return Ok(report);
    }
    let names: Vec<String> = if config.ask.strategy == Strategy::All {
        vec!["!miniTicker@arr".to_owned()]
    } else {
        found.iter().map(|u| stream_name(&u.symbol, kind)).collect()
    };
    // REST on this machine (the mock) with Binance's stream host: said at the start, and again
    // at the end if no stream connection opened (a live table draws over the first).
    let mismatch = (settings.url.as_str().trim_end_matches('/') == crate::host::DEFAULT_STREAM_URL
        && config
            .http
            .base_url
            .host_str()
            .is_some_and(crate::host::is_loopback))
    .then(|| {
        format!(
            "REST goes to {} but streams go to {}; for the mock set PRICEFETCH_STREAM_URL \
             (or --stream-url) too",
            crate::host::authority(&config.http.base_url),
            crate::host::DEFAULT_STREAM_URL
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
        attempts: attempts::Attempts::shared_with(Arc::clone(engine.throttle())),
        throttle: Arc::clone(engine.throttle()),
        opened: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        warned: std::sync::Mutex::default(),
        stop: CancellationToken::new(),
    });
    if let Some(board) = &board {
        let shared = Arc::clone(&shared);
        let engine = Arc::clone(engine);
        board.set_facts(move || {
            let totals = engine.totals();
            Facts {
                opened: shared.opened.load(Ordering::Relaxed),
                failed: shared.failed.load(Ordering::Relaxed),
                dropped: shared.dropped.load(Ordering::Relaxed),
                requests: u64::from(totals.requests),
                weight: u64::from(totals.weight),
            }
        });
    }
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
    let mut consumer = consumer::Consumer::new(
        config,
        (settings, end),
        found.iter().map(|u| u.symbol.clone()).collect(),
        board,
    );
    if config.ask.strategy == Strategy::All {
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
        tracing::warn!(target: crate::error::DATA, "the output fell behind: {dropped} updates were dropped");
    }
    if let Some(line) = mismatch.filter(|_| shared.opened.load(Ordering::Relaxed) == 0) {
        tracing::warn!("{line}");
    }
    if let Some(ban) = engine.throttle().ban() {
        report.error = Some(ban);
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
            plural(consumer.updates, "update", "updates"),
            plural(consumer.order.len() as u64, "symbol", "symbols"),
            crate::text::duration(start.elapsed().as_secs_f64()),
            plural(
                shared.opened.load(Ordering::Relaxed),
                "connection",
                "connections"
            ),
            plural(consumer.reconnects, "reconnect", "reconnects"),
            if failed > 0 {
                format!(", {} failed", plural(failed, "attempt", "attempts"))
            } else {
                String::new()
            },
            if dropped > 0 {
                format!(", {dropped} dropped")
            } else {
                String::new()
            }
        );
        let line = match consumer.backfill_count {
            0 => line,
            n => format!("{line}; {n} backfilled from 1s candles"),
        };
        let _ = writeln!(
            io::stderr().lock(),
            "{}",
            crate::text::wrap(&line, crate::text::stderr_width(), 2)
        );
    }
    Ok(report)
}
