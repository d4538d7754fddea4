//! The words around the flags: the examples and exit codes that `--help` and the man page
//! print after the options.

/// Examples, as `--help` and the man page show them: (command, what it does).
pub(crate) const EXAMPLES: &[(&str, &str)] = &[
    (
        "pricefetch BTCUSDT ETHUSDT",
        "prices, as a table on a terminal",
    ),
    (
        "pricefetch btc/usdt eth-usdt -f json",
        "symbols are normalised; JSON output",
    ),
    (
        "pricefetch --file watchlist.txt -c 8",
        "symbols from a file ('-' = stdin)",
    ),
    (
        "pricefetch --sync BTCUSDT ETHUSDT",
        "one request after another",
    ),
    (
        "pricefetch --compare BTCUSDT ETHUSDT SOLUSDT",
        "time sync against async",
    ),
    (
        "pricefetch --ticker 24h BTCUSDT ETHUSDT",
        "24-hour change, high, low, volume",
    ),
    (
        "pricefetch --all --quote USDT -f csv",
        "every USDT market, in one request",
    ),
    (
        "pricefetch --in EUR BTC ETH ADA",
        "assets priced in EUR, exactly, via Binance's pairs",
    ),
    (
        "pricefetch --at 2024-12-31T23:59:59.999 --tz Europe/Paris BTCEUR",
        "the close of 31 December in Paris (a date alone is 00:00)",
    ),
    (
        "pricefetch --candles 1d --from 2024-01-01 --to 2025-01-01 -o btc.csv BTCUSDT",
        "a year of daily candles (UTC days), written as CSV",
    ),
    (
        "pricefetch --candles 1d --from -30d -f beancount BTCEUR",
        "a month of closing prices, as beancount price directives",
    ),
    (
        "pricefetch --watch 5s BTCUSDT",
        "a live table, refreshed every 5 s",
    ),
    (
        "pricefetch --stream BTCUSDT ETHUSDT",
        "live updates over Binance's WebSocket streams",
    ),
    (
        "pricefetch --stream --until 'BTCUSDT >= 100000' BTCUSDT",
        "wait for a price, then exit 0",
    ),
    (
        "pricefetch --stream --serve 9464 BTCUSDT ETHUSDT",
        "a Prometheus exporter on 127.0.0.1:9464, fed by the stream",
    ),
];

/// Exit codes, as `--help`, the man page and the README list them: (code, meaning).
pub(crate) const EXIT_CODES: &[(&str, &str)] = &[
    ("0", "every symbol has a price"),
    ("1", "some symbols failed; the others were printed"),
    ("2", "usage error (bad flag, bad symbol, nothing to do)"),
    (
        "3",
        "no answer from the server (network, DNS, TLS, timeouts, 5xx)",
    ),
    ("4", "rate-limited or banned by Binance (HTTP 429/418)"),
    ("5", "refused for your location (HTTP 451): see --base-url"),
    (
        "6",
        "the output could not be written (disk full, closed file)",
    ),
    ("129", "stopped by SIGHUP; 130 by Ctrl-C; 143 by SIGTERM"),
];

/// `--help`'s closing part: examples and exit codes, at most 80 columns wide.
pub(crate) fn after_long_help() -> String {
    let mut text = String::from("Examples:\n");
    for (command, what) in EXAMPLES {
        text += &format!("  {command}\n      {what}\n");
    }
    text += "\nExit codes:\n";
    for (code, meaning) in EXIT_CODES {
        text += &format!("  {code:<4} {meaning}\n");
    }
    text += "  When several apply, the highest of 3/4/5/6 wins over 1. A signal still prints\n  \
             what had arrived; a second one quits at once. A closed pipe is exit 0.\n\n\
             Shell integration uses flags, not subcommands: words such as 'config' or 'man'\n\
             are valid symbols.";
    text
}
