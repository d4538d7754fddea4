//! pricefetch: fetch cryptocurrency prices from Binance Spot (its REST API and its WebSocket
//! streams), concurrently, fast and safely.
//!
//! A run is a straight line of named types: argv → [`cli::Cli`] → [`config::Config`] →
//! [`fetch::Engine`] rounds (or a live run: [`watch`], [`stream`]) → [`report::Report`] →
//! [`output`] → an exit code from [`error`]. The binary (`main.rs`) only wires these together.
//!
//! # Layers
//!
//! Imports go one way, down this list (ARCHITECTURE.md has the rule and where new parts go):
//!
//! 1. **Vocabulary**, the words every layer shares: [`error`] (errors, exit codes, hints),
//!    [`clock`] (wall-clock times, time zones), [`commodity`] (names ledger, hledger and
//!    beancount accept), [`decimal`] (Binance's decimals, read,
//!    compared and converted exactly), [`host`] (host names, Binance's hosts), [`market`]
//!    (ticker kinds, tickers, streamed updates), [`pairs`] (pairs as assets, routes, their
//!    cache), [`symbols`] (symbol rules, `--file`), [`text`] (durations, widths, wrapping),
//!    [`strategy`] (grouping into requests, weights), [`proxy`] (which proxy, and where it was
//!    set), [`ledger`] (the host's shared rate-limit file).
//! 2. **Network**: [`answer`] (what Binance's answers mean), [`binance`] (the HTTP client),
//!    [`retry`] (the one retry decision), [`throttle`] (the IP's rate limit, shared),
//!    [`until`] (exact-decimal stop conditions).
//! 3. **Engine**: [`outcome`] (what a round produces), [`fetch`] (async fan-out under a
//!    semaphore, or strictly sequential), [`convert`] (`--in`: prices through Binance's pairs).
//! 4. **Results and rendering**: [`report`] (the run's facts, the comparison maths),
//!    [`board`] (a live stream's latest values and counters, shared with the exporter),
//!    [`output`] (every format, the stderr wording, stdout's writer).
//! 5. **Validated run**: [`config`] (the settings every engine and renderer reads).
//! 6. **Live runs**: [`watch`] (refreshes on a schedule), [`stream`] (WebSocket streams,
//!    reconnected, never silent), [`serve`] (`--serve`: the stream as a Prometheus exporter).
//! 7. **Application**: [`run`] (one run or a comparison, signals, deadline), [`cli`] (flags,
//!    their lowering into a `Config`, the config file, completions and man page).

pub(crate) mod answer;
pub(crate) mod binance;
pub(crate) mod board;
pub mod cli;
pub(crate) mod clock;
pub(crate) mod commodity;
pub(crate) mod config;
pub(crate) mod convert;
pub(crate) mod decimal;
pub mod error;
pub(crate) mod fetch;
pub(crate) mod history;
pub(crate) mod host;
pub(crate) mod interval;
pub mod ledger;
pub(crate) mod market;
pub(crate) mod outcome;
pub mod output;
pub mod pairs;
pub(crate) mod proxy;
pub(crate) mod report;
pub(crate) mod retry;
pub mod run;
pub(crate) mod serve;
pub(crate) mod strategy;
pub(crate) mod stream;
pub(crate) mod symbols;
pub mod text;
pub(crate) mod throttle;
pub(crate) mod until;
pub(crate) mod watch;
