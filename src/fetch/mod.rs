//! The engine: fetch every symbol once, concurrently (async) or one after another (sync).
//!
//! The symbols are grouped into requests by a [`Strategy`]: one request each, `symbols=[…]`
//! batches, or the whole market at once. Every request goes through `Engine::fetch_job`, the
//! loop of throttle → attempt → retry decision, with the same client in both modes, so a
//! `--compare` measures scheduling and nothing else. Binance fails a whole batch with -1121 if
//! one symbol in it is unknown, without naming it; `Engine::fetch_chunk` then splits the batch
//! in halves and asks again until every bad symbol stands alone: about 2·log₂(n) extra requests
//! per bad symbol, far less weight than falling back to one request per symbol.
//!
//! **Async** is a tokio `Semaphore` plus a `JoinSet`: the loop acquires an *owned* permit before
//! it spawns a request's task and moves the permit into the task, so at most `concurrency` tasks
//! exist at once (memory stays bounded for any list length) and a slow request holds only its
//! own slot; the permit is released when the task ends. A worker pool pulling from a queue would do
//! the same; the semaphore keeps the cap visible in one line and the tasks independent.
//!
//! **Sync** is a plain loop: one request at a time, each finished before the next starts, on the
//! one pooled keep-alive connection — what a `requests.get` loop does. It is still async code
//! (it must share the client, the retries and Ctrl-C with the async mode), but nothing overlaps.
//!
//! A [`Stop`] (Ctrl-C, SIGTERM, SIGHUP, or `--deadline`) cancels the run: attempts in flight are dropped at once
//! (closing their connections), nothing new starts, and every symbol without an answer is
//! reported as cancelled (Ctrl-C) or timed out (deadline). Results always come back in input
//! order.

mod call;

use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::binance::BinanceClient;
use crate::error::{FetchError, Signal};
use crate::market::{Selection, Ticker, TickerKind};
use crate::outcome::{Mode, OnOutcome, Outcome, Round, Totals};
use crate::outcome::{outcomes_of, unchecked};
use crate::retry::{Decision, RetryPolicy, Tries};
use crate::strategy::{MarketFilter, Strategy, selection};
use crate::throttle::Throttle;

/// Why a run stopped before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// Ctrl-C, SIGTERM or SIGHUP.
    Interrupted(Signal),
    /// `--deadline` passed.
    Deadline(Duration),
}

impl StopReason {
    /// What a symbol that got no answer is marked with.
    fn error(self) -> FetchError {
        match self {
            Self::Interrupted(_) => FetchError::Cancelled,
            Self::Deadline(d) => FetchError::Deadline(d),
        }
    }
}

/// Tells every task of a run to stop, and remembers why. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stop {
    token: CancellationToken,
    reason: Arc<OnceLock<StopReason>>,
}

impl Stop {
    /// Stops the run; the first reason given is the one remembered.
    pub(crate) fn stop(&self, reason: StopReason) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    /// Why the run stopped, if it did.
    pub(crate) fn reason(&self) -> Option<StopReason> {
        self.reason.get().copied()
    }

    fn error(&self) -> FetchError {
        self.reason()
            .unwrap_or(StopReason::Interrupted(Signal::Interrupt))
            .error()
    }
}

/// One request's final result, after its retries.
struct Job {
    result: Result<Vec<Ticker>, FetchError>,
    attempts: u32,
    elapsed: Duration,
}

/// What a run asks for: which endpoint, how requests are grouped, which symbols to keep.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    /// The ticker endpoint.
    pub(crate) kind: TickerKind,
    /// How symbols are grouped into requests.
    pub(crate) strategy: Strategy,
    /// With [`Strategy::All`]: which symbols to keep.
    pub(crate) filter: MarketFilter,
    /// `--hedge`: send an unanswered request to the next host after this long.
    pub(crate) hedge: Option<Duration>,
    /// `--any-status`: drop the `symbolStatus=TRADING` filter (stale prices of delisted pairs).
    pub(crate) any_status: bool,
    /// Weight a round may spend isolating unknown symbols in refused batches: what
    /// `--max-weight` leaves after the planned requests.
    pub(crate) isolation_budget: u32,
}

