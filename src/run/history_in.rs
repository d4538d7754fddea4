//! The wiring of history in your currency (`--in ASSET` with `--at` or `--candles`): each
//! asset's route (the pairs' cache, as `--in` now), every distinct leg asked once through
//! history's machinery, then the assets' prices or rows made of their legs, exactly.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use crate::config::Config;
use crate::convert::candles::{LegCandles, rows};
use crate::convert::{Convert, combine, distinct_legs, no_route, routes};
use crate::error::{FetchError, OutputError};
use crate::fetch::Engine;
use crate::output::candles_in::InWriter;
use crate::pairs::{Leg, NoRoute};
use crate::text::plural;
use crate::{history, output};

/// Each pair's (or asset's) base and quote asset as the format writes them, by symbol.
pub(super) use crate::output::history::Assets;

/// What a history run produced for the symbols it asked: a result per symbol (a price at a
/// moment, or that its candles came), and the summary's first words.
pub(super) type Produced = (Vec<Result<(), FetchError>>, String);

/// Each asset's route, or why it has none.
type Routes = Vec<Result<Vec<Leg>, NoRoute>>;

/// The assets' routes, or the failure (the pairs could not be had) every asset gets.
async fn routed(engine: &Engine, convert: &Convert, assets: &[String]) -> Result<Routes, Produced> {
    routes(engine, convert, assets).await.map_err(|e| {
        let failed = assets.iter().map(|_| Err(e.clone())).collect();
        (failed, "nothing".to_owned())
    })
}

/// `--in --at`: each asset's price in the target at the moment, from its legs' last trades
/// (each leg asked once, whichever assets share it).
pub(super) async fn at_in(
    config: &Config,
    engine: &Arc<Engine>,
    assets: &[String],
    (ask, zone, convert): (&history::AtAsk, &jiff::tz::TimeZone, &Convert),
    names: &Assets,
    out: &mut dyn Write,
) -> anyhow::Result<Produced> {
    let target = convert.target.as_str();
    let routes = match routed(engine, convert, assets).await {
        Ok(routes) => routes,
        Err(failed) => return Ok(failed),
    };
    let legs = distinct_legs(&routes);
    let found = history::at(engine, &legs, ask).await;
    let by_leg: HashMap<&str, &Result<history::PriceAt, FetchError>> =
        legs.iter().map(String::as_str).zip(&found).collect();
    let leg_price = |symbol: &str| match by_leg[symbol] {
        Ok(p) => Ok((p.price.clone(), p.trade_ms.max(0) as u64)),
        Err(e) => Err(e.clone()),
    };
    let converted: Vec<(String, Result<output::at_in::Converted, FetchError>)> = (assets.iter())
        .zip(routes)
        .map(|(asset, route)| {
            let result = match route {
                Ok(route) => combine(asset, target, &route, leg_price),
                Err(no) => Err(no_route(asset, target, no)),
            };
            (asset.clone(), result)
        })
        .collect();
    let (format, header) = (config.format, config.header);
    let at = (ask.at_ms, target);
    output::at_in::at_in_results(format, header, at, &converted, zone, names, out)
        .and_then(|()| out.flush())
        .map_err(OutputError)?;
    let ok = converted.iter().filter(|(_, r)| r.is_ok()).count();
    let when = crate::clock::rfc3339_millis(ask.at_ms.max(0) as u64);
    let prices = plural(ok as u64, "price", "prices");
    let results = converted.into_iter().map(|(_, r)| r.map(drop)).collect();
    Ok((results, format!("{prices} in {target} at {when}")))
}

/// The legs' candles of the range, held to be aligned, their gaps, the legs that failed, and
/// the candles still open (left out).
struct Held {
    candles: LegCandles,
    gaps: Vec<(String, i64, i64)>,
    failed: HashMap<String, FetchError>,
    open: history::StillOpen,
}

/// Every leg's candles of the range, `-c` requests at once, in order.
async fn fetch_legs(
    config: &Config,
    engine: &Engine,
    legs: &[String],
    ask: &history::CandleAsk,
) -> anyhow::Result<Held> {
    let now = crate::clock::unix_ms() as i64;
    let plan = history::plan(ask, legs.len(), now);
    let progress = output::Progress::requests(config.progress, plan.len() as u64);
    let mut held = Held {
        candles: legs
            .iter()
            .map(|l| (l.clone(), Default::default()))
            .collect(),
        gaps: Vec::new(),
        failed: HashMap::new(),
        open: history::StillOpen::new(now, legs),
    };
    let mut on_row = |row: history::Row<'_>| {
        match row {
            history::Row::Candle(leg, c) if held.open.takes(leg, c.close_ms) => {}
            history::Row::Candle(leg, c) => {
                let series = held.candles.entry(leg.to_owned()).or_default();
                series.insert(c.open_ms, c.clone());
            }
            history::Row::Gap {
                symbol, from, to, ..
            } => held.gaps.push((symbol.to_owned(), from, to)),
        }
        Ok(())
    };
    let fetched = history::candles(engine, legs, ask, plan, &mut on_row, &mut |n| {
        progress.step(n);
    })
    .await
    .map_err(OutputError)?;
    progress.finish();
    held.failed = (legs.iter().cloned())
        .zip(fetched.failed)
        .filter_map(|(leg, e)| Some((leg, e?)))
        .collect();
    Ok(held)
}

