//! What can go wrong, and the one place that turns it into an exit code and a hint.
//!
//! Two layers, as in oha and lychee: [`FetchError`] is a per-symbol failure and is *data* (the
//! run goes on and reports it), while set-up failures travel as `anyhow::Error` and end the run.
//! [`exit_for_failures`] and [`exit_for_error`] are the only functions that choose a process exit
//! code; [`hint`] is the only place that tells the user what to do next.

use std::fmt;
use std::time::Duration;

/// One symbol's failure, after its last attempt. Messages are lowercase and say what failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    /// No complete answer within the per-attempt timeout.
    #[error("no answer within {}", crate::text::span(*.0))]
    Timeout(Duration),
    /// DNS failure, connection refused, TLS failure: the host was never reached.
    #[error("cannot connect to {host}: {cause}")]
    Connect { host: String, cause: String },
    /// The server's TLS certificate was refused (unknown issuer, expired, wrong name): no
    /// retry heals that.
    #[error("cannot trust {host}: {cause}")]
    Certificate { host: String, cause: String },
    /// The proxy, not Binance: unreachable, refused the tunnel, or asked for credentials.
    #[error("the proxy {proxy} (from {source_of}) {cause}")]
    Proxy {
        proxy: String,
        source_of: String,
        cause: String,
        /// It said no (403, 407): asking again will not change that.
        lasting: bool,
    },
    /// The connection broke after it was made (reset, body cut short).
    #[error("connection broke: {0}")]
    Transport(String),
    /// HTTP 5xx: the outcome is unknown, so a GET may be retried (after its `Retry-After`,
    /// when it sends one).
    #[error("server error{}", ApiText(*.code, .msg))]
    Server {
        status: u16,
        code: Option<i64>,
        msg: String,
        retry_after: Option<Duration>,
    },
    /// HTTP 429: the IP's request-weight budget is spent.
    #[error("rate-limited by Binance{}", RetryText(*.retry_after))]
    RateLimited {
        retry_after: Option<Duration>,
        msg: String,
    },
    /// Not sent: the run would have had to wait longer than `--max-wait` for the rate limit
    /// (a `Retry-After`, or the next minute's weight budget).
    #[error("not sent: {why}; try again in {}", crate::text::span(Duration::from_secs(.retry_after.as_secs_f64().ceil() as u64)))]
    Throttled { retry_after: Duration, why: String },
    /// HTTP 418: the IP is banned for ignoring a 429.
    #[error("IP banned by Binance{}", UntilText(*.until_ms))]
    Banned {
        retry_after: Option<Duration>,
        until_ms: Option<u64>,
        msg: String,
    },
    /// HTTP 451: Binance refuses this location.
    #[error("refused for this location (geo-blocked)")]
    GeoBlocked { msg: String },
    /// Any other 4xx: the request itself is wrong (e.g. -1121 invalid symbol). Never retried.
    #[error("rejected by Binance{}", ApiText(*.code, .msg))]
    Api {
        status: u16,
        code: Option<i64>,
        msg: String,
    },
    /// The pair is listed but does not trade (delisted or halted): Binance's answer for it
    /// would be a stale price, so there is none (-1220, or left out of a filtered list).
    #[error("not trading (delisted or halted): no current price")]
    NotTrading { symbol: String },
    /// `--in`: no trading pair, direct, inverse or through a hub, links the asset to the one
    /// asked for; `why` names the pairs that were missing.
    #[error("no route to {target}: {why}")]
    NoRoute { target: String, why: String },
    /// `--at`: no trade within `--lookback` before the moment; `detail` names the last trade
    /// before it, or the first trade ever (before a listing).
    #[error("{detail}")]
    NoTrade { symbol: String, detail: String },
    /// `--in`: the legs were priced, but their product has no value to print (a leg priced at
    /// zero, a result below 1e-28): said, never a 0.
    #[error("{detail}")]
    Unusable { detail: String },
    /// `-f ledger`/`beancount`: an asset of the pair has no name the format accepts and the
    /// user gave none (`--commodity`); nothing was asked for it.
    #[error("{detail}")]
    Commodity { symbol: String, detail: String },
    /// A 2xx whose body is not the JSON we expect.
    #[error("unexpected answer: {detail}")]
    Decode { status: u16, detail: String },
    /// The body was larger than the cap for this request.
    #[error("answer larger than {limit} bytes")]
    TooLarge { status: u16, limit: usize },
    /// Ctrl-C stopped the run before this symbol had an answer.
    #[error("cancelled before an answer")]
    Cancelled,
    /// `--deadline` passed before this symbol had an answer.
    #[error("the run's deadline of {} passed before an answer", crate::text::span(*.0))]
    Deadline(Duration),
}

