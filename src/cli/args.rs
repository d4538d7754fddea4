//! The flags of each `--help` heading, one `clap::Args` struct each, flattened into
//! [`super::Cli`]: Input, Output, Fetching, Live, History, Rate limits, Network, Config and Shell
//! integration. Only what clap needs to parse them lives here; `lower` gives them meaning.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use super::values::{self, at_least_one, parse_duration, parse_stale, parse_window};
use super::{ColorChoice, StrategyChoice};
use crate::market::Window;

/// `Input` in `--help`: which symbols: the pair status and the whole-market filters.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Input")]
pub(crate) struct InputArgs {
    /// With --in: the only hub a two-leg route may use, e.g. BTC
    #[arg(long, value_name = "ASSET", requires = "in", env = "PRICEFETCH_VIA")]
    pub(crate) via: Option<String>,

    /// Print pairs that do not trade too (delisted, halted), with their last, stale price
    ///
    /// By default pricefetch asks Binance for trading pairs only (symbolStatus=TRADING): a
    /// delisted or halted pair fails as not_trading (exit 1) instead of printing a price that
    /// is not current, and --all lists trading pairs. With this flag the filter is dropped, and
    /// one more request (exchangeInfo, weight 20) names the printed pairs that do not trade.
    #[arg(long, env = "PRICEFETCH_ANY_STATUS")]
    pub(crate) any_status: bool,

    /// With --all: keep only symbols quoted in ASSET (those ending in it), e.g. USDT
    #[arg(long, value_name = "ASSET")]
    pub(crate) quote: Option<String>,

    /// With --all: keep only symbols matching GLOB ('*' any run, '?' one character), e.g. '*BTC'
    #[arg(long = "match", value_name = "GLOB")]
    pub(crate) pattern: Option<String>,
}

/// `Output` in `--help`: how the output looks, beyond `-f`.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Output")]
pub(crate) struct OutputArgs {
    /// When to colour: failures and verdicts only, never data that scripts parse
    ///
    /// auto colours a stream that is a terminal, unless NO_COLOR is set or TERM is dumb.
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        value_name = "WHEN",
        default_value = "auto",
        env = "PRICEFETCH_COLOR"
    )]
    pub(crate) color: ColorChoice,

    /// csv without its header row, for appending to a log
    ///
    /// e.g. pricefetch -f csv --no-header BTCUSDT >> prices.csv; -o prices.csv --append writes
    /// the header only into a new or empty file.
    #[arg(long)]
    pub(crate) no_header: bool,

    /// Write to FILE, in the format its extension names
    ///
    /// FILE is replaced only when the run has results. Written to a temporary file beside FILE
    /// and renamed over it, so a reader (node_exporter's textfile collector, a web server, a
    /// spreadsheet import) never sees half a file; the new file keeps the old one's permissions
    /// (never setuid), a new one is 0644 less the umask. A run with no result at all, or cut
    /// short by a signal or --deadline, leaves the previous FILE as it was. A character device
    /// or FIFO is written directly; a symbolic link, socket or directory is refused (name the
    /// link's target). -o - is stdout. Without -f, FILE's extension names the format (.prom,
    /// .csv, .json, .ndjson, .beancount, .ledger; plain otherwise). Every format; not --stream
    /// or --watch. Also set by PRICEFETCH_OUTPUT.
    #[arg(short = 'o', long, value_name = "FILE", env = "PRICEFETCH_OUTPUT",
          hide_env = true, help_heading = None, display_order = 4)]
    pub(crate) output: Option<PathBuf>,

    /// With -o: add to the end of FILE instead of replacing it (a log a cron job grows)
    ///
    /// The csv header is written only into a new or empty FILE. csv, ndjson, plain, ledger and
    /// beancount; json and openmetrics are one document each, so they replace.
    #[arg(long, requires = "output", hide_short_help = true)]
    pub(crate) append: bool,
}

