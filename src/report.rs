//! What a run found and how long it took, as plain data, and the comparison maths.
//!
//! Nothing here formats text: the renderers in [`crate::output`] word it. The speed-up follows
//! hyperfine's `relative_speed`: the ratio of the mean wall times, with the uncertainty
//! propagated from both standard deviations (`σ_r = r·√((σ_a/μ_a)² + (σ_b/μ_b)²)`).

use std::time::Duration;

use crate::error::FetchError;
use crate::fetch::{Engine, StopReason};
use crate::market::TickerKind;
use crate::outcome::{Mode, Outcome, Round, Totals};
use crate::strategy::Strategy;

/// Everything the renderers need about one run.
#[derive(Debug, Clone)]
pub struct Report {
    /// How the shown results were fetched.
    pub(crate) mode: Mode,
    /// The concurrency cap (1 in sync mode).
    pub(crate) concurrency: usize,
    /// Which ticker was asked for.
    pub(crate) kind: TickerKind,
    /// Of which exchange (`--market`).
    pub(crate) market: crate::market::Market,
    /// How symbols were grouped into requests.
    pub(crate) strategy: Strategy,
    /// One per symbol, in input order (from the last measured async round of a comparison).
    pub(crate) outcomes: Vec<Outcome>,
    /// Wall time of the whole run (all rounds of a comparison).
    pub(crate) elapsed: Duration,
    /// What the whole run (or this refresh) sent: requests, retries, isolation and hedged
    /// requests, and their weight.
    pub(crate) sent: Totals,
    /// A failure of the run as a whole: the whole-market request (`--all`) got no answer.
    pub(crate) error: Option<FetchError>,
    /// The server's last `X-MBX-USED-WEIGHT-1M`, if it sent one.
    pub(crate) used_weight: Option<u32>,
    /// The signal (Ctrl-C, SIGTERM, SIGHUP) that stopped the run before it finished.
    pub(crate) interrupted: Option<crate::error::Signal>,
    /// The run hit `--deadline` before it finished.
    pub(crate) deadline_hit: bool,
    /// Present with `--compare`.
    pub(crate) comparison: Option<Comparison>,
    /// "Did you mean" lines for symbols Binance does not know (-1121), for stderr.
    pub(crate) suggestions: Vec<String>,
    /// `--in`: the symbols are assets, priced in this one.
    pub(crate) target: Option<String>,
    /// History (`--at`, `--candles`): the symbols whose prices or candles were written. They
    /// have no ticker, so they are counted here; `outcomes` holds the ones that failed.
    pub(crate) produced: usize,
    /// Each symbol's base and quote asset, when the cached pairs know them (for labels).
    pub(crate) assets: std::collections::HashMap<String, (String, String)>,
}

impl Report {
    /// The report of the round whose results are shown, with `sent`: what the whole run sent, or
    /// one refresh's share of it.
    pub(crate) fn of(
        engine: &Engine,
        shown: Round,
        sent: Totals,
        elapsed: std::time::Duration,
        comparison: Option<Comparison>,
    ) -> Self {
        Self {
            mode: shown.mode,
            concurrency: if shown.mode == Mode::Sync {
                1
            } else {
                engine.concurrency()
            },
            kind: engine.ask().kind,
            market: engine.market(),
            strategy: engine.ask().strategy,
            error: shown.market_error,
            outcomes: shown.outcomes,
            elapsed,
            sent,
            used_weight: engine.throttle().last_used_weight(),
            interrupted: match engine.stop_reason() {
                Some(StopReason::Interrupted(signal)) => Some(signal),
                _ => None,
            },
            deadline_hit: matches!(engine.stop_reason(), Some(StopReason::Deadline(_))),
            comparison,
            suggestions: Vec::new(),
            target: None,
            produced: 0,
            assets: std::collections::HashMap::new(),
        }
    }

    /// A history run's report: per symbol, whether its prices or candles were written (or
    /// why not). No ticker stands for what was written: the failures are its outcomes (no
    /// attempts counted: history's requests are many per symbol), the rest are `produced`.
    pub(crate) fn of_history(
        engine: &Engine,
        per_symbol: Vec<(String, Result<(), FetchError>)>,
        elapsed: Duration,
    ) -> Self {
        let produced = per_symbol.iter().filter(|(_, r)| r.is_ok()).count();
        let outcomes = per_symbol
            .into_iter()
            .filter_map(|(symbol, r)| {
                let e = r.err()?;
                Some(Outcome {
                    attempts: 0,
                    elapsed,
                    ..Outcome::stopped(&symbol, e)
                })
            })
            .collect();
        let round = Round {
            mode: Mode::Async,
            outcomes,
            elapsed,
            sent: engine.totals(),
            market_error: None,
        };
        Self {
            produced,
            ..Self::of(engine, round, engine.totals(), elapsed, None)
        }
    }

    /// The report of a run that went on after it was made (a stream after its snapshot), as the
    /// engine says the run ended: its signal, its deadline, a ban, its length. A deadline that
    /// passed before anything arrived (`delivered` false) is the run's failure.
    pub(crate) fn ended(mut self, engine: &Engine, elapsed: Duration, delivered: bool) -> Self {
        self.interrupted = match engine.stop_reason() {
            Some(StopReason::Interrupted(signal)) => Some(signal),
            _ => None,
        };
        self.deadline_hit = matches!(engine.stop_reason(), Some(StopReason::Deadline(_)));
        if let Some(ban) = engine.throttle().ban() {
            self.error = Some(ban);
        } else if let Some(StopReason::Deadline(d)) = engine.stop_reason()
            && !delivered
        {
            self.error = Some(FetchError::Deadline(d));
        }
        self.used_weight = engine.throttle().last_used_weight();
        self.elapsed = elapsed;
        self
    }

