//! Runs the project's mock Binance on its own, to try pricefetch offline or to benchmark it:
//!
//! ```text
//! cargo run --release -p mock-binance            # on 127.0.0.1:8731
//! cargo run --release -p mock-binance -- --port 0 --latency 50ms
//! ```
//!
//! Its first lines on stdout are the lines to paste into another shell,
//! `export PRICEFETCH_BASE_URL=http://127.0.0.1:8731` and the same for the WebSocket streams
//! (`PRICEFETCH_STREAM_URL=ws://…`), and it serves until killed.
//! `GET /__mock/stats` reports the requests it saw and the most it had in flight at once.

use std::io::Write;
use std::time::Duration;

use clap::Parser;
use mock_binance::{MockServer, Options};

/// A mock of Binance's Spot market-data API on this machine.
#[derive(Parser)]
struct Args {
    /// Delay before every answer, like a network round trip (e.g. 50ms)
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    latency: Duration,
    /// Port to listen on (0 = any free port)
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Extra generated symbols (SYM0001USDT, ...) on top of the realistic list
    #[arg(long, default_value_t = 0)]
    symbols: usize,
    /// Request weight allowed per minute before answering 429
    #[arg(long, default_value_t = 6000)]
    weight_limit: u32,
    /// The futures markets' request weight per minute (USD-M and COIN-M each)
    #[arg(long, default_value_t = 2400)]
    futures_weight_limit: u32,
    /// Chance (0..1) of a random transient fault (503, HTML 502, cut body, bad JSON, reset)
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed for the random faults
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Serve HTTPS with a certificate from a private CA, written to this file (for --cacert)
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<std::path::PathBuf>,
    /// With --tls-ca: offer HTTP/1.1 only (no h2) by ALPN
    #[arg(long)]
    http1_only: bool,
    /// How often every WebSocket stream sends an update (Binance: 1s)
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    stream_interval: Duration,
    /// REST prices never change, and each stream rises a small step per update from the
    /// listed price (the README's samples are the frozen mock's). By default prices wander a
    /// little every second, the same way for the same --seed, on REST and streams alike
    #[arg(long)]
    frozen: bool,
    /// History (klines, aggTrades) answers times in microseconds, as Binance does when asked
    #[arg(long)]
    micros: bool,
}

/// A fixed default, so that the README's `export` line works as pasted.
const DEFAULT_PORT: u16 = 8731;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let server = match MockServer::try_start_with(Options {
        latency: args.latency,
        weight_limit: args.weight_limit,
        futures_weight_limit: args.futures_weight_limit,
        extra_symbols: args.symbols,
        fault_rate: args.fault_rate,
        seed: args.seed,
        addr: ([127, 0, 0, 1], args.port).into(),
        tls: if args.tls_ca.is_some() && args.http1_only {
            mock_binance::TlsMode::Http1Only
        } else if args.tls_ca.is_some() {
            mock_binance::TlsMode::On
        } else {
            mock_binance::TlsMode::Off
        },
        streams: mock_binance::StreamOptions {
            interval: args.stream_interval,
            ..Default::default()
        },
        moving_prices: !args.frozen,
        extra_pairs: Vec::new(),
        micros: args.micros,
    }) {
        Ok(server) => server,
        Err(e) => {
            eprintln!(
                "mock-binance: cannot listen on 127.0.0.1:{}: {e}; is another mock running? \
                 Pass --port 0 for any free port",
                args.port
            );
            return std::process::ExitCode::from(1);
        }
    };
    if let (Some(path), Some(pem)) = (&args.tls_ca, server.ca_pem())
        && let Err(e) = std::fs::write(path, pem)
    {
        eprintln!("mock-binance: cannot write {}: {e}", path.display());
        return std::process::ExitCode::from(1);
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "export PRICEFETCH_BASE_URL={}", server.url());
    let _ = writeln!(out, "export PRICEFETCH_STREAM_URL={}", server.stream_url());
    let _ = out.flush();
    drop(out);
    eprintln!(
        "mock Binance listening on {}: paste the lines above into another shell, then run \
         pricefetch BTCUSDT ETHUSDT. The futures too: --market usdm (its streams under \
         /market and /public, as Binance routes them), --market coinm (its streams: add \
         --stream-url {}/coinm). Ctrl-C stops it.",
        server.url(),
        server.stream_url()
    );
    loop {
        std::thread::park();
    }
}