/// `Fetching` in `--help`: how requests are made: grouping, timeouts, retries, the run's limits and comparisons.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Fetching")]
pub(crate) struct FetchArgs {
    /// How to group symbols into requests; auto picks the plan with the least request weight
    ///
    /// batch asks for many symbols per request (symbols=[...]), each asks one by one. With
    /// --compare, auto means each, so that the two modes have requests to race.
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        value_name = "STRATEGY",
        default_value = "auto",
        env = "PRICEFETCH_STRATEGY"
    )]
    pub(crate) strategy: StrategyChoice,

    /// Symbols per batch request, 1 to 100 [default: 100; 20 for --ticker 24h, the most that
    /// still costs the weight of one symbol]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=100),
          env = "PRICEFETCH_BATCH_SIZE")]
    pub(crate) batch_size: Option<u16>,

    /// 24h's fields over a rolling window instead: 1m…59m, 1h…23h or 1d…7d (e.g. 15m)
    ///
    /// Binance's /api/v3/ticker with windowSize; its open time starts on a minute, so the
    /// window is up to a minute wider than asked. Weight 4 a symbol, at most 200 a request.
    #[arg(long, value_name = "SIZE", value_parser = parse_window, conflicts_with = "ticker",
          env = "PRICEFETCH_WINDOW")]
    pub(crate) window: Option<Window>,

    /// Time zone of --ticker day's calendar day, and of history's times (IANA name or offset)
    ///
    /// e.g. Europe/Paris, America/New_York, +05:45, UTC (the default). The trading day takes a
    /// fixed offset (-12:00 to +14:00): a name is read as its offset now. With --at and
    /// --candles: how a TIME without an offset is read, where 1d/3d/1w/1M candles start
    /// (split at daylight-saving changes) and the dates of -f ledger and beancount.
    #[arg(
        long,
        value_name = "ZONE",
        allow_hyphen_values = true,
        env = "PRICEFETCH_TZ",
        value_parser = values::Offers(values::zones),
        hide_possible_values = true
    )]
    pub(crate) tz: Option<String>,

    /// Limit for each attempt, from connect to the last body byte (e.g. 500ms, 2s, 1m)
    #[arg(short = 't', long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration,
          allow_hyphen_values = true, env = "PRICEFETCH_TIMEOUT")]
    pub(crate) timeout: Duration,

    /// Limit for the TCP and TLS connect alone
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration,
          allow_hyphen_values = true, env = "PRICEFETCH_CONNECT_TIMEOUT")]
    pub(crate) connect_timeout: Duration,

    /// Extra attempts after the first, for failures that can heal (timeouts, resets, 5xx)
    #[arg(
        short = 'r',
        long,
        value_name = "N",
        default_value_t = 3,
        allow_negative_numbers = true,
        env = "PRICEFETCH_RETRIES"
    )]
    pub(crate) retries: u32,

    /// Upper bound of the first retry's backoff; it doubles per retry, with full jitter
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = parse_duration,
          allow_hyphen_values = true, env = "PRICEFETCH_RETRY_DELAY")]
    pub(crate) retry_delay: Duration,

    /// Limit for the whole run; when it passes, print what arrived and mark the rest timed out
    ///
    /// With it, per-attempt timeouts and bounded retries, every run ends in bounded time: a good
    /// idea for cron.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true,
          env = "PRICEFETCH_DEADLINE")]
    pub(crate) deadline: Option<Duration>,

    /// With --compare: measured rounds per mode
    #[arg(
        long,
        value_name = "N",
        default_value = "3",
        value_parser = at_least_one::<NonZeroU32>,
        requires = "compare"
    )]
    pub(crate) runs: NonZeroU32,

    /// With --compare: unmeasured rounds per mode first (connection set-up)
    #[arg(long, value_name = "N", default_value_t = 1, requires = "compare")]
    pub(crate) warmup: u32,
}

