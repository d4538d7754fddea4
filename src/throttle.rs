//! The run's shared view of the IP's rate limit.
//!
//! Binance limits request weight per IP, not per symbol (binance-api.md): a 429 means *every*
//! request of this process must wait, and a request sent inside the `Retry-After` window turns
//! the 429 into a 418 ban that only grows with each further request. So every attempt passes
//! through [`Throttle::admit`] first, and every answer is shown to [`Throttle::observe`]:
//!
//! - a 429 pauses the whole run until its `Retry-After` (plus a little jitter) has passed;
//! - a 418 stops the run from sending anything more: every later `admit` fails at once;
//! - the server's `X-MBX-USED-WEIGHT-1M` figure is remembered for the summary.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::FetchError;

/// When a 429 carries no `Retry-After`, wait this long (Binance's limit is per minute).
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Shared by every task of a run.
#[derive(Debug, Default)]
pub struct Throttle {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// No request may be sent before this instant (after a 429).
    paused_until: Option<Instant>,
    /// Set by a 418; the run sends nothing more.
    ban: Option<FetchError>,
    /// The last `X-MBX-USED-WEIGHT-1M` the server reported.
    last_used_weight: Option<u32>,
    /// How many 429 answers the run received.
    rate_limited: u32,
}

impl Throttle {
    /// Waits until a request may be sent; fails at once if the IP is banned.
    pub async fn admit(&self) -> Result<(), FetchError> {
        loop {
            let until = {
                let state = self.state.lock().expect("throttle lock");
                if let Some(ban) = &state.ban {
                    return Err(ban.clone());
                }
                match state.paused_until {
                    Some(t) if t > Instant::now() => t,
                    _ => return Ok(()),
                }
            };
            tracing::debug!(
                wait_ms = (until - Instant::now()).as_millis() as u64,
                "waiting out a rate limit"
            );
            // Another 429 may extend the pause while we sleep, so look again afterwards.
            tokio::time::sleep_until(until).await;
        }
    }

    /// Learns from one attempt's outcome. `jitter` (0..1) spreads the restart after a pause.
    pub fn observe(&self, used_weight: Option<u32>, result: Result<(), &FetchError>, jitter: f64) {
        let mut state = self.state.lock().expect("throttle lock");
        if used_weight.is_some() {
            state.last_used_weight = used_weight;
        }
        match result {
            Err(FetchError::RateLimited { retry_after, .. }) => {
                state.rate_limited += 1;
                let wait = retry_after.unwrap_or(DEFAULT_RETRY_AFTER)
                    + Duration::from_millis(50).mul_f64(1.0 + 4.0 * jitter);
                let until = Instant::now() + wait;
                if state.paused_until.is_none_or(|t| t < until) {
                    tracing::warn!(
                        "rate-limited (HTTP 429): pausing every request for {}",
                        humantime::format_duration(Duration::from_millis(wait.as_millis() as u64))
                    );
                    state.paused_until = Some(until);
                }
            }
            Err(ban @ FetchError::Banned { .. }) if state.ban.is_none() => {
                tracing::error!("{ban}: sending nothing more");
                state.ban = Some(ban.clone());
            }
            _ => {}
        }
    }

    /// The last used-weight figure the server reported, if any.
    pub fn last_used_weight(&self) -> Option<u32> {
        self.state.lock().expect("throttle lock").last_used_weight
    }

    /// How many 429 answers the run has had.
    pub fn rate_limited(&self) -> u32 {
        self.state.lock().expect("throttle lock").rate_limited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_admission_until_retry_after() {
        let t = Throttle::default();
        t.admit().await.unwrap();
        let err = FetchError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
            msg: String::new(),
        };
        t.observe(Some(6001), Err(&err), 0.0);
        let start = Instant::now();
        t.admit().await.unwrap();
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(2), "{waited:?}");
        assert!(waited < Duration::from_secs(3), "{waited:?}");
        assert_eq!(t.last_used_weight(), Some(6001));
        assert_eq!(t.rate_limited(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_ban_fails_every_later_admission() {
        let t = Throttle::default();
        let ban = FetchError::Banned {
            retry_after: Some(Duration::from_secs(120)),
            until_ms: Some(1),
            msg: String::new(),
        };
        t.observe(None, Err(&ban), 0.0);
        assert_eq!(t.admit().await, Err(ban));
    }
}
