//! Flags lowered into a validated [`Config`], once, before any request is sent.
//!
//! [`Cli::into_config`] hands each concern to its own function, as ripgrep's `HiArgs` does with
//! its low-level flags: the symbols, the live-run rules, the output format and plan, the request
//! plan with its weight, the HTTP settings and the stream settings. Everything that needs more
//! than one flag, a file or the terminal is checked here, and each failure is a [`UsageError`]
//! naming the flag.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use url::Url;

use super::{Cli, ColorChoice, StrategyChoice, TickerChoice};
use crate::config::{Config, Ending, History, Plan, Run, Terminal};
use crate::convert::Convert;
use crate::error::UsageError;
use crate::fetch::Ask;
use crate::market::{Offset, TickerKind};
use crate::output::Format;
use crate::retry::RetryPolicy;
use crate::strategy::{MarketFilter, Strategy};
use crate::symbols::{is_valid, normalise, normalise_all, read_symbol_file};
use crate::throttle::Limits;
use crate::until::Until;

/// `-c` when not given: one symbol per request.
const DEFAULT_CONCURRENCY: usize = 16;
/// `-c` when not given, for batches: each carries up to 100 symbols, and Binance limits weight
/// per minute, not requests in flight.
const DEFAULT_BATCH_CONCURRENCY: usize = 64;

/// No retry waits longer than this, whatever `--retry-delay` says.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Looks at the real streams and environment: `--color auto` colours a terminal unless
/// `NO_COLOR` is set (to anything but empty) or `TERM=dumb`.
pub(crate) fn detect_terminal(choice: ColorChoice) -> Terminal {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    decide_terminal(
        choice,
        std::io::stdout().is_terminal(),
        std::io::stderr().is_terminal(),
        no_color || dumb,
    )
}

/// The decision itself, apart from the environment so that it can be tested.
pub(crate) fn decide_terminal(
    choice: ColorChoice,
    stdout_tty: bool,
    stderr_tty: bool,
    refuse: bool,
) -> Terminal {
    let color = |tty: bool| match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && !refuse,
    };
    Terminal {
        stdout_tty,
        stderr_tty,
        stdout_color: color(stdout_tty),
        stderr_color: color(stderr_tty),
    }
}

/// The request plan and what it costs: lowered from the ticker, strategy and weight flags.
struct Requests {
    ask: Ask,
    limits: Limits,
    concurrency: usize,
}

impl Cli {
    /// What the process is attached to, with `--color`: the defaults of format and colour.
    pub fn terminal(&self) -> Terminal {
        detect_terminal(self.output.color)
    }

    /// -v minus -q: 0 by default, negative when quieter.
    pub fn verbosity(&self) -> i16 {
        i16::from(self.verbose) - i16::from(self.quiet)
    }

    /// Validates the flags against the terminal the process runs on.
    pub fn into_config(self, terminal: Terminal) -> Result<Config, UsageError> {
        // -o FILE: the data goes to a file, so no table and no colour by default.
        let output = self.output.output.clone().filter(|p| p.as_os_str() != "-");
        let terminal = match &output {
            Some(_) => Terminal {
                stdout_tty: false,
                stdout_color: false,
                ..terminal
            },
            None => terminal,
        };
        self.check_live_flags()?;
        let symbols = self.symbols()?;
        let format = self.format(terminal.stdout_tty, output.as_deref())?;
        self.check_market(format)?;
        if self.live.backfill && format != Format::Ndjson {
            return Err(UsageError(
                "--backfill writes its candles as ndjson lines: add -f ndjson".into(),
            ));
        }
        let plan = self.plan(format)?;
        let Requests {
            ask,
            limits,
            concurrency,
        } = self.requests(plan, symbols.len())?;
        let until = self
            .live
            .until
            .as_deref()
            .map(|text| Until::parse(text, &symbols, self.all))
            .transpose()?;
        let fetch = &self.fetch;
        let state_dir = if self.limits.no_shared_state {
            None
        } else {
            crate::ledger::default_dir(|v| std::env::var(v).ok())
        };
        let http = self.http()?;
        let convert = self.convert(state_dir.as_deref(), &http.base_url)?;
        let history = self.history(symbols.len(), format)?;
        let run = self.run_kind(plan, convert, history, until)?;
        Ok(Config {
            run,
            http,
            retry: RetryPolicy {
                retries: fetch.retries,
                base: fetch.retry_delay,
                cap: MAX_BACKOFF.max(fetch.retry_delay),
                max_wait: limits.max_wait,
            },
            limits,
            limit_from_exchange: self.market().futures()
                && self.limits.weight_limit.get() == market::SPOT_WEIGHT_LIMIT,
            deadline: fetch.deadline,
            state_dir,
            concurrency,
            ask,
            symbols,
            format,
            header: !self.output.no_header,
            append: self.output.append && output.is_some(),
            commodities: self.history.commodity.iter().cloned().collect(),
            output,
            color: terminal.stdout_color,
            stderr_color: terminal.stderr_color,
            progress: terminal.stderr_tty && self.quiet == 0 && self.watch.is_none(),
            verbosity: i8::try_from(self.verbose).unwrap_or(i8::MAX)
                - i8::try_from(self.quiet).unwrap_or(i8::MAX),
        })
    }