/// `Live` in `--help`: how `--watch` and `--stream` end and keep their connections.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Live")]
pub(crate) struct LiveArgs {
    /// Stop when a price meets e.g. 'BTCUSDT >= 100000'
    ///
    /// With --stream or --watch. <, <=, >, >= or ==, compared as exact decimals with the price
    /// (the last price for 24h, the bid for book); several conditions separated by commas mean
    /// any. The update that met it is printed, and the exit code is 0.
    #[arg(long, value_name = "CONDITION")]
    pub(crate) until: Option<String>,

    /// With --watch: stop after N refreshes; with --stream, after N updates
    #[arg(
        long,
        value_name = "N",
        value_parser = at_least_one::<std::num::NonZeroU64>
    )]
    pub(crate) count: Option<std::num::NonZeroU64>,

    /// With --stream: replace a connection that delivers nothing for this long (at least 1s)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_stale,
          allow_hyphen_values = true)]
    pub(crate) stale: Duration,

    /// With --stream: replace each connection after this long (Binance ends them at 24 h)
    #[arg(long, value_name = "DURATION", default_value = "23h 50m", value_parser = parse_duration,
          allow_hyphen_values = true)]
    pub(crate) stream_rollover: Duration,

    /// With --stream: a Prometheus exporter at ADDR (9464)
    ///
    /// Serves /metrics and /healthz at ADDR instead of printing. ADDR is a port on loopback (9464), or an IP address and port (0.0.0.0:9464 serves every
    /// interface, and says so). /metrics answers from memory, never a request to Binance;
    /// /healthz is 503 once no value arrived for --stale.
    #[arg(long, value_name = "ADDR", value_parser = values::parse_addr, help_heading = None,
          display_order = 11)]
    pub(crate) serve: Option<std::net::SocketAddr>,

    /// With --stream -f ndjson: fill each reconnect's gap with Binance's 1s candles
    ///
    /// After the gap record, the 1s candles of the gap come from REST (weight 2 per 1,000
    /// seconds, paced by the shared budget; at most the gap's last hour) as lines marked
    /// "backfill":true, so a series logged from the stream has no hole where Binance had data.
    #[arg(long)]
    pub(crate) backfill: bool,
}

/// `History` in `--help`: prices at past moments and candles over a range.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "History")]
pub(crate) struct HistoryArgs {
    /// The price at a past moment, e.g. -1d or 2024-12-31
    ///
    /// Each symbol's last trade at or before TIME. TIME: RFC 3339 (2024-03-01T12:00:00Z), a
    /// time in --tz (2024-03-01T12:00), a date, which means 00:00 in --tz (so the close of 31
    /// December is --at 2024-12-31T23:59:59.999, not --at 2024-12-31), @epoch seconds or ms, or
    /// before now (-15m, -2d). No trade within --lookback is an error (exit 1) naming the last
    /// trade before it.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true,
          conflicts_with_all = ["from", "candles"], help_heading = None, display_order = 12)]
    pub(crate) at: Option<String>,

    /// With --at: how far before TIME a trade still counts (at most 7d)
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration,
          allow_hyphen_values = true)]
    pub(crate) lookback: Duration,

    /// Candles from --from to --to, e.g. 1h or 1d
    ///
    /// INTERVAL: 1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w or 1M. Every candle that opens in [--from, --to), in time order, 1,000 a request, -c requests at
    /// once (at most 32). A stretch Binance has no candles for (a halt, before a listing) is said on stderr;
    /// a candle without trades keeps trades 0.
    #[arg(long, value_name = "INTERVAL", requires = "from", help_heading = None,
          display_order = 13, value_parser = values::Offers(values::intervals),
          hide_possible_values = true)]
    pub(crate) candles: Option<String>,

    /// With --candles or --funding: the first moment of the range (a TIME, as for --at)
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub(crate) from: Option<String>,

    /// Futures: each perpetual's funding rates from --from to --to (fundingRate)
    ///
    /// Columns symbol, funding_time, funding_rate (exact, as sent; negative when shorts pay)
    /// and mark_price, 1,000 a request, page after page, -c symbols at once, paced by the
    /// funding history's own limit (500 requests per 5 minutes per IP, a budget of its own in
    /// the shared ledger). csv, json, ndjson, table or plain: rates are not prices, so not
    /// ledger or beancount.
    #[arg(long, requires = "from", conflicts_with_all = ["at", "candles"])]
    pub(crate) funding: bool,

    /// With --candles or --funding: the end of the range, not included (a TIME; default: now)
    #[arg(
        long,
        value_name = "TIME",
        allow_hyphen_values = true,
        requires = "from"
    )]
    pub(crate) to: Option<String>,

    /// With -f ledger or beancount: write ASSET as NAME (repeatable; e.g. 1INCH=ONEINCH)
    ///
    /// beancount takes commodity names of 2 to 24 of A-Z 0-9 ' . _ - starting with a capital
    /// letter: a symbol whose asset is not one (1INCH, 1000SATS, a UTF-8 name) fails on its own
    /// unless mapped here or in the config file's commodity table. ledger quotes names that
    /// are not letters ("1INCH").
    #[arg(long, value_name = "ASSET=NAME", value_parser = crate::commodity::parse_mapping,
          action = clap::ArgAction::Append, hide_short_help = true)]
    pub(crate) commodity: Vec<(String, String)>,
}