    /// The exit code this run ends with (decided in `error`, from its failures and signal).
    pub fn exit(&self) -> crate::error::Exit {
        crate::error::exit_for_failures(self.failures(), self.interrupted)
    }

    /// Symbols with a price.
    pub fn ok(&self) -> usize {
        self.produced + self.outcomes.iter().filter(|o| o.result.is_ok()).count()
    }

    /// Symbols without one.
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.result.is_err()).count()
    }

    /// Every failure of the run: the run's own, then each symbol's.
    pub fn failures(&self) -> impl Iterator<Item = &FetchError> {
        self.error
            .iter()
            .chain(self.outcomes.iter().filter_map(|o| o.result.as_ref().err()))
    }
}

/// Wall-time statistics of one mode over its measured rounds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stats {
    /// Each round's wall time, in seconds, in the order run.
    pub(crate) samples: Vec<f64>,
    /// Mean, seconds.
    pub(crate) mean: f64,
    /// Sample standard deviation (n − 1), seconds; 0 for a single round.
    pub(crate) stddev: f64,
    /// Fastest round, seconds.
    pub(crate) min: f64,
    /// Slowest round, seconds.
    pub(crate) max: f64,
    /// Requests sent per round, on average (retries included).
    pub(crate) requests_per_round: f64,
    /// Failed symbols over all measured rounds.
    pub(crate) failed: usize,
}

impl Stats {
    /// Statistics over measured rounds; `None` for no rounds.
    pub(crate) fn of(rounds: &[Round]) -> Option<Self> {
        if rounds.is_empty() {
            return None;
        }
        let samples: Vec<f64> = rounds.iter().map(|r| r.elapsed.as_secs_f64()).collect();
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let stddev = if samples.len() > 1 {
            (samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Some(Self {
            min: samples.iter().copied().fold(f64::INFINITY, f64::min),
            max: samples.iter().copied().fold(0.0, f64::max),
            requests_per_round: rounds
                .iter()
                .map(|r| f64::from(r.sent.requests))
                .sum::<f64>()
                / n,
            failed: rounds.iter().map(Round::failed).sum(),
            samples,
            mean,
            stddev,
        })
    }
}

/// How much faster one mode ran than the other.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Speedup {
    /// The faster mode.
    pub(crate) faster: Mode,
    /// slower mean ÷ faster mean (≥ 1).
    pub(crate) ratio: f64,
    /// Propagated standard deviation of the ratio.
    pub(crate) stddev: f64,
}

impl Speedup {
    /// `None` when a mean is zero (no meaningful ratio).
    pub(crate) fn between(async_: &Stats, sync: &Stats) -> Option<Self> {
        if async_.mean <= 0.0 || sync.mean <= 0.0 {
            return None;
        }
        let (faster, fast, slow) = if async_.mean <= sync.mean {
            (Mode::Async, async_, sync)
        } else {
            (Mode::Sync, sync, async_)
        };
        let ratio = slow.mean / fast.mean;
        let stddev =
            ratio * ((fast.stddev / fast.mean).powi(2) + (slow.stddev / slow.mean).powi(2)).sqrt();
        Some(Self {
            faster,
            ratio,
            stddev,
        })
    }
}

/// `--compare`: both modes over the same symbols, interleaved round by round.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comparison {
    /// Measured rounds per mode.
    pub(crate) runs: u32,
    /// Unmeasured rounds per mode before them.
    pub(crate) warmup: u32,
    /// The concurrent mode.
    pub(crate) async_stats: Stats,
    /// The sequential mode.
    pub(crate) sync_stats: Stats,
    /// `None` if a mean was zero.
    pub(crate) speedup: Option<Speedup>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(samples: &[f64]) -> Stats {
        let rounds: Vec<Round> = samples
            .iter()
            .map(|s| Round {
                mode: Mode::Async,
                outcomes: vec![],
                elapsed: Duration::from_secs_f64(*s),
                sent: Default::default(),
                market_error: None,
            })
            .collect();
        Stats::of(&rounds).unwrap()
    }

    #[test]
    fn stats_use_the_sample_standard_deviation() {
        let s = stats(&[1.0, 2.0, 3.0]);
        assert!((s.mean - 2.0).abs() < 1e-9);
        assert!((s.stddev - 1.0).abs() < 1e-9);
        assert!((s.min - 1.0).abs() < 1e-9 && (s.max - 3.0).abs() < 1e-9);
        assert_eq!(stats(&[0.5]).stddev, 0.0);
        assert!(Stats::of(&[]).is_none());
    }

    #[test]
    fn speedup_propagates_both_uncertainties() {
        let a = stats(&[0.09, 0.10, 0.11]); // mean 0.1, sd 0.01
        let s = stats(&[0.8, 1.0, 1.2]); // mean 1.0, sd 0.2
        let up = Speedup::between(&a, &s).unwrap();
        assert_eq!(up.faster, Mode::Async);
        assert!((up.ratio - 10.0).abs() < 1e-9);
        let expected = 10.0 * (0.1f64.powi(2) + 0.2f64.powi(2)).sqrt();
        assert!((up.stddev - expected).abs() < 1e-9, "{}", up.stddev);
    }

    #[test]
    fn speedup_names_sync_when_sync_wins_and_refuses_zero() {
        let up = Speedup::between(&stats(&[2.0]), &stats(&[1.0])).unwrap();
        assert_eq!(up.faster, Mode::Sync);
        assert!((up.ratio - 2.0).abs() < 1e-9);
        assert!(Speedup::between(&stats(&[0.0]), &stats(&[1.0])).is_none());
    }
}
