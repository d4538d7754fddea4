//! The application: runs a validated [`Config`] once, or as a comparison
//! of both modes, with the signals, the deadline and the open-file cap around it; the live runs
//! (`--watch`, `--stream`) are handed to their own modules. The top of the house: it may import
//! every layer below, and nothing imports it but `main.rs`.

mod funding;
mod history;
mod history_in;

use std::io::{self, Write};
use std::sync::Arc;

use tokio::time::Instant;

use crate::binance::BinanceClient;
use crate::config::{Config, Plan, Run};
use crate::convert::Convert;
use crate::error::UsageError;
use crate::error::{OutputError, Signal};
use crate::fetch::{Engine, Stop, StopReason};
use crate::outcome::{Mode, Outcome, Round};
use crate::output::file::{OpenError, OutputFile};
use crate::report::{Comparison, Report, Speedup, Stats};
use crate::throttle::Throttle;
use crate::{convert, error, market, outcome, output, strategy, stream, watch};

/// Runs `config` on a one-thread runtime, its data to `-o FILE` or else to `stdout`.
pub fn execute(mut config: Config, stdout: &mut dyn Write) -> anyhow::Result<Report> {
    // One thread is plenty for an I/O-bound fan-out, and keeps memory and start-up small.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::Error::new(e).context("cannot start the async runtime"))?;
    let Some(path) = config.output.clone() else {
        return runtime.block_on(run(config, stdout));
    };
    let mut file = OutputFile::open(&path, config.append).map_err(|e| match e {
        OpenError::Refused(why) => anyhow::Error::new(UsageError(why)),
        OpenError::Io(e) => anyhow::Error::new(OutputError(e)),
    })?;
    // --append to a file that has lines already: no second header.
    config.header &= file.starts_a_file();
    let report = runtime.block_on(run(config, &mut file))?;
    let complete = report.interrupted.is_none() && !report.deadline_hit;
    if !file.is_atomic() || (complete && report.ok() > 0) {
        file.commit().map_err(OutputError)?;
    } else {
        tracing::warn!(
            "{} left as it was: the run {}",
            file.target().display(),
            if complete {
                "has no result"
            } else {
                "was cut short"
            }
        );
    }
    Ok(report)
}

/// Runs a validated configuration: fetches, writes the data to `out` and the diagnostics to
/// stderr, and returns the report (the caller turns it into an exit code).
pub(crate) async fn run(config: Config, out: &mut dyn Write) -> anyhow::Result<Report> {
    let client = BinanceClient::new(&config.http)?;
    let stop = Stop::default();
    stop_on_signals(stop.clone());
    let deadline = config.deadline.map(|d| Instant::now() + d);
    if let Some(deadline) = config.deadline {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(deadline).await;
            tracing::warn!(
                "--deadline {} passed: printing what has arrived",
                crate::text::span(deadline)
            );
            stop.stop(StopReason::Deadline(deadline));
        });
    }
    let engine = Arc::new(Engine::new(
        client,
        config.retry,
        open_file_cap(
            config.concurrency,
            match config.ask.hedge {
                Some(_) => 1 + config.http.mirrors.len(),
                None => 1,
            },
        ),
        Throttle::new(config.limits)
            .with_deadline(deadline)
            .with_ledger(
                config.state_dir.as_deref(),
                (&config.http.base_url, config.http.market.name()),
            )
            .await,
        stop,
        config.ask.clone(),
    ));
    if config.limit_from_exchange {
        learn_limit(&config, &engine).await;
    }
    let result = fetch_and_render(&config, &engine, out).await;
    // What the run reserved and did not send goes back to the host's ledger, whatever happened.
    engine.throttle().release().await;
    result
}