/// `Rate limits` in `--help`: binance's request-weight limit and the ledger shared with the host's other processes.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Rate limits")]
pub(crate) struct RateLimitArgs {
    /// Longest pause to accept for a rate limit (429 Retry-After, or the next minute's budget)
    ///
    /// A longer one fails the symbols not yet fetched (exit 4) with the time to try again.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration,
          allow_hyphen_values = true, env = "PRICEFETCH_MAX_WAIT")]
    pub(crate) max_wait: Duration,

    /// Request weight Binance allows this IP per minute; pricefetch stays 5% under it
    ///
    /// The budget is shared by every process on the IP: the X-MBX-USED-WEIGHT-1M header of each
    /// answer tells what the others used. A request that would pass it waits for the next minute.
    /// On the futures, left at 6000 it is the market's own, from its exchangeInfo (asked once a
    /// day; 2400 until then).
    #[arg(
        long,
        value_name = "N",
        default_value = "6000",
        value_parser = at_least_one::<NonZeroU32>,
        env = "PRICEFETCH_WEIGHT_LIMIT"
    )]
    pub(crate) weight_limit: NonZeroU32,

    /// Refuse to start a run estimated to cost more request weight than this
    ///
    /// The estimate counts every round (all rounds of both modes with --compare), not retries.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        env = "PRICEFETCH_MAX_WEIGHT"
    )]
    pub(crate) max_weight: u32,

    /// Do not share the rate limit with other pricefetch processes on this host
    ///
    /// By default every run reserves its request weight in a ledger file per API host (in
    /// PRICEFETCH_STATE_DIR, else ~/.local/state/pricefetch), where 429 pauses and 418 bans are
    /// kept too: the processes on one IP act as one client, across runs.
    #[arg(long, env = "PRICEFETCH_NO_SHARED_STATE")]
    pub(crate) no_shared_state: bool,
}

