//! What a round produces: one [`Outcome`] per symbol, what it sent ([`Totals`]), the whole
//! [`Round`]; and how an answer's tickers become outcomes: paired with the symbols asked for,
//! checked, duplicates and left-out symbols failed.

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use crate::error::FetchError;
use crate::market::Ticker;
use crate::pairs::Route;

/// How the requests of one round are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Concurrent fan-out under the concurrency cap.
    Async,
    /// Strictly sequential: one request at a time.
    Sync,
}

impl Mode {
    /// `async` or `sync`, as printed and in JSON.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Async => "async",
            Self::Sync => "sync",
        }
    }
}

/// Sees each result as it arrives, and whether it is the last of its request (so that a
/// streaming output writes once per request, not once per line).
pub(crate) type OnOutcome<'a> = dyn FnMut(&Outcome, bool) -> io::Result<()> + 'a;

/// One symbol's result.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// The normalised symbol that was asked for.
    pub(crate) symbol: String,
    /// The ticker, or the last error.
    pub(crate) result: Result<Ticker, FetchError>,
    /// Requests sent that asked for this symbol (0 if it never got to send).
    pub(crate) attempts: u32,
    /// From the first attempt to the final answer, retries and waits included.
    pub(crate) elapsed: Duration,
    /// `--in`: how the price was made from Binance's pairs (the symbol is then an asset).
    pub(crate) route: Option<Route>,
}

impl Outcome {
    /// A symbol that got no answer because the run stopped, with the stop's `error`.
    pub(crate) fn stopped(symbol: &str, error: FetchError) -> Self {
        Self {
            symbol: symbol.to_owned(),
            result: Err(error),
            attempts: 0,
            elapsed: Duration::ZERO,
            route: None,
        }
    }
}

/// What a run, or one round of it, sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Requests sent, every attempt and hedge counted.
    pub(crate) requests: u32,
    /// Attempts that were retries.
    pub(crate) retries: u32,
    /// Extra requests spent isolating unknown symbols in failed batches.
    pub(crate) isolation: u32,
    /// Extra requests sent to other hosts by `--hedge`.
    pub(crate) hedged: u32,
    /// Request weight of everything sent.
    pub(crate) weight: u32,
}

impl Totals {
    /// What was sent between `before` and `self`.
    pub(crate) fn since(self, before: Self) -> Self {
        Self {
            requests: self.requests - before.requests,
            retries: self.retries - before.retries,
            isolation: self.isolation - before.isolation,
            hedged: self.hedged - before.hedged,
            weight: self.weight - before.weight,
        }
    }
}

/// One pass over the symbol list.
#[derive(Debug, Clone)]
pub(crate) struct Round {
    /// How it was scheduled.
    pub(crate) mode: Mode,
    /// One per symbol, in input order (the exchange's order for the whole market).
    pub(crate) outcomes: Vec<Outcome>,
    /// Wall time of the whole round.
    pub(crate) elapsed: Duration,
    /// What this round sent.
    pub(crate) sent: Totals,
    /// Why a whole-market request failed (there are no symbols to pin it on).
    pub(crate) market_error: Option<FetchError>,
}

impl Round {
    /// Symbols without a price.
    pub(crate) fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.result.is_err()).count()
    }
}

/// The symbols of a part of a refused batch that the isolation budget could not pay to check.
pub(crate) fn unchecked(chunk: &[String]) -> Vec<Outcome> {
    tracing::warn!(
        "not isolating {} symbols further: it would pass --max-weight",
        chunk.len()
    );
    chunk
        .iter()
        .map(|symbol| Outcome {
            symbol: symbol.clone(),
            result: Err(FetchError::Api {
                status: 400,
                code: Some(-1121),
                msg: "not checked: Binance refused a batch with this symbol as holding an unknown \
                      symbol, and finding which would pass --max-weight"
                    .into(),
            }),
            attempts: 0,
            elapsed: Duration::ZERO,
            route: None,
        })
        .collect()
}

/// The tickers of one answer, each checked, by symbol in the answer's order. A symbol the
/// answer names twice (with whichever prices) has no price to trust: it fails as `decode`.
pub(crate) fn checked(
    tickers: Vec<Ticker>,
    kind: crate::market::TickerKind,
) -> Vec<(String, Result<Ticker, FetchError>)> {
    let mut checked: Vec<(String, Result<Ticker, FetchError>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for t in tickers {
        if let Some(&i) = index.get(&t.symbol) {
            checked[i].1 = Err(FetchError::Decode {
                status: 200,
                detail: format!("{} appears more than once in one answer", t.symbol),
            });
            continue;
        }
        let result = match crate::answer::check_ticker(&t, kind) {
            Ok(()) => Ok(t.clone()),
            Err(detail) => Err(FetchError::Decode {
                status: 200,
                detail,
            }),
        };
        index.insert(t.symbol.clone(), checked.len());
        checked.push((t.symbol, result));
    }
    checked
}

/// Pairs a chunk's symbols with the tickers of its answer; a symbol the answer left out fails.
/// With the `symbolStatus` filter on, a symbol left out of the answer is one that does not trade.
pub(crate) fn outcomes_of(
    chunk: &[String],
    tickers: Vec<Ticker>,
    attempts: u32,
    elapsed: Duration,
    (kind, trading_only): (crate::market::TickerKind, bool),
) -> Vec<Outcome> {
    let mut by_symbol: HashMap<String, Result<Ticker, FetchError>> =
        checked(tickers, kind).into_iter().collect();
    chunk
        .iter()
        .map(|symbol| Outcome {
            symbol: symbol.clone(),
            result: by_symbol.remove(symbol).unwrap_or_else(|| {
                Err(if trading_only {
                    FetchError::NotTrading {
                        symbol: symbol.clone(),
                    }
                } else {
                    FetchError::Decode {
                        status: 200,
                        detail: format!("{symbol} is missing from the answer"),
                    }
                })
            }),
            attempts,
            elapsed,
            route: None,
        })
        .collect()
}
