//! The engine: fetch every symbol once, concurrently (async) or one after another (sync).
//!
//! Both modes share [`Engine::fetch_one`], the per-symbol loop of throttle → attempt → retry
//! decision, and the same client, so a `--compare` measures scheduling and nothing else.
//!
//! **Async** is a tokio `Semaphore` plus a `JoinSet`: the loop acquires an *owned* permit before
//! it spawns a symbol's task and moves the permit into the task, so at most `concurrency` tasks
//! exist at once (memory stays bounded for any list length) and a slow symbol holds only its own
//! slot; the permit is released when the task ends. A worker pool pulling from a queue would do
//! the same; the semaphore keeps the cap visible in one line and the tasks independent.
//!
//! **Sync** is a plain loop: one request at a time, each finished before the next starts, on the
//! one pooled keep-alive connection — what a `requests.get` loop does. It is still async code
//! (it must share the client, the retries and Ctrl-C with the async mode), but nothing overlaps.
//!
//! A [`Stop`] (Ctrl-C, or `--deadline`) cancels the run: attempts in flight are dropped at once
//! (closing their connections), nothing new starts, and every symbol without an answer is
//! reported as cancelled (Ctrl-C) or timed out (deadline). Results always come back in input
//! order.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::binance::{BinanceClient, PRICE_ONE_WEIGHT, PriceTicker};
use crate::error::FetchError;
use crate::retry::{Decision, RetryPolicy, Tries};
use crate::throttle::Throttle;

/// Why a run stopped before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Ctrl-C.
    Interrupted,
    /// `--deadline` passed.
    Deadline(Duration),
}

impl StopReason {
    /// What a symbol that got no answer is marked with.
    fn error(self) -> FetchError {
        match self {
            Self::Interrupted => FetchError::Cancelled,
            Self::Deadline(d) => FetchError::Deadline(d),
        }
    }
}

/// Tells every task of a run to stop, and remembers why. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    token: CancellationToken,
    reason: Arc<OnceLock<StopReason>>,
}

impl Stop {
    /// Stops the run; the first reason given is the one remembered.
    pub fn stop(&self, reason: StopReason) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    /// Why the run stopped, if it did.
    pub fn reason(&self) -> Option<StopReason> {
        self.reason.get().copied()
    }

    fn error(&self) -> FetchError {
        self.reason().unwrap_or(StopReason::Interrupted).error()
    }
}

/// How the requests of one round are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Concurrent fan-out under the concurrency cap.
    Async,
    /// Strictly sequential: one request at a time.
    Sync,
}

impl Mode {
    /// `async` or `sync`, as printed and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Async => "async",
            Self::Sync => "sync",
        }
    }
}

/// One symbol's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The normalised symbol that was asked for.
    pub symbol: String,
    /// The ticker, or the last error.
    pub result: Result<PriceTicker, FetchError>,
    /// Requests actually sent for this symbol (0 if it never got to send).
    pub attempts: u32,
    /// From the first attempt to the final answer, retries and waits included.
    pub elapsed: Duration,
}

impl Outcome {
    fn stopped(symbol: &str, stop: &Stop) -> Self {
        Self {
            symbol: symbol.to_owned(),
            result: Err(stop.error()),
            attempts: 0,
            elapsed: Duration::ZERO,
        }
    }
}

/// One pass over the symbol list.
#[derive(Debug, Clone)]
pub struct Round {
    /// How it was scheduled.
    pub mode: Mode,
    /// One per symbol, in input order.
    pub outcomes: Vec<Outcome>,
    /// Wall time of the whole round.
    pub elapsed: Duration,
}

impl Round {
    /// Requests sent (every attempt counts).
    pub fn requests(&self) -> u32 {
        self.outcomes.iter().map(|o| o.attempts).sum()
    }

    /// Attempts beyond each symbol's first.
    pub fn retries(&self) -> u32 {
        self.outcomes
            .iter()
            .map(|o| o.attempts.saturating_sub(1))
            .sum()
    }

    /// Symbols without a price.
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.result.is_err()).count()
    }
}

/// Everything a round needs, shared by its tasks.
#[derive(Debug)]
pub struct Engine {
    client: BinanceClient,
    policy: RetryPolicy,
    concurrency: usize,
    throttle: Throttle,
    stop: Stop,
}

impl Engine {
    /// An engine that sends through `throttle` and stops when `stop` says so.
    pub fn new(
        client: BinanceClient,
        policy: RetryPolicy,
        concurrency: usize,
        throttle: Throttle,
        stop: Stop,
    ) -> Self {
        Self {
            client,
            policy,
            concurrency: concurrency.max(1),
            throttle,
            stop,
        }
    }