/// Everything a round needs, shared by its tasks.
#[derive(Debug)]
pub(crate) struct Engine {
    client: BinanceClient,
    policy: RetryPolicy,
    concurrency: usize,
    throttle: Arc<Throttle>,
    stop: Stop,
    ask: Ask,
    /// Counters over the run; a round reports their growth.
    requests: AtomicU32,
    retries: AtomicU32,
    isolation: AtomicU32,
    hedged: AtomicU32,
    /// Weight spent isolating unknown symbols in the current round.
    isolation_weight: AtomicU32,
}

impl Engine {
    /// An engine that sends through `throttle` and stops when `stop` says so.
    pub(crate) fn new(
        client: BinanceClient,
        policy: RetryPolicy,
        concurrency: usize,
        throttle: Throttle,
        stop: Stop,
        ask: Ask,
    ) -> Self {
        Self {
            client,
            policy,
            concurrency: concurrency.max(1),
            throttle: Arc::new(throttle),
            stop,
            ask,
            requests: AtomicU32::new(0),
            retries: AtomicU32::new(0),
            isolation: AtomicU32::new(0),
            hedged: AtomicU32::new(0),
            isolation_weight: AtomicU32::new(0),
        }
    }

    /// The exchange the run asks (`--market`).
    pub(crate) fn market(&self) -> crate::market::Market {
        self.client.market()
    }

    /// The most requests in flight at once in async rounds.
    pub(crate) fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// What the run asks for: the ticker kind, the grouping, the filters.
    pub(crate) fn ask(&self) -> &Ask {
        &self.ask
    }

    /// The shared rate-limit state, for the summary.
    pub(crate) fn throttle(&self) -> &Arc<Throttle> {
        &self.throttle
    }

    /// Why the run stopped early, if it did.
    pub(crate) fn stop_reason(&self) -> Option<StopReason> {
        self.stop.reason()
    }

    /// Resolves when the run is told to stop.
    pub(crate) async fn stop_signal(&self) {
        self.stop.token.cancelled().await;
    }

    /// True once the run was told to stop.
    pub(crate) fn stopped(&self) -> bool {
        self.stop.token.is_cancelled()
    }

    /// What the whole run has sent so far.
    pub(crate) fn totals(&self) -> Totals {
        let load = |c: &AtomicU32| c.load(Ordering::Relaxed);
        Totals {
            requests: load(&self.requests),
            retries: load(&self.retries),
            isolation: load(&self.isolation),
            hedged: load(&self.hedged),
            weight: self.throttle.run_weight(),
        }
    }

    /// Fetches every symbol once (or the whole market). `on_outcome` sees each result as it
    /// arrives (for streaming output); its error (e.g. a closed stdout) ends the round.
    pub(crate) async fn round(
        self: &Arc<Self>,
        symbols: &[String],
        mode: Mode,
        on_outcome: &mut OnOutcome<'_>,
    ) -> io::Result<Round> {
        let start = Instant::now();
        let before = self.totals();
        self.isolation_weight.store(0, Ordering::Relaxed);
        let planned = self.ask.strategy.weight(self.ask.kind, symbols.len());
        self.throttle
            .size_leases(u32::try_from(planned).unwrap_or(u32::MAX));
        let mut market_error = None;
        let outcomes = match (self.ask.strategy, mode) {
            (Strategy::All, _) => {
                let (outcomes, error) = self.whole_market(on_outcome).await?;
                market_error = error;
                outcomes
            }
            (_, Mode::Async) => self.fan_out(symbols, on_outcome).await?,
            (_, Mode::Sync) => self.one_by_one(symbols, on_outcome).await?,
        };
        Ok(Round {
            mode,
            outcomes,
            elapsed: start.elapsed(),
            sent: self.totals().since(before),
            market_error,
        })
    }

