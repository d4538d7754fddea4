//! From parsed flags to a validated [`Config`]: everything that needs more than one flag, a
//! file or the terminal is checked here, before any request is sent.
//!
//! Symbols are normalised the way users type them (`btc/usdt`, `BTC-USDT` → `BTCUSDT`),
//! de-duplicated in first-seen order, and checked against Binance's pattern so that a typo is a
//! usage error naming the symbol (and its file and line), not a wasted request.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use url::Url;

use crate::binance::HttpSettings;
use crate::cli::{Cli, ColorChoice, StrategyChoice};
use crate::error::UsageError;
use crate::fetch::Request;
use crate::market::TickerKind;
use crate::output::Format;
use crate::retry::RetryPolicy;
use crate::strategy::{MarketFilter, Strategy};
use crate::symbols::{io_reason, normalise_all, read_symbol_file};
use crate::throttle::Limits;
use crate::until::Until;

/// `--base-url`'s default; only it gets Binance's alternates as default mirrors.
const DEFAULT_BASE_URL: &str = "https://api.binance.com";

/// The alternates Binance lists for the main host (binance-api.md, "Hosts").
const BINANCE_ALTERNATES: [&str; 5] = [
    "https://api-gcp.binance.com/",
    "https://api1.binance.com/",
    "https://api2.binance.com/",
    "https://api3.binance.com/",
    "https://api4.binance.com/",
];

/// `--stream-url`'s default, and the market-data-only host it fails over to.
pub const DEFAULT_STREAM_URL: &str = "wss://stream.binance.com:9443";
const STREAM_MIRROR: &str = "wss://data-stream.binance.vision";

/// `-c` when not given: one symbol per request.
const DEFAULT_CONCURRENCY: usize = 16;
/// `-c` when not given, for batches: each carries up to 100 symbols, and Binance limits weight
/// per minute, not requests in flight.
const DEFAULT_BATCH_CONCURRENCY: usize = 64;

/// No retry waits longer than this, whatever `--retry-delay` says.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
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
    pub fn rounds(self) -> u64 {
        match self {
            Self::Async | Self::Sync => 1,
            Self::Compare { runs, warmup } => 2 * u64::from(runs + warmup),
        }
    }
}

/// A validated run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Normalised, de-duplicated, in first-seen order; never empty.
    pub symbols: Vec<String>,
    /// How the HTTP client is built.
    pub http: HttpSettings,
    /// Retries and backoff.
    pub retry: RetryPolicy,
    /// The rate-limit settings.
    pub limits: Limits,
    /// A limit for the whole run.
    pub deadline: Option<Duration>,
    /// `--stream`: where and how.
    pub stream: Option<StreamSettings>,
    /// `--until`: stop a live run when a price meets one of these.
    pub until: Option<Until>,
    /// The directory of the host's shared rate-limit ledger; `None` with `--no-shared-state`
    /// (or when the platform has no such directory).
    pub state_dir: Option<std::path::PathBuf>,
    /// `--watch`: refresh every this long.
    pub watch: Option<Duration>,
    /// `--count`: stop after this many refreshes.
    pub count: Option<u64>,
    /// The concurrency cap for async rounds.
    pub concurrency: usize,
    /// Which endpoint, how symbols are grouped, which market symbols to keep.
    pub request: Request,
    /// Single mode or comparison.
    pub plan: Plan,
    /// Output format, resolved against the terminal.
    pub format: Format,
    /// `--no-header`: csv without its header row (for appending to a log).
    pub header: bool,
    /// Colour on stdout (table header, compare verdict).
    pub color: bool,
    /// Colour on stderr (failures, hints, logs).
    pub stderr_color: bool,
    /// Whether a progress bar may be drawn on stderr (a terminal, not quiet).
    pub progress: bool,
    /// -1 or less: quieter; 0: default; 1 or more: more detail.
    pub verbosity: i8,
}

