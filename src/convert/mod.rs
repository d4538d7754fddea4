//! `--in ASSET`: each argument is an asset, priced in ASSET by the route Binance's pairs give
//! (the direct pair, its inverse, or two legs through a hub), with exact decimal arithmetic.
//!
//! One round: the pairs (from the cache beside the ledger, else one `exchangeInfo`), a route
//! per asset, then every leg of every route fetched at once as ordinary price tickers (batched,
//! retried and paced by the engine), then each price computed from its legs. An asset no pair
//! names refreshes a cached list once, in case it was listed since. (`--at TIME`, from the
//! history issue, prices every leg at that moment: [`combine`] makes a price of legs either way.)

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::time::Instant;

use crate::error::FetchError;
use crate::fetch::Engine;
use crate::market::Ticker;
use crate::outcome::{Mode, OnOutcome, Outcome, Round};
use crate::pairs::{Leg, LegPrice, NoRoute, Pairs, Route, cache};

pub(crate) mod candles;

/// What `--in` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Convert {
    /// The asset every price is given in, e.g. `EUR`.
    pub(crate) target: String,
    /// `--via`: the only hub a two-leg route may use.
    pub(crate) via: Option<String>,
    /// Where the pairs are cached; `None` keeps them in memory (`--no-shared-state`).
    pub(crate) cache: Option<PathBuf>,
}

/// Prices every asset of `assets` in `settings.target`, one outcome per asset in their order.
pub(crate) async fn round(
    engine: &Arc<Engine>,
    settings: &Convert,
    assets: &[String],
    mode: Mode,
    on_outcome: &mut OnOutcome<'_>,
) -> io::Result<Round> {
    let start = Instant::now();
    let before = engine.totals();
    let outcomes = match routes(engine, settings, assets).await {
        Ok(routes) => price_legs(engine, settings, assets, routes, mode).await?,
        Err(e) => assets
            .iter()
            .map(|a| Outcome::stopped(a, e.clone()))
            .collect(),
    };
    let n = outcomes.len();
    for (k, o) in outcomes.iter().enumerate() {
        on_outcome(o, k + 1 == n)?;
    }
    Ok(Round {
        mode,
        outcomes,
        elapsed: start.elapsed(),
        sent: engine.totals().since(before),
        market_error: None,
    })
}

/// A route per asset, from cached pairs when they are fresh; an asset no cached pair names
/// asks Binance again once.
pub(crate) async fn routes(
    engine: &Engine,
    settings: &Convert,
    assets: &[String],
) -> Result<Vec<Result<Vec<Leg>, NoRoute>>, FetchError> {
    let now = crate::clock::unix_ms();
    let cached = settings
        .cache
        .as_deref()
        .and_then(|path| cache::load(path, now));
    let from_cache = cached.is_some();
    let pairs = match cached {
        Some(list) => Pairs::new(list),
        None => fetch_pairs(engine, settings).await?,
    };
    let found = route_all(&pairs, settings, assets);
    let unknown = found.iter().any(|r| {
        matches!(
            r,
            Err(NoRoute {
                unknown: Some(_),
                ..
            })
        )
    });
    if from_cache && unknown {
        tracing::info!("an asset is not in the cached pairs: asking Binance for them again");
        let pairs = fetch_pairs(engine, settings).await?;
        return Ok(route_all(&pairs, settings, assets));
    }
    Ok(found)
}

/// Every trading pair from `exchangeInfo`, kept in the cache for the next run.
async fn fetch_pairs(engine: &Engine, settings: &Convert) -> Result<Pairs, FetchError> {
    let list = engine.trading_pairs().await?;
    if let Some(path) = &settings.cache
        && let Err(e) = cache::store(path, &list, crate::clock::unix_ms())
    {
        tracing::info!("the pairs are not cached: {e}");
    }
    Ok(Pairs::new(list))
}

fn route_all(
    pairs: &Pairs,
    settings: &Convert,
    assets: &[String],
) -> Vec<Result<Vec<Leg>, NoRoute>> {
    let start = std::time::Instant::now();
    let found: Vec<_> = assets
        .iter()
        .map(|a| pairs.route(a, &settings.target, settings.via.as_deref()))
        .collect();
    tracing::debug!(
        "routes for {} assets over {} pairs in {:.3} ms",
        assets.len(),
        pairs.list().len(),
        start.elapsed().as_secs_f64() * 1e3
    );
    found
}

/// Fetches every leg once (the legs of all routes as one list of price tickers), then makes
/// each asset's price from its legs.
async fn price_legs(
    engine: &Arc<Engine>,
    settings: &Convert,
    assets: &[String],
    routes: Vec<Result<Vec<Leg>, NoRoute>>,
    mode: Mode,
) -> io::Result<Vec<Outcome>> {
    let legs = distinct_legs(&routes);
    let fetched = if legs.is_empty() {
        Vec::new()
    } else {
        engine
            .round(&legs, mode, &mut |_, _| Ok(()))
            .await?
            .outcomes
    };
    let by_symbol: HashMap<&str, &Outcome> =
        fetched.iter().map(|o| (o.symbol.as_str(), o)).collect();
    Ok(assets
        .iter()
        .zip(routes)
        .map(|(asset, route)| match route {
            Ok(route) => priced(asset, &settings.target, &route, &by_symbol),
            Err(no) => Outcome::stopped(asset, no_route(asset, &settings.target, no)),
        })
        .collect())
}

