//! The run's shared view of the IP's rate limit.
//!
//! Binance limits request weight per IP, not per symbol (binance-api.md): a 429 means *every*
//! request of this process must wait, and a request sent inside the `Retry-After` window turns
//! the 429 into a 418 ban that only grows with each further request. So every attempt passes
//! through [`Throttle::admit`] first, and every answer is shown to [`Throttle::observe`]:
//!
//! - a 429 pauses the whole run until its `Retry-After` (plus a little jitter) has passed;
//! - a 418 stops the run from sending anything more: every later `admit` fails at once;
//! - every request's weight is counted in the current wall-clock minute (Binance's window), and
//!   the server's `X-MBX-USED-WEIGHT-1M` raises that count when other processes on the same IP
//!   have spent weight too. A request that would push the minute past the limit (less a safety
//!   margin) waits for the next minute instead of being sent;
//! - no wait is longer than `--max-wait`: past that, the request fails as
//!   [`FetchError::Throttled`], which says when to try again.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::error::FetchError;

/// When a 429 carries no `Retry-After`, wait this long (Binance's limit is per minute).
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The rate-limit settings of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Request weight Binance allows per IP per minute (`--weight-limit`).
    pub weight_limit: u32,
    /// The longest pause the run accepts, for a `Retry-After` or the next minute (`--max-wait`).
    pub max_wait: Duration,
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
    /// process's requests landing between our last header and our next request do not tip it.
    pub fn budget(&self) -> u32 {
        self.weight_limit - (self.weight_limit / 20).max(1).min(self.weight_limit)
    }
}

/// Shared by every task of a run.
#[derive(Debug, Default)]
pub struct Throttle {
    limits: Limits,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// No request may be sent before this instant (after a 429).
    paused_until: Option<Instant>,
    /// Set by a 418; the run sends nothing more.
    ban: Option<FetchError>,
    /// The wall-clock minute (since the epoch) that `window_used` counts.
    minute: u64,
    /// Best estimate of the weight used in that minute by everyone on this IP.
    window_used: u32,
    /// The last `X-MBX-USED-WEIGHT-1M` the server reported.
    last_used_weight: Option<u32>,
    /// Weight of every request this run sent.
    run_weight: u32,
    /// The minute for which "waiting for the next minute" was already said.
    warned_minute: Option<u64>,
}

/// Proof of admission: which minute the request was counted in.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    minute: u64,
}

/// The wall-clock minute since the epoch, and how far into it we are.
fn wall_minute() -> (u64, Duration) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (
        now.as_secs() / 60,
        now - Duration::from_secs(now.as_secs() / 60 * 60),
    )
}