struct ApiText<'a>(Option<i64>, &'a String);
impl fmt::Display for ApiText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1.is_empty()) {
            (Some(code), false) => write!(f, ": {code} {}", self.1),
            (Some(code), true) => write!(f, ": code {code}"),
            (None, false) => write!(f, ": {}", self.1),
            (None, true) => Ok(()),
        }
    }
}

struct RetryText(Option<Duration>);
impl fmt::Display for RetryText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, " (retry after {})", crate::text::span(d)),
            None => Ok(()),
        }
    }
}

struct UntilText(Option<u64>);
impl fmt::Display for UntilText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ms) => write!(f, " until {}", crate::clock::rfc3339_seconds(ms)),
            None => Ok(()),
        }
    }
}

impl FetchError {
    /// A stable machine name for JSON and CSV (`error.kind`).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Timeout(_) | Self::Deadline(_) => "timeout",
            Self::Connect { .. } => "connect",
            Self::Certificate { .. } => "certificate",
            Self::Proxy { .. } => "proxy",
            Self::Transport(_) => "transport",
            Self::Server { .. } => "server",
            Self::RateLimited { .. } | Self::Throttled { .. } => "rate_limited",
            Self::Banned { .. } => "banned",
            Self::GeoBlocked { .. } => "geo_blocked",
            Self::Api { .. } => "api",
            Self::NotTrading { .. } => "not_trading",
            Self::NoRoute { .. } => "no_route",
            Self::NoTrade { .. } => "no_trade",
            Self::Commodity { .. } => "commodity",
            Self::Unusable { .. } => "unusable",
            Self::Decode { .. } => "decode",
            Self::TooLarge { .. } => "too_large",
            Self::Cancelled => "cancelled",
        }
    }

    /// The HTTP status of the answer, when there was one.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            Self::Server { status, .. }
            | Self::Api { status, .. }
            | Self::Decode { status, .. }
            | Self::TooLarge { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            Self::Banned { .. } => Some(418),
            Self::GeoBlocked { .. } => Some(451),
            _ => None,
        }
    }

    /// Binance's error `code`, when the body carried one.
    pub(crate) fn code(&self) -> Option<i64> {
        match self {
            Self::Server { code, .. } | Self::Api { code, .. } => *code,
            Self::RateLimited { .. } | Self::Banned { .. } => Some(-1003),
            _ => None,
        }
    }

    /// Binance's -1121 "Invalid symbol.": in a batch, one unknown symbol fails them all.
    pub(crate) fn is_invalid_symbol(&self) -> bool {
        matches!(
            self,
            Self::Api {
                code: Some(-1121),
                ..
            }
        )
    }

    /// The exit code this failure asks for (see [`Exit`]).
    fn exit(&self) -> Exit {
        match self {
            Self::Timeout(_)
            | Self::Deadline(_)
            | Self::Connect { .. }
            | Self::Certificate { .. }
            | Self::Proxy { .. }
            | Self::Transport(_)
            | Self::Server { .. }
            | Self::Decode { .. } => Exit::Network,
            Self::RateLimited { .. } | Self::Throttled { .. } | Self::Banned { .. } => {
                Exit::RateLimited
            }
            Self::GeoBlocked { .. } => Exit::GeoBlocked,
            Self::Api { .. }
            | Self::TooLarge { .. }
            | Self::NotTrading { .. }
            | Self::NoRoute { .. }
            | Self::NoTrade { .. }
            | Self::Commodity { .. }
            | Self::Unusable { .. } => Exit::Partial,
            Self::Cancelled => Exit::Interrupted,
        }
    }
}

/// A bad flag value, symbol or file: the user must change the command. Exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The tracing target of warnings about the data itself (a gap in a range, a pair not listed
/// yet, rows left out, a leg that failed, a stream's reconnect): `-q` drops the summary, not
/// these; only `-qq` does. `tracing::warn!(target: DATA, ...)`.
pub const DATA: &str = "pricefetch::data";

