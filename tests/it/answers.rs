//! What reaches the output is what Binance meant: UTF-8 symbols kept exact and aligned by
//! display width, and anything in an answer that is not a symbol or a decimal number (a forged
//! row, NaN, an empty price, a duplicate) is a per-symbol `decode` error, never printed.

use crate::common;

use common::{json_report, pricefetch, stderr, stdout};
use mock_binance::{ANY, Fault, MockServer};

#[test]
fn a_utf8_symbol_is_sent_encoded_and_kept_exact_in_every_format() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["-f", "json", "币安人生usdt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!(r.results[0].symbol, "币安人生USDT");
    assert_eq!(r.results[0].price.as_deref(), Some("0.15340000"));
    assert_eq!(server.hits()[0].symbol.as_deref(), Some("币安人生USDT"));
    let out = pricefetch(&server)
        .args([
            "--strategy",
            "batch",
            "-f",
            "table",
            "BTCUSDT",
            "币安人生USDT",
            "PEPEUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        server.hits()[1]
            .symbols
            .as_deref()
            .unwrap()
            .contains("币安人生USDT")
    );
    // Columns line up by display width: a CJK character takes two columns.
    let ends: Vec<usize> = stdout(&out)
        .lines()
        .skip(1)
        .map(|l| {
            let price_end = l.find(" 0.").or(l.find(" 97")).unwrap() + 1;
            let (head, rest) = l.split_at(price_end);
            let digits = rest.find(' ').unwrap_or(rest.len());
            unicode_width::UnicodeWidthStr::width(head) + digits
        })
        .collect();
    assert!(
        ends.windows(2).all(|w| w[0] == w[1]),
        "{ends:?}\n{}",
        stdout(&out)
    );
}

#[test]
fn values_that_are_not_decimals_are_decode_errors_never_printed() {
    for (body, says) in [
        (
            r#"{"symbol":"BTCUSDT","price":"NaN"}"#,
            "not a decimal number",
        ),
        (r#"{"symbol":"BTCUSDT","price":""}"#, "not a decimal number"),
        (
            r#"{"symbol":"BTCUSDT","price":"1e5"}"#,
            "not a decimal number",
        ),
        (
            r#"{"symbol":"BTCUSDT","price":"\u001b[31m1"}"#,
            "not a decimal number",
        ),
    ] {
        let server = MockServer::start();
        server.always("BTCUSDT", Fault::Body(body.into()));
        let out = pricefetch(&server)
            .args(["--retries", "0", "-f", "csv", "BTCUSDT"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{body}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.starts_with("symbol,price,error"), "{body}: {text}");
        assert!(
            text.contains("BTCUSDT,,\"HTTP 200: unexpected answer"),
            "{body}: {text}"
        );
        assert!(text.contains(says), "{body}: {text}");
    }
}

#[test]
fn a_forged_row_and_a_duplicate_in_a_batch_fail_only_their_symbols() {
    let server = MockServer::start();
    server.always(
        ANY,
        Fault::Body(
            r#"[{"symbol":"BTCUSDT","price":"1.00000000"},
                {"symbol":"ETHUSDT","price":"1\nETHUSDT\t0.00000001"},
                {"symbol":"SOLUSDT","price":"2.00000000"},
                {"symbol":"SOLUSDT","price":"3.00000000"}]"#
                .into(),
        ),
    );
    let out = pricefetch(&server)
        .args(["--strategy", "batch", "--retries", "0", "-f", "plain"])
        .args(["BTCUSDT", "ETHUSDT", "SOLUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "BTCUSDT\t1.00000000\n");
    common::assert_stderr_has(
        &out,
        "ETHUSDT: HTTP 200: unexpected answer: ETHUSDT has the value",
    );
    common::assert_stderr_has(&out, "SOLUSDT appears more than once in one answer");
}

#[test]
fn whole_market_rows_that_are_not_symbols_are_left_out_and_duplicates_fail() {
    let server = MockServer::start();
    server.always(
        ANY,
        Fault::Body(
            r#"[{"symbol":"","price":"1.0"},{"symbol":"A\nB","price":"1.0"},
                {"symbol":"BTCUSDT","price":"1.00000000"},
                {"symbol":"ETHUSDT","price":"2.0"},{"symbol":"ETHUSDT","price":"3.0"}]"#
                .into(),
        ),
    );
    let out = pricefetch(&server)
        .args(["--all", "--retries", "0", "-f", "plain"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "BTCUSDT\t1.00000000\n", "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(3));
    common::assert_stderr_has(
        &out,
        "left out 2 rows of the answer whose names are not symbols",
    );
    common::assert_stderr_has(&out, "ETHUSDT appears more than once");
}

#[test]
fn an_empty_body_and_a_wrong_shape_are_named_plainly() {
    for (body, says, never) in [
        ("", "an empty body (HTTP 200), not a ticker", "cut short"),
        ("42", "expected a price ticker object", "PriceDto"),
    ] {
        let server = MockServer::start();
        server.always("BTCUSDT", Fault::Body(body.into()));
        let out = pricefetch(&server)
            .args(["--retries", "0", "BTCUSDT"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        let err = stderr(&out);
        assert!(
            err.contains(says) && !err.contains(never),
            "{body:?}: {err}"
        );
    }
}

#[test]
fn a_huge_bad_token_in_a_file_is_named_not_echoed() {
    let dir = common::fresh_state_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("symbols.txt");
    std::fs::write(&file, format!("BTCUSDT {}!\n", "X".repeat(100_000))).unwrap();
    let out = common::bare().arg("--file").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.len() < 400 && err.contains("XXXX…"),
        "{} bytes: {}",
        err.len(),
        &err[..200.min(err.len())]
    );
}

#[test]
fn compare_counts_only_rounds_the_deadline_did_not_cut() {
    let server = MockServer::with_latency(std::time::Duration::from_millis(50));
    let out = pricefetch(&server)
        .args([
            "--compare",
            "--runs",
            "5",
            "--warmup",
            "0",
            "--deadline",
            "700ms",
            "-f",
            "json",
        ])
        .args(["BTCUSDT", "ETHUSDT", "SOLUSDT"])
        .output()
        .unwrap();
    let r = json_report(&out);
    let c = r.comparison.expect("a comparison of the complete rounds");
    assert!(c.runs < 5, "{} runs", c.runs);
    // A sync round is three 50 ms requests: a cut one would show as less.
    assert!(
        c.sync.samples_ms.iter().all(|&ms| ms >= 150.0),
        "{:?}",
        c.sync.samples_ms
    );
}