/// A futures market's own request-weight limit: the one saved beside its ledger within a day,
/// else its `exchangeInfo`'s (weight 1), saved for the next runs. A market that cannot be
/// asked keeps the default (2,400), said with -v; the run's own requests say why.
async fn learn_limit(config: &Config, engine: &Engine) {
    use crate::ledger::limit;
    let budget = config.http.market.name();
    let now = crate::clock::unix_ms();
    // (On the blocking pool, as every use of the state directory: naming the file resolves
    // the host.)
    let (dir, url) = (config.state_dir.clone(), config.http.base_url.clone());
    let (path, saved) = tokio::task::spawn_blocking(move || {
        let path = dir.map(|dir| limit::path_for(&dir, &url, budget));
        let saved = path.as_deref().and_then(|p| limit::load(p, now));
        (path, saved)
    })
    .await
    .unwrap_or_default();
    let learned = match saved {
        Some(n) => n,
        None => match engine.exchange_weight_limit().await {
            Ok(Some(n)) => {
                if let Some(p) = path {
                    let stored = tokio::task::spawn_blocking(move || limit::store(&p, n, now));
                    if let Ok(Err(why)) = stored.await {
                        tracing::info!("the {budget} limit is not saved: {why}");
                    }
                }
                n
            }
            answer => {
                let why = answer
                    .err()
                    .map_or("it names none".into(), |e| e.to_string());
                tracing::info!(
                    "the {budget} limit stays {} a minute: exchangeInfo did not say ({why})",
                    config.limits.weight_limit
                );
                return;
            }
        },
    };
    tracing::info!("budget {budget}: {learned} a minute, as Binance's exchangeInfo says");
    engine.throttle().learn_limit(learned);
}

/// The run proper: rounds (or refreshes), then the output.
async fn fetch_and_render(
    config: &Config,
    engine: &Arc<Engine>,
    out: &mut dyn Write,
) -> anyhow::Result<Report> {
    match &config.run {
        Run::History(asked) => history::run(config, engine, asked, out).await,
        Run::Stream { settings, end } => stream::run(engine, config, (settings, end), out).await,
        Run::Watch { every, mode, end } => {
            let start = Instant::now();
            let last = watch::run(engine, config, (*every, *mode, end), out).await?;
            let report = Report::of(engine, last, engine.totals(), start.elapsed(), None);
            // Each refresh already listed its failures; end with the run's summary.
            let line = output::summary(&report, config.verbosity > 0);
            output::say_summary(&line, config.verbosity);
            Ok(report)
        }
        Run::Once { plan, convert } => once(config, engine, (*plan, convert.as_ref()), out).await,
    }
}

/// Current prices once: a round (or a comparison's rounds), then the output.
async fn once(
    config: &Config,
    engine: &Arc<Engine>,
    (plan, convert): (Plan, Option<&Convert>),
    out: &mut dyn Write,
) -> anyhow::Result<Report> {
    let start = Instant::now();
    let streaming = config.format.streams();
    let target = convert.map(|c| c.target.as_str());
    let mut progress = output::Progress::new(
        config.progress,
        config.symbols.len(),
        plan != Plan::Async,
        plan.rounds() * config.symbols.len() as u64,
    );
    let mut on_outcome = |o: &Outcome, last_of_request: bool| -> io::Result<()> {
        progress.tick(o);
        if streaming {
            output::ndjson_line(o, config.ask.kind, target, out)?;
            // One write per request, not per line (20,000 rows of --all were 20,000 writes).
            if last_of_request {
                out.flush()?;
            }
        }
        Ok(())
    };
    let symbols = &config.symbols;
    let (shown, comparison) = match plan {
        Plan::Async | Plan::Sync => {
            let mode = plan.mode();
            let round = match convert {
                Some(settings) => {
                    convert::round(engine, settings, symbols, mode, &mut on_outcome).await
                }
                None => engine.round(symbols, mode, &mut on_outcome).await,
            };
            (round.map_err(OutputError)?, None)
        }
        Plan::Compare { runs, warmup } => compare(engine, symbols, runs, warmup, &mut on_outcome)
            .await
            .map_err(OutputError)?,
    };
    progress.finish();
    let stale = match config.ask.any_status {
        true => stale_prices(config, engine, &shown).await,
        false => None,
    };
    let assets = labels(config, engine, convert, &shown).await;
    // What was asked for (the pairs' statuses and labels too), not the lookup that finds what
    // an unknown symbol may have meant.
    let totals = engine.totals();
    let suggestions = match config.verbosity >= -1 {
        true => did_you_mean(engine, &shown).await,
        false => Vec::new(),
    };
    let report = Report {
        suggestions,
        target: convert.map(|c| c.target.clone()),
        assets,
        ..Report::of(engine, shown, totals, start.elapsed(), comparison)
    };
    let width = crate::text::stdout_size().map(|(columns, _)| columns);
    let look = output::Look {
        color: config.color,
        width,
        header: config.header,
    };
    output::render(config.format, &report, out, look)
        .and_then(|()| out.flush())
        .map_err(OutputError)?;
    if let Some(line) = stale {
        tracing::warn!("{line}");
    }
    output::diagnostics(
        &report,
        config.verbosity,
        config.stderr_color,
        &mut io::stderr().lock(),
    );
    output::say_summary(
        &output::summary(&report, config.verbosity > 0),
        config.verbosity,
    );
    Ok(report)
}

