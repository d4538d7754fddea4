//! The run's view of the IP's rate limit, shared with every pricefetch on the host.
//!
//! Binance limits request weight per IP, not per symbol (binance-api.md): a 429 means *every*
//! request must wait, and a request sent inside the `Retry-After` window turns the 429 into a
//! 418 ban that only grows with each further request. So every attempt passes through
//! [`Throttle::admit`] first, and every answer is shown to [`Throttle::observe`]:
//!
//! - a 429 pauses the whole run until its `Retry-After` (plus a little jitter) has passed; one
//!   without a usable `Retry-After` pauses until the next wall-clock minute, when Binance's
//!   window turns;
//! - a 418 stops the run from sending anything more: every later `admit` fails at once, and
//!   requests waiting out a pause are woken to fail too;
//! - every request's weight is reserved in the current wall-clock minute (Binance's window)
//!   before it is sent, and the server's `X-MBX-USED-WEIGHT-1M` raises that count when others
//!   on the same IP have spent weight too. A request that would push the minute past the limit
//!   (less a safety margin) waits for the next minute instead of being sent;
//! - a request refused at connect never reached Binance: its weight is given back;
//! - no wait is longer than `--max-wait`, nor runs past `--deadline`: the request fails at once
//!   as [`FetchError::Throttled`], which says when to try again.
//!
//! With the host's shared [`Ledger`] (the default), the minute's weight, the pauses and the bans
//! are those of every pricefetch process on this machine, and of the runs before this one; the
//! in-process state stays as the fallback when the ledger cannot be used.
//!
//! This file holds the rules of admission; `throttle/answers.rs` what the server's answers teach
//! (a refund, a pause, a ban); `throttle/host.rs` the side that talks to the ledger (always on
//! the blocking pool), and what happens when the ledger cannot be used or trusted.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::FetchError;
use crate::ledger::{self, Ask, Ledger, Step, Verdict};

mod answers;
mod host;

/// The rate-limit settings of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Limits {
    /// Request weight Binance allows per IP per minute (`--weight-limit`).
    pub(crate) weight_limit: u32,
    /// The longest pause the run accepts, for a `Retry-After` or the next minute (`--max-wait`).
    pub(crate) max_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            weight_limit: 6000,
            max_wait: Duration::from_secs(60),
        }
    }
}

impl Limits {
    /// What the run lets itself spend per minute: the limit less a 5% margin, so that another
    /// client's requests landing between our last header and our next request do not tip it.
    pub(crate) fn budget(&self) -> u32 {
        self.weight_limit - (self.weight_limit / 20).max(1).min(self.weight_limit)
    }
}

/// Shared by every task of a run.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    limits: Limits,
    /// The market's own limit, learned from its `exchangeInfo` after the throttle was made (0:
    /// none learned; `limits.weight_limit` holds).
    learned: std::sync::atomic::AtomicU32,
    /// When the run's `--deadline` passes: no wait may end after it.
    deadline: Option<Instant>,
    state: Mutex<State>,
    /// Cancelled by a ban, to wake every request waiting out a pause.
    banned: CancellationToken,
}

#[derive(Debug, Default)]
struct State {
    /// No request may be sent before this instant (after a 429 this run received).
    paused_until: Option<Instant>,
    /// Set by a 418 (this run's or, through the ledger, another's); nothing more is sent.
    ban: Option<FetchError>,
    /// The wall-clock minute (since the epoch) that `window_used` counts.
    minute: u64,
    /// Best estimate of the weight used in that minute by everyone on this IP.
    window_used: u32,
    /// The latest `X-MBX-USED-WEIGHT-1M` the server reported: the largest of the newest minute
    /// heard of (answers to concurrent requests arrive in any order; the count only grows).
    last_used_weight: Option<(u64, u32)>,
    /// The largest used-weight figure (and its minute) not yet told to the ledger.
    unshared: Option<(u64, u32)>,
    /// Weight of every request this run sent that reached the server.
    run_weight: u32,
    /// The minute for which "waiting for the next minute" was already said.
    warned_minute: Option<u64>,
    /// The host's shared state; `None` when opted out or unusable. Its file is only ever
    /// touched on the blocking pool ([`Throttle::on_ledger`]): a slow or hung filesystem must
    /// not hold the runtime's one thread (its timers end a run at `--deadline`).
    ledger: Option<Arc<std::sync::Mutex<Ledger>>>,
    /// A task is renewing the lease through the ledger: the others wait for its verdict.
    consulting: bool,
    /// Weight reserved in the ledger and not yet spent.
    lease: Option<Lease>,
    /// Weight the current round still plans to send: what a lease is sized by.
    need: u32,
    /// Set when the host's state cannot be trusted to be current (its lock held too long, a
    /// file this version cannot read): the most weight this process sends in a minute.
    solo_cap: Option<u32>,
    /// What this process sent in a minute (the minute, the weight), against `solo_cap`.
    solo_used: (u64, u32),
}

