//! The board: what a long-running stream knows now, shared between the consumer that writes
//! it (at every update) and the exporter that reads it (at every scrape of `--serve`). The
//! latest values of every symbol, when they were true, the gaps reconnects left, and the
//! stream's counters; the process's own facts (connections, requests, weight) are read at the
//! scrape through [`Board::set_facts`], from the atomics their owners already keep.
//!
//! A scrape never asks Binance anything: it renders this board, under one short lock.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::market::{Market, TickerKind};

/// Quick hashing for the per-update lookup (symbols, chosen by nobody hostile).
type Fast = foldhash::fast::RandomState;

/// One symbol on the board.
#[derive(Debug, Clone, Default)]
pub(crate) struct Entry {
    /// The latest values, exactly as sent, in the order of the ticker kind's fields; empty
    /// until the first value arrives.
    pub(crate) values: Vec<String>,
    /// Its labels as an exposition writes them (`symbol="…",base="…",quote="…"`), made once.
    pub(crate) labels: String,
    /// When the latest values were true (the event time, else when they were read), unix ms.
    pub(crate) event_ms: u64,
}

/// What the process's other parts count, read at each scrape.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts {
    /// Stream connections that opened (the first included).
    pub(crate) opened: u64,
    /// Connection attempts that failed.
    pub(crate) failed: u64,
    /// Updates the producers dropped because the consumer was behind.
    pub(crate) dropped: u64,
    /// REST requests sent (the snapshot, retries included).
    pub(crate) requests: u64,
    /// REST request weight spent.
    pub(crate) weight: u64,
}

/// Everything a scrape renders, under the board's lock.
#[derive(Debug)]
pub(crate) struct State {
    /// Which ticker the values are (their fields and families).
    pub(crate) kind: TickerKind,
    /// Which exchange they are from (a futures contract is labelled with it).
    pub(crate) market: Market,
    /// Each pair's base and quote asset, where known (labels; never guessed).
    pub(crate) assets: HashMap<String, (String, String)>,
    /// The symbols, in the order they were first seen.
    pub(crate) entries: Vec<Entry>,
    index: HashMap<String, usize, Fast>,
    /// Updates taken, over every symbol.
    pub(crate) updates: u64,
    /// Reconnects of every link.
    pub(crate) reconnects: u64,
    /// Gaps a reconnect left in a symbol's series, over every symbol, and their total length
    /// in ms.
    pub(crate) gaps: u64,
    /// See `gaps`.
    pub(crate) gap_ms: u64,
    /// Updates left out by the consumer, by why (a rollover's repeat, a stream not
    /// subscribed, a value that is not a price).
    pub(crate) left_out: u64,
    /// Symbols the snapshot found no value for (not streamed), with the kind of failure.
    pub(crate) failed: Vec<(String, &'static str)>,
    /// When the last value arrived (the snapshot counts): set by the consumer once a batch,
    /// not at every update (a clock read each, ten thousand a second).
    pub(crate) last_arrival: Option<Instant>,
    /// When the board was made, unix ms.
    pub(crate) started_ms: u64,
    /// Scrapes of `/metrics` answered, and when the last one was.
    pub(crate) scrapes: u64,
    pub(crate) last_scrape: Option<Instant>,
}

/// The board (see the module's docs).
pub(crate) struct Board {
    state: Mutex<State>,
    facts: Mutex<Option<Box<dyn Fn() -> Facts + Send + Sync>>>,
    /// Data older than this means the stream is stale (`/healthz` answers 503).
    pub(crate) stale: Duration,
}

impl Board {
    /// An empty board for `kind` in `market`; the labels' assets come with the snapshot.
    pub(crate) fn new(kind: TickerKind, market: Market, stale: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                kind,
                market,
                assets: HashMap::new(),
                entries: Vec::new(),
                index: HashMap::default(),
                updates: 0,
                reconnects: 0,
                gaps: 0,
                gap_ms: 0,
                left_out: 0,
                failed: Vec::new(),
                last_arrival: None,
                started_ms: crate::clock::unix_ms(),
                scrapes: 0,
                last_scrape: None,
            }),
            facts: Mutex::new(None),
            stale,
        }
    }

    /// Where the process's other facts are read from at each scrape.
    pub(crate) fn set_facts(&self, facts: impl Fn() -> Facts + Send + Sync + 'static) {
        *self.facts_slot() = Some(Box::new(facts));
    }

    /// The other parts' facts, now.
    pub(crate) fn facts(&self) -> Facts {
        self.facts_slot().as_ref().map(|f| f()).unwrap_or_default()
    }

    /// Where the other parts' facts come from, locked (a holder that panicked left it as it
    /// was: go on with it).
    #[allow(
        clippy::type_complexity,
        reason = "the one place the slot's type is spelt"
    )]
    fn facts_slot(&self) -> MutexGuard<'_, Option<Box<dyn Fn() -> Facts + Send + Sync>>> {
        self.facts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The board, locked (keep it short: the consumer waits).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a scrape of `/metrics`, answered now.
    pub(crate) fn scraped(&self) {
        let mut state = self.lock();
        state.scrapes += 1;
        state.last_scrape = Some(Instant::now());
    }

    /// Whether a value arrived within `stale`.
    pub(crate) fn fresh(&self) -> Result<(), Option<Duration>> {
        match self.lock().last_arrival {
            Some(at) if at.elapsed() <= self.stale => Ok(()),
            Some(at) => Err(Some(at.elapsed())),
            None => Err(None),
        }
    }
}

