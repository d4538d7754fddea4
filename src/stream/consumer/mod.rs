//! The consumer side of `--stream`: takes the links' updates, has [`take`] decide what is shown
//! (and count what is not), renders it, and decides when the run ends.
//!
//! Output goes through an [`output::sink::Sink`], which writes only what stdout takes without
//! blocking, so that a slow reader never blocks this, the runtime's one thread. While the
//! reader is behind, updates wait here, one per symbol: a newer value replaces an older one
//! still waiting (counted as dropped, and said at most once a second), so memory stays bounded
//! by the number of symbols and the reader gets the latest prices when it catches up. A table
//! simply skips frames.

mod take;

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::link::Event;
use crate::board::Board;
use crate::config::{Config, Ending, StreamSettings};
use crate::fetch::{Engine, StopReason};
use crate::market::TickerKind;
use crate::market::Update;
use crate::output::{self, Format, sink::Sink};
use crate::text::plural;

/// The maps looked up for every update (ten thousand a second) hash with foldhash: quick on
/// short keys such as symbols, and no input here is chosen by an attacker who could flood it.
type Fast = foldhash::fast::RandomState;

/// In a burst, lines are handed to the writer at least this often: a link's batch.
const FLUSH_EVERY: usize = super::link::BATCH;

/// The table is redrawn at most this often.
const REDRAW: Duration = Duration::from_millis(100);

/// How often a line format's consumer looks up from its updates (see `run`).
const LINES_TICK: Duration = Duration::from_secs(1);

/// A reader that is behind is tried again this often, where stdout cannot be watched.
const RETRY: Duration = Duration::from_millis(2);

/// Where stdout is watched, the longest wait for it without looking (an edge missed).
const SAFETY: Duration = Duration::from_millis(50);

/// What a reconnect missed of one symbol: from its last update before to its first after.
struct Gap {
    symbol: String,
    from_ms: u64,
    to_ms: u64,
    reconnect: u32,
}

/// One subscribed symbol: the order of its latest update, and for the table its values and
/// their change. Every subscribed symbol has one from the start, so that one lookup tells
/// whether an update was asked for and whether it is a repeat.
#[derive(Default)]
pub(super) struct Slot {
    /// Whether an update (or the snapshot's value) has been shown.
    pub(super) seen: bool,
    pub(super) order: u64,
    /// When the latest update was (its event time, else when it was read), in ms.
    pub(super) last_ms: u64,
    /// The reconnects of the connection the latest update came on.
    pub(super) reconnects: u32,
    pub(super) values: Vec<String>,
    pub(super) change: String,
    /// `--ticker mark`: the interest rate, from the snapshot (the stream does not carry it).
    pub(super) interest: String,
}

/// What one event did.
pub(super) enum Taken {
    /// An update was shown; the `--until` condition it met, if any.
    Shown(Option<(String, String, String)>),
    /// `--count` updates have been shown.
    Enough,
    /// Nothing to show (a reconnect, or an update left out).
    Nothing,
}

/// What one batch of events did.
#[derive(Default)]
struct Batch {
    /// Updates taken.
    taken: usize,
    /// Whether one was shown.
    shown: bool,
    /// The `--until` condition an update met: the run ends after it.
    met: Option<(String, String, String)>,
    /// `--count` updates have been shown.
    ended: bool,
}

