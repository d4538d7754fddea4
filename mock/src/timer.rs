//! A sub-millisecond timer for the mock's latency.

use std::sync::Mutex;
use std::time::Instant;

/// Sleeps with sub-millisecond precision, for latencies that benchmarks use as their floor.
///
/// tokio's timer has a 1 ms tick and rounds every deadline up, which makes a "50 ms" answer take
/// about 51 ms: 2% of the floor, more than a benchmark's error budget. Instead one thread keeps
/// the deadlines in order and fires each with `recv_timeout`, which parks on a futex with
/// nanosecond resolution.
pub(crate) struct PreciseTimer {
    tx: Mutex<std::sync::mpsc::Sender<(Instant, tokio::sync::oneshot::Sender<()>)>>,
}

impl PreciseTimer {
    pub(crate) fn start() -> Self {
        use std::sync::mpsc::RecvTimeoutError;
        let (tx, rx) = std::sync::mpsc::channel::<(Instant, tokio::sync::oneshot::Sender<()>)>();
        std::thread::spawn(move || {
            let mut due = std::collections::BTreeMap::new();
            let mut seq = 0u64;
            loop {
                let now = Instant::now();
                while let Some(entry) = due.first_entry() {
                    let (at, _): &(Instant, u64) = entry.key();
                    if *at > now {
                        break;
                    }
                    let waker: tokio::sync::oneshot::Sender<()> = entry.remove();
                    let _ = waker.send(());
                }
                let next = match due.first_key_value() {
                    Some(((at, _), _)) => rx.recv_timeout(at.saturating_duration_since(now)),
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                match next {
                    Ok((at, waker)) => {
                        due.insert((at, seq), waker);
                        seq += 1;
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        Self { tx: Mutex::new(tx) }
    }

    pub(crate) async fn sleep_until(&self, at: Instant) {
        let (waker, fired) = tokio::sync::oneshot::channel();
        if self.tx.lock().unwrap().send((at, waker)).is_ok() {
            let _ = fired.await;
        }
    }
}
