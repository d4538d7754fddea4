//! pricefetch: fetch cryptocurrency prices from Binance Spot (its REST API and its WebSocket
//! streams), concurrently, fast and safely.
//!
//! A run is a straight line of named types: argv → [`cli::Cli`] → [`config::Config`] →
//! [`fetch::Engine`] rounds (or a live run: [`watch`], [`stream`]) → [`report::Report`] →
//! [`output`] → an exit code from [`error`]. The binary (`main.rs`) only wires these together.
//!
//! # Layers
//!
//! Imports go one way, down this list (ARCHITECTURE.md has the table, and
//! `tests/it/architecture.rs` holds the code to it, loops inside a layer included):
//!
//! 1. **Vocabulary**, the words every layer shares: [`error`] (errors, exit codes, hints),
//!    [`clock`] (wall-clock times, time zones), [`commodity`] (names ledger, hledger and
//!    beancount accept), [`decimal`] (Binance's decimals, exactly), [`host`], [`market`]
//!    (ticker kinds, tickers, updates, candles, trades), [`interval`] (kline intervals and
//!    local periods), [`symbols`], [`text`] (durations, widths, wrapping), [`strategy`]
//!    (grouping into requests, weights), [`proxy`], [`ledger`] (the host's shared rate-limit
//!    file), [`pairs`] (pairs as assets, routes, their cache).
//! 2. **Network**: [`answer`] (what Binance's answers mean), [`binance`] (the HTTP client),
//!    [`retry`] (the one retry decision), [`throttle`] (the IP's rate limit, shared),
//!    [`until`] (exact-decimal stop conditions), and the wire side of [`stream`] (links,
//!    messages).
//! 3. **Engine**: [`outcome`], [`fetch`] (async fan-out under a semaphore, or strictly
//!    sequential), [`convert`] (`--in`), [`history`] (`--at`, `--candles`).
//! 4. **Results and rendering**: [`report`] (the run's facts, the comparison maths),
//!    [`board`] (a live stream's latest values, shared with the exporter), [`output`].
//! 5. **Validated run**: [`config`] (the settings every engine and renderer reads; the run's
//!    kind, [`config::Run`]).
//! 6. **Live runs**: [`watch`], [`stream`]'s consumer, [`serve`] (the exporter).
//! 7. **Application**: [`run`] (one match over the run's kind, signals, deadline, `-o`),
//!    [`cli`] (flags, their lowering into a `Config`, the config file, completions, man page).

#![allow(
    rustdoc::private_intra_doc_links,
    reason = "a private crate: its docs are read with cargo doc --document-private-items"
)]

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
