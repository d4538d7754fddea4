//! `--in ASSET --at TIME`: each asset's price in ASSET at the moment, made of its legs' last
//! trades. JSON and ndjson carry the route, each leg's price and trade time, and how far apart
//! the legs' trades were (`legs_skew_ms`); the other formats write the asset as `--at` writes a
//! pair (dated by its oldest leg's trade), and ledger and beancount a price of the asset in
//! ASSET.

use std::io::{self, Write};

use serde_json::json;

use crate::error::FetchError;
use crate::history::PriceAt;
use crate::pairs::LegPrice;

use super::format::Format;
use super::history::{Assets, at_results, utc};

/// One asset at the moment: its price and the legs it was made of.
pub(crate) type Converted = (String, Vec<LegPrice>);

/// Writes the assets' prices in `target` at `at_ms` (see the module's docs).
#[allow(
    clippy::too_many_arguments,
    reason = "what a price at a moment is written with, and the asset it is in"
)]
pub(crate) fn at_in_results(
    format: Format,
    header: bool,
    (at_ms, target): (i64, &str),
    results: &[(String, Result<Converted, FetchError>)],
    zone: &jiff::tz::TimeZone,
    assets: &Assets,
    out: &mut dyn Write,
) -> io::Result<()> {
    let object = |asset: &str, r: &Result<Converted, FetchError>| object(asset, target, at_ms, r);
    match format {
        Format::Json => {
            let ok = results.iter().filter(|(_, r)| r.is_ok()).count();
            let doc = json!({
                "at": utc(at_ms), "at_ms": at_ms, "in": target, "ok": ok,
                "failed": results.len() - ok,
                "results": results.iter().map(|(a, r)| object(a, r)).collect::<Vec<_>>(),
            });
            writeln!(out, "{doc:#}")
        }
        Format::Ndjson => {
            for (asset, r) in results {
                writeln!(out, "{}", object(asset, r))?;
            }
            Ok(())
        }
        _ => {
            let as_prices: Vec<(String, Result<PriceAt, FetchError>)> = (results.iter())
                .map(|(asset, r)| {
                    (
                        asset.clone(),
                        r.as_ref().map(price_at).map_err(Clone::clone),
                    )
                })
                .collect();
            at_results(format, header, at_ms, &as_prices, zone, assets, out)
        }
    }
}

/// The asset's price, dated by its oldest leg's trade (the asset itself: the moment).
fn price_at((price, legs): &Converted) -> PriceAt {
    let oldest = legs.iter().map(|l| l.time_ms as i64).min();
    PriceAt {
        price: price.clone(),
        trade_ms: oldest.unwrap_or_default(),
    }
}

/// How far apart the legs' trades were, ms (0 for one leg or none).
fn skew(legs: &[LegPrice]) -> u64 {
    let times = legs.iter().map(|l| l.time_ms);
    times.clone().max().unwrap_or(0) - times.min().unwrap_or(0)
}

fn object(
    asset: &str,
    target: &str,
    at_ms: i64,
    r: &Result<Converted, FetchError>,
) -> serde_json::Value {
    let at = utc(at_ms);
    match r {
        Ok((price, legs)) => {
            let route: Vec<&str> = legs.iter().map(|l| l.symbol.as_str()).collect();
            let legs_json: Vec<serde_json::Value> = (legs.iter())
                .map(|l| {
                    json!({"symbol": l.symbol, "price": l.price, "inverted": l.inverted,
                           "trade_time": utc(l.time_ms as i64), "trade_time_ms": l.time_ms})
                })
                .collect();
            json!({"asset": asset, "in": target, "price": price, "route": route, "at": at,
                   "at_ms": at_ms, "legs": legs_json, "legs_skew_ms": skew(legs)})
        }
        Err(e) => json!({"asset": asset, "in": target, "at": at, "at_ms": at_ms,
                         "error": {"kind": e.kind(), "message": e.to_string()}}),
    }
}