/// The consumer: renders updates, and decides when the run ends.
pub(super) struct Consumer<'a> {
    config: &'a Config,
    /// `--count` and `--until`.
    end: &'a Ending,
    /// `--backfill`: fill each reconnect's gap from Binance's 1s candles.
    backfill: bool,
    kind: TickerKind,
    format: Format,
    /// Symbols in the order the table shows them.
    pub(super) order: Vec<String>,
    /// Per symbol: the newest order key seen (to drop the duplicates of a rollover's overlap),
    /// the latest values and the change of the first one.
    latest: HashMap<String, Slot, Fast>,
    pub(super) updates: u64,
    pub(super) reconnects: u64,
    /// Updates left out because a value was not a decimal (or the name not a symbol).
    invalid: u64,
    /// The symbols streamed: the snapshot's, and with `--all` new listings as they appear.
    pub(super) subscribed: HashSet<String, Fast>,
    /// With `--all`: listed pairs that do not trade (their updates are left out).
    pub(super) not_trading: HashSet<String>,
    /// Updates left out, by why: a rollover's repeat, a stream not subscribed, a pair that
    /// does not trade, a newer value while the reader was behind.
    duplicates: u64,
    unsubscribed: u64,
    untraded: u64,
    overtaken: u64,
    /// Lines not yet handed to the writer: at most one per symbol while the reader is behind.
    held: Vec<Update>,
    /// ndjson: the gaps a reconnect left, written before the updates held with them.
    gaps: Vec<Gap>,
    held_at: HashMap<String, usize, Fast>,
    /// The writer refused the last offer: the reader is behind.
    behind: bool,
    /// When being behind was last said, and how many had been dropped then.
    said: Option<(Instant, u64)>,
    /// `--serve`: the board every update goes to, in place of stdout.
    board: Option<Arc<Board>>,
    /// `--backfill`: gaps waiting to be asked for, (symbol, from ms, to ms).
    to_backfill: Vec<(String, u64, u64)>,
    /// `--backfill`: candles that arrived, for the writer.
    backfilled: Vec<(String, crate::market::Candle)>,
    /// `--backfill`: per symbol, the stretches [from, to) ms already filled, so that gaps
    /// that overlap never write a second twice.
    filled: HashMap<String, Vec<(i64, i64)>, Fast>,
    /// `--backfill`: candles written so far.
    pub(super) backfill_count: u64,
}