/// -f openmetrics labels every priced pair with its base and quote asset, cached or learned
/// now: the same label set on a cold state directory as on a warm one (to Prometheus another
/// label set is another series). Nothing for other formats, or for `--in`'s assets.
async fn labels(
    config: &Config,
    engine: &Engine,
    convert: Option<&Convert>,
    shown: &Round,
) -> std::collections::HashMap<String, (String, String)> {
    // A futures contract is labelled by its market and pair, not by assets.
    if config.format != output::Format::Openmetrics
        || convert.is_some()
        || config.http.market.futures()
    {
        return Default::default();
    }
    let priced: Vec<String> = (shown.outcomes.iter())
        .filter(|o| o.result.is_ok())
        .map(|o| o.symbol.clone())
        .collect();
    history::pair_assets(config, engine, &priced).await
}

/// For symbols Binance does not know (-1121): the nearest trading pairs by edit distance, from
/// one whole-market price request (weight 4), sent only when there is such a symbol and
/// `--max-weight` leaves room for it.
async fn did_you_mean(engine: &Engine, shown: &Round) -> Vec<String> {
    let unknown: Vec<&str> = shown
        .outcomes
        .iter()
        .filter(|o| {
            matches!(
                o.result,
                Err(error::FetchError::Api {
                    code: Some(-1121),
                    ..
                })
            )
        })
        .map(|o| o.symbol.as_str())
        .collect();
    // A name of another market's shape needs no lookup: the market is the mistake.
    let (shaped, unknown): (Vec<_>, Vec<_>) = (unknown.into_iter())
        .map(|s| (s, crate::symbols::other_market(s, engine.market())))
        .partition(|(_, hint)| hint.is_some());
    let mut said: Vec<String> = shaped.into_iter().filter_map(|(_, hint)| hint).collect();
    let unknown: Vec<&str> = unknown.into_iter().map(|(s, _)| s).collect();
    let weight = market::TickerKind::Price.weight(market::Selection::All);
    if unknown.is_empty() || engine.stopped() || !engine.may_spend_on_unknown(weight) {
        return said;
    }
    tracing::info!("asking the whole market's prices (weight {weight}) to suggest symbols");
    let listed = match engine.listed_symbols(true).await {
        Ok(listed) => listed,
        Err(e) => {
            tracing::info!("cannot list the trading pairs for suggestions: {e}");
            return said;
        }
    };
    said.extend(crate::symbols::suggestions(&unknown, &listed));
    said
}

/// `--any-status`: which printed pairs do not trade, so that their prices are stale; `None`
/// when every printed pair trades.
async fn stale_prices(config: &Config, engine: &Engine, shown: &Round) -> Option<String> {
    let printed: Vec<String> = shown
        .outcomes
        .iter()
        .filter(|o| o.result.is_ok())
        .map(|o| o.symbol.clone())
        .collect();
    if printed.is_empty() || engine.stopped() {
        return None;
    }
    let ask = (config.ask.strategy != strategy::Strategy::All).then_some(printed.as_slice());
    match engine.not_trading(ask).await {
        Ok(list) => {
            let stale: Vec<String> = list
                .into_iter()
                .filter(|(s, _)| printed.contains(s))
                .map(|(s, status)| format!("{s} ({status})"))
                .collect();
            (!stale.is_empty()).then(|| {
                format!(
                    "not trading, so the prices printed for them are stale: {}",
                    stale.join(", ")
                )
            })
        }
        Err(e) => Some(format!("cannot tell which pairs trade: {e}")),
    }
}

