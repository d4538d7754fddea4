//! What the server's answers teach the throttle: the weight the IP used, the weight of a
//! request that never reached Binance given back, a 429's pause and a 418's ban, each told to
//! the host's ledger so that every process on it knows.

use std::time::Duration;

use tokio::time::Instant;

use crate::error::FetchError;

use super::{Notice, State, Throttle, Ticket, to_next_minute, wall_ms};

impl Throttle {
    /// Learns from one attempt's answer. `jitter` (0..1) spreads the restart after a pause.
    pub(crate) async fn observe(
        &self,
        ticket: Ticket,
        used_weight: Option<u32>,
        result: Result<(), &FetchError>,
        jitter: f64,
    ) {
        let now_ms = wall_ms();
        let notice = {
            let mut state = self.state();
            state.learn(ticket, used_weight, self.limits().weight_limit);
            match result {
                // Refused before reaching Binance: the weight was never spent.
                Err(FetchError::Connect { .. }) => {
                    if ticket.minute == state.minute {
                        state.window_used = state.window_used.saturating_sub(ticket.weight);
                    }
                    state.run_weight = state.run_weight.saturating_sub(ticket.weight);
                    match state.lease.as_mut() {
                        // Back into the lease: the ledger learns of it when the lease ends.
                        Some(lease) if lease.minute == ticket.minute => {
                            lease.remaining += ticket.weight;
                            None
                        }
                        _ => Some(Notice::Refund(ticket)),
                    }
                }
                Err(refusal @ (FetchError::RateLimited { .. } | FetchError::Banned { .. })) => {
                    self.note_refusal(&mut state, refusal, now_ms, jitter)
                }
                _ => None,
            }
        };
        if let Some(notice) = notice {
            self.tell_ledger(notice, now_ms).await;
        }
        self.announce_ban();
    }

    /// Wakes every request waiting out a pause, and every live run, once a ban is known (and
    /// shared).
    fn announce_ban(&self) {
        if self.state().ban.is_some() {
            self.banned.cancel();
        }
    }

    /// A 429 or a 418 met outside a request this throttle admitted (a stream's upgrade): the
    /// same rules as for REST, a pause for every request and every process on the host, or a
    /// ban that ends the run.
    pub(crate) async fn refused(&self, err: &FetchError) {
        let now_ms = wall_ms();
        let notice = {
            let mut state = self.state();
            self.note_refusal(&mut state, err, now_ms, fastrand::f64())
        };
        if let Some(notice) = notice {
            self.tell_ledger(notice, now_ms).await;
        }
        self.announce_ban();
    }

    /// A 429's pause or a 418's ban, taken into the run's state; what the ledger must learn.
    fn note_refusal(
        &self,
        state: &mut State,
        err: &FetchError,
        now_ms: u64,
        jitter: f64,
    ) -> Option<Notice> {
        match err {
            FetchError::RateLimited { retry_after, .. } => {
                let (wait, why) = match retry_after {
                    Some(d) => (*d, ""),
                    None => (
                        to_next_minute(now_ms),
                        " (no usable Retry-After: until the next minute)",
                    ),
                };
                let jittered = wait + Duration::from_millis(50).mul_f64(1.0 + 4.0 * jitter);
                let until = Instant::now() + jittered;
                if state.paused_until.is_none_or(|t| t < until) {
                    let shown =
                        crate::text::span(Duration::from_millis(jittered.as_millis() as u64));
                    match self.too_long(jittered, Instant::now()) {
                        None => tracing::warn!(
                            "rate-limited (HTTP 429): pausing every request for {shown}{why}"
                        ),
                        Some(too_long) => tracing::warn!(
                            "rate-limited (HTTP 429): the pause of {shown}{why} is {too_long}, \
                                 so the symbols not yet fetched fail"
                        ),
                    }
                    state.paused_until = Some(until);
                }
                Some(Notice::Pause(now_ms + wait.as_millis() as u64))
            }
            ban @ FetchError::Banned { until_ms, .. } => {
                // Nothing more is admitted from here on; those waiting are woken once the
                // host's ledger has the ban (see `announce_ban`), so that a run ending on it
                // cannot end before every process on the host can know.
                if state.ban.is_none() {
                    tracing::error!("{ban}: sending nothing more");
                    state.ban = Some(ban.clone());
                }
                until_ms.map(Notice::Ban)
            }
            _ => None,
        }
    }
}