    /// The kind of run, from the modes' flags (already checked against each other): history,
    /// a stream, a watch, or prices once.
    fn run_kind(
        &self,
        plan: Plan,
        convert: Option<Convert>,
        history: Option<History>,
        until: Option<Until>,
    ) -> Result<Run, UsageError> {
        let end = Ending {
            count: self.live.count.map(std::num::NonZeroU64::get),
            until,
        };
        Ok(match (history, self.stream()?, self.watch) {
            (Some(mut history), _, _) => {
                match &mut history {
                    History::At { convert: slot, .. } | History::Candles { convert: slot, .. } => {
                        *slot = convert;
                    }
                    History::Funding(_) => {}
                }
                Run::History(history)
            }
            (None, Some(settings), _) => Run::Stream { settings, end },
            (None, None, Some(every)) => Run::Watch {
                every,
                mode: plan.mode(),
                end,
            },
            (None, None, None) => Run::Once { plan, convert },
        })
    }

    /// Arguments, then `--file`, else the config file's watch-list: normalised and
    /// de-duplicated. Empty with `--all`: the market is the list.
    fn symbols(&self) -> Result<Vec<String>, UsageError> {
        if self.all {
            return Ok(Vec::new());
        }
        let mut raw: Vec<(String, String)> = self
            .symbols
            .iter()
            .map(|s| (s.clone(), "argument".to_owned()))
            .collect();
        if let Some(path) = &self.file {
            raw.extend(read_symbol_file(path)?);
        }
        if raw.is_empty()
            && let Some((list, origin)) = &self.watchlist
        {
            raw.extend(list.iter().map(|s| (s.clone(), origin.clone())));
        }
        if raw.is_empty() && self.target.is_some() {
            return Err(UsageError(
                "no assets given: name them (pricefetch --in EUR BTC ETH), use --file FILE, or \
                 keep a list in the config file (symbols = [...])"
                    .into(),
            ));
        }
        normalise_all(raw)
    }

    /// `-f`; else the format `-o FILE`'s extension names (`.prom`, `.csv`, `.json`, `.ndjson`,
    /// `.beancount`, `.ledger`), said with -v; else the default for where stdout goes: a table
    /// on a terminal; piped, plain lines, or ndjson for live runs (every line needs its time).
    fn format(
        &self,
        stdout_tty: bool,
        output: Option<&std::path::Path>,
    ) -> Result<Format, UsageError> {
        let guessed = || {
            let format = output.and_then(Format::for_file)?;
            tracing::info!(
                "-f {} from the extension of -o {}",
                format.name(),
                output.unwrap_or_else(|| std::path::Path::new("")).display()
            );
            Some(format)
        };
        let format = self.format.or_else(guessed).unwrap_or(
            match (stdout_tty, self.watch.is_some() || self.stream) {
                (true, _) => Format::Table,
                (false, true) => Format::Ndjson,
                (false, false) => Format::Plain,
            },
        );
        if self.output.append
            && matches!(format, Format::Json | Format::Openmetrics | Format::Table)
        {
            return Err(UsageError(
                "--append adds lines to a file: json, openmetrics and table are one document \
                 each (use csv, ndjson, plain, ledger or beancount, or leave out --append)"
                    .into(),
            ));
        }
        Ok(format)
    }