/// `--compare`: warm-up rounds, then measured rounds with the modes interleaved (async, sync,
/// async, sync, …) so that drift on the machine or the network hits both alike. Returns the
/// last async round (whose results are shown) and the comparison.
async fn compare(
    engine: &Arc<Engine>,
    symbols: &[String],
    runs: u32,
    warmup: u32,
    on_outcome: &mut outcome::OnOutcome<'_>,
) -> io::Result<(Round, Option<Comparison>)> {
    for _ in 0..warmup {
        for mode in [Mode::Async, Mode::Sync] {
            engine.round(symbols, mode, on_outcome).await?;
        }
    }
    let (mut asyncs, mut syncs) = (Vec::new(), Vec::new());
    let mut cut = None;
    for _ in 0..runs {
        if engine.stopped() {
            break;
        }
        let a = engine.round(symbols, Mode::Async, on_outcome).await?;
        let s = engine.round(symbols, Mode::Sync, on_outcome).await?;
        if engine.stopped() {
            // Cut short by --deadline or a signal: it measured the cut, not the work. Only
            // complete rounds count (`runs` in the report says how many).
            cut = Some(a);
            break;
        }
        asyncs.push(a);
        syncs.push(s);
    }
    let comparison = match (Stats::of(&asyncs), Stats::of(&syncs)) {
        (Some(a), Some(s)) => Some(Comparison {
            runs: asyncs.len() as u32,
            warmup,
            speedup: Speedup::between(&a, &s),
            async_stats: a,
            sync_stats: s,
        }),
        _ => None,
    };
    let shown = match (asyncs.pop(), cut) {
        (Some(r), _) | (None, Some(r)) => r,
        (None, None) => engine.round(symbols, Mode::Async, on_outcome).await?,
    };
    Ok((shown, comparison))
}

/// File descriptors kept for everything but sockets: std streams, the runtime, the ledger,
/// the certificate store.
const SPARE_FILES: u64 = 32;

/// Raises the soft open-file limit to the hard one, and caps `concurrency` to what it allows: a
/// request holds one socket (`hosts` with `--hedge`). Past the limit, requests would fail with
/// "Too many open files" that look like network trouble.
fn open_file_cap(concurrency: usize, hosts: usize) -> usize {
    #[cfg(unix)]
    {
        let Ok(limit) = rlimit::increase_nofile_limit(u64::MAX) else {
            return concurrency;
        };
        let room = usize::try_from(limit.saturating_sub(SPARE_FILES))
            .unwrap_or(usize::MAX)
            .checked_div(hosts.max(1))
            .unwrap_or(1)
            .max(1);
        if concurrency > room {
            tracing::warn!(
                "--concurrency {concurrency} needs more open files than this process may have \
                 (limit {limit}): using {room}"
            );
            return room;
        }
    }
    let _ = hosts;
    concurrency
}

/// The first Ctrl-C, SIGTERM or SIGHUP stops the run gracefully: nothing new is sent, what is
/// in flight is cancelled, what has arrived is printed, and the exit code is 128 + the signal's
/// number. A second signal exits at once. The handlers are installed before anything is sent,
/// so a signal can never find the default action (which would lose every price).
fn stop_on_signals(stop: Stop) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            tracing::warn!("cannot catch signals: Ctrl-C will lose what has arrived");
            return;
        };
        tokio::spawn(async move {
            let mut stopping = false;
            loop {
                let signal = tokio::select! {
                    Some(()) = int.recv() => Signal::Interrupt,
                    Some(()) = term.recv() => Signal::Terminate,
                    Some(()) = hup.recv() => Signal::Hangup,
                    else => return,
                };
                if stopping {
                    std::process::exit(signal.exit() as i32);
                }
                stopping = true;
                announce(signal);
                stop.stop(StopReason::Interrupted(signal));
            }
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        announce(Signal::Interrupt);
        stop.stop(StopReason::Interrupted(Signal::Interrupt));
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(Signal::Interrupt.exit() as i32);
        }
    });
}

fn announce(signal: Signal) {
    match signal {
        // Stopping the usual way is no warning: the summary follows on a line of its own (a
        // terminal echoed `^C` where its cursor was, or on the status line, cleared).
        Signal::Interrupt => {
            if !output::let_go() && std::io::IsTerminal::is_terminal(&io::stderr()) {
                let _ = writeln!(io::stderr().lock());
            }
            tracing::info!("interrupted (Ctrl-C again to quit at once)");
        }
        other => tracing::warn!(
            "{}: printing what has arrived (a second signal quits at once)",
            other.name()
        ),
    }
}
