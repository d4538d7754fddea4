//! The command line: every flag, its help, its default and its environment variable, at the
//! top of the house.
//!
//! Doc comments are the help text (first line short help, the rest `--help` only); defaults live
//! in clap attributes so `--help` cannot drift from the code. The flags of each help heading are
//! one flattened struct ([`FetchArgs`] for "Fetching", …). Values a type can check are checked
//! by clap ([`values`]); checks that need several flags, files or the terminal are made once, in
//! [`lower`], which turns a [`Cli`] into the [`Config`](crate::config::Config) the rest reads.
//! The config file is [`file`](mod@file), completions, man page and `--show-config` are [`shell`].

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser};

use crate::output::Format;
use args::{
    ConfigArgs, FetchArgs, HistoryArgs, InputArgs, LiveArgs, NetworkArgs, OutputArgs,
    RateLimitArgs, ShellArgs,
};
use help::after_long_help;
use values::{at_least_one, parse_duration};

/// The version `--version` prints: the crate version, and the git commit when built from git.
pub(crate) const VERSION: &str = env!("PRICEFETCH_VERSION");

/// Fetch crypto prices from Binance Spot, concurrently, fast and safely
///
/// Fetch cryptocurrency prices from the Binance Spot REST API, concurrently, fast and safely.
/// Prices are printed exactly as Binance sends them (strings with 8 decimals). Data goes to
/// stdout; the timing summary, failures and hints go to stderr. Settings come from flags, then
/// PRICEFETCH_* variables, then the config file, then the defaults shown here.
#[derive(Debug, Parser)]
#[command(
    name = "pricefetch",
    version = VERSION,
    after_long_help = after_long_help(),
    max_term_width = 80,
    disable_version_flag = true,
    disable_help_flag = true
)]
pub struct Cli {
    /// Symbols, e.g. BTCUSDT (btcusdt, BTC/USDT and BTC-USDT work too)
    ///
    /// Without symbols (and without --file), the config file's watch-list is fetched.
    #[arg(value_name = "SYMBOL")]
    pub(crate) symbols: Vec<String>,

    /// Read symbols from FILE ('-' = stdin)
    ///
    /// Whitespace or commas between them; '#' starts a comment.
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub(crate) file: Option<PathBuf>,

    /// Every symbol the exchange lists, in one request
    #[arg(long, conflicts_with_all = ["symbols", "file"], display_order = 1)]
    pub(crate) all: bool,

