//! `--stream`: live prices over Binance's WebSocket streams, as they happen.
//!
//! The pattern of `--watch`, with data that arrives continuously: producers (`link::Link`,
//! one per combined connection of at most 1,024 streams, 200 on the futures) read the sockets
//! and send each [`Update`] into a bounded channel; one consumer (this module's [`run`]) renders them with the
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

use std::collections::HashSet;
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
use crate::error::OutputError;
use crate::fetch::Engine;
use crate::market::{Market, TickerKind};
use crate::outcome::Mode;
use crate::output;
use crate::report::Report;
use crate::strategy::Strategy;

/// Events the channel holds before producers start dropping them: at most
/// [`link::BATCH`] updates each, so 16 Ki updates, as many as before batching.
const BACKLOG: usize = 16 * 1024 / link::BATCH;

/// The stream name of `symbol` for `kind` (lower-case, as Binance wants).
pub(crate) fn stream_name(symbol: &str, kind: TickerKind) -> String {
    // The lowering refuses --stream for the tickers no stream carries.
    let suffix = kind.stream().unwrap_or("miniTicker");
    format!("{}@{suffix}", symbol.to_lowercase())
}

/// Runs `--stream`: the snapshot, then updates until the run ends. Returns the snapshot's
/// report, whose failures and stop reason decide the exit code.
pub(crate) async fn run(
    engine: &Arc<Engine>,
    config: &Config,
    (settings, end): (&StreamSettings, &Ending),
    out: &mut dyn Write,
) -> anyhow::Result<Report> {
    let kind = config.ask.kind;
    // --serve binds before anything is sent: an address in use is said at once.
    let exporter = match settings.serve {
        Some(addr) => {
            // The labels come with the snapshot (Engine::pair_assets: the cache, read once).
            let board = Arc::new(Board::new(kind, config.http.market, settings.stale));
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
    let status = (board.as_ref())
        .filter(|_| config.progress)
        .map(|board| status_line(Arc::clone(board)));
    let report = stream(engine, config, (settings, end), board, out).await;
    if let Some((task, line)) = status {
        task.abort();
        line.finish();
    }
    if let Some((_, server)) = exporter {
        server.shut_down().await;
    }
    report
}

/// The exporter's status line on a terminal, redrawn every second until the task is aborted.
fn status_line(board: Arc<Board>) -> (tokio::task::JoinHandle<()>, Arc<output::StatusLine>) {
    let line = Arc::new(output::StatusLine::new(true));
    let shown = Arc::clone(&line);
    let task = tokio::spawn(async move {
        let second = Duration::from_secs(1);
        let mut every = tokio::time::interval_at(Instant::now() + second, second);
        loop {
            every.tick().await;
            let health = board.fresh();
            let line = {
                let state = board.lock();
                let ago = state.last_scrape.map(|at| at.elapsed());
                output::serve_status(state.updates, state.scrapes, ago, health)
            };
            shown.show(line);
        }
    });
    (task, line)
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
    let (report, found) = snapshot(engine, config, board.as_ref()).await?;
    if found.is_empty() || engine.stopped() {
        return Ok(report);
    }
    let market = config.http.market;
    let all_stream = market.all_stream(config.ask.kind);
    let names: Vec<String> = if config.ask.strategy == Strategy::All
        && let Some(all) = all_stream
    {
        vec![all.to_owned()]
    } else {
        found
            .iter()
            .map(|u| stream_name(&u.symbol, config.ask.kind))
            .collect()
    };
    let mismatch = host_mismatch(config, settings);
    if let Some(line) = &mismatch {
        tracing::warn!("{line}");
    }
    let (tx, rx) = mpsc::channel(BACKLOG);
    let shared = shared(engine, config, settings, tx)?;
    if let Some(board) = &board {
        board_facts(board, engine, &shared);
    }
    let mut links = JoinSet::new();
    for (i, chunk) in names.chunks(market.streams_per_connection()).enumerate() {
        let streams = chunk.to_vec();
        let link = link::Link {
            id: i + 1,
            streams,
            shared: Arc::clone(&shared),
        };
        links.spawn(link.run());
    }
    tracing::info!(
        "streaming {} symbols over {} connection(s) to {}",
        found.len(),
        links.len(),
        settings.url
    );
    let order = found.iter().map(|u| u.symbol.clone()).collect();
    let mut consumer = consumer::Consumer::new(config, (settings, end), order, board);
    // (The futures' all-market streams carry every contract: nothing to tell apart.)
    if config.ask.strategy == Strategy::All && !market.futures() {
        consumer.not_trading = not_trading(engine, &consumer.subscribed).await;
    }
    let outcome = consumer.run(engine, found, rx, out).await;
    close(&shared, links).await;
    outcome.map_err(OutputError)?;
    let dropped = shared.dropped.load(Ordering::Relaxed);
    if dropped > 0 {
        tracing::warn!(target: crate::error::DATA, "the output fell behind: {dropped} updates were dropped");
    }
    if let Some(line) = mismatch.filter(|_| shared.opened.load(Ordering::Relaxed) == 0) {
        tracing::warn!("{line}");
    }
    let report = report.ended(engine, start.elapsed(), consumer.updates > 0);
    output::say_summary(
        &summary(&consumer, &shared, start.elapsed()),
        config.verbosity,
    );
    Ok(report)
}

/// The snapshot: one REST round of the symbols, its failures said (and put on the board), and
/// an update for each symbol it found.
async fn snapshot(
    engine: &Arc<Engine>,
    config: &Config,
    board: Option<&Arc<Board>>,
) -> anyhow::Result<(Report, Vec<Update>)> {
    let start = Instant::now();
    let snapshot = engine
        .round(&config.symbols, Mode::Async, &mut |_, _| Ok(()))
        .await
        .map_err(OutputError)?;
    let report = Report::of(
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
    output::say_summary(
        &output::summary(&report, config.verbosity > 1),
        config.verbosity - 1,
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
    if let Some(board) = board {
        // The exporter's base and quote labels, when no fresh cache had them: one
        // exchangeInfo (weight 20) at the start of a long run, cached for the next. (A futures
        // contract is labelled with its market and pair instead.)
        if !engine.stopped() && !engine.market().futures() {
            let symbols: Vec<String> = found.iter().map(|u| u.symbol.clone()).collect();
            let state = (config.state_dir.as_deref(), &config.http.base_url);
            board.lock().assets = engine.pair_assets(state, &symbols).await;
        }
        board.lock().failed = snapshot
            .outcomes
            .iter()
            .filter_map(|o| Some((o.symbol.clone(), o.result.as_ref().err()?.kind())))
            .collect();
    }
    Ok((report, found))
}

/// REST on this machine (the mock) with Binance's stream host: said at the start, and again at
/// the end if no stream connection opened (a live table draws over the first).
fn host_mismatch(config: &Config, settings: &StreamSettings) -> Option<String> {
    let loopback = config
        .http
        .base_url
        .host_str()
        .is_some_and(crate::host::is_loopback);
    let host = config.http.market.stream_host();
    let default = settings.url.as_str().trim_end_matches('/') == host;
    (default && loopback).then(|| {
        format!(
            "REST goes to {} but streams go to {host}; for the mock set PRICEFETCH_STREAM_URL \
             (or --stream-url) too",
            crate::host::authority(&config.http.base_url),
        )
    })
}

/// `host` with the market's route for `kind` (USD-M's `market/` or `public/`), in place of a
/// route the URL already ends in (Binance's pages give the host with it).
fn routed(host: &url::Url, market: Market, kind: TickerKind) -> url::Url {
    let route = market.stream_route(kind);
    if route.is_empty() {
        return host.clone();
    }
    let path = host.path();
    let prefix = ["market/", "public/"]
        .iter()
        .find_map(|r| path.strip_suffix(r))
        .unwrap_or(path);
    let mut url = host.clone();
    url.set_path(&format!("{prefix}{route}"));
    url
}

/// What every link shares: the client, the hosts, the limits, the channel to the consumer,
/// the run's throttle and the counters.
fn shared(
    engine: &Arc<Engine>,
    config: &Config,
    settings: &StreamSettings,
    tx: mpsc::Sender<link::Event>,
) -> anyhow::Result<Arc<link::Shared>> {
    // The system's roots only where a stream host speaks TLS (wss://): reading them costs
    // every start a few milliseconds.
    let wss = std::iter::once(&settings.url)
        .chain(&settings.mirrors)
        .any(|u| u.scheme() == "wss");
    Ok(Arc::new(link::Shared {
        http: crate::binance::client_builder(&config.http, wss)?
            .http1_only()
            .build()?,
        hosts: std::iter::once(&settings.url)
            .chain(&settings.mirrors)
            .map(|host| routed(host, config.http.market, config.ask.kind))
            .collect(),
        kind: config.ask.kind,
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
    }))
}

/// The exporter's process counters, read from the links and the engine at each scrape.
fn board_facts(board: &Board, engine: &Arc<Engine>, shared: &Arc<link::Shared>) {
    let shared = Arc::clone(shared);
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

/// With `--all`: the listed pairs the snapshot left out because they do not trade (one more
/// whole-market list, weight 4), to tell them from pairs listed since.
async fn not_trading<S: std::hash::BuildHasher>(
    engine: &Engine,
    subscribed: &HashSet<String, S>,
) -> HashSet<String> {
    match engine.listed_symbols(false).await {
        Ok(listed) => listed
            .into_iter()
            .filter(|s| !subscribed.contains(s))
            .collect(),
        Err(e) => {
            tracing::info!("cannot tell which listed pairs do not trade: {e}");
            HashSet::new()
        }
    }
}

/// Stops the links: each closes its socket; a server that does not answer is not waited for
/// more than a second.
async fn close(shared: &link::Shared, mut links: JoinSet<()>) {
    shared.stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while links.join_next().await.is_some() {}
    })
    .await;
    links.abort_all();
}

/// The stream's closing line: updates, symbols, time, connections, reconnects, failures.
fn summary(consumer: &consumer::Consumer<'_>, shared: &link::Shared, elapsed: Duration) -> String {
    let failed = shared.failed.load(Ordering::Relaxed);
    let dropped = shared.dropped.load(Ordering::Relaxed);
    let mut extra = String::new();
    if failed > 0 {
        extra.push_str(&format!(
            ", {} failed",
            plural(failed, "attempt", "attempts")
        ));
    }
    if dropped > 0 {
        extra.push_str(&format!(", {dropped} dropped"));
    }
    let opened = shared.opened.load(Ordering::Relaxed);
    let line = format!(
        "{} from {} in {} ({} opened, {}{extra})",
        plural(consumer.updates, "update", "updates"),
        plural(consumer.order.len() as u64, "symbol", "symbols"),
        crate::text::duration(elapsed.as_secs_f64()),
        plural(opened, "connection", "connections"),
        plural(consumer.reconnects, "reconnect", "reconnects"),
    );
    match consumer.backfill_count {
        0 => line,
        n => format!("{line}; {n} backfilled from 1s candles"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usdm_streams_take_their_route_and_a_route_given_is_replaced() {
        let at =
            |host: &str, market, kind| routed(&host.parse().unwrap(), market, kind).to_string();
        let fstream = "wss://fstream.binance.com/";
        assert_eq!(
            at(fstream, Market::Usdm, TickerKind::Mark),
            "wss://fstream.binance.com/market/"
        );
        assert_eq!(
            at(
                "wss://fstream.binance.com/market/",
                Market::Usdm,
                TickerKind::Book
            ),
            "wss://fstream.binance.com/public/"
        );
        assert_eq!(
            at("wss://gw.example/binance/", Market::Usdm, TickerKind::Price),
            "wss://gw.example/binance/market/"
        );
        assert_eq!(
            at(
                "wss://dstream.binance.com/",
                Market::Coinm,
                TickerKind::Mark
            ),
            "wss://dstream.binance.com/"
        );
    }
}