    /// `--all`: one request, filtered here. Its failure belongs to no symbol, so it is returned
    /// apart.
    async fn whole_market(
        &self,
        on_outcome: &mut OnOutcome<'_>,
    ) -> io::Result<(Vec<Outcome>, Option<FetchError>)> {
        let job = self.fetch_job(Selection::All).await;
        let tickers = match job.result {
            Ok(tickers) => tickers,
            Err(e) => return Ok((Vec::new(), Some(e))),
        };
        let mut unusable = 0;
        let outcomes: Vec<Outcome> = crate::outcome::checked(tickers, self.ask.kind)
            .into_iter()
            .filter(|(symbol, _)| {
                // A row whose name is not a symbol cannot be pinned on one: it is left out.
                let valid = crate::symbols::is_valid(symbol);
                unusable += usize::from(!valid);
                valid && self.ask.filter.keeps(symbol)
            })
            .map(|(symbol, result)| Outcome {
                symbol,
                result,
                attempts: job.attempts,
                elapsed: job.elapsed,
                route: None,
            })
            .collect();
        let n = outcomes.len();
        for (k, o) in outcomes.iter().enumerate() {
            on_outcome(o, k + 1 == n)?;
        }
        if unusable > 0 {
            tracing::warn!(target: crate::error::DATA, "left out {unusable} rows of the answer whose names are not symbols");
        }
        Ok((outcomes, None))
    }

