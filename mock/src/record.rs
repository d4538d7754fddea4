//! What the mock saw: requests in flight, and the clock it stamps things with.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Shared;

/// Tracks one request in flight; the count drops even when the client hangs up and the
/// handler future is dropped, which is then counted as a cancellation.
pub(crate) struct InFlight {
    shared: Arc<Shared>,
    pub(crate) answered: bool,
}

impl InFlight {
    pub(crate) fn enter(shared: &Arc<Shared>) -> Self {
        let mut book = shared.book.lock().unwrap();
        book.in_flight += 1;
        book.max_in_flight = book.max_in_flight.max(book.in_flight);
        Self {
            shared: shared.clone(),
            answered: false,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut book = self.shared.book.lock().unwrap();
        book.in_flight -= 1;
        if !self.answered {
            book.cancelled += 1;
        }
    }
}

pub(crate) fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}
