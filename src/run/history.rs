//! The wiring of history (`--at`, `--candles`): the engine's results written as they come,
//! gaps said on stderr where they fall, the pairs' assets for the accounting formats, and a
//! report whose failures decide the exit code like every run's.

use std::io::{self, Write};
use std::sync::Arc;

use tokio::time::Instant;

use crate::config::{Config, History};
use crate::error::{FetchError, OutputError};
use crate::fetch::Engine;
use crate::report::Report;
use crate::text::plural;
use crate::{history, output};

use super::history_in::{Assets, Produced};

/// `--at` or `--candles`: history, written as it comes, then the failures and a summary on
/// stderr.
pub(super) async fn run(
    config: &Config,
    engine: &Arc<Engine>,
    asked: &History,
    out: &mut dyn Write,
) -> anyhow::Result<Report> {
    let start = Instant::now();
    let convert = match asked {
        History::At { convert, .. } | History::Candles { convert, .. } => convert.as_ref(),
        History::Funding(_) => None,
    };
    let (assets, mut unnamed) = match config.format.book() {
        // --in: each asset is priced in the target, and written as such.
        Some(book) => named_assets(
            book,
            match convert {
                Some(c) => (config.symbols.iter())
                    .map(|a| (a.clone(), (a.clone(), c.target.clone())))
                    .collect(),
                None => pair_assets(config, engine, &config.symbols).await,
            },
            config,
        ),
        None => Default::default(),
    };
    // A symbol whose asset has no name the format accepts is not asked for.
    let wanted: Vec<String> = (config.symbols.iter())
        .filter(|s| !unnamed.contains_key(*s))
        .cloned()
        .collect();
    let (results, summary) = produce(config, engine, &wanted, asked, &assets, out).await?;
    let mut results: std::collections::HashMap<String, Result<(), FetchError>> =
        wanted.into_iter().zip(results).collect();
    let per_symbol = (config.symbols.iter())
        .map(|symbol| {
            let result = match unnamed.remove(symbol) {
                Some(detail) => Err(FetchError::Commodity {
                    symbol: symbol.clone(),
                    detail,
                }),
                None => results.remove(symbol).unwrap_or(Err(FetchError::Cancelled)),
            };
            (symbol.clone(), result)
        })
        .collect();
    // The stop reason (a signal, the deadline) is read from the engine.
    let report = Report::of_history(engine, per_symbol, start.elapsed());
    // The failures (and hints) as every run says them; the summary is history's own.
    output::diagnostics(
        &report,
        config.verbosity,
        config.stderr_color,
        &mut io::stderr().lock(),
    );
    let line = summary_line(engine, &summary, start);
    output::say_summary(&line, config.verbosity);
    Ok(report)
}

/// The history asked for, written to `out`, symbol by symbol.
async fn produce(
    config: &Config,
    engine: &Arc<Engine>,
    wanted: &[String],
    asked: &History,
    assets: &Assets,
    out: &mut dyn Write,
) -> anyhow::Result<Produced> {
    use super::history_in::{at_in, candles_in};
    match asked {
        History::At {
            ask,
            zone,
            convert: None,
        } => at(config, engine, wanted, (ask, zone), assets, out).await,
        History::At {
            ask,
            zone,
            convert: Some(c),
        } => at_in(config, engine, wanted, (ask, zone, c), assets, out).await,
        History::Funding(ask) => super::funding::funding(config, engine, wanted, *ask, out).await,
        History::Candles { ask, convert: None } => {
            candles(config, engine, wanted, ask, assets, out).await
        }
        History::Candles {
            ask,
            convert: Some(c),
        } => candles_in(config, engine, wanted, (ask, c), assets, out).await,
    }
}

/// History's closing line: what came, how long, what was sent (the funding history spends a
/// limit of its own, not request weight).
fn summary_line(engine: &Engine, summary: &str, start: Instant) -> String {
    let sent = engine.totals();
    let weight = match sent.weight {
        0 => String::new(),
        w => format!(", request weight {w}"),
    };
    format!(
        "{summary} in {} ({}{weight})",
        crate::text::duration(start.elapsed().as_secs_f64()),
        plural(u64::from(sent.requests), "request", "requests"),
    )
}

/// `--at`: each symbol's price at the moment, written at once.
async fn at(
    config: &Config,
    engine: &Arc<Engine>,
    symbols: &[String],
    (ask, zone): (&history::AtAsk, &jiff::tz::TimeZone),
    assets: &Assets,
    out: &mut dyn Write,
) -> anyhow::Result<Produced> {
    let found = history::at(engine, symbols, ask).await;
    let pairs: Vec<(String, _)> = symbols.iter().cloned().zip(found).collect();
    output::history::at_results(
        config.format,
        config.header,
        ask.at_ms,
        &pairs,
        zone,
        assets,
        out,
    )
    .and_then(|()| out.flush())
    .map_err(OutputError)?;
    let ok = pairs.iter().filter(|(_, r)| r.is_ok()).count();
    let results = pairs.into_iter().map(|(_, r)| r.map(drop)).collect();
    let when = crate::clock::rfc3339_millis(ask.at_ms.max(0) as u64);
    Ok((
        results,
        format!("{} at {when}", plural(ok as u64, "price", "prices")),
    ))
}