/// Where and how to stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSettings {
    /// `--stream-url`.
    pub url: Url,
    /// Hosts a failing connection moves to, in turn.
    pub mirrors: Vec<Url>,
    /// `--stale`: replace a connection silent for this long.
    pub stale: Duration,
    /// `--stream-rollover`: replace a connection after this long.
    pub rollover: Duration,
}

/// What the process is attached to, which decides format, colour and progress defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    /// stdout is a terminal (table by default, else plain).
    pub stdout_tty: bool,
    /// stderr is a terminal (progress bar allowed).
    pub stderr_tty: bool,
    /// Colour on stdout.
    pub stdout_color: bool,
    /// Colour on stderr.
    pub stderr_color: bool,
}

impl Terminal {
    /// Looks at the real streams and environment: `--color auto` colours a terminal unless
    /// `NO_COLOR` is set (to anything but empty) or `TERM=dumb`.
    pub fn detect(choice: ColorChoice) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        Self::decide(
            choice,
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
            no_color || dumb,
        )
    }

    /// The decision itself, apart from the environment so that it can be tested.
    pub fn decide(choice: ColorChoice, stdout_tty: bool, stderr_tty: bool, refuse: bool) -> Self {
        let color = |tty: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !refuse,
        };
        Self {
            stdout_tty,
            stderr_tty,
            stdout_color: color(stdout_tty),
            stderr_color: color(stderr_tty),
        }
    }
}

