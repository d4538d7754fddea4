//! The wiring of `--funding`: a throttle of the funding history's own (500 requests per 5
//! minutes per IP, in the shared ledger beside the market's budget), every symbol's fundings,
//! written in the asked order, a perpetual listed after the range's start said as a gap.

use std::io::Write;
use std::sync::Arc;

use crate::config::Config;
use crate::error::{FetchError, OutputError};
use crate::fetch::Engine;
use crate::history::{FUNDING_PER_MINUTE, FundingAsk};
use crate::market::FundingRate;
use crate::text::plural;
use crate::throttle::{Limits, Throttle};

use super::history_in::Produced;

/// Fundings come every 8 hours on most perpetuals (some every 4 or 1): a first one later
/// than this after the range's start is a perpetual not listed yet.
const EIGHT_HOURS_MS: i64 = 8 * 3_600_000;

/// `--funding`: each symbol's fundings over the range (see the module's docs).
pub(super) async fn funding(
    config: &Config,
    engine: &Arc<Engine>,
    symbols: &[String],
    ask: FundingAsk,
    out: &mut dyn Write,
) -> anyhow::Result<Produced> {
    let limits = Limits {
        weight_limit: FUNDING_PER_MINUTE,
        max_wait: config.limits.max_wait,
    };
    let budget = format!("{}.funding", config.http.market.name());
    let throttle = Throttle::new(limits)
        .with_ledger(
            config.state_dir.as_deref(),
            (&config.http.base_url, &budget),
        )
        .await;
    let found = crate::history::funding(engine, &throttle, symbols, ask).await;
    throttle.release().await;
    let empty: Vec<FundingRate> = Vec::new();
    let series: Vec<(&str, &[FundingRate])> = (symbols.iter())
        .zip(&found)
        .map(|(s, r)| (s.as_str(), r.as_deref().unwrap_or(&empty)))
        .collect();
    for (symbol, rows) in &series {
        say_late_start(symbol, rows, ask);
    }
    crate::output::funding::write(
        (config.format, config.header),
        (ask.from_ms, ask.to_ms),
        &series,
        out,
    )
    .and_then(|()| out.flush())
    .map_err(OutputError)?;
    let rows: usize = series.iter().map(|(_, r)| r.len()).sum();
    let results = (symbols.iter().zip(found))
        .map(|(symbol, r)| match r {
            Ok(rows) if rows.is_empty() => Err(none_in(symbol, ask)),
            other => other.map(drop),
        })
        .collect();
    let summary = format!(
        "{} for {}",
        plural(rows as u64, "funding rate", "funding rates"),
        plural(symbols.len() as u64, "symbol", "symbols")
    );
    Ok((results, summary))
}

/// A perpetual whose first funding comes long after the range's start: not listed yet then.
fn say_late_start(symbol: &str, rows: &[FundingRate], ask: FundingAsk) {
    let when = |ms: i64| crate::clock::rfc3339_millis(ms.max(0) as u64);
    if let Some(first) = rows.first()
        && first.time_ms - ask.from_ms > EIGHT_HOURS_MS
    {
        tracing::warn!(target: crate::error::DATA, "{symbol}: no funding from {} to {}: it was not listed yet (its first funding in the range)", when(ask.from_ms), when(first.time_ms));
    }
}

/// A symbol with no funding at all in the range.
fn none_in(symbol: &str, ask: FundingAsk) -> FetchError {
    let when = |ms: i64| crate::clock::rfc3339_millis(ms.max(0) as u64);
    FetchError::NoTrade {
        symbol: symbol.to_owned(),
        detail: format!(
            "no funding rate from {} to {}: not listed yet, or not a perpetual (a quarterly has \
             no funding)",
            when(ask.from_ms),
            when(ask.to_ms)
        ),
    }
}