/// `--candles`: every candle of the range, written in time order as it comes, gaps said where
/// they fall; a symbol with none at all is an error of its own.
async fn candles(
    config: &Config,
    engine: &Arc<Engine>,
    symbols: &[String],
    ask: &history::CandleAsk,
    assets: &Assets,
    out: &mut dyn Write,
) -> anyhow::Result<Produced> {
    let now = crate::clock::unix_ms() as i64;
    let plan = history::plan(ask, symbols.len(), now);
    let mut open = history::StillOpen::new(now, symbols);
    let progress = output::Progress::requests(
        config.progress && config.format != output::Format::Table,
        plan.len() as u64,
    );
    let width = crate::text::stdout_size().map(|(columns, _)| columns);
    let mut writer =
        output::history::CandleWriter::new(config.format, config.header, &ask.zone, assets)
            .fit(width, symbols);
    writer
        .start(ask.interval.name(), ask.from_ms, ask.to_ms, out)
        .map_err(OutputError)?;
    let mut said = 0u32;
    let fetched = history::candles(
        engine,
        symbols,
        ask,
        plan,
        &mut |row| {
            if let history::Row::Candle(symbol, c) = &row
                && open.takes(symbol, c.close_ms)
            {
                return Ok(());
            }
            if let history::Row::Gap { .. } = &row {
                said += 1;
                // The rows before it are out first: on a terminal the line shows where it is.
                out.flush()?;
                say_gap(&row, said);
            }
            writer.row(&row, out)
        },
        &mut |candles| progress.step(candles),
    )
    .await
    .map_err(OutputError)?;
    progress.finish();
    writer
        .finish(out)
        .and_then(|()| out.flush())
        .map_err(OutputError)?;
    let mut results = Vec::with_capacity(symbols.len());
    // A symbol whose only candle is still open has none closed yet: not an error.
    for ((symbol, failed), n) in symbols.iter().zip(fetched.failed).zip(&fetched.per_symbol) {
        results.push(match failed {
            Some(e) => Err(e),
            None if *n == 0 => Err(history::no_candles(engine, symbol, ask).await),
            None => Ok(()),
        });
    }
    let gaps = match fetched.gaps {
        0 => String::new(),
        n => format!(", {}", plural(n, "gap", "gaps")),
    };
    let summary = format!(
        "{} of {} for {}{gaps}{}",
        plural(fetched.candles - open.total(), "candle", "candles"),
        ask.interval.name(),
        plural(symbols.len() as u64, "symbol", "symbols"),
        open.said(),
    );
    Ok((results, summary))
}

/// The `said`-th gap of the run on stderr: the first 20 as warnings, then only with -v.
fn say_gap(row: &history::Row<'_>, said: u32) {
    let history::Row::Gap {
        symbol,
        from,
        to,
        leading,
    } = row
    else {
        return;
    };
    let line = gap_line(symbol, *from, *to, *leading);
    match said {
        1..=20 => tracing::warn!(target: crate::error::DATA, "{line}"),
        21 => tracing::warn!(target: crate::error::DATA, "more gaps: -v lists them"),
        _ => tracing::info!(target: crate::error::DATA, "{line}"),
    }
}

/// One stretch without candles, for stderr.
fn gap_line(symbol: &str, from: i64, to: i64, leading: bool) -> String {
    let when = |ms: i64| crate::clock::rfc3339_millis(ms.max(0) as u64);
    let why = if leading {
        "before its first candle in the range (not listed yet, or halted)"
    } else {
        "Binance has none (a halt)"
    };
    let length = std::time::Duration::from_secs(((to - from) / 1000).max(0) as u64);
    format!(
        "{symbol}: no candles from {} to {} ({}): {why}",
        when(from),
        when(to),
        crate::text::span(length)
    )
}

/// Each pair's base and quote asset as `book` writes them (mapped by `--commodity`, quoted for
/// ledger), and per symbol why it cannot be written (an asset beancount's grammar refuses).
fn named_assets(
    book: crate::commodity::Book,
    assets: std::collections::HashMap<String, (String, String)>,
    config: &Config,
) -> (
    std::collections::HashMap<String, (String, String)>,
    std::collections::HashMap<String, String>,
) {
    let mut named = std::collections::HashMap::new();
    let mut unnamed = std::collections::HashMap::new();
    for (symbol, (base, quote)) in assets {
        let name = |asset: &str| crate::commodity::name(book, asset, &config.commodities);
        match name(&base).and_then(|b| Ok((b, name(&quote)?))) {
            Ok(pair) => {
                named.insert(symbol, pair);
            }
            Err(why) => {
                unnamed.insert(symbol.clone(), why);
            }
        }
    }
    unnamed.retain(|symbol, _| config.symbols.contains(symbol));
    (named, unnamed)
}

/// `-f ledger`/`beancount`/`openmetrics`: each pair's base and quote asset, from the pairs
/// cached beside the ledger, asked of Binance again (`exchangeInfo`, weight 20) when one of
/// `symbols` is missing.
pub(super) async fn pair_assets(
    config: &Config,
    engine: &Engine,
    symbols: &[String],
) -> std::collections::HashMap<String, (String, String)> {
    let state = (config.state_dir.as_deref(), &config.http.base_url);
    engine.pair_assets(state, symbols).await
}
