//! The candle still open when a run starts: `--to` is now by default, and the candle under
//! way has no close yet.

use crate::text::plural;

/// The candle still open when the run began (`--to` now, by default): its close is not a close
/// yet (a ledger would date a price that later changes), so it is left out, and the summary
/// says so.
pub(crate) struct StillOpen {
    now: i64,
    symbols: Vec<String>,
    /// Per symbol, in the order asked.
    left_out: Vec<u64>,
    /// When the open one closes.
    closes: Option<i64>,
}

impl StillOpen {
    pub(crate) fn new(now: i64, symbols: &[String]) -> Self {
        Self {
            now,
            symbols: symbols.to_vec(),
            left_out: vec![0; symbols.len()],
            closes: None,
        }
    }

    /// Whether `symbol`'s candle that closes at `close_ms` is still open (then counted, not
    /// to be written).
    pub(crate) fn takes(&mut self, symbol: &str, close_ms: i64) -> bool {
        if close_ms < self.now {
            return false;
        }
        if let Some(i) = self.symbols.iter().position(|s| s == symbol) {
            self.left_out[i] += 1;
        }
        self.closes = Some(close_ms);
        true
    }

    pub(crate) fn total(&self) -> u64 {
        self.left_out.iter().sum()
    }

    /// `, 1 candle still open left out until …`, or nothing.
    pub(crate) fn said(&self) -> String {
        match self.closes {
            Some(close) => format!(
                ", {} still open left out until {}",
                plural(self.total(), "candle", "candles"),
                crate::clock::rfc3339_millis(close.max(0) as u64 + 1)
            ),
            None => String::new(),
        }
    }
}
