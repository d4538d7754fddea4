//! History: a price at a past moment (`--at`, in `history/at.rs`) and candles over a range
//! (`--from/--to --candles`, here), fetched concurrently under `-c` through the same throttle,
//! ledger, retries and stop as every ticker request ([`Engine::call`]).
//!
//! **Candles**: the range is cut into requests of at most 1,000 candles (split where the
//! zone's offset changes, see [`crate::interval::pieces`]), fetched `-c` at a time (at most
//! [`WINDOW`]) and handed on **in time order as they arrive**: a request that answers early
//! waits for those before it, so at most `-c` answers are held, never the range. Each request's
//! candles are checked against the open times it should have: a missing stretch (a halt,
//! before a listing) is a [`Row::Gap`] with its bounds, merged across requests; an empty candle
//! (no trade, the previous close repeated) is a candle with `trades` 0; a page out of time
//! order is a decode error. A local period that a change of offset makes shorter or longer
//! than Binance's candle is built from the finer candles inside it. A symbol with no candle
//! at all in the range is an error of its own ([`no_candles`]).

mod at;
mod funding;
mod open;
mod request;

pub(crate) use at::{AtAsk, PriceAt, ago, at};
pub(crate) use funding::{FUNDING_PER_MINUTE, FundingAsk, funding};
pub(crate) use open::StillOpen;
pub(crate) use request::PAGE;

use request::{MINUTE_MS, klines};

use std::io;

use futures_util::StreamExt as _;

use crate::error::FetchError;
use crate::fetch::Engine;
use crate::interval::{Interval, Piece, pieces};
use crate::market::{Candle, Offset};

/// The most requests of a range at once, whatever `-c` allows: each answer is 1,000 candles
/// (about 140 KB), held until it is its turn, so the window bounds memory (20 MiB at 32,
/// against 30 at 64 for a year of 1m candles), and 32 already keep ahead of the output.
pub(crate) const WINDOW: usize = 32;

/// Binance's launch, 2017-07-14T00:00:00Z: no candle or trade is older, so no time before it
/// is asked for.
pub(crate) const EARLIEST_MS: i64 = 1_499_990_400_000;

/// What `--candles` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CandleAsk {
    /// Candles that open in [from, to), ms since the epoch.
    pub(crate) from_ms: i64,
    /// See `from_ms`.
    pub(crate) to_ms: i64,
    /// Which candles.
    pub(crate) interval: Interval,
    /// Where days, weeks and months start (`--tz`).
    pub(crate) zone: jiff::tz::TimeZone,
    /// Candles a request asks for (the market's most: spot's 1,000, the futures' 1,500).
    pub(crate) page: u32,
}

/// One request of a range: a symbol's candles opening in [start, end) at one offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// Which symbol (an index into the asked list).
    pub(crate) symbol: usize,
    /// Where its candles open, and the offset they are aligned to.
    pub(crate) piece: Piece,
}

/// The requests a range of candles takes, in output order (symbol by symbol, oldest first);
/// candles cannot open after `now_ms`, so nothing is asked past it.
pub(crate) fn plan(ask: &CandleAsk, symbols: usize, now_ms: i64) -> Vec<Chunk> {
    let to = ask.to_ms.min(now_ms + 1);
    let mut per_symbol = Vec::new();
    for piece in pieces(ask.interval, ask.from_ms, to, &ask.zone) {
        if piece.fine.is_some() {
            per_symbol.push(piece);
            continue;
        }
        let mut start = piece.start;
        while start < piece.end {
            let end = match ask.interval.length_ms() {
                Some(len) => (start + i64::from(ask.page) * len).min(piece.end),
                None => {
                    let mut o = start;
                    for _ in 0..ask.page {
                        o = ask.interval.next(o, piece.offset);
                        if o >= piece.end {
                            break;
                        }
                    }
                    o.min(piece.end)
                }
            };
            per_symbol.push(Piece {
                start,
                end,
                offset: piece.offset,
                fine: None,
            });
            start = end;
        }
    }
    (0..symbols)
        .flat_map(|symbol| per_symbol.iter().map(move |&piece| Chunk { symbol, piece }))
        .collect()
}

