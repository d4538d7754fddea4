//! How often a link may try to connect: the window of attempts every pricefetch on the host
//! shares (Binance allows an IP 300 in 5 minutes), the backoff after failures, and the kinds of
//! failure (each warned once, the rest said at -v).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

// Connection attempts allowed per window (Binance: 300 per 5 minutes per IP).
use crate::ledger::{ATTEMPT_WINDOW, ATTEMPTS};

/// The first reconnect waits up to this long (full jitter); each failure doubles it.
pub(super) const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// A connection counts as healthy, and resets the backoff, only once it has delivered for this
/// long: a server that accepts and then drops every connection sees fewer and fewer attempts.
pub(super) const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// A sliding window of connection attempts, shared by every link (tokio's clock, so that a
/// paused-time test can run five minutes in an instant), and, through `shared`, by every
/// pricefetch on the host: Binance's limit is per IP.
#[derive(Default)]
pub(super) struct Attempts {
    times: Mutex<VecDeque<tokio::time::Instant>>,
    /// The host's window, kept in the ledger by the run's throttle.
    shared: Option<Arc<crate::throttle::Throttle>>,
}

impl Attempts {
    /// A window that is also kept with every pricefetch on the host, through the run's
    /// throttle (its ledger).
    pub(super) fn shared_with(throttle: Arc<crate::throttle::Throttle>) -> Self {
        Self {
            times: Mutex::default(),
            shared: Some(throttle),
        }
    }

    /// Waits until one more attempt fits in the window, and records it.
    pub(super) async fn reserve(&self) {
        loop {
            let wait = {
                let mut times = self.times.lock().await;
                let now = tokio::time::Instant::now();
                while times.front().is_some_and(|t| now - *t >= ATTEMPT_WINDOW) {
                    times.pop_front();
                }
                if times.len() < ATTEMPTS {
                    let host_wait = match &self.shared {
                        Some(throttle) => throttle.stream_attempt().await,
                        None => None,
                    };
                    match host_wait {
                        None => {
                            times.push_back(now);
                            return;
                        }
                        Some(wait) => wait,
                    }
                } else {
                    ATTEMPT_WINDOW - (now - times[0])
                }
            };
            tracing::warn!(
                "{ATTEMPTS} connection attempts on this host in {}: waiting {} before the next",
                crate::text::span(ATTEMPT_WINDOW),
                crate::text::span(Duration::from_secs(wait.as_secs() + 1))
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// A full-jitter backoff after `failures` failures in a row.
pub(super) fn pause(failures: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(failures.clamp(1, 16) - 1))
        .min(BACKOFF_CAP);
    ceiling.mul_f64(fastrand::f64())
}

/// The kind of a connection failure, for warning once per kind.
pub(super) fn kind_of(why: &str) -> &'static str {
    let why = why.to_ascii_lowercase();
    if why.contains("refused") {
        "refused"
    } else if why.contains("lookup") || why.contains("dns") {
        "dns"
    } else if why.contains("no connection within") || why.contains("timed out") {
        "timeout"
    } else if why.contains("on the upgrade") {
        "status"
    } else if why.contains("certificate") || why.contains("tls") {
        "tls"
    } else if why.contains("no data for") {
        "stale"
    } else if why.contains("answered with an error") {
        "error reply"
    } else if why.contains("too long") || why.contains("too big") || why.contains("capacity") {
        "too big"
    } else if why.contains("closed") {
        "closed"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_more_than_300_attempts_in_five_minutes() {
        let attempts = Attempts::default();
        let start = tokio::time::Instant::now();
        for _ in 0..ATTEMPTS {
            attempts.reserve().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the first 300 go at once");
        attempts.reserve().await;
        assert!(start.elapsed() >= ATTEMPT_WINDOW, "{:?}", start.elapsed());
    }
}