    /// Assets priced in ASSET via Binance's pairs, e.g. EUR
    ///
    /// The arguments are then assets. Each is priced by the direct pair (BTCEUR), else its
    /// inverse (EURBTC, 1/x), else two legs through a hub (ADAUSDT / EURUSDT), trying USDT,
    /// USDC, FDUSD, BTC, BNB, ETH in turn; only trading pairs. Computed in decimal, never
    /// floats, and rounded once, half to even, to 8 decimal places, or to 8 significant digits
    /// where that needs more places; a direct pair is printed as Binance sends it. The pairs
    /// come from exchangeInfo (weight 20), cached for an hour beside the shared ledger. Also set
    /// by PRICEFETCH_IN.
    #[arg(
        id = "in",
        long = "in",
        value_name = "ASSET",
        conflicts_with = "all",
        env = "PRICEFETCH_IN",
        hide_env = true,
        display_order = 2
    )]
    pub(crate) target: Option<String>,

    /// price, 24h, book, avg or day
    ///
    /// price: the last price; 24h: 24-hour change, high, low and volumes; book: the best bid and
    /// ask (bid/ask) with their quantities; avg: the average price over Binance's last 5 minutes (one
    /// symbol a request); day: 24h's fields over the calendar day so far in --tz (UTC by
    /// default). --window gives them over a rolling window instead. Also set by
    /// PRICEFETCH_TICKER.
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        value_name = "KIND",
        hide_possible_values = true,
        default_value = "price",
        env = "PRICEFETCH_TICKER",
        hide_env = true,
        display_order = 5
    )]
    pub(crate) ticker: TickerChoice,

    /// In flight at once [default: 16; 64 for batches]
    ///
    /// A batch carries up to 100 symbols, and Binance limits request weight per minute, not
    /// requests in flight, so batch plans (and --all) keep more in flight: 20,000 symbols at 50 ms
    /// a request took 684 ms at 16, 240 ms at 64. Capped to what the open-file limit allows.
    /// Also set by PRICEFETCH_CONCURRENCY.
    #[arg(
        short = 'c',
        long,
        value_name = "N",
        allow_negative_numbers = true,
        value_parser = at_least_one::<NonZeroUsize>,
        env = "PRICEFETCH_CONCURRENCY",
        hide_env = true,
        display_order = 6
    )]
    pub(crate) concurrency: Option<NonZeroUsize>,

    /// Output: table, plain, csv, json, ndjson, and more
    ///
    /// table, plain, csv, json, ndjson, openmetrics, ledger or beancount. Default: with -o FILE,
    /// the one its extension names; else table on a terminal, plain otherwise. openmetrics (also
    /// prometheus) is Prometheus's text format, for a scraper or node_exporter's textfile
    /// collector; ledger and beancount write price directives for --at and --candles. Also set
    /// by PRICEFETCH_FORMAT.
    #[arg(
        short = 'f',
        long,
        value_enum,
        ignore_case = true,
        value_name = "FORMAT",
        hide_possible_values = true,
        env = "PRICEFETCH_FORMAT",
        hide_env = true,
        display_order = 3
    )]
    pub(crate) format: Option<Format>,

    /// Refresh every INTERVAL: a live table (ndjson piped)
    ///
    /// At least 1s; runs until Ctrl-C or --count.
    #[arg(long, value_name = "INTERVAL", value_parser = parse_duration, allow_hyphen_values = true,
          conflicts_with = "compare", display_order = 9)]
    pub(crate) watch: Option<Duration>,

    /// Live updates from Binance's WebSocket streams
    ///
    /// The current values come first (one REST request, which also checks the symbols), then
    /// every update as it arrives: miniTicker for --ticker price, ticker for 24h, bookTicker for
    /// book; with --all, every pair's mini ticker. A connection that goes silent for --stale is
    /// replaced, one that closes is reopened with backoff, and one nearing Binance's 24-hour limit
    /// is replaced before it ends. A table on a terminal, ndjson when piped.
    #[arg(long, conflicts_with_all = ["watch", "compare", "sync"], display_order = 10)]
    pub(crate) stream: bool,

    /// Time --sync against async: how much faster async is
    #[arg(long, display_order = 8)]
    pub(crate) compare: bool,

    /// More on stderr (-vv: every request)
    ///
    /// -v: retries, waits, request weight, the shared ledger; -vv: every request. RUST_LOG
    /// overrides.
    #[arg(short = 'v', long, action = ArgAction::Count, conflicts_with = "quiet", display_order = 15)]
    pub(crate) verbose: u8,

    /// Less on stderr (-qq: nothing but errors)
    ///
    /// -q: no summary or progress bar (warnings about the data itself, such as a gap in a range,
    /// stay); -qq: no failures, hints or warnings either.
    #[arg(short = 'q', long, action = ArgAction::Count, display_order = 14)]
    pub(crate) quiet: u8,

    /// Print version
    #[arg(short = 'V', long, action = ArgAction::Version, hide_short_help = true)]
    pub(crate) version: Option<bool>,

    /// This help; --help: all options, examples, exit codes
    #[arg(short = 'h', long, action = ArgAction::Help, display_order = 16,
          long_help = "Print help (-h: the main options only)")]
    pub(crate) help: Option<bool>,

    /// Which symbols: the pair status and the whole-market filters.
    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// How the output looks, beyond `-f`.
    #[command(flatten)]
    pub(crate) output: OutputArgs,

    /// One request at a time, each after the last
    #[arg(long, conflicts_with = "compare", help_heading = "Fetching")]
    pub(crate) sync: bool,

    /// How requests are made: grouping, timeouts, retries, the run's limits and comparisons.
    #[command(flatten)]
    pub(crate) fetch: FetchArgs,

    /// How live runs end and keep their connections.
    #[command(flatten)]
    pub(crate) live: LiveArgs,

    /// Prices at past moments: `--at`, candles over a range.
    #[command(flatten)]
    pub(crate) history: HistoryArgs,

    /// Binance's request-weight limit and the ledger shared with the host's other processes.
    #[command(flatten)]
    pub(crate) limits: RateLimitArgs,

    /// Where requests go and through what: hosts, mirrors, certificates, proxies.
    #[command(flatten)]
    pub(crate) network: NetworkArgs,

    /// The config file.
    #[command(flatten)]
    pub(crate) config: ConfigArgs,

    /// Completions and the man page.
    #[command(flatten)]
    pub(crate) shell: ShellArgs,

    /// The config file's watch-list, used when no symbol is given (set by the config file).
    #[arg(skip)]
    pub(crate) watchlist: Option<(Vec<String>, String)>,

    /// `-f` was typed on the command line (not taken from `PRICEFETCH_FORMAT` or the file).
    #[arg(skip)]
    pub(crate) format_typed: bool,
}

impl Cli {
    /// Notes which settings were typed on the command line, from clap's matches: a default
    /// format (the environment's, the file's) does not contradict `--serve`; a typed one does.
    pub fn note_sources(&mut self, matches: &clap::ArgMatches) {
        self.format_typed =
            matches.value_source("format") == Some(clap::parser::ValueSource::CommandLine);
    }
}

/// `--ticker`: which of Binance's tickers (the rolling window is `--window`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TickerChoice {
    /// The last price.
    Price,
    /// Change, high, low and volumes over 24 hours.
    #[value(name = "24h")]
    Day,
    /// The best bid and ask.
    Book,
    /// The average price over the last 5 minutes.
    Avg,
    /// 24h's fields over the calendar day so far, in `--tz`.
    #[value(name = "day")]
    TradingDay,
    /// Futures: the mark and index prices and the funding rate (premiumIndex).
    Mark,
}