impl Throttle {
    /// A throttle for these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: Mutex::default(),
        }
    }

    /// Waits until a request of `weight` may be sent, and counts it; fails at once if the IP is
    /// banned, or if the wait would be longer than `--max-wait`.
    pub async fn admit(&self, weight: u32) -> Result<Ticket, FetchError> {
        loop {
            let wait = self.try_admit(weight, Instant::now(), wall_minute())?;
            match wait {
                Ok(ticket) => return Ok(ticket),
                Err(wait) => {
                    tracing::debug!(wait_ms = wait.as_millis() as u64, "waiting to send");
                    // Another 429 may extend the pause while we sleep, so look again afterwards.
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One look at the state: admitted, or how long to wait first, or a failure.
    fn try_admit(
        &self,
        weight: u32,
        now: Instant,
        (minute, into_minute): (u64, Duration),
    ) -> Result<Result<Ticket, Duration>, FetchError> {
        let max_wait = self.limits.max_wait;
        let mut state = self.state.lock().expect("throttle lock");
        if let Some(ban) = &state.ban {
            return Err(ban.clone());
        }
        if let Some(until) = state.paused_until
            && until > now
        {
            let wait = until - now;
            if wait > max_wait {
                return Err(FetchError::Throttled {
                    retry_after: wait,
                    why: format!(
                        "Binance asked to wait {}, longer than --max-wait {}",
                        whole_seconds(wait),
                        humantime::format_duration(max_wait)
                    ),
                });
            }
            return Ok(Err(wait));
        }
        if minute != state.minute {
            state.minute = minute;
            state.window_used = 0;
        }
        let budget = self.limits.budget();
        if state.window_used + weight <= budget {
            state.window_used += weight;
            state.run_weight += weight;
            return Ok(Ok(Ticket { minute }));
        }
        // Binance's window is the wall-clock minute; start a little after it turns.
        let wait = Duration::from_secs(60).saturating_sub(into_minute) + Duration::from_millis(250);
        let used = state.window_used;
        let limit = self.limits.weight_limit;
        if wait > max_wait {
            return Err(FetchError::Throttled {
                retry_after: wait,
                why: format!(
                    "this minute's request weight is spent ({used} used, limit {limit} less a margin) \
                     and the next minute is further away than --max-wait {}",
                    humantime::format_duration(max_wait)
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
        Ok(Err(wait))
    }

    /// Learns from one attempt's answer. `jitter` (0..1) spreads the restart after a pause.
    pub fn observe(
        &self,
        ticket: Ticket,
        used_weight: Option<u32>,
        result: Result<(), &FetchError>,
        jitter: f64,
    ) {
        let mut state = self.state.lock().expect("throttle lock");
        if let Some(used) = used_weight {
            state.last_used_weight = Some(used);
            // An answer that crossed into a new minute speaks of the old one.
            if ticket.minute == state.minute {
                state.window_used = state.window_used.max(used);
            }
            tracing::info!("used weight {used} of {}", self.limits.weight_limit);
        }
        match result {
            Err(FetchError::RateLimited { retry_after, .. }) => {
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

    /// The weight of every request this run sent.
    pub fn run_weight(&self) -> u32 {
        self.state.lock().expect("throttle lock").run_weight
    }
}

fn whole_seconds(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs_f64().ceil() as u64)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(secs: u64) -> FetchError {
        FetchError::RateLimited {
            retry_after: Some(Duration::from_secs(secs)),
            msg: String::new(),
        }
    }

    fn throttle(weight_limit: u32, max_wait_secs: u64) -> Throttle {
        Throttle::new(Limits {
            weight_limit,
            max_wait: Duration::from_secs(max_wait_secs),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_admission_until_retry_after() {
        let t = Throttle::default();
        let ticket = t.admit(2).await.unwrap();
        // (A spent minute would add a wait for the wall-clock minute; see the budget tests.)
        t.observe(ticket, Some(10), Err(&limited(2)), 0.0);
        let start = Instant::now();
        t.admit(2).await.unwrap();
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(2), "{waited:?}");
        assert!(waited < Duration::from_secs(3), "{waited:?}");
        assert_eq!(t.last_used_weight(), Some(10));
        assert_eq!(t.run_weight(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_beyond_max_wait_fails_at_once() {
        let t = throttle(6000, 10);
        let ticket = t.admit(2).await.unwrap();
        t.observe(ticket, None, Err(&limited(120)), 0.0);
        let err = t.admit(2).await.unwrap_err();
        assert!(
            matches!(&err, FetchError::Throttled { retry_after, .. } if *retry_after > Duration::from_secs(119)),
            "{err:?}"
        );
        assert!(err.to_string().contains("--max-wait 10s"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_ban_fails_every_later_admission() {
        let t = Throttle::default();
        let ban = FetchError::Banned {
            retry_after: Some(Duration::from_secs(120)),
            until_ms: Some(1),
            msg: String::new(),
        };
        let ticket = t.admit(2).await.unwrap();
        t.observe(ticket, None, Err(&ban), 0.0);
        assert_eq!(t.admit(2).await.unwrap_err(), ban);
    }

    #[test]
    fn the_minute_budget_keeps_a_margin_and_waits_for_the_next_minute() {
        let t = throttle(20, 60);
        assert_eq!(t.limits.budget(), 19);
        let now = Instant::now();
        let at = (1000, Duration::from_secs(20));
        for _ in 0..9 {
            assert!(matches!(t.try_admit(2, now, at), Ok(Ok(_))));
        }
        // 18 used; 2 more would pass the budget of 19: wait out the 40 s left, plus a little.
        let wait = t.try_admit(2, now, at).unwrap().unwrap_err();
        assert_eq!(wait, Duration::from_millis(40_250));
        // The next minute starts from zero.
        assert!(matches!(
            t.try_admit(2, now, (1001, Duration::ZERO)),
            Ok(Ok(_))
        ));
    }

    #[test]
    fn the_servers_figure_counts_other_processes_on_the_same_ip() {
        let t = throttle(20, 60);
        let now = Instant::now();
        let at = (7, Duration::from_secs(1));
        let ticket = t.try_admit(2, now, at).unwrap().unwrap();
        t.observe(ticket, Some(16), Ok(()), 0.0);
        assert!(matches!(t.try_admit(2, now, at), Ok(Ok(_))));
        assert!(t.try_admit(2, now, at).unwrap().is_err(), "16 + 2 + 2 > 19");
        // A figure from a minute that has passed does not count against the new one.
        let late = t.try_admit(2, now, (8, Duration::ZERO)).unwrap().unwrap();
        t.observe(Ticket { minute: 7 }, Some(19), Ok(()), 0.0);
        assert!(matches!(
            t.try_admit(2, now, (8, Duration::ZERO)),
            Ok(Ok(_))
        ));
        let _ = late;
    }

    #[test]
    fn waiting_longer_than_max_wait_for_the_next_minute_fails() {
        let t = throttle(4, 5);
        let now = Instant::now();
        let at = (3, Duration::from_secs(10));
        assert!(matches!(t.try_admit(2, now, at), Ok(Ok(_))));
        let err = t.try_admit(2, now, at).unwrap_err();
        assert!(matches!(err, FetchError::Throttled { .. }), "{err:?}");
        assert!(err.to_string().contains("weight is spent"), "{err}");
    }
}