/// Every leg of every route, once, in the order first met (a leg two assets share is asked
/// once).
pub(crate) fn distinct_legs(routes: &[Result<Vec<Leg>, NoRoute>]) -> Vec<String> {
    let mut legs: Vec<String> = Vec::new();
    for leg in routes.iter().flatten().flatten() {
        if !legs.contains(&leg.symbol) {
            legs.push(leg.symbol.clone());
        }
    }
    legs
}

/// The legs' prices combined exactly: 1 for the asset itself, a direct pair as Binance sent
/// it (unrounded), else the product of the legs, rounded once.
fn combined(legs: &[LegPrice]) -> Result<String, crate::decimal::Unusable> {
    match legs {
        [] => Ok("1".to_owned()),
        [only] if !only.inverted => Ok(only.price.clone()),
        many => crate::decimal::convert(
            &many
                .iter()
                .map(|l| (l.price.as_str(), l.inverted))
                .collect::<Vec<_>>(),
        ),
    }
}

/// A route with its legs' prices, for `-v`: `ADAUSDT (0.45) × 1/EURUSDT (1.08)`.
fn said(legs: &[LegPrice]) -> String {
    if legs.is_empty() {
        return "the same asset".to_owned();
    }
    let leg = |l: &LegPrice| match l.inverted {
        true => format!("1/{} ({})", l.symbol, l.price),
        false => format!("{} ({})", l.symbol, l.price),
    };
    legs.iter().map(leg).collect::<Vec<_>>().join(" × ")
}

/// One asset's price from its fetched legs, or the first leg's failure.
fn priced(asset: &str, target: &str, route: &[Leg], legs: &HashMap<&str, &Outcome>) -> Outcome {
    let fetched: Vec<&Outcome> = route.iter().map(|leg| legs[leg.symbol.as_str()]).collect();
    let attempts = fetched.iter().map(|o| o.attempts).sum();
    let elapsed = fetched.iter().map(|o| o.elapsed).max().unwrap_or_default();
    let leg_price = |symbol: &str| match &legs[symbol].result {
        Ok(t) => Ok((t.price().to_owned(), t.time_ms)),
        Err(e) => Err(e.clone()),
    };
    let (price, priced_legs) = match combine(asset, target, route, leg_price) {
        Ok(done) => done,
        Err(e) => {
            return Outcome {
                attempts,
                elapsed,
                ..Outcome::stopped(asset, e)
            };
        }
    };
    let time_ms = priced_legs
        .iter()
        .map(|l| l.time_ms)
        .min()
        .unwrap_or_else(crate::clock::unix_ms);
    Outcome {
        symbol: asset.to_owned(),
        result: Ok(Ticker {
            symbol: asset.to_owned(),
            values: vec![price],
            time_ms,
        }),
        attempts,
        elapsed,
        route: Some(Route {
            target: target.to_owned(),
            legs: priced_legs,
        }),
    }
}

/// `asset`'s price in `target` along `route`, each leg's price (and when it was true) from
/// `leg_price`: the exact combination and the legs, or the first leg's failure (said with the
/// leg it was, which the failure itself does not name). Now (`--in`) and at a moment
/// (`--in --at`) alike.
pub(crate) fn combine(
    asset: &str,
    target: &str,
    route: &[Leg],
    leg_price: impl Fn(&str) -> Result<(String, u64), FetchError>,
) -> Result<(String, Vec<LegPrice>), FetchError> {
    let mut priced_legs = Vec::with_capacity(route.len());
    for leg in route {
        let (price, time_ms) =
            leg_price(&leg.symbol).map_err(|e| leg_failed((asset, target), &leg.symbol, &e))?;
        priced_legs.push(LegPrice {
            symbol: leg.symbol.clone(),
            inverted: leg.inverted,
            price,
            time_ms,
        });
    }
    let price = combined(&priced_legs).map_err(|why| FetchError::Unusable {
        detail: format!("{asset} in {target}: {why}"),
    })?;
    tracing::info!("{asset} in {target}: {}", said(&priced_legs));
    Ok((price, priced_legs))
}

/// A leg's failure as its asset's, the kind kept and the leg named: in the failure itself when
/// it is history's `no_trade` (JSON carries it), else in a warning (a network failure's words
/// are the pair's own).
pub(crate) fn leg_failed((asset, target): (&str, &str), leg: &str, e: &FetchError) -> FetchError {
    match e {
        FetchError::NoTrade { symbol, detail } => FetchError::NoTrade {
            symbol: symbol.clone(),
            detail: format!("its leg {leg}: {detail}"),
        },
        other => {
            tracing::warn!(target: crate::error::DATA, "{asset} in {target}: its leg {leg} failed: {other}");
            other.clone()
        }
    }
}

/// The `no_route` failure, naming what was missing.
pub(crate) fn no_route(asset: &str, target: &str, no: NoRoute) -> FetchError {
    let why = match no.unknown {
        Some(_) if !no.missing.is_empty() => no.missing.join("; "),
        Some(unknown) => format!("no trading pair on Binance names {unknown}"),
        None => format!(
            "{asset} has no trading pair with {target}: {}",
            no.missing.join("; ")
        ),
    };
    FetchError::NoRoute {
        target: target.to_owned(),
        why,
    }
}
