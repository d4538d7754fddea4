//! The retry policy: the *only* place that decides whether a failed attempt is tried again,
//! and how long to wait first.
//!
//! Only failures that can heal are retried: connect errors, timeouts, broken connections, 5xx
//! (including a proxy's HTML page) and a body that is cut short or not the expected JSON. A 4xx
//! is the request's own fault and is never retried, a 451 will not change by asking again, and a
//! 418 ban is *extended* by every request sent during it. A 429 is retried, but the wait is the
//! server's `Retry-After`, applied to the whole run by [`crate::throttle`], not a local backoff;
//! and since a 429 says the *IP* was too busy, not that this symbol failed, it does not use up
//! the symbol's `--retries`: it has its own small cap ([`RATE_LIMITED_RETRIES`]).
//!
//! Backoff is exponential with "full jitter" (a uniform draw in `0..=min(cap, base·2ⁿ)`), so
//! parallel retries after a shared blip do not stampede the server in lock-step.

use std::time::Duration;

use crate::error::FetchError;

/// How many 429s one symbol may be resent after; each waits out a `Retry-After` first.
pub(crate) const RATE_LIMITED_RETRIES: u32 = 5;

/// What one symbol has been through so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tries {
    /// Failed attempts that count against `--retries`.
    pub(crate) failures: u32,
    /// Attempts answered with a 429.
    pub(crate) rate_limited: u32,
}

impl Tries {
    /// The record after one more failed attempt.
    #[must_use]
    pub(crate) fn after(self, err: &FetchError) -> Self {
        match err {
            FetchError::RateLimited { .. } => Self {
                rate_limited: self.rate_limited + 1,
                ..self
            },
            _ => Self {
                failures: self.failures + 1,
                ..self
            },
        }
    }
}

/// How many times to try, and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RetryPolicy {
    /// Extra attempts after the first, for failures that can heal.
    pub(crate) retries: u32,
    /// The first backoff's upper bound; each retry doubles it.
    pub(crate) base: Duration,
    /// No backoff is longer than this.
    pub(crate) cap: Duration,
    /// A 5xx whose `Retry-After` is longer than this (`--max-wait`) is not retried.
    pub(crate) max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 3,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Decision {
    /// Try again after this pause (the shared rate-limit pause comes on top, if any).
    Retry(Duration),
    /// Report the failure.
    GiveUp,
}

/// Whether this failure can heal if the same request is sent again.
pub(crate) fn is_retryable(err: &FetchError) -> bool {
    match err {
        FetchError::Proxy { lasting, .. } => !lasting,
        FetchError::Timeout(_)
        | FetchError::Connect { .. }
        | FetchError::Transport(_)
        | FetchError::Server { .. }
        | FetchError::Decode { .. }
        | FetchError::RateLimited { .. } => true,
        FetchError::Banned { .. }
        | FetchError::GeoBlocked { .. }
        | FetchError::Api { .. }
        | FetchError::NotTrading { .. }
        | FetchError::NoRoute { .. }
        | FetchError::NoTrade { .. }
        | FetchError::Commodity { .. }
        | FetchError::Unusable { .. }
        | FetchError::Certificate { .. }
        | FetchError::TooLarge { .. }
        | FetchError::Cancelled
        | FetchError::Deadline(_)
        | FetchError::Throttled { .. } => false,
    }
}

impl RetryPolicy {
    /// Decides after the failed attempts in `tries` (already counting `err`, the last one).
    /// `unit` is a uniform draw in `[0, 1)`, passed in so that tests are exact.
    pub(crate) fn decide(&self, err: &FetchError, tries: Tries, unit: f64) -> Decision {
        if !is_retryable(err) {
            return Decision::GiveUp;
        }
        if matches!(err, FetchError::RateLimited { .. }) {
            if tries.rate_limited > RATE_LIMITED_RETRIES {
                return Decision::GiveUp;
            }
            // The throttle holds every request until Retry-After has passed.
            return Decision::Retry(Duration::ZERO);
        }
        if tries.failures > self.retries {
            return Decision::GiveUp;
        }
        let backoff = self.ceiling(tries.failures).mul_f64(unit);
        match err {
            // A busy server that says when to come back is believed, within --max-wait.
            FetchError::Server {
                retry_after: Some(wait),
                ..
            } if *wait > self.max_wait => Decision::GiveUp,
            FetchError::Server {
                retry_after: Some(wait),
                ..
            } => Decision::Retry(backoff.max(*wait)),
            _ => Decision::Retry(backoff),
        }
    }

