//! The lowering of flags into a `Config`: symbols, formats, plans, weights, URLs, colour.

use super::*;
use crate::symbols::{is_valid, normalise};
use clap::Parser;

fn config(args: &[&str]) -> Result<Config, UsageError> {
    let mut argv = vec!["pricefetch"];
    argv.extend(args);
    Cli::parse_from(argv).into_config(decide_terminal(ColorChoice::Auto, false, false, false))
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
    let tty = decide_terminal(ColorChoice::Auto, true, true, false);
    let pipe = decide_terminal(ColorChoice::Auto, false, false, false);
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
    let t = decide_terminal(Auto, true, false, false);
    assert!(t.stdout_color && !t.stderr_color);
    let t = decide_terminal(Auto, true, true, true);
    assert!(!t.stdout_color && !t.stderr_color, "NO_COLOR or TERM=dumb");
    let t = decide_terminal(Always, false, false, true);
    assert!(t.stdout_color && t.stderr_color);
    let t = decide_terminal(Never, true, true, false);
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
    assert_eq!(config(&args).unwrap().ask.strategy, Strategy::Batch(100));
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
    let strategy = |a: &[&str]| config(a).unwrap().ask.strategy;
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