    /// The shared rate-limit state, for the summary.
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// Why the run stopped early, if it did.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop.reason()
    }

    /// True once the run was told to stop.
    pub fn stopped(&self) -> bool {
        self.stop.token.is_cancelled()
    }

    /// Fetches every symbol once. `on_outcome` sees each result as it arrives (for streaming
    /// output); its error (e.g. a closed stdout) ends the round.
    pub async fn round(
        self: &Arc<Self>,
        symbols: &[String],
        mode: Mode,
        on_outcome: &mut dyn FnMut(&Outcome) -> io::Result<()>,
    ) -> io::Result<Round> {
        let start = Instant::now();
        let outcomes = match mode {
            Mode::Async => self.fan_out(symbols, on_outcome).await?,
            Mode::Sync => self.one_by_one(symbols, on_outcome).await?,
        };
        Ok(Round {
            mode,
            outcomes,
            elapsed: start.elapsed(),
        })
    }

    async fn fan_out(
        self: &Arc<Self>,
        symbols: &[String],
        on_outcome: &mut dyn FnMut(&Outcome) -> io::Result<()>,
    ) -> io::Result<Vec<Outcome>> {
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks = JoinSet::new();
        let mut slots: Vec<Option<Outcome>> = vec![None; symbols.len()];
        let mut next = 0;
        loop {
            tokio::select! {
                // Drain finished tasks first, so results stream out as soon as they exist.
                biased;
                Some(joined) = tasks.join_next() => {
                    let (i, outcome) = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                    on_outcome(&outcome)?;
                    slots[i] = Some(outcome);
                }
                permit = permits.clone().acquire_owned(), if next < symbols.len() && !self.stopped() => {
                    let permit = permit.expect("the semaphore is never closed");
                    let engine = Arc::clone(self);
                    let symbol = symbols[next].clone();
                    let i = next;
                    tasks.spawn(async move {
                        // Held until this symbol is done, retries included; then the next may start.
                        let _permit = permit;
                        (i, engine.fetch_one(&symbol).await)
                    });
                    next += 1;
                }
                else => break,
            }
        }
        let mut outcomes = Vec::with_capacity(symbols.len());
        for (slot, symbol) in slots.into_iter().zip(symbols) {
            let outcome = match slot {
                Some(o) => o,
                None => {
                    let o = Outcome::stopped(symbol, &self.stop);
                    on_outcome(&o)?;
                    o
                }
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    async fn one_by_one(
        &self,
        symbols: &[String],
        on_outcome: &mut dyn FnMut(&Outcome) -> io::Result<()>,
    ) -> io::Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(symbols.len());
        for symbol in symbols {
            let outcome = if self.stopped() {
                Outcome::stopped(symbol, &self.stop)
            } else {
                self.fetch_one(symbol).await
            };
            on_outcome(&outcome)?;
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// One symbol: wait for the throttle, try, and retry while [`RetryPolicy::decide`] says so.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn fetch_one(&self, symbol: &str) -> Outcome {
        let start = Instant::now();
        let attempts = AtomicU32::new(0);
        let work = async {
            let mut tries = Tries::default();
            loop {
                let ticket = self.throttle.admit(PRICE_ONE_WEIGHT).await?;
                let n = attempts.fetch_add(1, Ordering::Relaxed) + 1;
                let attempt = self.client.price(symbol).await;
                tracing::debug!(
                    attempt = n,
                    used_weight = attempt.used_weight,
                    ok = attempt.result.is_ok(),
                    "{symbol}: answered"
                );
                let outcome = attempt.result.as_ref().map(|_| ());
                self.throttle
                    .observe(ticket, attempt.used_weight, outcome, fastrand::f64());
                let err = match attempt.result {
                    Ok(ticker) => return Ok(ticker),
                    Err(e) => e,
                };
                tries = tries.after(&err);
                match self.policy.decide(&err, tries, fastrand::f64()) {
                    Decision::GiveUp => return Err(err),
                    Decision::Retry(pause) => {
                        tracing::info!(
                            attempt = n,
                            pause_ms = pause.as_millis() as u64,
                            "{symbol}: {err}; retrying"
                        );
                        tokio::time::sleep(pause).await;
                    }
                }
            }
        };
        let result = tokio::select! {
            result = work => result,
            () = self.stop.token.cancelled() => Err(self.stop.error()),
        };
        Outcome {
            symbol: symbol.to_owned(),
            result,
            attempts: attempts.into_inner(),
            elapsed: start.elapsed(),
        }
    }
}