/// Process exit codes. Documented in the README and in `--help`; 2 is also clap's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Every symbol has a price.
    Ok = 0,
    /// Some symbols failed (e.g. unknown symbol); the rest were printed.
    Partial = 1,
    /// Usage error: bad flag, bad symbol, nothing to do.
    Usage = 2,
    /// No answer from the server: network, DNS, TLS, timeouts, 5xx.
    Network = 3,
    /// Rate-limited (429) or banned (418).
    RateLimited = 4,
    /// Refused for the user's location (451).
    GeoBlocked = 5,
    /// The output could not be written (disk full, a closed file); not a closed pipe.
    Output = 6,
    /// Stopped by SIGHUP (128 + 1).
    HungUp = 129,
    /// Interrupted by Ctrl-C (128 + SIGINT).
    Interrupted = 130,
    /// Stopped by SIGTERM (128 + 15): `timeout`, `systemctl stop`, `docker stop`.
    Terminated = 143,
}

/// A signal that stops a run gracefully: what has arrived is printed, the rest is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGHUP: the terminal went away.
    Hangup,
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: asked to stop.
    Terminate,
}

impl Signal {
    /// The exit code a run stopped by this signal ends with (128 + the signal's number).
    pub(crate) fn exit(self) -> Exit {
        match self {
            Self::Hangup => Exit::HungUp,
            Self::Interrupt => Exit::Interrupted,
            Self::Terminate => Exit::Terminated,
        }
    }

    /// `SIGHUP`, `SIGINT` or `SIGTERM`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Hangup => "SIGHUP",
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        }
    }
}

/// Writing the output failed: the disk is full, the file was closed. Exit 6 (a closed pipe is
/// not this: the reader left, and that is exit 0).
/// (The OS's words come with the chain, `{:#}`, once.)
#[derive(Debug, thiserror::Error)]
#[error("cannot write the output")]
pub struct OutputError(#[from] pub std::io::Error);

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        Self::from(e as u8)
    }
}

/// The exit code of a finished run: the most serious failure wins (3/4/5 over 1), and a run
/// stopped by a signal ends with that signal's code (129, 130, 143) whatever else happened.
pub fn exit_for_failures<'a>(
    failures: impl IntoIterator<Item = &'a FetchError>,
    interrupted: Option<Signal>,
) -> Exit {
    if let Some(signal) = interrupted {
        return signal.exit();
    }
    failures
        .into_iter()
        .map(FetchError::exit)
        .filter(|e| *e != Exit::Interrupted)
        .max()
        .unwrap_or(Exit::Ok)
}

/// The exit code of a run that failed as a whole (set-up, output), from its error chain.
pub fn exit_for_error(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if cause.downcast_ref::<UsageError>().is_some() || cause.is::<clap::Error>() {
            return Exit::Usage;
        }
        if let Some(f) = cause.downcast_ref::<FetchError>() {
            return f.exit();
        }
        if cause.is::<OutputError>() {
            return Exit::Output;
        }
    }
    Exit::Partial
}

/// True when the error is the reader of our output going away (`pricefetch | head -1`).
/// That is not a failure: like ripgrep, exit 0 quietly.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .or_else(|| c.downcast_ref::<OutputError>().map(|o| &o.0))
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// What the user can do about a failure, when there is something to say.
pub(crate) fn hint(err: &FetchError) -> Option<String> {
    match err {
        FetchError::GeoBlocked { .. } => Some(
            "Binance refuses this location (HTTP 451); market data is usually reachable with \
             --base-url https://data-api.binance.vision"
                .into(),
        ),
        FetchError::Proxy {
            source_of, lasting, ..
        } => Some(format!(
            "check the proxy set by {source_of}{}; NO_PROXY lists hosts that bypass it",
            if *lasting {
                ": a proxy that wants credentials takes them as http://USER:PASSWORD@HOST:PORT"
            } else {
                " and that it is running"
            }
        )),
        FetchError::Certificate { .. } => Some(
            "behind a company proxy that re-signs TLS, or with a private mirror, give its CA \
             certificate with --cacert FILE (or the SSL_CERT_FILE / SSL_CERT_DIR variables); \
             an expired certificate can also mean this machine's clock is wrong"
                .into(),
        ),
        FetchError::Connect { host, cause }
            if crate::host::is_loopback(host) && cause.contains("Connection refused") =>
        {
            Some(format!(
                "nothing listens on {host}: is the mock running? Start it with\n  cargo run \
                 --release -p mock-binance"
            ))
        }
        FetchError::Connect { .. } => Some(
            "check the network; behind a proxy set HTTPS_PROXY (or --proxy URL); or try another \
             host with --base-url. No network? Try pricefetch offline against the project's \
             mock, and paste the export lines it prints:\n  cargo run --release -p mock-binance"
                .into(),
        ),
        FetchError::Timeout(_) => {
            Some("the server did not answer in time; raise --timeout or try --base-url".into())
        }
        FetchError::Deadline(_) => {
            Some("the whole run hit --deadline; raise it, or ask for fewer symbols".into())
        }
        FetchError::RateLimited { retry_after, .. } => Some(format!(
            "the IP's request-weight budget is spent{}; lower --concurrency, and do not retry \
             sooner or Binance bans the IP",
            match retry_after {
                Some(d) => format!(", try again in {}", crate::text::span(*d)),
                None => String::new(),
            }
        )),
        FetchError::Throttled { retry_after, .. } => Some(format!(
            "wait until {} or later (or raise --max-wait); Binance's limit is per IP and shared \
             by every process on it",
            crate::clock::rfc3339_seconds(
                crate::clock::unix_ms().saturating_add(retry_after.as_millis() as u64)
            )
        )),
        FetchError::Banned { .. } => Some(
            "Binance banned this IP for sending during a rate-limit window; every request \
             before the ban ends extends it, so wait it out"
                .into(),
        ),
        FetchError::Api {
            code: Some(-1121), ..
        } => Some("check the symbol's spelling, e.g. BTCUSDT (base + quote asset)".into()),
        FetchError::NotTrading { .. } => Some(
            "Binance lists the pair but it does not trade; --any-status prints its last (stale) \
             price"
                .into(),
        ),
        FetchError::NoRoute { .. } => Some(
            "--in prices an asset through its pairs on Binance: the direct pair, its inverse, \
             or two legs through USDT, USDC, FDUSD, BTC, BNB or ETH (--via picks one)"
                .into(),
        ),
        _ => None,
    }
}