impl<'a> Consumer<'a> {
    pub(super) fn new(
        config: &'a Config,
        (settings, end): (&StreamSettings, &'a Ending),
        order: Vec<String>,
        board: Option<Arc<Board>>,
    ) -> Self {
        Self {
            config,
            end,
            backfill: settings.backfill,
            kind: config.ask.kind,
            format: config.format,
            latest: order.iter().map(|s| (s.clone(), Slot::default())).collect(),
            updates: 0,
            reconnects: 0,
            invalid: 0,
            subscribed: order.iter().cloned().collect(),
            order,
            not_trading: HashSet::new(),
            duplicates: 0,
            unsubscribed: 0,
            untraded: 0,
            overtaken: 0,
            held: Vec::new(),
            gaps: Vec::new(),
            held_at: HashMap::default(),
            behind: false,
            said: None,
            board,
            to_backfill: Vec::new(),
            backfilled: Vec::new(),
            filled: HashMap::default(),
            backfill_count: 0,
        }
    }

    /// An event and what else has arrived, up to a few lines in a burst: one pass of the
    /// run's loop and one write per batch, not per update, and none held back long.
    fn take_batch(&mut self, first: Event, rx: &mut mpsc::Receiver<Event>) -> Batch {
        let mut batch = Batch::default();
        let mut next = Some(first);
        while let Some(event) = next.take() {
            let updates = match event {
                Event::Updates(updates) => updates,
                Event::Reconnected { link, gap, why } => {
                    self.reconnected(link, gap, &why);
                    Vec::new()
                }
            };
            for u in updates {
                batch.taken += 1;
                match self.take(u) {
                    Taken::Shown(m) => {
                        batch.met = m;
                        batch.shown = true;
                    }
                    Taken::Enough => batch.ended = true,
                    Taken::Nothing => {}
                }
                if batch.met.is_some() || batch.ended {
                    return batch;
                }
            }
            if batch.taken >= FLUSH_EVERY {
                break;
            }
            next = rx.try_recv().ok();
        }
        batch
    }

    /// A gap's backfill has answered: its candles not written before go to the writer; the
    /// stretches it could not fill, and a failure, are said.
    fn take_backfill(
        &mut self,
        symbol: String,
        (from, to): (u64, u64),
        found: Result<crate::history::Backfill, crate::error::FetchError>,
    ) {
        let when = |ms: i64| crate::clock::rfc3339_millis(ms.max(0) as u64);
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(target: crate::error::DATA, "{symbol}: the gap is not backfilled: {e}");
                return;
            }
        };
        for (a, b) in &found.unfilled {
            tracing::warn!(
                target: crate::error::DATA,
                "{symbol}: no 1s candle from {} to {} ({}): that part of the gap stays empty",
                when(*a),
                when(*b),
                crate::text::span_ms(b - a)
            );
        }
        let filled = self.filled.entry(symbol.clone()).or_default();
        let new: Vec<_> = (found.candles.into_iter())
            .filter(|c| !filled.iter().any(|&(a, b)| (a..b).contains(&c.open_ms)))
            .collect();
        if let (Some(first), Some(last)) = (new.first(), new.last()) {
            filled.push((first.open_ms, last.open_ms + 1000));
        }
        tracing::info!(
            "{symbol}: {} 1s candles fill the gap from {} to {}",
            new.len(),
            when(from as i64),
            when(to as i64)
        );
        self.backfilled
            .extend(new.into_iter().map(|c| (symbol.clone(), c)));
    }

    /// Shows the snapshot, then every update until the run ends (a signal, `--count`,
    /// `--until`, the links' end). `out` is flushed first; the rest goes through a sink.
    pub(super) async fn run(
        &mut self,
        engine: &Engine,
        snapshot: Vec<Update>,
        mut rx: mpsc::Receiver<Event>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        out.flush()?;
        let mut sink = Sink::stdout();
        let writable = crate::output::sink::Writable::stdout();
        let mut met = self.start(snapshot, &mut sink)?;
        let table = self.format == Format::Table && self.board.is_none();
        let mut dirty = true;
        // A table is redrawn ten times a second; lines need the tick only to say how far
        // behind the reader is (at most once a second) and to update the board's counters.
        let mut redraw = tokio::time::interval(if table { REDRAW } else { LINES_TICK });
        redraw.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // Made once: a signal's future built anew for every update cost a lock each time.
        let stop = engine.stop_signal();
        let banned = engine.throttle().banned_signal();
        tokio::pin!(stop, banned);
        let mut retry = std::pin::pin!(tokio::time::sleep(RETRY));
        let mut ended = false;
        // --backfill: the gaps' candles being asked for, each with its symbol and gap.
        let mut backfills = futures_util::stream::FuturesUnordered::new();
        while met.is_none() && !ended {
            for (symbol, from, to) in self.to_backfill.drain(..) {
                backfills.push(async move {
                    let rows =
                        crate::history::backfill(engine, &symbol, from as i64, to as i64).await;
                    (symbol, from, to, rows)
                });
            }
            let waiting = !table && (self.behind || !sink.is_drained());
            tokio::select! {
                biased;
                () = &mut stop => break,
                // A 418 (the upgrade's, or another process's): nothing more will come.
                () = &mut banned => break,
                event = rx.recv() => {
                    let Some(event) = event else { break };
                    let Batch { taken, shown, met: m, ended: e } = self.take_batch(event, &mut rx);
                    (met, ended) = (m, e);
                    if shown {
                        dirty = true;
                        self.arrived();
                    }
                    // While the reader is behind, only the retry below tries again.
                    if !table && !self.behind {
                        let wrote = self.hand_over(&mut sink)?;
                        // Mid-burst (more is waiting): let the reader take these lines first.
                        if wrote && taken >= FLUSH_EVERY && !self.behind {
                            writable.let_reader_run();
                        }
                    }
                    // Behind now: try again soon, from the first moment it fell behind (a timer
                    // pushed back by every new update would not fire during a burst).
                    if !waiting && (self.behind || !sink.is_drained()) {
                        retry.as_mut().reset(tokio::time::Instant::now() + RETRY);
                    }
                }
                Some((symbol, from, to, rows)) = futures_util::StreamExt::next(&mut backfills), if !backfills.is_empty() => {
                    self.take_backfill(symbol, (from, to), rows);
                    if !self.behind {
                        self.hand_over(&mut sink)?;
                    }
                }
                // While the reader is behind: as soon as stdout can take more (a pipe, a
                // terminal, a socket)...
                () = writable.wait(SAFETY), if waiting && writable.watched() => self.catch_up(&mut sink)?,
                // ...or, where the runtime cannot watch it, look again soon: a reader that
                // only paused gets the held lines within milliseconds.
                () = &mut retry, if waiting && !writable.watched() => {
                    self.catch_up(&mut sink)?;
                    retry.as_mut().reset(tokio::time::Instant::now() + RETRY);
                }
                _ = redraw.tick() => dirty = self.tick(&mut sink, table && dirty)?,
            }
        }
        self.finish(engine, sink, met).await
    }

    /// The reader took more: writes out what the writer holds, then hands it what waits.
    fn catch_up(&mut self, sink: &mut Sink) -> io::Result<()> {
        sink.drain()?;
        self.hand_over(sink).map(drop)
    }

    /// The csv header and the snapshot's values: the `--until` condition one of them met.
    fn start(
        &mut self,
        snapshot: Vec<Update>,
        sink: &mut Sink,
    ) -> io::Result<Option<(String, String, String)>> {
        if self.format == Format::Csv && self.config.header && self.board.is_none() {
            let mut header = Vec::new();
            output::update_csv_header(self.kind, &mut header)?;
            sink.offer(header)?;
        }
        let mut met = None;
        for u in snapshot {
            met = met.or(self.show(u));
        }
        self.arrived();
        Ok(met)
    }

    /// The redraw tick: the board's counters, the writer's backlog, the table if it changed
    /// (`redraw`), and whether the reader is behind. Whether the table still needs a redraw.
    fn tick(&mut self, sink: &mut Sink, redraw: bool) -> io::Result<bool> {
        if let Some(board) = &self.board {
            board.lock().left_out =
                self.invalid + self.duplicates + self.unsubscribed + self.untraded;
        }
        sink.drain()?;
        let dirty = redraw && !self.draw(sink)?;
        self.say_behind();
        Ok(dirty)
    }

    /// Writes out what is left (while no signal says to stop), waits for the writer, then says
    /// what was left out and which `--until` condition was met.
    async fn finish(
        &mut self,
        engine: &Engine,
        mut sink: Sink,
        met: Option<(String, String, String)>,
    ) -> io::Result<()> {
        // How long the reader is waited for: not at all after a signal; a second more after
        // --deadline; otherwise (--count, --until, the links' end) as long as it takes, or
        // until a signal. Lines are never cut in the middle but by a signal or that second.
        let interrupted = matches!(engine.stop_reason(), Some(StopReason::Interrupted(_)));
        let grace = engine.stopped().then_some(Duration::from_secs(1));
        let give_up = async {
            match grace {
                Some(grace) => tokio::time::sleep(grace).await,
                None => engine.stop_signal().await,
            }
        };
        tokio::pin!(give_up);
        let mut gave_up = interrupted;
        while !gave_up {
            let done = if self.format == Format::Table && self.board.is_none() {
                self.draw(&mut sink)?
            } else {
                self.hand_over(&mut sink)?;
                self.held.is_empty()
            };
            sink.drain()?;
            if done && sink.is_drained() {
                break;
            }
            tokio::select! {
                () = &mut give_up => gave_up = true,
                () = tokio::time::sleep(Duration::from_millis(5)) => {}
            }
        }
        if self.invalid > 1 {
            tracing::warn!("left out {} updates that were not prices", self.invalid);
        }
        // With --quote or --match the whole market's stream carries the pairs filtered out, as
        // asked: said with -v, not warned of.
        let filter = &self.config.ask.filter;
        let filtered = filter.quote.is_some() || filter.pattern.is_some();
        if filtered && self.unsubscribed > 0 {
            tracing::info!(
                "left out {} for pairs --quote or --match filtered",
                plural(self.unsubscribed, "update", "updates")
            );
        }
        let unsubscribed = if filtered { 0 } else { self.unsubscribed };
        let left_out: Vec<String> = [
            (self.duplicates, "repeated by a replacement connection"),
            (unsubscribed, "for streams not subscribed"),
            (self.untraded, "for pairs that do not trade"),
            (
                self.overtaken,
                "overtaken by newer ones while the reader was behind",
            ),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, why)| format!("{} {why}", plural(*n, "update", "updates")))
        .collect();
        if !left_out.is_empty() {
            tracing::warn!("left out {}", left_out.join(", "));
        }
        // The update that met it is out before the word that it did.
        if let Some((symbol, price, c)) = met
            && self.config.verbosity >= 0
        {
            let _ = writeln!(
                io::stderr().lock(),
                "{symbol} {price} meets --until '{c}': stopping"
            );
        }
        Ok(())
    }

    /// Tells the board (if serving) that values arrived just now: once a batch.
    fn arrived(&self) {
        if let Some(board) = &self.board {
            board.lock().last_arrival = Some(Instant::now());
        }
    }

    /// Keeps `u` for the writer; while the reader is behind, in place of an older value of
    /// the same symbol (which is then dropped).
    fn hold(&mut self, u: Update) {
        if !self.behind {
            self.held.push(u);
            return;
        }
        // Behind: one line per symbol (the index is built when the reader falls behind).
        if self.held_at.is_empty() {
            let mut kept: Vec<Update> = Vec::with_capacity(self.held.len());
            for held in self.held.drain(..) {
                match self.held_at.get(&held.symbol) {
                    Some(&i) => {
                        kept[i] = held;
                        self.overtaken += 1;
                    }
                    None => {
                        self.held_at.insert(held.symbol.clone(), kept.len());
                        kept.push(held);
                    }
                }
            }
            self.held = kept;
        }
        match self.held_at.get(&u.symbol) {
            Some(&i) => {
                self.held[i] = u;
                self.overtaken += 1;
            }
            None => {
                self.held_at.insert(u.symbol.clone(), self.held.len());
                self.held.push(u);
            }
        }
    }

    /// Offers the held lines to the writer (true if there were any); they stay held if the
    /// reader is behind.
    fn hand_over(&mut self, sink: &mut Sink) -> io::Result<bool> {
        if self.held.is_empty() && self.gaps.is_empty() && self.backfilled.is_empty() {
            return Ok(false);
        }
        let mut chunk = Vec::with_capacity(self.held.len() * 160);
        for g in &self.gaps {
            gap_line(g, &mut chunk)?;
        }
        for (symbol, c) in &self.backfilled {
            output::backfill_line(symbol, c, &mut chunk)?;
        }
        for u in &self.held {
            output::update_line(self.format, u, self.kind, &mut chunk)?;
        }
        self.behind = sink.offer(chunk)?.is_some();
        if !self.behind {
            self.gaps.clear();
            self.backfill_count += self.backfilled.len() as u64;
            self.backfilled.clear();
            self.held.clear();
            self.held_at.clear();
        }
        Ok(true)
    }

    /// Says, at most once a second, that the reader is behind and how much was dropped.
    fn say_behind(&mut self) {
        let now = Instant::now();
        let (last, before) = self.said.unwrap_or((now - Duration::from_secs(2), 0));
        if self.overtaken > before && now - last >= Duration::from_secs(1) {
            tracing::warn!(
                "the output is behind the stream: {} dropped so far (the latest value of each \
                 symbol is kept)",
                plural(self.overtaken, "update", "updates")
            );
            self.said = Some((now, self.overtaken));
        }
    }

    /// Offers a frame of the live table; false if the reader is behind (the frame is skipped).
    fn draw(&mut self, sink: &mut Sink) -> io::Result<bool> {
        let rows: Vec<output::LiveRow<'_>> = self
            .order
            .iter()
            .filter_map(|s| {
                let slot = self.latest.get(s).filter(|slot| slot.seen)?;
                Some(output::LiveRow {
                    symbol: s,
                    values: Some(&slot.values),
                    change: slot.change.clone(),
                })
            })
            .collect();
        let title = format!(
            "live · {} updates · {} reconnects · Ctrl-C to stop",
            self.updates, self.reconnects
        );
        let mut frame = Vec::with_capacity(4096);
        output::live_table(&title, self.kind, &rows, self.config.color, &mut frame)?;
        Ok(sink.offer(frame)?.is_none())
    }
}

/// One ndjson gap record: `{"type":"gap","symbol":…,"from":ms,"to":ms,"from_time":…,
/// "to_time":…,"reconnect":n}`.
fn gap_line(g: &Gap, out: &mut Vec<u8>) -> io::Result<()> {
    writeln!(
        out,
        "{{\"type\":\"gap\",\"symbol\":{},\"from\":{},\"to\":{},\"from_time\":\"{}\",\"to_time\":\"{}\",\"reconnect\":{}}}",
        serde_json::to_string(&g.symbol).unwrap_or_default(),
        g.from_ms,
        g.to_ms,
        crate::clock::rfc3339_millis(g.from_ms),
        crate::clock::rfc3339_millis(g.to_ms),
        g.reconnect
    )
}