    /// `--sync`, `--compare` (with its rounds) or the default async round.
    fn plan(&self, format: Format) -> Result<Plan, UsageError> {
        if !self.compare {
            return Ok(if self.sync { Plan::Sync } else { Plan::Async });
        }
        if matches!(format, Format::Csv | Format::Ndjson | Format::Openmetrics) {
            return Err(UsageError(
                "--compare reports statistics, not a row per symbol: use --format table, plain or json"
                    .into(),
            ));
        }
        Ok(Plan::Compare {
            runs: self.fetch.runs.get(),
            warmup: self.fetch.warmup,
        })
    }

    /// `--ticker`, `--window` and `--tz` as one ticker kind.
    fn ticker(&self) -> Result<TickerKind, UsageError> {
        let fetch = &self.fetch;
        let kind = match (self.ticker, fetch.window) {
            (TickerChoice::Price, Some(window)) => TickerKind::Window(window),
            (other, Some(_)) => {
                return Err(UsageError(format!(
                    "--window is a ticker of its own (24h's fields over that window): leave out \
                     --ticker {}",
                    super::ticker_name(other)
                )));
            }
            (TickerChoice::Price, None) => TickerKind::Price,
            (TickerChoice::Mark, None) => TickerKind::Mark,
            (TickerChoice::Day, None) => TickerKind::Day,
            (TickerChoice::Book, None) => TickerKind::Book,
            (TickerChoice::Avg, None) => TickerKind::Avg,
            (TickerChoice::TradingDay, None) => {
                let zone = match &fetch.tz {
                    Some(name) => crate::clock::zone(name)
                        .map_err(|e| UsageError(format!("invalid --tz: {e}")))?,
                    None => jiff::tz::TimeZone::UTC,
                };
                let minutes = crate::clock::offset_minutes(&zone, crate::clock::unix_ms());
                if !(-12 * 60..=14 * 60).contains(&minutes) {
                    return Err(UsageError(format!(
                        "--tz {} is {minutes} minutes from UTC; Binance's trading day takes \
                         -12:00 to +14:00",
                        fetch.tz.as_deref().unwrap_or("UTC")
                    )));
                }
                TickerKind::TradingDay(Offset(i16::try_from(minutes).unwrap_or(0)))
            }
        };
        if fetch.tz.is_some() && !matches!(kind, TickerKind::TradingDay(_)) && !self.wants_history()
        {
            return Err(UsageError(
                "--tz sets the zone of the trading day (--ticker day) and of history's times \
                 (--at, --candles): it goes with one of them"
                    .into(),
            ));
        }
        Ok(kind)
    }