/// `--in --candles`: every leg's candles of the range (a leg two assets share asked once),
/// held until all are in, then each asset's rows made of them in time order; a leg's gap is
/// said for each asset it leaves without rows.
pub(super) async fn candles_in(
    config: &Config,
    engine: &Arc<Engine>,
    assets: &[String],
    (ask, convert): (&history::CandleAsk, &Convert),
    names: &Assets,
    out: &mut dyn Write,
) -> anyhow::Result<Produced> {
    let target = convert.target.as_str();
    let routes = match routed(engine, convert, assets).await {
        Ok(routes) => routes,
        Err(failed) => return Ok(failed),
    };
    let held = fetch_legs(config, engine, &distinct_legs(&routes), ask).await?;
    let mut writer =
        InWriter::new((config.format, config.header), target, &ask.zone, names).for_assets(assets);
    writer
        .start(ask.interval.name(), (ask.from_ms, ask.to_ms), out)
        .map_err(OutputError)?;
    let (mut results, mut written) = (Vec::with_capacity(assets.len()), 0);
    for (asset, route) in assets.iter().zip(routes) {
        let result = match route {
            Ok(route) => write_asset(&mut writer, (asset, target), &route, &held, out)?,
            Err(no) => Err(no_route(asset, target, no)),
        };
        written += result.as_ref().map_or(0, |n| n.unwrap_or(0));
        results.push(match result {
            Ok(Some(0)) if held.open.total() == 0 => Err(no_rows(asset, target, ask)),
            other => other.map(drop),
        });
    }
    writer
        .finish(out)
        .and_then(|()| out.flush())
        .map_err(OutputError)?;
    let summary = format!(
        "{} of {} in {target} for {}{}",
        plural(written, "candle", "candles"),
        ask.interval.name(),
        plural(assets.len() as u64, "asset", "assets"),
        held.open.said(),
    );
    Ok((results, summary))
}

/// One asset's rows and its legs' gaps, in time order: how many rows, or why it has none (a
/// leg that failed, a price that cannot be combined); `None` for the target itself, which has
/// no candles of its own.
fn write_asset(
    writer: &mut InWriter<'_>,
    (asset, target): (&str, &str),
    route: &[Leg],
    held: &Held,
    out: &mut dyn Write,
) -> anyhow::Result<Result<Option<u64>, FetchError>> {
    if let Some((leg, e)) = route
        .iter()
        .find_map(|leg| Some((&leg.symbol, held.failed.get(&leg.symbol)?)))
    {
        return Ok(Err(crate::convert::leg_failed((asset, target), leg, e)));
    }
    if route.is_empty() {
        tracing::info!("{asset} is the asset the prices are in: it has no candles of its own");
        return Ok(Ok(None));
    }
    let made = match rows(asset, target, route, &held.candles) {
        Ok(made) => made,
        Err(e) => return Ok(Err(e)),
    };
    let said = crate::pairs::expression(route.iter().map(|l| (l.symbol.as_str(), l.inverted)));
    let mut gaps = (held.gaps.iter())
        .filter(|(leg, ..)| route.iter().any(|l| &l.symbol == leg))
        .peekable();
    let gap =
        |writer: &mut InWriter<'_>, (leg, from, to): &(String, i64, i64), out: &mut dyn Write| {
            say_leg_gap((asset, target, leg), (*from, *to));
            writer.gap((asset, leg), (*from, *to), out)
        };
    for row in &made {
        while let Some(g) = gaps.next_if(|(_, from, _)| *from < row.open_ms()) {
            gap(writer, g, out).map_err(OutputError)?;
        }
        writer.row((asset, &said), row, out).map_err(OutputError)?;
    }
    for g in gaps {
        gap(writer, g, out).map_err(OutputError)?;
    }
    Ok(Ok(Some(made.len() as u64)))
}

/// An asset with no row at all: every time lacks one of its legs.
fn no_rows(asset: &str, target: &str, ask: &history::CandleAsk) -> FetchError {
    FetchError::NoTrade {
        symbol: asset.to_owned(),
        detail: format!(
            "no {} candle in {target} in the range: at every time one of its legs has none (the \
             gaps are said above)",
            ask.interval.name()
        ),
    }
}

/// A stretch without rows for `asset`, because its leg `leg` has no candles in it.
fn say_leg_gap((asset, target, leg): (&str, &str, &str), (from, to): (i64, i64)) {
    let when = |ms: i64| crate::clock::rfc3339_millis(ms.max(0) as u64);
    tracing::warn!(target: crate::error::DATA, "{asset} in {target}: no candles from {} to {}: its leg {leg} has none", when(from), when(to));
}