/// Weight reserved in the ledger ahead of the requests that spend it, so that a run of many
/// requests does not lock the file for each one (measured: +31% wall on 2,000 requests at zero
/// latency with one transaction per request). The lease is short-lived, so that a pause or a
/// ban another process records is seen within [`LEASE_LIFE`], and sized by what the round still
/// needs, so that it never holds back weight another process could use; its unused rest is
/// given back when it is renewed and when the run ends.
#[derive(Debug, Clone, Copy)]
struct Lease {
    /// The wall-clock minute it was reserved in.
    minute: u64,
    /// What is left of it.
    remaining: u32,
    /// After this, it is renewed through the ledger before more is spent.
    until: Instant,
}

/// How long a lease may be spent from before the ledger is read again.
const LEASE_LIFE: Duration = Duration::from_millis(250);

/// The largest lease is this fraction of the minute's budget.
const LEASE_SHARE: u32 = 20;

/// Proof of admission: which minute the request's weight was reserved in, and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    minute: u64,
    weight: u32,
}

/// What one look at the state decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admit {
    /// Send now.
    Go(Ticket),
    /// Look again after this long.
    Wait(Duration),
    /// Ask the host's ledger for a lease (off the runtime's thread), then decide.
    Consult(Ask),
}

/// Milliseconds since the epoch: Binance's minute window and the ledger's times.
fn wall_ms() -> u64 {
    ledger::unix_ms()
}

/// An absolute time for messages, e.g. `2026-11-24T18:32:05Z`.
fn at(ms: u64) -> String {
    crate::clock::rfc3339_seconds(ms)
}

/// The most this run adds to a wait Binance imposes: the margin past the minute and the jitter.
const OWN_SLACK: Duration = Duration::from_millis(500);

/// How long from `now_ms` to the next wall-clock minute, plus a little to be safely in it.
fn to_next_minute(now_ms: u64) -> Duration {
    Duration::from_millis(60_000 - now_ms % 60_000) + Duration::from_millis(250)
}

impl Throttle {
    /// A throttle for these limits, with no shared state and no deadline.
    /// The run's limits, with the market's own weight limit once learned.
    pub(crate) fn limits(&self) -> Limits {
        match self.learned.load(std::sync::atomic::Ordering::Relaxed) {
            0 => self.limits,
            n => Limits {
                weight_limit: n,
                ..self.limits
            },
        }
    }

