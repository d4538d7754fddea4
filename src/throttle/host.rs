//! The throttle's side that talks to the host's ledger: opening it, asking it for leases,
//! telling it of pauses, bans and refunds, the stream attempt window, and what to do when it
//! cannot be used or trusted. Every file operation runs on the blocking pool
//! ([`Throttle::on_ledger`]), never on the runtime's one thread.

use std::sync::Arc;
use std::time::Duration;

use super::{LEASE_SHARE, Notice, State, Throttle, Ticket, lock, wall_ms};
use crate::error::FetchError;
use crate::ledger::{Ledger, Step};

impl Throttle {
    /// Shares the limit with every process on the host through the ledger for `base_url` in
    /// `dir` (`None`: `--no-shared-state`). A ledger that cannot be opened is said once, and the
    /// run goes on with its own view.
    /// The file is opened (and the host's name resolved) on the blocking pool.
    pub(crate) async fn with_ledger(
        self,
        dir: Option<&std::path::Path>,
        (base_url, budget): (&url::Url, &str),
    ) -> Self {
        let Some(dir) = dir else {
            tracing::info!("shared rate-limit state: off");
            return self;
        };
        let limit = self.limits().weight_limit;
        let name = if budget.is_empty() { "spot" } else { budget };
        let (dir, url, budget) = (dir.to_path_buf(), base_url.clone(), budget.to_owned());
        let opened = tokio::task::spawn_blocking(move || Ledger::open_in(&dir, &url, &budget))
            .await
            .unwrap_or_else(|e| Err(format!("cannot open the ledger: {e}")));
        let mut state = self.state();
        match opened {
            Ok(ledger) => {
                tracing::info!(
                    "budget {name} ({limit} a minute), shared rate-limit state: {}",
                    ledger.path().display()
                );
                state.ledger = Some(Arc::new(std::sync::Mutex::new(ledger)));
            }
            Err(why) => state.unavailable(&why),
        }
        drop(state);
        self
    }

    /// Runs `op` on the host's ledger on the blocking pool; `None` without a ledger (or if the
    /// blocking task could not run).
    pub(super) async fn on_ledger<T: Send + 'static>(
        &self,
        op: impl FnOnce(&mut Ledger) -> Step<T> + Send + 'static,
    ) -> Option<Step<T>> {
        let ledger = self.state().ledger.clone()?;
        tokio::task::spawn_blocking(move || op(&mut lock(&ledger)))
            .await
            .ok()
    }

    /// What a ledger step says of the ledger itself: it can no longer be used, or trusted.
    /// `Some(value)` when the step is done.
    pub(super) fn settle<T>(&self, state: &mut State, step: Step<T>) -> Option<T> {
        match step {
            Step::Done(value) => {
                state.note_replaced();
                Some(value)
            }
            Step::Busy => None,
            Step::Unavailable(why) => {
                state.drop_ledger(&why);
                None
            }
            Step::Uncoordinated(why) => {
                state.go_solo(&why, self.limits().budget());
                None
            }
        }
    }

    /// While this run waits out its own pause, another process may be banned: a look at the
    /// ledger (the ban, if there is one).
    pub(super) async fn banned_meanwhile(&self) -> Result<(), FetchError> {
        let now_ms = wall_ms();
        let Some(step) = self.on_ledger(move |l| l.read(now_ms)).await else {
            return Ok(());
        };
        let mut state = self.state();
        match self.settle(&mut state, step) {
            Some(r) if r.banned_until_ms > now_ms => {
                Err(self.banned_elsewhere(&mut state, r.banned_until_ms, now_ms))
            }
            _ => Ok(()),
        }
    }

    /// Tells the ledger, now, what every process on the host must know.
    pub(super) async fn tell_ledger(&self, notice: Notice, now_ms: u64) {
        loop {
            let step = self
                .on_ledger(move |ledger| match notice {
                    Notice::Refund(t) => ledger.refund(t.minute, t.weight, now_ms),
                    Notice::Pause(until_ms) => ledger.pause(until_ms, now_ms),
                    Notice::Ban(until_ms) => ledger.ban(until_ms, now_ms),
                })
                .await;
            match step {
                None => return,
                Some(Step::Busy) => {}
                Some(step) => {
                    let mut state = self.state();
                    self.settle(&mut state, step);
                    return;
                }
            }
            tokio::time::sleep(Duration::from_micros(200 + fastrand::u64(..800))).await;
        }
    }

    /// One WebSocket connection attempt through the host's shared window (Binance allows 300
    /// per IP in 5 minutes, whichever process makes them): `None` to go now, or how long until
    /// the window has room. Without a usable ledger, `None`: the caller's own window applies.
    pub(crate) async fn stream_attempt(&self) -> Option<Duration> {
        let now_ms = wall_ms();
        let step = self.on_ledger(move |l| l.stream_attempt(now_ms)).await?;
        // A busy lock is not waited for here: the process's own window still holds.
        let mut state = self.state();
        self.settle(&mut state, step).flatten()
    }

    /// Gives the unused rest of the lease back to the ledger: call when the run ends, so that
    /// the host's count is what reached Binance.
    pub(crate) async fn release(&self) {
        let lease = self.state().lease.take();
        if let Some(lease) = lease.filter(|l| l.remaining > 0) {
            let back = Ticket {
                minute: lease.minute,
                weight: lease.remaining,
            };
            self.tell_ledger(Notice::Refund(back), wall_ms()).await;
        }
    }
}

impl State {
    /// Goes on without the host's state, which cannot be trusted to be current, sending at most
    /// a lease's share of the budget a minute (other processes may be doing the same), and says
    /// so once.
    pub(super) fn go_solo(&mut self, why: &str, budget: u32) {
        if self.ledger.take().is_none() {
            return;
        }
        let cap = (budget / LEASE_SHARE).max(1);
        self.solo_cap = Some(cap);
        tracing::warn!(
            "cannot coordinate with other pricefetch processes on this host ({why}): sending at \
             most {cap} request weight a minute"
        );
    }

    /// Goes on with the in-process view, and says why once.
    pub(super) fn drop_ledger(&mut self, why: &str) {
        if self.ledger.take().is_some() {
            self.unavailable(why);
        }
    }

    pub(super) fn unavailable(&self, why: &str) {
        tracing::warn!(
            "shared rate-limit state unavailable ({why}): going on with this process's own view \
             of the limit"
        );
    }

    /// Says once that a damaged ledger file was replaced.
    pub(super) fn note_replaced(&mut self) {
        if let Some(ledger) = &self.ledger {
            let mut ledger = lock(ledger);
            if let Some(why) = ledger.take_replaced() {
                tracing::warn!("shared rate-limit state {}: {why}", ledger.path().display());
            }
        }
    }
}