impl Cli {
    /// Validates the flags against the terminal the process runs on.
    pub fn into_config(self, terminal: Terminal) -> Result<Config, UsageError> {
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
        let stdout_tty = terminal.stdout_tty;
        if let Some(every) = self.watch
            && every < Duration::from_secs(1)
        {
            return Err(UsageError(format!(
                "--watch {} is too often: refresh at most once a second",
                humantime::format_duration(every)
            )));
        }
        if self.count.is_some() && self.watch.is_none() && !self.stream {
            return Err(UsageError("--count goes with --watch or --stream".into()));
        }
        if self.until.is_some() && self.watch.is_none() && !self.stream {
            return Err(UsageError(
                "--until goes with --stream or --watch: it stops a live run".into(),
            ));
        }
        if self.stream && matches!(self.format, Some(Format::Json)) {
            return Err(UsageError(
                "--stream writes an update at a time: use -f table, ndjson, plain or csv".into(),
            ));
        }
        if self.stream && self.all && self.ticker != TickerKind::Price {
            return Err(UsageError(
                "--stream --all follows every pair's mini ticker (the last price): Binance \
                 retired the all-market ticker stream, so --ticker 24h and book need symbols"
                    .into(),
            ));
        }
        if self.watch.is_some() && matches!(self.format, Some(Format::Plain | Format::Csv)) {
            return Err(UsageError(
                "--watch writes a live table, ndjson (a line per symbol per refresh) or json \
                 (an object per refresh): use -f table, ndjson or json"
                    .into(),
            ));
        }
        // (Checked here: clap waives `requires = "all"` whenever symbols are given, because
        // --all conflicts with them.)
        if !self.all && (self.quote.is_some() || self.pattern.is_some()) {
            return Err(UsageError(
                "--quote and --match filter the whole market: add --all (without symbols)".into(),
            ));
        }
        let symbols = if self.all {
            // The market is the list; --quote and --match filter it when it arrives.
            Vec::new()
        } else {
            normalise_all(raw)?
        };
        let format =
            self.format
                .unwrap_or(match (stdout_tty, self.watch.is_some() || self.stream) {
                    (true, _) => Format::Table,
                    // Piped refreshes need a time on every line: ndjson.
                    (false, true) => Format::Ndjson,
                    (false, false) => Format::Plain,
                });
        let plan = if self.compare {
            if matches!(format, Format::Csv | Format::Ndjson) {
                return Err(UsageError(
                    "--compare reports statistics, not a row per symbol: use --format table, plain or json"
                        .into(),
                ));
            }
            Plan::Compare {
                runs: self.runs.get(),
                warmup: self.warmup,
            }
        } else if self.sync {
            Plan::Sync
        } else {
            Plan::Async
        };
        let kind = self.ticker;
        // clap checks the flag; a value from the config file arrives unchecked.
        if let Some(n) = self.batch_size
            && !(1..=100).contains(&n)
        {
            return Err(UsageError(format!(
                "invalid batch-size {n}: a request carries 1 to 100 symbols"
            )));
        }
        let batch = Strategy::Batch(self.batch_size.map_or(kind.default_batch(), usize::from));
        let strategy = match (self.all, self.strategy, plan) {
            (true, _, _) => Strategy::All,
            (false, StrategyChoice::Each, _) => Strategy::Each,
            (false, StrategyChoice::Batch, _) => batch,
            // The comparison needs requests to race; one batch would leave nothing to compare.
            (false, StrategyChoice::Auto, Plan::Compare { .. }) => Strategy::Each,
            (false, StrategyChoice::Auto, _) => cheapest(kind, batch, symbols.len()),
        };
        let estimate = plan.rounds() * strategy.weight(kind, symbols.len());
        if estimate > u64::from(self.max_weight) {
            return Err(UsageError(format!(
                "this run would cost about {estimate} request weight ({} of {} symbols, strategy \
                 {}), over --max-weight {}; Binance allows {} per minute per IP, shared by every \
                 process on it. Pass --max-weight {estimate} to allow it",
                kind.name(),
                symbols.len(),
                strategy.name(),
                self.max_weight,
                self.weight_limit
            )));
        }
        let limits = Limits {
            weight_limit: self.weight_limit.get(),
            max_wait: self.max_wait,
        };
        let largest = strategy.largest_request(kind, symbols.len());
        if largest > limits.budget() {
            return Err(UsageError(format!(
                "--weight-limit {} leaves {} request weight a minute (5% is kept back), less than \
                 one request of this run costs ({largest} for {} of {}): raise --weight-limit",
                limits.weight_limit,
                limits.budget(),
                kind.name(),
                match strategy {
                    Strategy::All => "the whole market".to_owned(),
                    _ => format!("{} symbols", symbols.len()),
                },
            )));
        }
        let base_url = parse_base_url(&self.base_url, self.allow_http)?;
        let mirrors = if self.mirror.is_empty() && self.base_url == DEFAULT_BASE_URL {
            BINANCE_ALTERNATES
                .iter()
                .map(|u| u.parse().expect("valid"))
                .collect()
        } else {
            self.mirror
                .iter()
                .map(|m| parse_base_url(m, self.allow_http))
                .collect::<Result<Vec<Url>, _>>()
                .map_err(|e| UsageError(e.0.replace("--base-url", "--mirror")))?
        };
        if self.hedge.is_some() && mirrors.is_empty() {
            return Err(UsageError(
                "--hedge needs another host to send to: add --mirror URL".into(),
            ));
        }
        let proxy = self.proxy.as_deref().map(parse_proxy).transpose()?;
        if proxy.is_none() {
            crate::proxy::check_env(|v| std::env::var(v).ok())?;
        }
        let until = self
            .until
            .as_deref()
            .map(|text| Until::parse(text, &symbols, self.all))
            .transpose()?;
        let stream = if self.stream {
            let url = parse_stream_url(&self.stream_url, self.allow_http)?;
            let mirrors = if self.stream_url == DEFAULT_STREAM_URL {
                vec![STREAM_MIRROR.parse().expect("valid")]
            } else {
                Vec::new()
            };
            Some(StreamSettings {
                url,
                mirrors,
                stale: self.stale,
                rollover: self.stream_rollover,
            })
        } else {
            None
        };
        Ok(Config {
            symbols,
            http: HttpSettings {
                base_url,
                mirrors,
                proxy,
                timeout: self.timeout,
                connect_timeout: self.connect_timeout.min(self.timeout),
                extra_roots: match &self.cacert {
                    Some(path) => read_cacert(path)?,
                    None => Vec::new(),
                },
            },
            retry: RetryPolicy {
                retries: self.retries,
                base: self.retry_delay,
                cap: MAX_BACKOFF.max(self.retry_delay),
                max_wait: self.max_wait,
            },
            limits,
            deadline: self.deadline,
            stream,
            until,
            state_dir: if self.no_shared_state {
                None
            } else {
                crate::ledger::default_dir(|v| std::env::var(v).ok())
            },
            watch: self.watch,
            count: self.count.map(std::num::NonZeroU64::get),
            concurrency: self.concurrency.map_or(
                match strategy {
                    Strategy::Each => DEFAULT_CONCURRENCY,
                    Strategy::Batch(_) | Strategy::All => DEFAULT_BATCH_CONCURRENCY,
                },
                std::num::NonZeroUsize::get,
            ),
            request: Request {
                kind,
                strategy,
                hedge: self.hedge,
                any_status: self.any_status,
                isolation_budget: u32::try_from(
                    u64::from(self.max_weight).saturating_sub(estimate) / plan.rounds(),
                )
                .unwrap_or(u32::MAX),
                filter: MarketFilter {
                    quote: self.quote.map(|q| q.to_ascii_uppercase()),
                    pattern: self.pattern.map(|p| p.to_ascii_uppercase()),
                },
            },
            plan,
            format,
            header: !self.no_header,
            color: terminal.stdout_color,
            stderr_color: terminal.stderr_color,
            progress: terminal.stderr_tty && self.quiet == 0 && self.watch.is_none(),
            verbosity: i8::try_from(self.verbose).unwrap_or(i8::MAX)
                - i8::try_from(self.quiet).unwrap_or(i8::MAX),
        })
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

/// An http(s) URL with a host; plain http only to loopback unless `allow_http`.
fn parse_base_url(s: &str, allow_http: bool) -> Result<Url, UsageError> {
    let bad = |why: &str| UsageError(format!("invalid --base-url '{s}': {why}"));
    if let Some(guess) = with_scheme(s, "http", "https") {
        return Err(bad(&format!("no scheme; did you mean {guess}?")));
    }
    let mut url = Url::parse(s).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(
            "the scheme must be https:// (or http:// for a local server)",
        ));
    }
    let Some(host) = url.host_str() else {
        return Err(bad("no host"));
    };
    if url.scheme() == "http" && !allow_http && !crate::host::is_loopback(host) {
        return Err(bad(
            "plain http:// lets anyone on the path alter prices; use https://, or pass --allow-http",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "give the host (and an optional path prefix) only, without ? or #",
        ));
    }
    // `Url::join` replaces the last path segment unless the path ends with '/'.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// `--cacert FILE`: the PEM certificates in it, or a usage error naming the file.
fn read_cacert(path: &Path) -> Result<Vec<reqwest::Certificate>, UsageError> {
    let bad = |why: String| UsageError(format!("--cacert {}: {why}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(io_reason(&e)))?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(bad(
            "no PEM certificate in it (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| bad(format!("not a PEM certificate ({e})")))?;
    Ok(certs)
}

/// `--stream-url`: a `wss://` host (or `ws://` on this machine, or with `--allow-http`).
fn parse_stream_url(s: &str, allow_http: bool) -> Result<Url, UsageError> {
    let bad = |why: &str| UsageError(format!("invalid --stream-url '{s}': {why}"));
    if let Some(guess) = with_scheme(s, "ws", "wss") {
        return Err(bad(&format!("no scheme; did you mean {guess}?")));
    }
    let url = Url::parse(s).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "ws" | "wss") {
        return Err(bad(
            "the scheme must be wss:// (or ws:// for a local server)",
        ));
    }
    let Some(host) = url.host_str() else {
        return Err(bad("no host"));
    };
    if url.scheme() == "ws" && !allow_http && !crate::host::is_loopback(host) {
        return Err(bad(
            "plain ws:// lets anyone on the path alter prices; use wss://, or pass --allow-http",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err(bad(
            "give the host only, e.g. wss://stream.binance.com:9443",
        ));
    }
    Ok(url)
}

/// For an address typed without a scheme (`127.0.0.1:8731`, `api.binance.com`), the URL it
/// most likely means: `plain://` on this machine, `secure://` elsewhere.
fn with_scheme(s: &str, plain: &str, secure: &str) -> Option<String> {
    if s.contains("://") || s.is_empty() {
        return None;
    }
    let host = s.split(['/', '?', '#']).next().unwrap_or(s);
    let scheme = if crate::host::is_loopback(host) {
        plain
    } else {
        secure
    };
    Some(format!("{scheme}://{s}"))
}

fn parse_proxy(s: &str) -> Result<Url, UsageError> {
    let bad = |why: &str| {
        UsageError(format!(
            "invalid --proxy '{}': {why}",
            crate::proxy::mask_password(s)
        ))
    };
    let url = Url::parse(s).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("give http://HOST:PORT or https://HOST:PORT"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbols::{is_valid, normalise};
    use clap::Parser;

    fn config(args: &[&str]) -> Result<Config, UsageError> {
        let mut argv = vec!["pricefetch"];
        argv.extend(args);
        Cli::parse_from(argv).into_config(Terminal::decide(ColorChoice::Auto, false, false, false))
    }

    #[test]
    fn symbols_are_normalised_and_deduplicated_in_first_seen_order() {
        let c = config(&["eth-usdt", "btc/usdt", "BTCUSDT", " ethusdt", "SOLUSDT"]).unwrap();
        assert_eq!(c.symbols, ["ETHUSDT", "BTCUSDT", "SOLUSDT"]);
    }

    #[test]
    fn bad_symbols_are_named_with_the_reason() {
        let e = config(&["BTCUSDT", "BTC$USDT"]).unwrap_err().0;
        assert!(
            e.contains("'BTC$USDT'") && e.contains("only letters"),
            "{e}"
        );
        let e = config(&["ABCDEFGHIJKLMNOPQRSTUVWXYZ"]).unwrap_err().0;
        assert!(e.contains("26 characters"), "{e}");
        let e = config(&["/"]).unwrap_err().0;
        assert!(e.contains("empty"), "{e}");
        let e = config(&[]).unwrap_err().0;
        assert!(e.contains("no symbols given"), "{e}");
    }

    #[test]
    fn utf8_symbols_are_kept_and_only_ascii_letters_upper_cased() {
        assert_eq!(config(&["币安人生usdt"]).unwrap().symbols, ["币安人生USDT"]);
        assert_eq!(
            config(&["这是测试币456"]).unwrap().symbols,
            ["这是测试币456"]
        );
        // No Unicode case mapping: ß is not SS, ﬀ is not FF, ı is not I.
        assert_eq!(normalise("ßusdt"), "ßUSDT");
        assert!(!is_valid("ﬀ") || normalise("ﬀ") == "ﬀ");
        assert_eq!(
            normalise("\u{feff}btcusdt"),
            "BTCUSDT",
            "a BOM is not part of the name"
        );
        assert!(config(&["BTC USDT"]).is_err() && config(&["BTC\nUSDT"]).is_err());
        assert!(
            config(&["币安人生币安人生币安人生币安人生币安人生USDT"]).is_err(),
            "24 characters"
        );
    }

    #[test]
    fn base_urls_must_be_https_or_local() {
        assert!(config(&["--base-url", "http://127.0.0.1:9", "X"]).is_ok());
        assert!(config(&["--base-url", "http://localhost:9", "X"]).is_ok());
        assert!(config(&["--base-url", "http://[::1]:9", "X"]).is_ok());
        let e = config(&["--base-url", "http://example.com", "X"])
            .unwrap_err()
            .0;
        assert!(e.contains("--allow-http"), "{e}");
        assert!(config(&["--base-url", "http://example.com", "--allow-http", "X"]).is_ok());
        assert!(config(&["--base-url", "ftp://x", "X"]).is_err());
        assert!(config(&["--base-url", "api.binance.com", "X"]).is_err());
        let c = config(&["--base-url", "https://h.example/prefix", "X"]).unwrap();
        assert_eq!(
            c.http.base_url.join("api/v3/ping").unwrap().path(),
            "/prefix/api/v3/ping"
        );
    }

    #[test]
    fn format_defaults_follow_the_terminal_and_compare_refuses_row_formats() {
        let cli = |a: &[&str]| Cli::parse_from([&["pricefetch"][..], a].concat());
        let tty = Terminal::decide(ColorChoice::Auto, true, true, false);
        let pipe = Terminal::decide(ColorChoice::Auto, false, false, false);
        assert_eq!(cli(&["X"]).into_config(tty).unwrap().format, Format::Table);
        assert_eq!(cli(&["X"]).into_config(pipe).unwrap().format, Format::Plain);
        assert!(cli(&["X"]).into_config(tty).unwrap().color);
        let e = cli(&["--compare", "-f", "csv", "X"])
            .into_config(pipe)
            .unwrap_err();
        assert!(e.0.contains("--compare"));
    }

    #[test]
    fn colour_follows_the_choice_the_terminal_and_no_color() {
        use ColorChoice::{Always, Auto, Never};
        let t = Terminal::decide(Auto, true, false, false);
        assert!(t.stdout_color && !t.stderr_color);
        let t = Terminal::decide(Auto, true, true, true);
        assert!(!t.stdout_color && !t.stderr_color, "NO_COLOR or TERM=dumb");
        let t = Terminal::decide(Always, false, false, true);
        assert!(t.stdout_color && t.stderr_color);
        let t = Terminal::decide(Never, true, true, false);
        assert!(!t.stdout_color && !t.stderr_color);
    }

    #[test]
    fn the_budget_guard_counts_every_round_and_says_how_to_allow_it() {
        let many: Vec<String> = (0..501).map(|i| format!("S{i}")).collect();
        let args: Vec<&str> = many.iter().map(String::as_str).collect();
        let each = [&["--strategy", "each"][..], &args].concat();
        let e = config(&each).unwrap_err().0;
        assert!(
            e.contains("about 1002 request weight") && e.contains("--max-weight 1002"),
            "{e}"
        );
        assert!(config(&[&["--max-weight", "1002"][..], &each].concat()).is_ok());
        // auto batches them instead: 5 × 4 + 1 × 2.
        assert_eq!(
            config(&args).unwrap().request.strategy,
            Strategy::Batch(100)
        );
        let e = config(&[
            "--compare",
            "--runs",
            "40",
            "A",
            "B",
            "C",
            "D",
            "E",
            "F",
            "G",
        ])
        .unwrap_err()
        .0;
        assert!(e.contains("about 1148"), "{e}");
    }

    #[test]
    fn auto_picks_the_least_weight_and_compare_races_single_requests() {
        let strategy = |a: &[&str]| config(a).unwrap().request.strategy;
        assert_eq!(strategy(&["BTCUSDT"]), Strategy::Each);
        assert_eq!(strategy(&["A", "B"]), Strategy::Batch(100));
        assert_eq!(
            strategy(&["--ticker", "24h", "A", "B"]),
            Strategy::Batch(20)
        );
        assert_eq!(
            strategy(&["--batch-size", "7", "A", "B"]),
            Strategy::Batch(7)
        );
        assert_eq!(strategy(&["--compare", "A", "B"]), Strategy::Each);
        assert_eq!(
            strategy(&["--compare", "--strategy", "batch", "A", "B"]),
            Strategy::Batch(100)
        );
        assert_eq!(strategy(&["--all"]), Strategy::All);
    }

    #[test]
    fn proxies_must_be_http_urls() {
        assert!(config(&["--proxy", "http://127.0.0.1:3128", "X"]).is_ok());
        assert!(config(&["--proxy", "not a url", "X"]).is_err());
        assert!(config(&["--proxy", "socks9://h:1", "X"]).is_err());
    }
}
