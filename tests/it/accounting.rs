//! `-f ledger` and `-f beancount`: each price dated in `--tz` with its pair's assets, commodity
//! names the real tools accept (`1INCH`, `币安人生`), one price a day across a daylight-saving
//! autumn; every text checked with bean-check, hledger and ledger where they are installed.

use crate::common;

use common::{pricefetch, stderr, stdout};
use mock_binance::MockServer;

#[test]
fn ledger_and_beancount_date_each_price_with_the_pairs_assets() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1d",
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-03",
            "-f",
            "ledger",
        ])
        .args(["--tz", "+08:00", "ETHBTC"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("P 2024-03-01 00:00:00 ETH 0.0"),
        "{lines:?}"
    );
    assert!(lines[0].ends_with(" BTC"), "{lines:?}");
    assert!(
        lines[1].starts_with("P 2024-03-02 00:00:00 ETH "),
        "{lines:?}"
    );
    let out = pricefetch(&server)
        .args([
            "--at",
            "2026-01-05T12:00:00Z",
            "-f",
            "beancount",
            "币安人生USDT",
        ])
        .output()
        .unwrap();
    // beancount takes no UTF-8 commodity: the symbol fails on its own, unless mapped.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    common::assert_stderr_has(
        &out,
        "币安人生USDT: 币安人生 is not a beancount commodity name",
    );
    let out = pricefetch(&server)
        .args(["--at", "2026-01-05T12:00:00Z", "-f", "beancount"])
        .args(["--commodity", "币安人生=BINANCELIFE", "币安人生USDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = stdout(&out);
    assert!(
        line.starts_with("2026-01-05 price BINANCELIFE 0.1"),
        "{line}"
    );
    assert!(line.trim_end().ends_with(" USDT"), "{line}");
    // The assets came from exchangeInfo, asked once and cached beside the ledger.
    let info = |s: &MockServer| {
        s.hits()
            .iter()
            .filter(|h| h.path == "/api/v3/exchangeInfo")
            .count()
    };
    assert_eq!(
        info(&server),
        3,
        "each run above has its own state directory"
    );
}

/// The tools' verdicts on `text`: bean-check for beancount, hledger and ledger for ledger.
pub(crate) fn check_with_tools(format: &str, text: &str) {
    let tools: &[(&str, &[&str])] = match format {
        "beancount" => &[("bean-check", &[])],
        _ => &[
            ("hledger", &["prices", "-f"]),
            ("ledger", &["pricedb", "-f"]),
        ],
    };
    for (tool, args) in tools {
        if let Some((ok, said)) = common::accounting_tool(tool, args, text) {
            assert!(ok, "{tool} refused it: {said}\n{text}");
        }
    }
}

#[test]
fn commodity_names_that_real_ledgers_accept() {
    let server = MockServer::start();
    let symbols = ["BTCUSDT", "1INCHUSDT", "1000SATSUSDT", "币安人生USDT"];
    let run = |format: &str, more: &[&str]| {
        pricefetch(&server)
            .args([
                "--candles",
                "1d",
                "--from",
                "2025-12-10",
                "--to",
                "2025-12-12",
            ])
            .args(["-f", format])
            .args(more)
            .args(symbols)
            .output()
            .unwrap()
    };
    // ledger and hledger: names that are not letters are quoted.
    let out = run("ledger", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 8, "{text}");
    assert!(
        text.contains(" \"1INCH\" ") && text.contains(" \"1000SATS\" "),
        "{text}"
    );
    assert!(text.contains(" 币安人生 "), "{text}");
    check_with_tools("ledger", &text);
    // beancount: an asset its grammar refuses fails on its own, naming the flag.
    let out = run("beancount", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "only BTC: {text}");
    common::assert_stderr_has(&out, "1INCH is not a beancount commodity name");
    common::assert_stderr_has(&out, "--commodity 1INCH=NAME");
    check_with_tools("beancount", &text);
    // Mapped by the flag and by the config file's table, every symbol is written.
    let config = common::scratch_dir("commodity").join("config.toml");
    std::fs::write(
        &config,
        "[commodity]\n1000SATS = \"SATS1000\"\n\"币安人生\" = \"BINANCELIFE\"\n",
    )
    .unwrap();
    let mut more = vec!["--commodity", "1INCH=ONEINCH", "--config"];
    more.push(config.to_str().unwrap());
    let out = run("beancount", &more);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 8, "{text}");
    for name in [" ONEINCH ", " SATS1000 ", " BINANCELIFE "] {
        assert!(text.contains(name), "{name}: {text}");
    }
    check_with_tools("beancount", &text);
    // A mapping to a name beancount refuses is said, not written.
    let out = run("beancount", &["--commodity", "1INCH=oneinch"]);
    common::assert_stderr_has(
        &out,
        "--commodity 1INCH=oneinch: oneinch is not a beancount",
    );
}

#[test]
fn a_daylight_saving_autumn_gives_beancount_one_price_a_day() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1d",
            "--from",
            "2024-10-25",
            "--to",
            "2024-10-29",
        ])
        .args(["--tz", "Europe/Paris", "-f", "beancount", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let dates: Vec<&str> = text.lines().map(|l| &l[..10]).collect();
    assert_eq!(
        dates,
        ["2024-10-25", "2024-10-26", "2024-10-27", "2024-10-28"]
    );
    check_with_tools("beancount", &text);
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1d",
            "--from",
            "2024-10-25",
            "--to",
            "2024-10-29",
        ])
        .args(["--tz", "Europe/Paris", "-f", "ledger", "BTCUSDT"])
        .output()
        .unwrap();
    check_with_tools("ledger", &stdout(&out));
}