    async fn fan_out(
        self: &Arc<Self>,
        symbols: &[String],
        on_outcome: &mut OnOutcome<'_>,
    ) -> io::Result<Vec<Outcome>> {
        let chunks = self.ask.strategy.chunks(symbols.len());
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks = JoinSet::new();
        let mut slots: Vec<Option<Outcome>> = vec![None; symbols.len()];
        let mut next = 0;
        if chunks.len() > 1 && self.concurrency > 1 && self.client.cold_tls() {
            // One request first, so that the rest find its connection open (and, with h2,
            // multiplexed) instead of each opening its own: one TLS handshake, not `-c`.
            let range = chunks[0].clone();
            let outcomes = self.fetch_chunk(&symbols[range.clone()], false).await;
            let last = range.end - 1;
            for (i, outcome) in range.zip(outcomes) {
                on_outcome(&outcome, i == last)?;
                slots[i] = Some(outcome);
            }
            next = 1;
        }
        loop {
            tokio::select! {
                // Drain finished tasks first, so results stream out as soon as they exist.
                biased;
                Some(joined) = tasks.join_next() => {
                    let (range, outcomes): (Range<usize>, Vec<Outcome>) =
                        joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                    let last = range.end.saturating_sub(1);
                    for (i, outcome) in range.zip(outcomes) {
                        on_outcome(&outcome, i == last)?;
                        slots[i] = Some(outcome);
                    }
                }
                permit = permits.clone().acquire_owned(), if next < chunks.len() && !self.stopped() => {
                    let permit = permit.expect("the semaphore is never closed");
                    let engine = Arc::clone(self);
                    let range = chunks[next].clone();
                    let chunk = symbols[range.clone()].to_vec();
                    tasks.spawn(async move {
                        // Held until this request is done, retries included; then the next may start.
                        let _permit = permit;
                        (range, engine.fetch_chunk(&chunk, false).await)
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
                    let o = Outcome::stopped(symbol, self.stop.error());
                    on_outcome(&o, true)?;
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
        on_outcome: &mut OnOutcome<'_>,
    ) -> io::Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(symbols.len());
        for range in self.ask.strategy.chunks(symbols.len()) {
            let chunk = &symbols[range];
            let done = if self.stopped() {
                chunk
                    .iter()
                    .map(|s| Outcome::stopped(s, self.stop.error()))
                    .collect()
            } else {
                self.fetch_chunk(chunk, false).await
            };
            let n = done.len();
            for (k, outcome) in done.into_iter().enumerate() {
                on_outcome(&outcome, k + 1 == n)?;
                outcomes.push(outcome);
            }
        }
        Ok(outcomes)
    }

    /// One request for `chunk`, and its outcome per symbol, in order. A batch refused with
    /// -1121 is split in halves, and each half asked again, until the unknown symbols stand
    /// alone. `isolating` marks the requests that splitting costs.
    fn fetch_chunk<'a>(
        &'a self,
        chunk: &'a [String],
        isolating: bool,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<Outcome>> + Send + 'a>> {
        Box::pin(async move {
            if isolating && !self.may_isolate(chunk) {
                return unchecked(chunk);
            }
            let job = self.fetch_job(selection(chunk)).await;
            if isolating {
                self.isolation.fetch_add(job.attempts, Ordering::Relaxed);
            }
            let (attempts, elapsed) = (job.attempts, job.elapsed);
            let err = match job.result {
                Ok(tickers) => {
                    let trading_only = !self.ask.any_status;
                    let how = (self.ask.kind, trading_only);
                    return outcomes_of(chunk, tickers, attempts, elapsed, how);
                }
                Err(e) => e,
            };
            if chunk.len() > 1 && err.is_invalid_symbol() {
                tracing::info!(
                    "a batch of {} has an unknown symbol: splitting it",
                    chunk.len()
                );
                let (left, right) = chunk.split_at(chunk.len() / 2);
                let mut outcomes = self.fetch_chunk(left, true).await;
                outcomes.extend(self.fetch_chunk(right, true).await);
                for o in &mut outcomes {
                    o.attempts += job.attempts;
                }
                return outcomes;
            }
            chunk
                .iter()
                .map(|symbol| Outcome {
                    symbol: symbol.clone(),
                    result: Err(err.clone()),
                    attempts: job.attempts,
                    elapsed: job.elapsed,
                    route: None,
                })
                .collect()
        })
    }

    /// Whether the isolation budget takes one more request for `chunk`; spends it if so.
    fn may_isolate(&self, chunk: &[String]) -> bool {
        self.may_spend_on_unknown(self.ask.kind.weight(selection(chunk)))
    }

    /// Whether what `--max-weight` leaves after the planned requests takes `weight` more for
    /// finding out about unknown symbols (isolating them in a batch, suggesting a spelling);
    /// spends it if so.
    pub(crate) fn may_spend_on_unknown(&self, weight: u32) -> bool {
        let budget = self.ask.isolation_budget;
        self.isolation_weight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |spent| {
                (spent + weight <= budget).then_some(spent + weight)
            })
            .is_ok()
    }

    /// One request: wait for the throttle, try, and retry while [`RetryPolicy::decide`] says so.
    async fn fetch_job(&self, selection: Selection<'_>) -> Job {
        let start = Instant::now();
        let attempts = AtomicU32::new(0);
        let kind = self.ask.kind;
        let what = match selection {
            Selection::One(s) => s.to_owned(),
            Selection::Many(list) => format!("batch of {}", list.len()),
            Selection::All => "whole market".to_owned(),
        };
        let work = async {
            let mut tries = Tries::default();
            // The host the first connect failure named: when the last one names a mirror, the
            // user should hear of the host they asked for, and that mirrors failed too.
            let mut first_refused: Option<String> = None;
            loop {
                // Counted once the request is on its way: a refusal by the throttle (a ban, a wait
                // past --max-wait) sent nothing, and a request cut off by Ctrl-C was still sent.
                let sent = || {
                    if attempts.fetch_add(1, Ordering::Relaxed) > 0 {
                        self.retries.fetch_add(1, Ordering::Relaxed);
                    }
                };
                let attempt = self.send(kind, selection, &sent).await?;
                let n = attempts.load(Ordering::Relaxed);
                tracing::debug!(
                    attempt = n,
                    used_weight = attempt.used_weight,
                    ok = attempt.result.is_ok(),
                    "{what}: answered"
                );
                let err = match attempt.result {
                    Ok(tickers) => return Ok(tickers),
                    Err(e) => e,
                };
                tries = tries.after(&err);
                if let FetchError::Connect { host, .. } = &err {
                    first_refused.get_or_insert_with(|| host.clone());
                }
                match self.policy.decide(&err, tries, fastrand::f64()) {
                    Decision::GiveUp => return Err(with_first_host(err, first_refused)),
                    Decision::Retry(pause) => {
                        tracing::info!(
                            attempt = n,
                            pause_ms = pause.as_millis() as u64,
                            "{what}: {err}; retrying"
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
        Job {
            result,
            attempts: attempts.into_inner(),
            elapsed: start.elapsed(),
        }
    }
}

/// A connect failure that ended on another host than the first one tried names the first, and
/// says that others were tried: "cannot connect to api.binance.com (and its mirrors): …".
fn with_first_host(err: FetchError, first: Option<String>) -> FetchError {
    match (err, first) {
        (FetchError::Connect { host, cause }, Some(first)) if first != host => {
            FetchError::Connect {
                host: format!("{first} (and its mirrors)"),
                cause,
            }
        }
        (err, _) => err,
    }
}

impl Engine {
    /// One attempt: to the first live host and, with `--hedge`, to the next ones while none has
    /// answered. The first good answer wins; the others are dropped at once, which closes their
    /// connections. Every request sent passes the throttle, so hedges count in the weight. A
    /// failure that cannot heal (a 4xx, a ban) ends the race: other hosts would say the same.
    /// `sent` is called when the first request (not a hedge) passes the throttle.
    async fn send(
        &self,
        kind: TickerKind,
        selection: Selection<'_>,
        sent: &(dyn Fn() + Sync),
    ) -> Result<crate::binance::Attempt<Vec<Ticker>>, FetchError> {
        use futures_util::StreamExt as _;
        let hosts = self.client.live_hosts();
        let weight = kind.weight_in(self.client.market(), selection);
        let launch = |host: usize, primary: bool| async move {
            let ticket = self.throttle.admit(weight).await?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            if primary {
                sent();
            }
            let trading_only = !self.ask.any_status;
            let attempt = self
                .client
                .tickers(host, kind, selection, trading_only)
                .await;
            let outcome = attempt.result.as_ref().map(|_| ());
            self.throttle
                .observe(ticket, attempt.used_weight, outcome, fastrand::f64())
                .await;
            if let Err(e) = &attempt.result {
                self.client.note_failure(host, e);
            }
            Ok::<_, FetchError>(attempt)
        };
        let Some(delay) = self.ask.hedge.filter(|_| hosts.len() > 1) else {
            return launch(hosts[0], true).await;
        };
        let mut racers = futures_util::stream::FuturesUnordered::new();
        racers.push(launch(hosts[0], true));
        let mut next = 1;
        loop {
            tokio::select! {
                Some(result) = racers.next() => {
                    let settled = match &result {
                        Ok(a) => a.result.as_ref().map_or_else(|e| !crate::retry::is_retryable(e), |_| true),
                        Err(_) => true,
                    };
                    if settled || (racers.is_empty() && next >= hosts.len()) {
                        return result;
                    }
                    if racers.is_empty() {
                        // This host failed before the delay was up: go on to the next at once.
                        self.hedged.fetch_add(1, Ordering::Relaxed);
                        racers.push(launch(hosts[next], false));
                        next += 1;
                    }
                }
                () = tokio::time::sleep(delay), if next < hosts.len() => {
                    tracing::debug!("no answer after {delay:?}: hedging to host {next}");
                    self.hedged.fetch_add(1, Ordering::Relaxed);
                    racers.push(launch(hosts[next], false));
                    next += 1;
                }
            }
        }
    }
}