/// The requests `plan` takes: one a chunk, and a built period's pages of finer candles.
pub(crate) fn requests(plan: &[Chunk]) -> usize {
    plan.iter()
        .map(|c| match c.piece.fine.and_then(Interval::length_ms) {
            Some(len) => (((c.piece.end - c.piece.start) / len) as usize).div_ceil(PAGE as usize),
            None => 1,
        })
        .sum()
}

/// The request weight of `requests` requests of `page` candles in `market`.
pub(crate) fn weight(requests: usize, (market, page): (crate::market::Market, u32)) -> u64 {
    requests as u64 * u64::from(market.klines_weight(page))
}

/// What the candles of a range are handed on as, in order.
#[derive(Debug)]
pub(crate) enum Row<'a> {
    /// A candle of `symbol`.
    Candle(&'a str, &'a Candle),
    /// Open times in [from, to) of `symbol` have no candle at Binance (a halt, or before the
    /// first trade when `leading`).
    Gap {
        /// Whose.
        symbol: &'a str,
        /// The first missing open time, ms.
        from: i64,
        /// The next open time with a candle (or the range's end), ms.
        to: i64,
        /// The gap starts the range: the pair had not traded yet (or was halted).
        leading: bool,
    },
}

/// How a range went: candles handed on, and per symbol the failure that ended it, if any.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    /// Candles handed on.
    pub(crate) candles: u64,
    /// Missing stretches handed on.
    pub(crate) gaps: u64,
    /// Per asked symbol, the error that stopped its candles (the others stay).
    pub(crate) failed: Vec<Option<FetchError>>,
    /// Per asked symbol, the candles handed on.
    pub(crate) per_symbol: Vec<u64>,
}

/// Fetches `plan`'s requests `-c` at a time and hands every candle and gap to `on_row` in
/// order; `on_request` is told of each answered request, with the candles handed on before it
/// (a progress bar).
pub(crate) async fn candles(
    engine: &Engine,
    symbols: &[String],
    ask: &CandleAsk,
    plan: Vec<Chunk>,
    on_row: &mut dyn FnMut(Row<'_>) -> io::Result<()>,
    on_request: &mut dyn FnMut(u64),
) -> io::Result<Fetched> {
    let interval = ask.interval;
    let answers = futures_util::stream::iter(plan.into_iter().map(|chunk| {
        let symbol = &symbols[chunk.symbol];
        async move {
            let p = chunk.piece;
            let result = match p.fine {
                Some(fine) => built(engine, symbol, interval, p, fine).await,
                None => chunk_candles(engine, symbol, interval, p).await,
            };
            (chunk, result)
        }
    }))
    .buffered(engine.concurrency().clamp(1, WINDOW));
    tokio::pin!(answers);
    let mut walk = Walk::new(symbols, ask);
    while let Some((chunk, result)) = answers.next().await {
        on_request(walk.fetched.candles);
        walk.symbol(chunk.symbol, on_row)?;
        if walk.fetched.failed[chunk.symbol].is_some() {
            continue;
        }
        match result {
            Ok(answer) => walk.hand_on(chunk, answer, on_row)?,
            Err(e) => {
                walk.fetched.failed[chunk.symbol] = Some(e);
                walk.gap_from = None;
            }
        }
    }
    walk.symbol(usize::MAX, on_row)?;
    Ok(walk.fetched)
}

/// The walk through a range's answers, in order: what has been handed on, and where the
/// symbol being handed on stands.
struct Walk<'s> {
    symbols: &'s [String],
    interval: Interval,
    now: i64,
    fetched: Fetched,
    /// The symbol being handed on.
    current: Option<usize>,
    /// The open time of its first missing candle, if a gap is open.
    gap_from: Option<i64>,
    /// Whether it has had a candle yet (a gap before the first leads).
    seen_any: bool,
    /// The end of its last answered piece.
    range_end: i64,
}

impl<'s> Walk<'s> {
    fn new(symbols: &'s [String], ask: &CandleAsk) -> Self {
        Self {
            symbols,
            interval: ask.interval,
            now: crate::clock::unix_ms() as i64,
            fetched: Fetched {
                failed: vec![None; symbols.len()],
                per_symbol: vec![0; symbols.len()],
                ..Fetched::default()
            },
            current: None,
            gap_from: None,
            seen_any: false,
            range_end: ask.from_ms,
        }
    }

