//! `--at`, `--lookback`, `--from`, `--to`, `--candles` and `--tz`, lowered into [`History`]:
//! every time read, every bad value and every range too costly refused here, before anything
//! is sent.

use std::time::Duration;

use crate::cli::Cli;
use crate::config::History;
use crate::error::UsageError;
use crate::history::{AtAsk, CandleAsk, EARLIEST_MS, plan, weight};
use crate::interval::Interval;
use crate::output::Format;

/// The longest `--lookback`: a week of 1m candles is eleven requests.
const LONGEST_LOOKBACK: Duration = Duration::from_secs(7 * 24 * 3600);

impl Cli {
    /// Whether history (`--at`, `--candles`) was asked for.
    pub(super) fn wants_history(&self) -> bool {
        self.history.at.is_some() || self.history.candles.is_some() || self.history.funding
    }

    /// History, if asked for, checked against the rest of the command line.
    pub(super) fn history(
        &self,
        symbols: usize,
        format: Format,
    ) -> Result<Option<History>, UsageError> {
        if self.history.from.is_some() && !self.wants_history() {
            return Err(UsageError(
                "--from starts a range: add --candles INTERVAL (or --funding on the futures)"
                    .into(),
            ));
        }
        if !self.wants_history() {
            if format.is_accounting() {
                return Err(UsageError(
                    "-f ledger and -f beancount write prices at past moments: add --at TIME, or \
                     --from TIME --candles INTERVAL"
                        .into(),
                ));
            }
            return Ok(None);
        }
        self.check_history_flags(format)?;
        let zone = match &self.fetch.tz {
            Some(name) => {
                crate::clock::zone(name).map_err(|e| UsageError(format!("invalid --tz: {e}")))?
            }
            None => jiff::tz::TimeZone::UTC,
        };
        let now = crate::clock::unix_ms();
        match &self.history.at {
            Some(text) => self.at(text, symbols, zone, now).map(Some),
            None if self.history.funding => self.funding(format, &zone, now).map(Some),
            None => self.candles(symbols, zone, now).map(Some),
        }
    }

    /// `--funding --from --to`, checked: a range in the past, on a futures market, in a format
    /// for rates.
    fn funding(
        &self,
        format: Format,
        zone: &jiff::tz::TimeZone,
        now: u64,
    ) -> Result<History, UsageError> {
        if !self.market().futures() {
            return Err(UsageError(
                "--funding is the futures' funding rates: add --market usdm (or --market coinm)"
                    .into(),
            ));
        }
        if format.is_accounting() {
            return Err(UsageError(
                "-f ledger and -f beancount write prices; a funding rate is not one: use csv, \
                 json, ndjson, table or plain"
                    .into(),
            ));
        }
        let (from, to) = self.range(zone, now)?;
        Ok(History::Funding(crate::history::FundingAsk {
            from_ms: from,
            to_ms: to,
        }))
    }

    /// The flags history does not go with.
    fn check_history_flags(&self, format: Format) -> Result<(), UsageError> {
        let flag = match (self.history.at.is_some(), self.history.funding) {
            (true, _) => "--at",
            (_, true) => "--funding",
            _ => "--candles",
        };
        let others = [
            (self.stream, "--stream"),
            (self.watch.is_some(), "--watch"),
            (self.compare, "--compare"),
            (self.sync, "--sync"),
            (self.all, "--all"),
            (self.live.until.is_some(), "--until"),
            (self.live.count.is_some(), "--count"),
            (self.fetch.window.is_some(), "--window"),
        ];
        if let Some((_, other)) = others.iter().find(|(set, _)| *set) {
            return Err(UsageError(format!(
                "{flag} asks Binance's history, which {other} does not go with"
            )));
        }
        if self.ticker != super::super::TickerChoice::Price {
            return Err(UsageError(format!(
                "{flag} gives traded prices (and candles): leave out --ticker"
            )));
        }
        if format == Format::Openmetrics {
            return Err(UsageError(format!(
                "-f openmetrics is for current prices; {flag} writes table, plain, csv, json, \
                 ndjson, ledger or beancount"
            )));
        }
        Ok(())
    }

    /// `--at TEXT`, checked: a moment in the past, a lookback, a weight the run allows.
    fn at(
        &self,
        text: &str,
        symbols: usize,
        zone: jiff::tz::TimeZone,
        now: u64,
    ) -> Result<History, UsageError> {
        let h = &self.history;
        let at = time(text, "--at", &zone, now)?;
        if at > now as i64 {
            return Err(UsageError(format!(
                "--at {text} is {}, in the future",
                written(at)
            )));
        }
        if h.lookback.is_zero() || h.lookback > LONGEST_LOOKBACK {
            return Err(UsageError(format!(
                "--lookback {} is not between 1ms and 7d",
                crate::text::span(h.lookback)
            )));
        }
        let max_weight = u64::from(self.limits.max_weight);
        // --in: an asset's route has up to two legs, each asked.
        let legs = if self.target.is_some() { 2 } else { 1 };
        let each = self.market().agg_trades_weight();
        let estimate = legs * symbols as u64 * u64::from(each);
        if estimate > max_weight {
            return Err(UsageError(format!(
                "--at for {symbols} symbols costs at least {estimate} request weight, over \
                 --max-weight {max_weight}; pass --max-weight {estimate} to allow it"
            )));
        }
        Ok(History::At {
            ask: AtAsk {
                at_ms: at,
                lookback_ms: i64::try_from(h.lookback.as_millis()).unwrap_or(i64::MAX),
            },
            zone,
            // Set with --in, by the caller that lowered it.
            convert: None,
        })
    }