    /// Takes `weight_limit` as the market's limit a minute (its `exchangeInfo`'s) from now on.
    pub(crate) fn learn_limit(&self, weight_limit: u32) {
        self.learned
            .store(weight_limit, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Adds the run's deadline: a wait that would end after it fails at once instead.
    #[must_use]
    pub(crate) fn with_deadline(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Waits until a request of `weight` may be sent, and counts it; fails at once if the IP is
    /// banned, or if the wait would be longer than `--max-wait` or end after `--deadline`.
    pub(crate) async fn admit(&self, weight: u32) -> Result<Ticket, FetchError> {
        loop {
            let mut decision = self.try_admit(weight, Instant::now(), wall_ms())?;
            if let Admit::Consult(ask) = decision {
                // A request dropped while it waits for the ledger (a hedge that lost, Ctrl-C)
                // must not leave the others waiting for its verdict.
                let _done = ConsultDone(self);
                let (budget, now_ms) = (self.limits().budget(), wall_ms());
                let step = self.on_ledger(move |l| l.lease(ask, budget, now_ms)).await;
                decision = self.after_consult(weight, ask, step, Instant::now(), now_ms)?;
            }
            match decision {
                Admit::Go(ticket) => return Ok(ticket),
                Admit::Consult(_) => {}
                Admit::Wait(wait) => {
                    if self.paused() && self.has_ledger() {
                        self.banned_meanwhile().await?;
                    }
                    if wait > Duration::from_millis(5) {
                        tracing::debug!(wait_ms = wait.as_millis() as u64, "waiting to send");
                    }
                    // Another 429 may extend the pause while we sleep, so look again afterwards;
                    // a ban ends every wait at once. With a ledger, look at least once a second,
                    // so that another process's ban is seen while we wait.
                    let nap = if self.has_ledger() {
                        wait.min(Duration::from_secs(1))
                    } else {
                        wait
                    };
                    tokio::select! {
                        () = tokio::time::sleep(nap) => {}
                        () = self.banned.cancelled() => {}
                    }
                }
            }
        }
    }

    fn has_ledger(&self) -> bool {
        self.state().ledger.is_some()
    }

    fn paused(&self) -> bool {
        let state = self.state();
        state.paused_until.is_some_and(|t| t > Instant::now())
    }

    /// Why a wait of `wait` from `now` cannot be accepted, if it cannot.
    fn too_long(&self, wait: Duration, now: Instant) -> Option<String> {
        // What Binance imposes is compared, not the little this run adds to be safely past it
        // (a quarter second past the minute, up to a quarter of jitter): at 00.1 s into a
        // minute, a 429 without Retry-After is a 60.3 s wait that the default 60 s accepts.
        if wait > self.limits().max_wait + OWN_SLACK {
            return Some(format!(
                "longer than --max-wait {}",
                crate::text::span(self.limits().max_wait)
            ));
        }
        if self.deadline.is_some_and(|d| now + wait > d) {
            return Some("past the run's --deadline".to_owned());
        }
        None
    }

    /// One look at the state: send, or how long to wait first, or a failure.
    fn try_admit(&self, weight: u32, now: Instant, now_ms: u64) -> Result<Admit, FetchError> {
        let mut state = self.state();
        if let Some(ban) = &state.ban {
            return Err(ban.clone());
        }
        if let Some(until) = state.paused_until
            && until > now
        {
            // (While it waits, `admit` looks for another process's ban.)
            let wait = until - now;
            return match self.too_long(wait, now) {
                Some(why) => Err(FetchError::Throttled {
                    retry_after: wait,
                    why: format!("Binance asked to wait {}, {why}", whole_seconds(wait)),
                }),
                None => Ok(Admit::Wait(wait)),
            };
        }
        let minute = now_ms / 60_000;
        if minute != state.minute {
            state.minute = minute;
            state.window_used = 0;
        }
        // A live lease pays for the request without touching the ledger file.
        if let Some(lease) = state.lease.as_mut()
            && lease.minute == minute
            && lease.remaining >= weight
            && now < lease.until
        {
            lease.remaining -= weight;
            state.need = state.need.saturating_sub(weight);
            state.run_weight += weight;
            return Ok(Admit::Go(Ticket { minute, weight }));
        }
        let budget = self.limits().budget();
        if state.ledger.is_some() {
            if state.consulting {
                return Ok(Admit::Wait(Duration::from_millis(1)));
            }
            // The lease's rest and the server's count go with the ask; taken out of the state,
            // so that no other task gives them back twice.
            state.consulting = true;
            let ask = Ask {
                want: state.need.clamp(weight, (budget / LEASE_SHARE).max(weight)),
                at_least: weight,
                back: state.lease.take().map(|l| (l.minute, l.remaining)),
                seen: state.unshared.take(),
            };
            return Ok(Admit::Consult(ask));
        }
        self.decide(&mut state, None, weight, now, now_ms)
    }

    /// What the ledger's answer to `ask` decides (see [`Throttle::decide`]).
    fn after_consult(
        &self,
        weight: u32,
        ask: Ask,
        step: Option<Step<Verdict>>,
        now: Instant,
        now_ms: u64,
    ) -> Result<Admit, FetchError> {
        let mut state = self.state();
        state.consulting = false;
        let verdict = match step {
            Some(Step::Busy) => {
                // Nothing was given back or shared: keep them for the next ask (an expired
                // lease is never spent from, only given back).
                if let Some((minute, remaining)) = ask.back
                    && state.lease.is_none()
                {
                    state.lease = Some(Lease {
                        minute,
                        remaining,
                        until: now,
                    });
                }
                state.unshared = state.unshared.max(ask.seen);
                return Ok(Admit::Wait(Duration::from_micros(
                    200 + fastrand::u64(..800),
                )));
            }
            Some(step) => self.settle(&mut state, step),
            None => None,
        };
        self.decide(&mut state, verdict, weight, now, now_ms)
    }

    /// Send, wait or fail, from the ledger's verdict (`None`: this process's own view).
    #[allow(
        clippy::too_many_lines,
        reason = "the ledger's verdicts, each a short arm, side by side"
    )]
    fn decide(
        &self,
        state: &mut State,
        verdict: Option<Verdict>,
        weight: u32,
        now: Instant,
        now_ms: u64,
    ) -> Result<Admit, FetchError> {
        let minute = now_ms / 60_000;
        if minute != state.minute {
            state.minute = minute;
            state.window_used = 0;
        }
        let budget = self.limits().budget();
        match verdict {
            Some(Verdict::Reserved { used, granted, .. }) => {
                tracing::info!(
                    "shared state: leased {granted} weight; {used} reserved this minute on this host"
                );
                state.lease = Some(Lease {
                    minute,
                    remaining: granted - weight,
                    until: now + LEASE_LIFE,
                });
                state.need = state.need.saturating_sub(weight);
                state.window_used = used;
                state.run_weight += weight;
                return Ok(Admit::Go(Ticket { minute, weight }));
            }
            Some(Verdict::Full { used }) => state.window_used = used,
            Some(Verdict::Paused { until_ms }) => {
                // Another process was told to wait: wait too, a little after it, so that the
                // fleet does not restart in lock-step.
                let wait = Duration::from_millis(until_ms.saturating_sub(now_ms))
                    + Duration::from_millis(50 + fastrand::u64(..200));
                return match self.too_long(wait, now) {
                    Some(why) => Err(FetchError::Throttled {
                        retry_after: wait,
                        why: format!(
                            "an earlier or concurrent pricefetch on this host was told to wait \
                             (HTTP 429) until {}, {why}",
                            at(until_ms)
                        ),
                    }),
                    None => {
                        if state.warned_minute != Some(until_ms) {
                            state.warned_minute = Some(until_ms);
                            tracing::warn!(
                                "another pricefetch on this host was rate-limited (HTTP 429): \
                                 waiting until {}",
                                at(until_ms)
                            );
                        }
                        Ok(Admit::Wait(wait))
                    }
                };
            }
            Some(Verdict::Banned { until_ms }) => {
                return Err(self.banned_elsewhere(state, until_ms, now_ms));
            }
            None => {
                if state.solo_used.0 != minute {
                    state.solo_used = (minute, 0);
                }
                let solo_room = state
                    .solo_cap
                    .is_none_or(|cap| state.solo_used.1 + weight <= cap);
                if state.window_used + weight <= budget && solo_room {
                    state.window_used += weight;
                    state.solo_used.1 += weight;
                    state.run_weight += weight;
                    return Ok(Admit::Go(Ticket { minute, weight }));
                }
            }
        }
        // Binance's window is the wall-clock minute; start a little after it turns.
        let wait = to_next_minute(now_ms);
        let used = state.window_used;
        let limit = self.limits().weight_limit;
        if let Some(why) = self.too_long(wait, now) {
            return Err(FetchError::Throttled {
                retry_after: wait,
                why: format!(
                    "this minute's request weight is spent ({used} used, limit {limit} less a \
                     margin) and the next minute is {why}"
                ),
            });
        }
        if state.warned_minute != Some(minute) {
            state.warned_minute = Some(minute);
            tracing::warn!(
                "used weight {used} of {limit} this minute: waiting {} for the next minute",
                whole_seconds(wait)
            );
        }
        Ok(Admit::Wait(wait))
    }

    /// Another process on the host was banned until `until_ms`: this run sends nothing more.
    fn banned_elsewhere(&self, state: &mut State, until_ms: u64, now_ms: u64) -> FetchError {
        let ban = FetchError::Banned {
            retry_after: Some(Duration::from_millis(until_ms.saturating_sub(now_ms))),
            until_ms: Some(until_ms),
            msg: "another pricefetch on this host was banned (HTTP 418)".into(),
        };
        tracing::error!("{ban}: another pricefetch on this host was banned; sending nothing");
        state.ban = Some(ban.clone());
        self.banned.cancel();
        ban
    }

    /// A round is about to send about `weight`: leases are sized by it.
    pub(crate) fn size_leases(&self, weight: u32) {
        self.state().need = weight;
    }

    /// The ban that ended the run (this run's 418, or another process's), if there was one.
    pub(crate) fn ban(&self) -> Option<FetchError> {
        self.state().ban.clone()
    }

    /// Resolves when a ban ends the run.
    pub(crate) async fn banned_signal(&self) {
        self.banned.cancelled().await;
    }

    /// The throttle's state, locked (a holder that panicked left it as it was: go on with it).
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The last used-weight figure the server reported, if any.
    pub(crate) fn last_used_weight(&self) -> Option<u32> {
        self.state().last_used_weight.map(|(_, used)| used)
    }

    /// The weight of every request this run sent that reached the server.
    pub(crate) fn run_weight(&self) -> u32 {
        self.state().run_weight
    }

    /// Counts the run's weight from `weight` again: what was sent since was bookkeeping, not
    /// the asked work (the ledger and Binance still saw it).
    pub(crate) fn recount_from(&self, weight: u32) {
        self.state().run_weight = weight;
    }
}

impl State {
    /// Takes in the server's used-weight figure.
    fn learn(&mut self, ticket: Ticket, used_weight: Option<u32>, limit: u32) {
        let Some(used) = used_weight else { return };
        self.last_used_weight = match self.last_used_weight {
            Some((minute, before)) if minute == ticket.minute => Some((minute, before.max(used))),
            Some((minute, before)) if minute > ticket.minute => Some((minute, before)),
            _ => Some((ticket.minute, used)),
        };
        // An answer that crossed into a new minute speaks of the old one.
        if ticket.minute == self.minute {
            self.window_used = self.window_used.max(used);
            if self
                .unshared
                .is_none_or(|(m, u)| m != ticket.minute || u < used)
            {
                self.unshared = Some((ticket.minute, used));
            }
        }
        tracing::info!("used weight {used} of {limit}");
    }
}

fn whole_seconds(d: Duration) -> String {
    crate::text::span(Duration::from_secs(d.as_secs_f64().ceil() as u64)).to_string()
}

/// Ends a consultation of the ledger however the task asking goes (see [`Throttle::admit`]).
pub(super) struct ConsultDone<'a>(pub(super) &'a Throttle);

impl Drop for ConsultDone<'_> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.state.lock() {
            state.consulting = false;
        }
    }
}

/// What the ledger must be told after an answer.
#[derive(Debug, Clone, Copy)]
pub(super) enum Notice {
    /// Give back a request's weight: it never reached the server.
    Refund(Ticket),
    /// A 429: every process waits until then (unix ms).
    Pause(u64),
    /// A 418: every process stops until then (unix ms).
    Ban(u64),
}

/// The shared ledger, locked (a holder that panicked left it as it was: go on with it).
fn lock(ledger: &std::sync::Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