    /// Moves on to `symbol` (or past the last, `usize::MAX`): the previous one's open gap runs
    /// to the end of its range.
    fn symbol(
        &mut self,
        symbol: usize,
        on_row: &mut dyn FnMut(Row<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.current == Some(symbol) {
            return Ok(());
        }
        if let (Some(prev), Some(from)) = (self.current, self.gap_from.take()) {
            let to = self.range_end.min(self.now);
            let leading = !self.seen_any;
            gap(
                &mut self.fetched,
                on_row,
                &self.symbols[prev],
                (from, to),
                leading,
            )?;
        }
        self.current = Some(symbol);
        self.seen_any = false;
        Ok(())
    }

    /// One answer's candles, matched against the open times its piece should have: each
    /// candle handed on, each missing stretch opened as a gap (closed by the next candle).
    fn hand_on(
        &mut self,
        chunk: Chunk,
        Answer { rows, inner_gaps }: Answer,
        on_row: &mut dyn FnMut(Row<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        let symbol = &self.symbols[chunk.symbol];
        let p = chunk.piece;
        self.range_end = p.end;
        let mut rows = rows
            .iter()
            .filter(|c| c.open_ms >= p.start && c.open_ms < p.end)
            .peekable();
        let mut open = p.start;
        while open < p.end && open <= self.now {
            // A candle whose open time is not one this range expects is skipped.
            while rows.peek().is_some_and(|c| c.open_ms < open) {
                rows.next();
            }
            match rows.next_if(|c| c.open_ms == open) {
                Some(c) => {
                    if let Some(from) = self.gap_from.take() {
                        gap(
                            &mut self.fetched,
                            on_row,
                            symbol,
                            (from, open),
                            !self.seen_any,
                        )?;
                    }
                    self.seen_any = true;
                    self.fetched.candles += 1;
                    self.fetched.per_symbol[chunk.symbol] += 1;
                    on_row(Row::Candle(symbol, c))?;
                    for &stretch in &inner_gaps {
                        gap(&mut self.fetched, on_row, symbol, stretch, false)?;
                    }
                }
                None => {
                    self.gap_from.get_or_insert(open);
                }
            }
            open = match p.fine {
                Some(_) => p.end,
                None => self.interval.next(open, p.offset),
            };
        }
        Ok(())
    }
}

/// What one request of a range (or one built period) answers: its candles, and for a built
/// period the stretches inside it that had no finer candle.
struct Answer {
    rows: Vec<Candle>,
    inner_gaps: Vec<(i64, i64)>,
}

/// The candles of one piece of a range, as Binance sends them at the piece's offset.
async fn chunk_candles(
    engine: &Engine,
    symbol: &str,
    interval: Interval,
    p: Piece,
) -> Result<Answer, FetchError> {
    // (The futures take no timeZone: their candles are asked only where UTC's open.)
    let zone = (p.offset != 0 && !engine.market().futures())
        .then(|| Offset((p.offset / MINUTE_MS) as i16).param());
    let rows = klines(
        engine,
        symbol,
        interval.name(),
        (Some(p.start), p.end - 1),
        zone.as_deref(),
    )
    .await?;
    Ok(Answer {
        rows: in_time_order(symbol, rows)?,
        inner_gaps: Vec::new(),
    })
}

/// `rows` if their open times rise, as Binance sends them; a page in another order is not
/// read as gaps (a halt) but said to be wrong.
fn in_time_order(symbol: &str, rows: Vec<Candle>) -> Result<Vec<Candle>, FetchError> {
    match rows.windows(2).find(|w| w[0].open_ms >= w[1].open_ms) {
        None => Ok(rows),
        Some(w) => Err(FetchError::Decode {
            status: 200,
            detail: format!(
                "{symbol}'s candles are not in time order: {} after {}",
                crate::clock::rfc3339_millis(w[1].open_ms.max(0) as u64),
                crate::clock::rfc3339_millis(w[0].open_ms.max(0) as u64)
            ),
        }),
    }
}

/// One local period that a change of offset made shorter or longer than Binance's candle,
/// built from the `fine` candles inside it: the open of the first, the close of the last, the
/// highest high and lowest low, volumes and trades summed, exactly. None inside it: no candle.
async fn built(
    engine: &Engine,
    symbol: &str,
    interval: Interval,
    p: Piece,
    fine: Interval,
) -> Result<Answer, FetchError> {
    let parts = range(engine, symbol, fine, (p.start, p.end)).await?;
    let len = fine.length_ms().unwrap_or(MINUTE_MS);
    let inner_gaps = match parts.is_empty() {
        true => Vec::new(),
        false => uncovered((p.start, p.end), len, &parts),
    };
    let rows = match combine(&parts, p.start, p.end - 1) {
        Some(candle) => vec![candle],
        None if parts.is_empty() => Vec::new(),
        None => {
            return Err(FetchError::Decode {
                status: 200,
                detail: format!(
                    "{symbol}'s {} candles for its {} period from {} are not decimals",
                    fine.name(),
                    interval.name(),
                    crate::clock::rfc3339_millis(p.start.max(0) as u64)
                ),
            });
        }
    };
    Ok(Answer { rows, inner_gaps })
}

/// `parts` (in time order) as one candle opening at `open_ms` and closing at `close_ms`.
pub(crate) fn combine(parts: &[Candle], open_ms: i64, close_ms: i64) -> Option<Candle> {
    let first = parts.first()?.values();
    let last = parts.last()?.values();
    let extreme = |i: usize, keep: std::cmp::Ordering| {
        parts
            .iter()
            .map(|c| c.values()[i])
            .try_fold(first[i], |best, v| {
                Some(if crate::decimal::compare(v, best)? == keep {
                    v
                } else {
                    best
                })
            })
    };
    let high = extreme(1, std::cmp::Ordering::Greater)?;
    let low = extreme(2, std::cmp::Ordering::Less)?;
    let volume = crate::decimal::sum(parts.iter().map(|c| c.values()[4]))?;
    let quote_volume = crate::decimal::sum(parts.iter().map(|c| c.values()[5]))?;
    let trades = parts.iter().map(|c| c.trades).sum();
    Some(Candle::new(
        open_ms,
        [first[0], high, low, last[3], &volume, &quote_volume],
        trades,
        close_ms,
    ))
}

/// Every `interval` candle that opens in [start, end), oldest first, 1,000 a request; rows
/// outside the asked page are not used.
async fn range(
    engine: &Engine,
    symbol: &str,
    interval: Interval,
    (start, end): (i64, i64),
) -> Result<Vec<Candle>, FetchError> {
    let len = interval.length_ms().unwrap_or(MINUTE_MS);
    let mut rows = Vec::new();
    let mut at = start;
    while at < end {
        let until = (at + i64::from(PAGE) * len).min(end);
        let page = klines(engine, symbol, interval.name(), (Some(at), until - 1), None).await?;
        let page = in_time_order(symbol, page)?;
        rows.extend(
            page.into_iter()
                .filter(|c| c.open_ms >= at && c.open_ms < until),
        );
        at = until;
    }
    Ok(rows)
}

/// Hands on `symbol`'s missing stretch [from, to), if it is not empty, and counts it.
fn gap(
    fetched: &mut Fetched,
    on_row: &mut dyn FnMut(Row<'_>) -> io::Result<()>,
    symbol: &str,
    (from, to): (i64, i64),
    leading: bool,
) -> io::Result<()> {
    if from < to {
        fetched.gaps += 1;
        on_row(Row::Gap {
            symbol,
            from,
            to,
            leading,
        })?;
    }
    Ok(())
}

/// The longest gap `--backfill` fills: an hour of 1s candles, four requests.
pub(crate) const LONGEST_BACKFILL_MS: i64 = 3_600_000;

/// What `--backfill` found for a gap.
#[derive(Debug)]
pub(crate) struct Backfill {
    /// The 1s candles inside the gap, oldest first, each second once.
    pub(crate) candles: Vec<Candle>,
    /// The stretches of the gap, [from, to) ms, that no candle fills (a halt, or what lies
    /// before the last hour of a longer gap).
    pub(crate) unfilled: Vec<(i64, i64)>,
}

/// `--backfill`: the 1s candles that open strictly between the seconds of `from_ms` and
/// `to_ms` (a stream's last update before a gap and its first after), oldest first; a gap
/// longer than [`LONGEST_BACKFILL_MS`] is filled for its last hour only.
pub(crate) async fn backfill(
    engine: &Engine,
    symbol: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Backfill, FetchError> {
    let second = 1000;
    let end = to_ms - to_ms.rem_euclid(second);
    let first = from_ms - from_ms.rem_euclid(second) + second;
    let start = first.max(end - LONGEST_BACKFILL_MS);
    let one_second =
        Interval::parse("1s").map_err(|detail| FetchError::Decode { status: 0, detail })?;
    let candles = range(engine, symbol, one_second, (start, end)).await?;
    let unfilled = uncovered((first, end), second, &candles);
    Ok(Backfill { candles, unfilled })
}

/// The stretches of [from, to) that no candle of length `step` in `candles` (in time order)
/// covers.
fn uncovered((from, to): (i64, i64), step: i64, candles: &[Candle]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut expected = from;
    for c in candles {
        if c.open_ms > expected {
            out.push((expected, c.open_ms.min(to)));
        }
        expected = expected.max(c.open_ms + step);
    }
    if expected < to {
        out.push((expected, to));
    }
    out
}

/// Why `symbol` has no candle at all in the asked range: not listed yet (naming its first
/// trade), or none in it (a halt, or delisted). An error of its own, never an empty success.
pub(crate) async fn no_candles(engine: &Engine, symbol: &str, ask: &CandleAsk) -> FetchError {
    let range = format!(
        "no {} candle from {} to {}",
        ask.interval.name(),
        crate::clock::rfc3339_millis(ask.from_ms.max(0) as u64),
        crate::clock::rfc3339_millis(ask.to_ms.max(0) as u64)
    );
    let detail = match at::first_trade(engine, symbol).await {
        Err(e) => return e,
        Ok(Some(t)) if t.time_ms >= ask.to_ms => format!(
            "{range}: it was not listed yet; first traded {}",
            crate::clock::rfc3339_millis(t.time_ms.max(0) as u64)
        ),
        Ok(Some(_)) => format!("{range}: Binance has none in it (a halt)"),
        Ok(None) => format!("{range}: it has never traded"),
    };
    FetchError::NoTrade {
        symbol: symbol.to_owned(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Market;

    #[test]
    fn the_stretches_no_candle_covers_are_found() {
        let c = |open: i64| Candle::new(open, ["1", "1", "1", "1", "0", "0"], 0, open + 999);
        let candles = [c(2000), c(3000), c(6000)];
        assert_eq!(
            uncovered((1000, 8000), 1000, &candles),
            [(1000, 2000), (4000, 6000), (7000, 8000)]
        );
        assert_eq!(uncovered((2000, 4000), 1000, &candles[..2]), []);
        assert_eq!(uncovered((0, 3000), 1000, &[]), [(0, 3000)]);
    }

    #[test]
    fn a_range_is_cut_into_requests_of_a_page_of_candles_per_symbol() {
        let ask = CandleAsk {
            from_ms: 0,
            to_ms: 2_500 * MINUTE_MS,
            interval: Interval::parse("1m").unwrap(),
            zone: jiff::tz::TimeZone::UTC,
            page: 1000,
        };
        let p = plan(&ask, 2, i64::MAX / 2);
        assert_eq!(p.len(), 6);
        assert_eq!(p[0].piece.start, 0);
        assert_eq!(p[0].piece.end, 1000 * MINUTE_MS);
        assert_eq!(p[2].piece.end, 2_500 * MINUTE_MS);
        assert_eq!((p[3].symbol, p[3].piece.start), (1, 0));
        // Nothing is asked past now.
        assert_eq!(plan(&ask, 1, 10 * MINUTE_MS).len(), 1);
        // A year of 1m candles: 526 requests.
        let year = CandleAsk {
            to_ms: 365 * 1440 * MINUTE_MS,
            ..ask
        };
        assert_eq!(plan(&year, 1, i64::MAX / 2).len(), 526);
        assert_eq!(weight(526, (Market::Spot, 1000)), 1052);
        // On the futures, 1,500 a request, weighing 10 each.
        let futures = CandleAsk { page: 1500, ..year };
        assert_eq!(plan(&futures, 1, i64::MAX / 2).len(), 351);
        assert_eq!(weight(351, (Market::Usdm, 1500)), 3510);
    }
}
