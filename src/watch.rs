//! `--watch INTERVAL`: refresh on a fixed schedule until Ctrl-C or `--count N` refreshes.
//!
//! A producer task fetches on a `tokio::time::interval` whose missed ticks are skipped, so a slow
//! fetch never stacks up requests (the next one waits for the next whole tick). It hands each
//! snapshot to the renderer through a two-slot channel with `try_send`, so a slow render never
//! delays a fetch: a snapshot with no room is dropped, and that is said on stderr. Every
//! refresh goes through the run's one throttle, so the weight rules hold across refreshes.
//!
//! On a terminal the table is redrawn in place with the change since the previous refresh
//! (computed exactly on the decimal strings). Piped, each refresh is one ndjson line per symbol
//! with a `time`, or one JSON object per refresh with `-f json`, flushed at once.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::config::{Config, Ending};
use crate::fetch::Engine;
use crate::outcome::{Mode, Round};
use crate::output::{self, Format};

/// One refresh.
struct Snapshot {
    at: SystemTime,
    round: Round,
}

/// Refreshes every `every` (`count` times at most) until the run stops or `stop`, sending
/// each round to the renderer; a refresh the renderer has no room for is dropped and said.
async fn produce(
    engine: &Arc<Engine>,
    config: &Config,
    (every, mode, count): (Duration, Mode, Option<u64>),
    tx: mpsc::Sender<Snapshot>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut done = 0u64;
    while count.is_none_or(|n| done < n) {
        tokio::select! {
            _ = ticker.tick() => {}
            () = engine.stop_signal() => break,
            () = stop.cancelled() => break,
        }
        let at = SystemTime::now();
        let Ok(round) = engine
            .round(&config.symbols, mode, &mut |_, _| Ok(()))
            .await
        else {
            break;
        };
        if engine.stopped() {
            break;
        }
        done += 1;
        match tx.try_send(Snapshot { at, round }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!("the output fell behind: a refresh was not shown");
            }
            // The renderer stopped (stdout closed): nobody is watching any more.
            Err(mpsc::error::TrySendError::Closed(_)) => break,
        }
    }
    // Dropping `tx` here ends the renderer's loop.
}

/// The first price of `round` that meets an `--until` condition: (symbol, price, condition).
fn until_met(
    until: &crate::until::Until,
    round: &Round,
) -> Option<(String, String, crate::until::Condition)> {
    round.outcomes.iter().find_map(|o| {
        let price = o.result.as_ref().ok()?.price();
        until
            .met_by(&o.symbol, price)
            .map(|c| (o.symbol.clone(), price.to_owned(), c.clone()))
    })
}

/// Runs the watch loop; returns the last refresh shown (its failures decide the exit code).
pub(crate) async fn run(
    engine: &Arc<Engine>,
    config: &Config,
    (every, mode, end): (Duration, Mode, &Ending),
    out: &mut dyn Write,
) -> anyhow::Result<Round> {
    let (tx, mut rx) = mpsc::channel::<Snapshot>(2);
    // Set by the renderer when an `--until` condition is met: the producer stops at once.
    let met = tokio_util::sync::CancellationToken::new();
    let stop_producer = met.clone();
    // The producer and the renderer are two futures of one task: on this one-thread runtime a
    // spawned task would share the thread all the same, and a render is short and synchronous.
    let producer = produce(engine, config, (every, mode, end.count), tx, stop_producer);
    let renderer = async {
        // However the renderer ends (a closed stdout included), the producer stops with it:
        // nobody is watching any more.
        let _stop_producer = met.clone().drop_guard();
        let mut last: Option<Round> = None;
        let redraw = config.format == Format::Table;
        while let Some(snap) = rx.recv().await {
            let time = humantime::format_rfc3339_millis(snap.at).to_string();
            let r = &snap.round;
            let report = crate::report::Report::of(engine, r.clone(), r.sent, r.elapsed, None);
            if redraw {
                let look = (config.ask.kind, config.color);
                table(&snap, last.as_ref(), &time, every, look, out)?;
            } else {
                output::render_refresh(config.format, &report, &time, out)?;
            }
            out.flush()?;
            // A refresh's failures and hints; its summary only with -v.
            output::diagnostics(
                &report,
                config.verbosity - 1,
                config.stderr_color,
                &mut io::stderr().lock(),
            );
            let line = output::summary(&report, config.verbosity > 1);
            output::say_summary(&line, config.verbosity - 1);
            let until = end.until.as_ref().and_then(|u| until_met(u, &snap.round));
            last = Some(snap.round);
            if let Some((symbol, price, c)) = until {
                if config.verbosity >= 0 {
                    let _ = writeln!(
                        io::stderr().lock(),
                        "{symbol} {price} meets --until '{c}': stopping"
                    );
                }
                met.cancel();
                break;
            }
        }
        Ok::<_, io::Error>(last)
    };
    let ((), last) = tokio::join!(producer, renderer);
    Ok(last
        .map_err(crate::error::OutputError::from)?
        .unwrap_or_else(|| Round {
            mode,
            outcomes: Vec::new(),
            elapsed: Duration::ZERO,
            sent: Default::default(),
            market_error: None,
        }))
}

/// Draws the refresh over the previous one, with the change since then.
fn table(
    snap: &Snapshot,
    previous: Option<&Round>,
    time: &str,
    every: Duration,
    (kind, color): (crate::market::TickerKind, bool),
    out: &mut dyn Write,
) -> io::Result<()> {
    let before: HashMap<&str, &str> = previous
        .map(|r| {
            r.outcomes
                .iter()
                .filter_map(|o| Some((o.symbol.as_str(), o.result.as_ref().ok()?.price())))
                .collect()
        })
        .unwrap_or_default();
    let rows: Vec<output::LiveRow<'_>> = snap
        .round
        .outcomes
        .iter()
        .map(|o| match &o.result {
            Ok(t) => output::LiveRow {
                symbol: &o.symbol,
                values: Some(&t.values),
                change: before
                    .get(o.symbol.as_str())
                    .and_then(|p| crate::decimal::difference(p, t.price()))
                    .unwrap_or_default(),
            },
            Err(e) => output::LiveRow {
                symbol: &o.symbol,
                values: None,
                change: e.kind().to_owned(),
            },
        })
        .collect();
    let title = format!(
        "every {} · {time} · Ctrl-C to stop",
        crate::text::span(every)
    );
    output::live_table(&title, kind, &rows, color, out)
}