    /// The upper bound of the backoff before attempt `attempts + 1`: `min(cap, base·2^(n-1))`.
    pub(crate) fn ceiling(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
        self.base.saturating_mul(factor).min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            ..RetryPolicy::default()
        }
    }

    /// The record after `n` failures that count.
    fn failed(n: u32) -> Tries {
        Tries {
            failures: n,
            rate_limited: 0,
        }
    }

    fn server() -> FetchError {
        FetchError::Server {
            status: 503,
            code: Some(-1008),
            msg: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn a_5xx_retry_after_is_honoured_within_max_wait() {
        let busy = |secs| FetchError::Server {
            status: 503,
            code: Some(-1008),
            msg: String::new(),
            retry_after: Some(Duration::from_secs(secs)),
        };
        let p = policy(3);
        assert_eq!(
            p.decide(&busy(2), failed(1), 0.5),
            Decision::Retry(Duration::from_secs(2))
        );
        assert_eq!(p.decide(&busy(61), failed(1), 0.5), Decision::GiveUp);
    }

    #[test]
    fn heals_are_retried_until_the_budget_is_spent() {
        let p = policy(2);
        assert!(matches!(
            p.decide(&server(), failed(1), 0.5),
            Decision::Retry(_)
        ));
        assert!(matches!(
            p.decide(&server(), failed(2), 0.5),
            Decision::Retry(_)
        ));
        assert_eq!(p.decide(&server(), failed(3), 0.5), Decision::GiveUp);
        assert_eq!(
            policy(0).decide(&server(), failed(1), 0.5),
            Decision::GiveUp
        );
    }

    #[test]
    fn requests_that_cannot_heal_are_never_retried() {
        let p = policy(5);
        for err in [
            FetchError::Api {
                status: 400,
                code: Some(-1121),
                msg: "Invalid symbol.".into(),
            },
            FetchError::GeoBlocked { msg: String::new() },
            FetchError::Banned {
                retry_after: None,
                until_ms: None,
                msg: String::new(),
            },
            FetchError::TooLarge {
                status: 200,
                limit: 1,
            },
            FetchError::Cancelled,
        ] {
            assert_eq!(p.decide(&err, failed(1), 0.5), Decision::GiveUp, "{err:?}");
        }
    }

    #[test]
    fn backoff_doubles_with_full_jitter_up_to_the_cap() {
        let p = RetryPolicy {
            retries: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(500),
            ..RetryPolicy::default()
        };
        assert_eq!(p.ceiling(1), Duration::from_millis(100));
        assert_eq!(p.ceiling(2), Duration::from_millis(200));
        assert_eq!(p.ceiling(3), Duration::from_millis(400));
        assert_eq!(p.ceiling(4), Duration::from_millis(500));
        assert_eq!(p.ceiling(40), Duration::from_millis(500));
        assert_eq!(
            p.decide(&server(), failed(2), 0.0),
            Decision::Retry(Duration::ZERO)
        );
        assert_eq!(
            p.decide(&server(), failed(2), 0.5),
            Decision::Retry(Duration::from_millis(100))
        );
    }

    #[test]
    fn rate_limit_waits_for_the_throttle_and_spares_the_retry_budget() {
        let err = FetchError::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
            msg: String::new(),
        };
        let tries = Tries::default().after(&err);
        assert_eq!(
            tries,
            Tries {
                failures: 0,
                rate_limited: 1
            }
        );
        // Even with --retries 0 a 429 is resent once Retry-After has passed...
        assert_eq!(
            policy(0).decide(&err, tries, 0.9),
            Decision::Retry(Duration::ZERO)
        );
        // ... but not forever.
        let many = Tries {
            failures: 0,
            rate_limited: RATE_LIMITED_RETRIES + 1,
        };
        assert_eq!(policy(3).decide(&err, many, 0.9), Decision::GiveUp);
        // And it leaves the budget for real failures untouched.
        assert_eq!(tries.after(&server()).failures, 1);
    }
}