impl State {
    /// A symbol's labels as an exposition writes them: a futures contract's market and pair,
    /// a spot pair's assets when known.
    pub(crate) fn labels_of(&self, symbol: &str) -> String {
        match self.market.futures() {
            true => contract_labels(symbol, self.market),
            false => labels(symbol, self.assets.get(symbol)),
        }
    }

    /// Sets `symbol`'s latest values (true at `event_ms`); `gap`, the ms a reconnect left
    /// without data before them, if it did. `counted`: an update (not the snapshot). A new
    /// symbol's labels are made with `labels` (its name, and its assets when known).
    pub(crate) fn set(
        &mut self,
        symbol: &str,
        values: &[String],
        event_ms: u64,
        gap: Option<u64>,
        counted: bool,
    ) {
        let i = match self.index.get(symbol) {
            Some(&i) => i,
            None => {
                self.index.insert(symbol.to_owned(), self.entries.len());
                self.entries.push(Entry {
                    labels: self.labels_of(symbol),
                    ..Entry::default()
                });
                self.entries.len() - 1
            }
        };
        let entry = &mut self.entries[i];
        // Each string's allocation is kept (ten thousand updates a second).
        entry.values.truncate(values.len());
        for (mine, theirs) in entry.values.iter_mut().zip(values) {
            mine.clone_from(theirs);
        }
        let have = entry.values.len();
        entry.values.extend(values[have..].iter().cloned());
        entry.event_ms = event_ms;
        if counted {
            self.updates += 1;
        }
        if let Some(ms) = gap {
            self.gaps += 1;
            self.gap_ms += ms;
        }
    }
}

/// One label value, escaped as the exposition formats want (`\\`, `"` and line feeds).
pub(crate) fn escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The labels of a symbol: its name and, when known, its assets (never guessed).
pub(crate) fn labels(symbol: &str, assets: Option<&(String, String)>) -> String {
    match assets {
        Some((base, quote)) => format!(
            "symbol=\"{}\",base=\"{}\",quote=\"{}\"",
            escaped(symbol),
            escaped(base),
            escaped(quote)
        ),
        None => format!("symbol=\"{}\"", escaped(symbol)),
    }
}

/// The labels of a futures contract: its name, its market and its pair (the symbol less a
/// `_PERP` or a delivery date).
pub(crate) fn contract_labels(symbol: &str, market: Market) -> String {
    let pair = symbol.split('_').next().unwrap_or(symbol);
    format!(
        "symbol=\"{}\",market=\"{}\",pair=\"{}\"",
        escaped(symbol),
        market.name(),
        escaped(pair)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_gaps_and_counts_are_kept_per_symbol() {
        let board = Board::new(TickerKind::Price, Market::Spot, Duration::from_secs(10));
        assert_eq!(board.fresh(), Err(None));
        let mut s = board.lock();
        s.set("BTCUSDT", &["1.00".into()], 10, None, false);
        s.set("ETHUSDT", &["2.00".into()], 11, None, true);
        s.set("BTCUSDT", &["3.00".into()], 20_000, Some(5_000), true);
        s.last_arrival = Some(Instant::now());
        assert_eq!(s.entries.len(), 2);
        assert_eq!(s.entries[0].values, ["3.00"]);
        assert_eq!(s.entries[0].labels, "symbol=\"BTCUSDT\"");
        assert_eq!((s.updates, s.gaps, s.gap_ms), (2, 1, 5_000));
        drop(s);
        assert_eq!(board.fresh(), Ok(()));
    }
}
