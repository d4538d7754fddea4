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

/// Each pair's base and quote asset (as the format writes them), by symbol.
type Assets = std::collections::HashMap<String, (String, String)>;

/// What a history run produced for the symbols it asked: a result per symbol (a price at a
/// moment, or that its candles came), and the summary's first words.
type Produced = (Vec<Result<(), FetchError>>, String);

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
        History::At { convert, .. } => convert.as_ref(),
        History::Candles(_) => None,
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
    let (results, summary) = match asked {
        History::At {
            ask,
            zone,
            convert: None,
        } => at(config, engine, &wanted, (ask, zone), &assets, out).await?,
        History::At {
            ask,
            zone,
            convert: Some(c),
        } => at_in(config, engine, &wanted, (ask, zone, c), &assets, out).await?,
        History::Candles(ask) => candles(config, engine, &wanted, ask, &assets, out).await?,
    };
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
    let sent = engine.totals();
    let line = format!(
        "{summary} in {} ({}, request weight {})",
        crate::text::duration(start.elapsed().as_secs_f64()),
        plural(u64::from(sent.requests), "request", "requests"),
        sent.weight
    );
    output::say_summary(&line, config.verbosity);
    Ok(report)
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

/// `--in --at`: each asset's price in the target at the moment, from its legs' last trades
/// (each leg asked once, whichever assets share it).
async fn at_in(
    config: &Config,
    engine: &Arc<Engine>,
    assets: &[String],
    (ask, zone, convert): (
        &history::AtAsk,
        &jiff::tz::TimeZone,
        &crate::convert::Convert,
    ),
    names: &Assets,
    out: &mut dyn Write,
) -> anyhow::Result<Produced> {
    let target = convert.target.as_str();
    let routes = match crate::convert::routes(engine, convert, assets).await {
        Ok(routes) => routes,
        Err(e) => {
            return Ok((
                assets.iter().map(|_| Err(e.clone())).collect(),
                "0 prices".into(),
            ));
        }
    };
    let mut legs: Vec<String> = Vec::new();
    for leg in routes.iter().flatten().flatten() {
        if !legs.contains(&leg.symbol) {
            legs.push(leg.symbol.clone());
        }
    }
    let found = history::at(engine, &legs, ask).await;
    let by_leg: std::collections::HashMap<&str, &Result<history::PriceAt, FetchError>> =
        legs.iter().map(String::as_str).zip(&found).collect();
    let leg_price = |symbol: &str| match by_leg[symbol] {
        Ok(p) => Ok((p.price.clone(), p.trade_ms.max(0) as u64)),
        Err(e) => Err(e.clone()),
    };
    let converted: Vec<(String, Result<output::at_in::Converted, FetchError>)> = (assets.iter())
        .zip(routes)
        .map(|(asset, route)| {
            let result = match route {
                Ok(route) => crate::convert::combine(asset, target, &route, leg_price),
                Err(no) => Err(crate::convert::no_route(asset, target, no)),
            };
            (asset.clone(), result)
        })
        .collect();
    output::at_in::at_in_results(
        config.format,
        config.header,
        (ask.at_ms, target),
        &converted,
        zone,
        names,
        out,
    )
    .and_then(|()| out.flush())
    .map_err(OutputError)?;
    let ok = converted.iter().filter(|(_, r)| r.is_ok()).count();
    let when = crate::clock::rfc3339_millis(ask.at_ms.max(0) as u64);
    Ok((
        converted.into_iter().map(|(_, r)| r.map(drop)).collect(),
        format!(
            "{} in {target} at {when}",
            plural(ok as u64, "price", "prices")
        ),
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
    let mut open = StillOpen::new(now, symbols);
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
            if open.takes(&row) {
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

/// The candle still open when the run began (`--to` now, by default): its close is not a close
/// yet (a ledger would date a price that later changes), so it is left out, and the summary
/// says so.
struct StillOpen {
    now: i64,
    symbols: Vec<String>,
    /// Per symbol, in the order asked.
    left_out: Vec<u64>,
    /// When the open one closes.
    closes: Option<i64>,
}

impl StillOpen {
    fn new(now: i64, symbols: &[String]) -> Self {
        Self {
            now,
            symbols: symbols.to_vec(),
            left_out: vec![0; symbols.len()],
            closes: None,
        }
    }

    /// Whether `row` is a candle still open (counted, not to be written).
    fn takes(&mut self, row: &history::Row<'_>) -> bool {
        let history::Row::Candle(symbol, c) = row else {
            return false;
        };
        if c.close_ms < self.now {
            return false;
        }
        if let Some(i) = self.symbols.iter().position(|s| s == symbol) {
            self.left_out[i] += 1;
        }
        self.closes = Some(c.close_ms);
        true
    }

    fn total(&self) -> u64 {
        self.left_out.iter().sum()
    }

    /// `, 1 candle still open left out until …`, or nothing.
    fn said(&self) -> String {
        match self.closes {
            Some(close) => format!(
                ", {} still open left out until {}",
                plural(self.total(), "candle", "candles"),
                crate::clock::rfc3339_millis(close.max(0) as u64 + 1)
            ),
            None => String::new(),
        }
    }
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
