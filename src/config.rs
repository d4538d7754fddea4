//! A validated run: the settings every engine, live run and renderer reads, as data only.
//!
//! [`Config`] is made once, at the top, by lowering the flags (`cli::lower`); nothing below
//! the application layer sees a flag. Each part an engine needs is its own struct, owned by the
//! module that uses it ([`HttpSettings`] by `binance`, [`Limits`] by `throttle`, [`Ask`] by
//! `fetch`), so this file only gathers them.

use std::time::Duration;

use url::Url;

use crate::binance::HttpSettings;
use crate::convert::Convert;
use crate::fetch::Ask;
use crate::history::{AtAsk, CandleAsk};
use crate::outcome::Mode;
use crate::output::Format;
use crate::retry::RetryPolicy;
use crate::throttle::Limits;
use crate::until::Until;

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// One concurrent round.
    Async,
    /// One sequential round.
    Sync,
    /// `--compare`: both modes, interleaved.
    Compare {
        /// Measured rounds per mode.
        runs: u32,
        /// Unmeasured rounds per mode first.
        warmup: u32,
    },
}

impl Plan {
    /// Rounds over the symbol list the plan runs: every round of both modes for a comparison.
    pub(crate) fn rounds(self) -> u64 {
        match self {
            Self::Async | Self::Sync => 1,
            Self::Compare { runs, warmup } => 2 * u64::from(runs + warmup),
        }
    }

    /// How a single round of this plan is scheduled (a comparison runs both).
    pub(crate) fn mode(self) -> Mode {
        if self == Self::Sync {
            Mode::Sync
        } else {
            Mode::Async
        }
    }
}

/// A validated run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Normalised, de-duplicated, in first-seen order; never empty.
    pub(crate) symbols: Vec<String>,
    /// How the HTTP client is built.
    pub(crate) http: HttpSettings,
    /// Retries and backoff.
    pub(crate) retry: RetryPolicy,
    /// The rate-limit settings.
    pub(crate) limits: Limits,
    /// The weight limit is the market's own, from its `exchangeInfo` (a futures market without
    /// `--weight-limit`); `limits` holds the default until it is known.
    pub(crate) limit_from_exchange: bool,
    /// A limit for the whole run.
    pub(crate) deadline: Option<Duration>,
    /// What kind of run, with the settings only that kind has.
    pub(crate) run: Run,
    /// The directory of the host's shared rate-limit ledger; `None` with `--no-shared-state`
    /// (or when the platform has no such directory).
    pub(crate) state_dir: Option<std::path::PathBuf>,
    /// The concurrency cap for async rounds.
    pub(crate) concurrency: usize,
    /// Which endpoint, how symbols are grouped, which market symbols to keep.
    pub(crate) ask: Ask,
    /// Output format, resolved against the terminal.
    pub(crate) format: Format,
    /// `--no-header`: csv without its header row (for appending to a log).
    pub(crate) header: bool,
    /// `-o FILE`: the data goes there, replaced whole, instead of to stdout.
    pub(crate) output: Option<std::path::PathBuf>,
    /// `--append`: added to the end of `output` instead.
    pub(crate) append: bool,
    /// `--commodity` and the config file's `[commodity]` table: the names `-f ledger` and
    /// `-f beancount` write for assets.
    pub(crate) commodities: crate::commodity::Mapping,
    /// Colour on stdout (table header, compare verdict).
    pub(crate) color: bool,
    /// Colour on stderr (failures, hints, logs).
    pub(crate) stderr_color: bool,
    /// Whether a progress bar may be drawn on stderr (a terminal, not quiet).
    pub(crate) progress: bool,
    /// -1 or less: quieter; 0: default; 1 or more: more detail.
    pub(crate) verbosity: i8,
}

/// The kind of run: each mode with what only it has, so that a combination that makes no sense
/// cannot be written down. The lowering builds it once; `run::run` dispatches it with one
/// `match`.
#[derive(Debug, Clone)]
pub(crate) enum Run {
    /// Current prices, once: a round, `--sync`, or `--compare`'s rounds; with `--in`, assets
    /// priced through Binance's pairs.
    Once {
        /// One round (async or sync) or a comparison.
        plan: Plan,
        /// `--in`: the symbols are assets, priced in this one.
        convert: Option<Convert>,
    },
    /// `--watch`: a round every `every`.
    Watch {
        /// `--watch`: refresh every this long.
        every: Duration,
        /// `--sync`: each refresh's requests one after another.
        mode: Mode,
        /// `--count`, `--until`.
        end: Ending,
    },
    /// `--stream`: Binance's WebSocket streams.
    Stream {
        /// Where and how.
        settings: StreamSettings,
        /// `--count`, `--until`.
        end: Ending,
    },
    /// `--at` or `--from/--to --candles`: history instead of current prices.
    History(History),
}

/// What ends a live run besides a signal or `--deadline`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ending {
    /// `--count`: stop after this many refreshes (or streamed updates).
    pub(crate) count: Option<u64>,
    /// `--until`: stop when a price meets one of these.
    pub(crate) until: Option<Until>,
}

impl Config {
    /// `--in`'s settings, when the run prices assets.
    pub fn convert(&self) -> Option<&Convert> {
        match &self.run {
            Run::Once { convert, .. } => convert.as_ref(),
            _ => None,
        }
    }
}

/// What history a run asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum History {
    /// `--at`: each symbol's last trade at or before a moment; dates in `zone` (`--tz`).
    At {
        /// The moment and the lookback.
        ask: AtAsk,
        /// Where ledger and beancount dates are written.
        zone: jiff::tz::TimeZone,
        /// `--in`: the arguments are assets, priced in another by legs at the moment.
        convert: Option<Convert>,
    },
    /// `--funding --from/--to`: the futures' funding rates over a range.
    Funding(crate::history::FundingAsk),
    /// `--from/--to --candles`: candles over a range.
    Candles {
        /// The range and the interval.
        ask: CandleAsk,
        /// `--in`: the arguments are assets, their candles made of their legs'.
        convert: Option<Convert>,
    },
}

/// Where and how to stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamSettings {
    /// `--stream-url`.
    pub(crate) url: Url,
    /// Hosts a failing connection moves to, in turn.
    pub(crate) mirrors: Vec<Url>,
    /// `--stale`: replace a connection silent for this long.
    pub(crate) stale: Duration,
    /// `--stream-rollover`: replace a connection after this long.
    pub(crate) rollover: Duration,
    /// `--serve`: where the exporter listens (nothing is printed then).
    pub(crate) serve: Option<std::net::SocketAddr>,
    /// `--backfill`: fill each reconnect's gap with Binance's 1s candles (ndjson).
    pub(crate) backfill: bool,
}

/// What the process is attached to, which decides format, colour and progress defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    /// stdout is a terminal (table by default, else plain).
    pub(crate) stdout_tty: bool,
    /// stderr is a terminal (progress bar allowed).
    pub(crate) stderr_tty: bool,
    /// Colour on stdout.
    pub(crate) stdout_color: bool,
    /// Colour on stderr.
    pub stderr_color: bool,
}