/// `--market`: which of Binance's exchanges to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum MarketChoice {
    /// Binance Spot (api.binance.com).
    #[default]
    Spot,
    /// USDⓈ-margined futures (fapi.binance.com): BTCUSDT, BTCUSDT_250627.
    Usdm,
    /// Coin-margined futures (dapi.binance.com): BTCUSD_PERP, BTCUSD_250627.
    Coinm,
}

/// A `--ticker` choice as it is typed (`24h`, `day`).
pub(crate) fn ticker_name(choice: TickerChoice) -> String {
    use clap::ValueEnum;
    choice
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// `--strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum StrategyChoice {
    /// The plan with the least request weight for the list at hand.
    Auto,
    /// Many symbols per request.
    Batch,
    /// One request per symbol.
    Each,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour a stream that is a terminal, unless NO_COLOR is set or TERM is dumb.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// clap's tip for an unknown flag, "to pass '--foo' as a value, use '-- --foo'", is for tools
/// whose arguments may start with a dash; symbols never do. The same error without it.
pub fn without_dash_dash_tip(err: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let is_tip = |s: &clap::builder::StyledStr| s.to_string().contains("as a value, use '");
    let Some(ContextValue::StyledStrs(tips)) = err.get(ContextKind::Suggested) else {
        return err;
    };
    if err.kind() != ErrorKind::UnknownArgument || !tips.iter().any(is_tip) {
        return err;
    }
    let mut plain = clap::Error::new(ErrorKind::UnknownArgument).with_cmd(&command());
    for (kind, value) in err.context() {
        let value = match value {
            ContextValue::StyledStrs(list) if kind == ContextKind::Suggested => {
                let kept: Vec<_> = list.iter().filter(|s| !is_tip(s)).cloned().collect();
                if kept.is_empty() {
                    continue;
                }
                ContextValue::StyledStrs(kept)
            }
            other => other.clone(),
        };
        plain.insert(kind, value);
    }
    plain
}

/// The error's usage line as the user typed the command: clap counts a value from a
/// `PRICEFETCH_*` variable as given, so with the README's `export` lines every usage line
/// would name `--base-url <URL> --stream-url <URL>` as if they had to be typed.
pub fn usage_as_typed(err: clap::Error, args: &[String]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::StyledStr(usage)) = err.get(ContextKind::Usage) else {
        return err;
    };
    let mut text = usage.to_string();
    let cmd = command();
    for arg in cmd.get_arguments() {
        let (Some(var), Some(long)) = (arg.get_env(), arg.get_long()) else {
            continue;
        };
        let short = arg.get_short().map(|c| format!("-{c}"));
        let typed = args.iter().any(|a| {
            a == &format!("--{long}")
                || a.starts_with(&format!("--{long}="))
                || short.as_ref().is_some_and(|s| a.starts_with(s.as_str()))
        });
        if typed || std::env::var_os(var).is_none() {
            continue;
        }
        for name in arg.get_value_names().into_iter().flatten() {
            text = text.replace(&format!(" --{long} <{name}>"), "");
        }
    }
    if text == usage.to_string() {
        return err;
    }
    let mut plain = clap::Error::new(err.kind()).with_cmd(&cmd);
    for (kind, value) in err.context() {
        let value = match kind {
            ContextKind::Usage => ContextValue::StyledStr(text.clone().into()),
            _ => value.clone(),
        };
        plain.insert(kind, value);
    }
    plain
}

/// For a bad value that came from a `PRICEFETCH_*` variable rather than the command line
/// (`args`), which variable it was: clap names only the flag.
pub fn env_note(err: &clap::Error, args: Vec<String>) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(invalid)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    let cmd = command();
    let arg = cmd.get_arguments().find(|a| {
        a.get_long()
            .is_some_and(|long| invalid.split_whitespace().next() == Some(&format!("--{long}")))
    })?;
    let long = format!("--{}", arg.get_long()?);
    let short = arg.get_short().map(|c| format!("-{c}"));
    let on_command_line = args.iter().any(|a| {
        a == &long
            || a.starts_with(&format!("{long}="))
            || short.as_deref().is_some_and(|s| a.starts_with(s))
    });
    let var = arg.get_env()?.to_string_lossy().into_owned();
    (!on_command_line && std::env::var_os(&var).is_some())
        .then(|| format!("the value for {long} came from the environment variable {var}"))
}

/// The command as pricefetch shows it, by two rules rather than an attribute on every flag:
/// every option under a heading (Input, Fetching, …) is in `--help` only, so that `-h` lists
/// just the main options; and a variable's current value is never printed in the help (it may
/// hold a proxy password).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command().mut_args(|arg| {
        let arg = arg.hide_env_values(true);
        if arg.get_help_heading().is_some() {
            arg.hide_short_help(true)
        } else {
            arg
        }
    })
}

pub(crate) mod args;
pub mod file;
pub(crate) mod help;
pub mod lower;
pub mod shell;
#[cfg(test)]
mod tests;
pub(crate) mod values;