/// `Network` in `--help`: where requests go and through what: hosts, mirrors, certificates, proxies.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Network")]
pub(crate) struct NetworkArgs {
    /// Which exchange to ask: spot, usdm (USDⓈ-M futures) or coinm (COIN-M futures)
    ///
    /// Each is its own exchange: hosts (fapi.binance.com, dapi.binance.com; --base-url
    /// overrides), symbols (BTCUSDT and BTCUSDT_250627 on usdm, BTCUSD_PERP on coinm), request
    /// weight (its exchangeInfo's limit, 2,400 a minute; --weight-limit overrides) and budget in
    /// the shared ledger: a ban on one leaves the others running. On the futures markets:
    /// --ticker price, 24h, book and mark, once, with --watch or --stream, for symbols or --all;
    /// --at, --candles and --funding.
    #[arg(long, value_enum, default_value_t = super::MarketChoice::Spot, env = "PRICEFETCH_MARKET",
          ignore_case = true)]
    pub(crate) market: super::MarketChoice,

    /// Binance REST host to ask
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://api.binance.com",
        env = "PRICEFETCH_BASE_URL"
    )]
    pub(crate) base_url: String,

    /// Another host serving the same API, for failover and --hedge (repeatable)
    ///
    /// Default with the default --base-url: Binance's alternates api-gcp.binance.com and
    /// api1..api4.binance.com. A host that fails with a connect error or a 5xx is skipped for the
    /// rest of the run.
    #[arg(
        long = "mirror",
        value_name = "URL",
        env = "PRICEFETCH_MIRROR",
        value_delimiter = ','
    )]
    pub(crate) mirror: Vec<String>,

    /// Binance WebSocket streams host, for --stream
    ///
    /// With the default, wss://data-stream.binance.vision (market data only) is the mirror a
    /// connection fails over to.
    #[arg(
        long,
        value_name = "URL",
        default_value = "wss://stream.binance.com:9443",
        env = "PRICEFETCH_STREAM_URL"
    )]
    pub(crate) stream_url: String,

    /// Send a request that has not answered after DELAY to the next mirror too; first answer wins
    #[arg(long, value_name = "DELAY", value_parser = parse_duration, allow_hyphen_values = true,
          env = "PRICEFETCH_HEDGE")]
    pub(crate) hedge: Option<Duration>,

    /// Allow a plain http:// base URL to a host other than this machine
    ///
    /// Prices sent over plain HTTP can be altered in transit, so only loopback may use it unless
    /// this flag is given.
    #[arg(long, env = "PRICEFETCH_ALLOW_HTTP")]
    pub(crate) allow_http: bool,

    /// Trust the PEM certificates in FILE too (a company proxy's or a private mirror's CA)
    ///
    /// In addition to the system's certificates. SSL_CERT_FILE and SSL_CERT_DIR replace the
    /// system's instead.
    #[arg(long, value_name = "FILE", env = "PRICEFETCH_CACERT")]
    pub(crate) cacert: Option<PathBuf>,

    /// Send every request through this proxy (http:// or https://)
    ///
    /// Without it, the standard HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY variables are
    /// honoured. Cron does not inherit your shell's environment: set them in the crontab.
    #[arg(long, value_name = "URL", env = "PRICEFETCH_PROXY")]
    pub(crate) proxy: Option<String>,
}

/// `Config` in `--help`: the config file.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Config")]
pub(crate) struct ConfigArgs {
    /// Read settings from this TOML file instead of the default one
    ///
    /// The default is config.toml in the platform's config directory
    /// (~/.config/pricefetch/config.toml on Linux).
    #[arg(
        long,
        value_name = "FILE",
        env = "PRICEFETCH_CONFIG",
        conflicts_with = "no_config"
    )]
    pub(crate) config: Option<PathBuf>,

    /// Ignore the config file
    #[arg(long)]
    pub(crate) no_config: bool,

    /// Print every effective setting and where it came from, then exit
    #[arg(long)]
    pub(crate) show_config: bool,
}

/// `Shell integration` in `--help`: completions and the man page.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Shell integration")]
pub(crate) struct ShellArgs {
    /// Print a completion script for SHELL to stdout, then exit
    #[arg(long, value_enum, ignore_case = true, value_name = "SHELL")]
    pub(crate) completions: Option<clap_complete::Shell>,

    /// Print the man page (roff) to stdout, then exit
    #[arg(long)]
    pub(crate) man: bool,
}
