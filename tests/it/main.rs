//! pricefetch's integration tests, one binary (as ripgrep's `tests/tests.rs`): a module per
//! feature, each driving the built `pricefetch` against the project's mock Binance on
//! `127.0.0.1:0`. One binary links the crate, the mock, axum and jsonschema once, not once a
//! file. Run one feature with `cargo test --test it history::`.

#![allow(
    unreachable_pub,
    reason = "a test binary has no API: its helpers are pub for its modules"
)]

mod common;

mod accounting;
mod answers;
mod architecture;
mod cli;
mod convert;
mod ecosystem;
mod fetch;
mod futures;
mod futures_history;
mod futures_live;
mod hedge;
mod history;
mod history_at;
mod history_zones;
mod hostile;
mod kinds;
mod market;
mod metrics;
mod one_ip;
mod output;
mod output_file;
mod proxy;
mod readme;
mod resilience;
mod schema;
mod serve;
mod status;
mod stream;
mod stream_failures;
mod terminal;
mod tls;
mod watch;