/// The OS's words for an I/O error, in short ("no such file", "permission denied"), without
/// Rust's "(os error N)" suffix.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_owned(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: i64) -> FetchError {
        FetchError::Api {
            status: 400,
            code: Some(code),
            msg: "Invalid symbol.".into(),
        }
    }

    #[test]
    fn exit_is_the_most_serious_failure() {
        assert_eq!(exit_for_failures([], None), Exit::Ok);
        assert_eq!(exit_for_failures([&api(-1121)], None), Exit::Partial);
        let geo = FetchError::GeoBlocked { msg: String::new() };
        let t = FetchError::Timeout(Duration::from_secs(1));
        assert_eq!(exit_for_failures([&api(-1121), &t], None), Exit::Network);
        assert_eq!(
            exit_for_failures([&t, &geo, &api(-1121)], None),
            Exit::GeoBlocked
        );
        let int = Some(Signal::Interrupt);
        assert_eq!(exit_for_failures([&api(-1121)], int), Exit::Interrupted);
        let term = Some(Signal::Terminate);
        assert_eq!(exit_for_failures([&geo], term), Exit::Terminated);
        assert_eq!(exit_for_failures([], Some(Signal::Hangup)) as u8, 129);
    }

    #[test]
    fn error_chain_picks_usage_and_fetch_errors() {
        let e = anyhow::Error::new(UsageError("bad".into())).context("reading flags");
        assert_eq!(exit_for_error(&e), Exit::Usage);
        let e = anyhow::Error::new(FetchError::GeoBlocked { msg: String::new() });
        assert_eq!(exit_for_error(&e), Exit::GeoBlocked);
        assert_eq!(exit_for_error(&anyhow::anyhow!("other")), Exit::Partial);
        let full = std::io::Error::from_raw_os_error(28);
        let e = anyhow::Error::new(OutputError(full));
        assert_eq!(exit_for_error(&e), Exit::Output);
        assert!(!is_broken_pipe(&e));
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(is_broken_pipe(&anyhow::Error::new(OutputError(pipe))));
    }

    #[test]
    fn messages_name_status_code_and_text() {
        assert_eq!(
            api(-1121).to_string(),
            "rejected by Binance: -1121 Invalid symbol."
        );
        let e = FetchError::Server {
            status: 502,
            code: None,
            msg: String::new(),
            retry_after: None,
        };
        assert_eq!(e.to_string(), "server error");
        assert_eq!(e.status(), Some(502));
        let e = FetchError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
            msg: String::new(),
        };
        assert_eq!(e.to_string(), "rate-limited by Binance (retry after 7s)");
        assert_eq!(e.code(), Some(-1003));
    }

    #[test]
    fn broken_pipe_is_found_anywhere_in_the_chain() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let e = anyhow::Error::new(io).context("writing output");
        assert!(is_broken_pipe(&e));
        assert!(!is_broken_pipe(&anyhow::anyhow!("x")));
    }
}