    /// The ticker, the grouping into requests, the weight they cost against `--max-weight` and
    /// `--weight-limit`, and how many go at once.
    #[allow(
        clippy::too_many_lines,
        reason = "one budget check: strategy, weight estimate, largest request and concurrency read best together"
    )]
    fn requests(&self, plan: Plan, symbols: usize) -> Result<Requests, UsageError> {
        let kind = self.ticker()?;
        let fetch = &self.fetch;
        // clap checks the flag; a value from the config file arrives unchecked.
        if let Some(n) = fetch.batch_size
            && !(1..=100).contains(&n)
        {
            return Err(UsageError(format!(
                "invalid batch-size {n}: a request carries 1 to 100 symbols"
            )));
        }
        let batch = Strategy::Batch(fetch.batch_size.map_or(kind.default_batch(), usize::from));
        if !kind.batches() && fetch.strategy == StrategyChoice::Batch {
            return Err(UsageError(
                "--ticker avg asks Binance for one symbol a request (avgPrice): leave out \
                 --strategy batch"
                    .into(),
            ));
        }
        // --in: up to two legs an asset, and the pairs (exchangeInfo) when they are not cached.
        let (asked, pairs) = match self.target {
            Some(_) => (2 * symbols, 20),
            None => (symbols, 0),
        };
        let strategy = match (self.all, fetch.strategy, plan) {
            (true, _, _) => Strategy::All,
            // No symbols=[…] on the futures markets: one a request, or all.
            (false, _, _) if self.market().futures() => Strategy::Each,
            (false, _, _) if !kind.batches() => Strategy::Each,
            (false, StrategyChoice::Each, _) => Strategy::Each,
            (false, StrategyChoice::Batch, _) => batch,
            // The comparison needs requests to race; one batch would leave nothing to compare.
            (false, StrategyChoice::Auto, Plan::Compare { .. }) => Strategy::Each,
            (false, StrategyChoice::Auto, _) => cheapest(kind, batch, asked),
        };
        let max_weight = self.limits.max_weight;
        let estimate = plan.rounds() * strategy.weight(kind, asked) + pairs;
        if estimate > u64::from(max_weight) {
            return Err(UsageError(format!(
                "this run would cost about {estimate} request weight ({} of {symbols} symbols, \
                 strategy {}), over --max-weight {max_weight}; Binance allows {} per minute per \
                 IP, shared by every process on it. Pass --max-weight {estimate} to allow it",
                kind.name(),
                strategy.name(),
                self.weight_limit()
            )));
        }
        let limits = Limits {
            weight_limit: self.weight_limit(),
            max_wait: self.limits.max_wait,
        };
        let largest = strategy.largest_request(kind, symbols);
        if largest > limits.budget() {
            return Err(UsageError(format!(
                "--weight-limit {} leaves {} request weight a minute (5% is kept back), less than \
                 one request of this run costs ({largest} for {} of {}): raise --weight-limit",
                limits.weight_limit,
                limits.budget(),
                kind.name(),
                match strategy {
                    Strategy::All => "the whole market".to_owned(),
                    _ => format!("{symbols} symbols"),
                },
            )));
        }
        let concurrency = self.concurrency.map_or(
            match strategy {
                Strategy::Each => DEFAULT_CONCURRENCY,
                Strategy::Batch(_) | Strategy::All => DEFAULT_BATCH_CONCURRENCY,
            },
            std::num::NonZeroUsize::get,
        );
        let ask = Ask {
            kind,
            strategy,
            hedge: self.network.hedge,
            any_status: self.input.any_status,
            isolation_budget: u32::try_from(
                u64::from(max_weight).saturating_sub(estimate) / plan.rounds(),
            )
            .unwrap_or(u32::MAX),
            filter: MarketFilter {
                quote: self.input.quote.as_ref().map(|q| q.to_ascii_uppercase()),
                pattern: self.input.pattern.as_ref().map(|p| p.to_ascii_uppercase()),
            },
        };
        Ok(Requests {
            ask,
            limits,
            concurrency,
        })
    }

    /// `--in` and `--via`: the asset to price in, checked; the pairs' cache beside the ledger.
    fn convert(
        &self,
        state_dir: Option<&Path>,
        base_url: &Url,
    ) -> Result<Option<Convert>, UsageError> {
        let Some(target) = &self.target else {
            return Ok(None);
        };
        let asset = |flag: &str, text: &str| -> Result<String, UsageError> {
            let name = normalise(text);
            if !is_valid(&name) {
                return Err(UsageError(format!(
                    "invalid {flag} '{text}': an asset is letters and digits, e.g. EUR or BTC"
                )));
            }
            Ok(name)
        };
        let target = asset("--in", target)?;
        if target == "USD" {
            return Err(UsageError(
                "Binance has no asset USD: USDT, USDC and FDUSD are stablecoins, each an asset \
                 of its own and none of them the dollar; pick one, e.g. --in USDT"
                    .into(),
            ));
        }
        let refused = [
            (self.stream, "--stream"),
            (self.watch.is_some(), "--watch"),
            (self.compare, "--compare"),
            (self.input.any_status, "--any-status"),
            (self.ticker()? != TickerKind::Price, "--ticker or --window"),
        ];
        if let Some((_, flag)) = refused.iter().find(|(on, _)| *on) {
            return Err(UsageError(format!(
                "--in converts last prices, once: leave out {flag}"
            )));
        }
        Ok(Some(Convert {
            target,
            via: self
                .input
                .via
                .as_deref()
                .map(|v| asset("--via", v))
                .transpose()?,
            cache: state_dir.map(|dir| crate::pairs::cache::path_for(dir, base_url)),
        }))
    }
}

/// `--strategy auto`: one request each or batches, whichever costs less weight for `n`
/// symbols; batches on a tie, as they also send fewer requests.
fn cheapest(kind: TickerKind, batch: Strategy, n: usize) -> Strategy {
    if n > 1 && batch.weight(kind, n) <= Strategy::Each.weight(kind, n) {
        batch
    } else {
        Strategy::Each
    }
}

mod history;
mod live;
mod market;
mod network;
#[cfg(test)]
mod tests;