    /// `--candles INTERVAL --from --to`, checked: a range in the past that some candle opens
    /// in, at a weight the run allows.
    fn candles(
        &self,
        symbols: usize,
        zone: jiff::tz::TimeZone,
        now: u64,
    ) -> Result<History, UsageError> {
        let h = &self.history;
        let interval = Interval::parse(h.candles.as_deref().unwrap_or_default())
            .map_err(|e| UsageError(format!("invalid --candles: {e}")))?;
        if self.market().futures() && interval.name() == "1s" {
            return Err(UsageError(format!(
                "--candles 1s: Binance's {} market has no 1-second candles (its shortest are 1m)",
                self.market().name()
            )));
        }
        let (from, to) = self.range(&zone, now)?;
        let ask = CandleAsk {
            from_ms: from,
            to_ms: to,
            interval,
            zone,
            page: self.market().klines_page(),
        };
        if self.market().futures() && !opens_as_in_utc(&ask) {
            return Err(UsageError(format!(
                "--candles {} in --tz {}: the futures' candles open in UTC (their klines take \
                 no timeZone, so far pricefetch does not build them from hours): add --tz UTC, \
                 or ask 1h candles or shorter",
                interval.name(),
                self.fetch.tz.as_deref().unwrap_or("UTC")
            )));
        }
        // --in: an asset's route has up to two legs, each asked, and held to be aligned.
        let legs = if self.target.is_some() {
            2 * symbols
        } else {
            symbols
        };
        let requests = crate::history::requests(&plan(&ask, legs, now as i64));
        if self.target.is_some() && requests > crate::convert::candles::MOST_LEG_REQUESTS {
            return Err(UsageError(format!(
                "--in with --candles holds its legs' candles to align them: this range is up to \
                 {requests} requests of {} candles, over {}; ask a longer interval or a \
                 shorter range",
                page_words(ask.page),
                crate::convert::candles::MOST_LEG_REQUESTS
            )));
        }
        self.check_range_cost(&ask, legs, now)?;
        Ok(History::Candles { ask, convert: None })
    }

    /// `--from` and `--to` (default: now), read in `zone`: a range that is not empty and
    /// starts in the past.
    fn range(&self, zone: &jiff::tz::TimeZone, now: u64) -> Result<(i64, i64), UsageError> {
        let h = &self.history;
        let from_text = h.from.as_deref().unwrap_or_default();
        let from = time(from_text, "--from", zone, now)?;
        let to = match &h.to {
            Some(text) => time(text, "--to", zone, now)?,
            None => now as i64,
        };
        if from >= to {
            return Err(UsageError(format!(
                "--from {from_text} ({}) is not before --to {} ({}): the range is empty",
                written(from),
                h.to.as_deref().unwrap_or("now"),
                written(to)
            )));
        }
        if from > now as i64 {
            return Err(UsageError(format!(
                "--from {from_text} is {}, in the future",
                written(from)
            )));
        }
        Ok((from, to))
    }

    /// A range that no candle opens in, or that costs more than the run allows, is refused.
    fn check_range_cost(
        &self,
        ask: &CandleAsk,
        symbols: usize,
        now: u64,
    ) -> Result<(), UsageError> {
        let requests = crate::history::requests(&plan(ask, symbols, now as i64));
        if requests == 0 {
            return Err(UsageError(format!(
                "no {} candle opens between --from {} and --to {} (candles open on the \
                 interval's boundaries in --tz): widen the range",
                ask.interval.name(),
                written(ask.from_ms),
                written(ask.to_ms)
            )));
        }
        let cost = weight(requests, (self.market(), ask.page));
        let max_weight = u64::from(self.limits.max_weight);
        if cost > max_weight {
            return Err(UsageError(format!(
                "the range takes {requests} requests of {} candles (request weight {cost}), \
                 over --max-weight {max_weight}; Binance allows {} a minute per IP. Pass \
                 --max-weight {cost} to allow it (it is paced by the shared budget)",
                page_words(ask.page),
                self.weight_limit()
            )));
        }
        Ok(())
    }
}

/// A moment as `flag` takes it, in ms; before Binance's first trades is refused.
fn time(text: &str, flag: &str, zone: &jiff::tz::TimeZone, now: u64) -> Result<i64, UsageError> {
    let t = crate::clock::parse_time(text, zone, now)
        .map_err(|e| UsageError(format!("invalid {flag}: {e}")))?;
    if t < EARLIEST_MS {
        return Err(UsageError(format!(
            "{flag} {text} is {}, before Binance's first trades: the earliest time is {}",
            jiff::Timestamp::from_millisecond(t)
                .map_or_else(|_| "out of range".to_owned(), |t| t.to_string()),
            crate::clock::rfc3339_millis(EARLIEST_MS as u64)
        )));
    }
    Ok(t)
}

/// `ms` as RFC 3339 with milliseconds, for messages.
fn written(ms: i64) -> String {
    crate::clock::rfc3339_millis(ms.max(0) as u64)
}

/// Whether every candle of the range opens where UTC's do (as the futures' klines give them).
fn opens_as_in_utc(ask: &CandleAsk) -> bool {
    crate::interval::pieces(ask.interval, ask.from_ms, ask.to_ms, &ask.zone)
        .iter()
        .all(|p| p.fine.is_none() && ask.interval.first_from(p.start, 0) == p.start)
}

/// A page of candles as people write it: `1,000`, `1,500`.
fn page_words(page: u32) -> String {
    match page {
        1000.. => format!("{},{:03}", page / 1000, page % 1000),
        _ => page.to_string(),
    }
}
