//! What the consumer shows of each update, and what it counts instead: a symbol never
//! subscribed, a pair that does not trade, a rollover's repeat, a value that is not a price;
//! the latest values kept per symbol, and the gap a reconnect left.

use std::time::Duration;

use super::{Consumer, Gap, Slot, Taken};
use crate::market::{TickerKind, Update};
use crate::output::Format;
use crate::strategy::Strategy;

/// When an update was, in ms: Binance's event time, else when it was read.
fn when_ms(u: &Update) -> u64 {
    u.event_ms.unwrap_or_else(|| {
        u.received
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    })
}

/// Takes `u` into its symbol's slot (for the table, its values and their change; for every
/// format, its order and time); when it is the first after a reconnect, the time of the last
/// update before, from which what came in between was lost (Binance replays nothing).
fn note(slot: &mut Slot, u: &Update, table: bool, when: u64) -> Option<u64> {
    let gap_from = (slot.seen && u.reconnects > slot.reconnects).then_some(slot.last_ms);
    slot.last_ms = when;
    slot.reconnects = u.reconnects;
    if table {
        slot.change = slot
            .values
            .first()
            .filter(|_| slot.seen)
            .and_then(|before| crate::decimal::difference(before, u.price()))
            .unwrap_or_default();
        slot.values.clone_from(&u.values);
    }
    slot.order = u.order;
    slot.seen = true;
    gap_from
}

/// The mark ticker's interest rate, which the stream does not carry (a setting of the
/// contract, not a market price): the snapshot's is kept in the slot, and repeated in each
/// update.
fn interest_rate(slot: &mut Slot, u: &mut Update) {
    const AT: usize = 4;
    let Some(rate) = u.values.get_mut(AT) else {
        return;
    };
    if u.snapshot {
        slot.interest.clone_from(rate);
    } else if rate.is_empty() {
        rate.clone_from(&slot.interest);
    }
}

impl Consumer<'_> {
    /// One update from the links: checked, counted and shown (its symbol looked up once).
    pub(super) fn take(&mut self, mut u: Update) -> Taken {
        let valid = crate::answer::check_values(&u.symbol, &u.values, self.kind);
        let when = when_ms(&u);
        let table = self.format == Format::Table;
        let gap_from = match self.latest.get_mut(&u.symbol) {
            None => {
                self.unknown(&u);
                return Taken::Nothing;
            }
            Some(slot) => {
                // The repeats of a rollover's overlap, and only those (a reconnected stream
                // whose clock runs behind is still news).
                if u.overlap && slot.seen && u.order <= slot.order {
                    self.duplicates += 1;
                    return Taken::Nothing;
                }
                // The same rule as for REST answers: a symbol, and decimals; said once,
                // counted always.
                if let Err(why) = valid {
                    self.invalid += 1;
                    if self.invalid == 1 {
                        tracing::warn!("left out an update that is not a price: {why}");
                    }
                    return Taken::Nothing;
                }
                if self.kind == TickerKind::Mark {
                    interest_rate(slot, &mut u);
                }
                note(slot, &u, table, when)
            }
        };
        self.updates += 1;
        let met = self.shown(u, when, gap_from);
        if self.end.count.is_some_and(|n| self.updates >= n) {
            return Taken::Enough;
        }
        Taken::Shown(met)
    }

    /// A link is back: counted and said.
    pub(super) fn reconnected(&mut self, link: usize, gap: Option<Duration>, why: &str) {
        self.reconnects += 1;
        if let Some(board) = &self.board {
            board.lock().reconnects += 1;
        }
        let gap = gap.map_or_else(
            || "before any data".to_owned(),
            |g| format!("after a gap of {}", crate::text::duration(g.as_secs_f64())),
        );
        tracing::warn!(target: crate::error::DATA, "stream {link}: reconnected {gap} ({why})");
    }

    /// An update for a symbol not streamed: left out and counted (whatever the server sends,
    /// only asked-for symbols are printed and kept), as is a pair that does not trade. With
    /// `--all`, a pair the snapshot did not have is a new listing: streamed from its next
    /// update on, and said once.
    fn unknown(&mut self, u: &Update) {
        let all = self.config.ask.strategy == Strategy::All;
        if !all || !self.config.ask.filter.keeps(&u.symbol) {
            self.unsubscribed += 1;
            return;
        }
        if self.not_trading.contains(&u.symbol) {
            self.untraded += 1;
            return;
        }
        tracing::warn!(
            "{}: not in the snapshot, listed since; streaming it too",
            u.symbol
        );
        self.subscribed.insert(u.symbol.clone());
        self.latest.insert(u.symbol.clone(), Slot::default());
        self.order.push(u.symbol.clone());
    }

    /// Takes one update of the snapshot into the latest values (and, for a line format, the
    /// lines to write); the `--until` condition it meets, if any, as (symbol, price, condition).
    pub(super) fn show(&mut self, mut u: Update) -> Option<(String, String, String)> {
        let when = when_ms(&u);
        let table = self.format == Format::Table;
        let mark = self.kind == TickerKind::Mark;
        let gap_from = self.latest.get_mut(&u.symbol).and_then(|slot| {
            if mark {
                interest_rate(slot, &mut u);
            }
            note(slot, &u, table, when)
        });
        self.shown(u, when, gap_from)
    }

    /// What follows an update's taking: the gap a reconnect left before it (from `gap_from`),
    /// `--until`, and the board or the writer.
    fn shown(
        &mut self,
        u: Update,
        when: u64,
        gap_from: Option<u64>,
    ) -> Option<(String, String, String)> {
        let gap_ms = gap_from.map(|from| when.saturating_sub(from));
        if let Some(from) = gap_from
            && self.format == Format::Ndjson
            && self.board.is_none()
        {
            if self.backfill {
                self.to_backfill.push((u.symbol.clone(), from, when));
            }
            self.gaps.push(Gap {
                symbol: u.symbol.clone(),
                from_ms: from,
                to_ms: when,
                reconnect: u.reconnects,
            });
        }
        let met = self.end.until.as_ref().and_then(|until| {
            let c = until.met_by(&u.symbol, u.price())?;
            Some((u.symbol.clone(), u.price().to_owned(), c.to_string()))
        });
        if let Some(board) = &self.board {
            board
                .lock()
                .set(&u.symbol, &u.values, when, gap_ms, !u.snapshot);
        } else if self.format != Format::Table {
            self.hold(u);
        }
        met
    }
}
