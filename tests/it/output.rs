//! Output as a contract: every format decodes, stdout stays data-only and valid whatever fails,
//! a closed pipe is not an error, and an interrupted run still prints what it has.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{json_report, pricefetch, stderr, stdout};
use mock_binance::{ANY, Fault, MockServer};

#[test]
fn json_has_the_run_facts_and_a_result_or_error_per_symbol() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["-f", "json", "BTCUSDT", "NOSUCHCOIN", "PEPEUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = json_report(&out);
    assert_eq!(
        (r.mode.as_str(), r.concurrency, r.requests, r.retries),
        ("async", 16, 3, 0),
        "3 symbols (the whole market's names for \"did you mean\" are not what was asked)"
    );
    assert_eq!((r.ok, r.failed, r.interrupted), (2, 1, false));
    assert!(r.used_weight.is_some_and(|w| w >= 6));
    assert!(r.comparison.is_none());
    assert_eq!(r.results[0].price.as_deref(), Some("97123.45000000"));
    assert!(r.results[0].error.is_none());
    let err = r.results[1].error.as_ref().unwrap();
    assert_eq!(
        (
            err.kind.as_str(),
            err.status,
            err.code,
            err.message.as_str()
        ),
        (
            "api",
            Some(400),
            Some(-1121),
            "rejected by Binance: -1121 Invalid symbol."
        )
    );
    assert!(r.results[1].price.is_none());
    assert_eq!(r.results[2].price.as_deref(), Some("0.00000412"));
}

#[test]
fn json_stays_valid_when_every_symbol_fails() {
    let server = MockServer::start();
    server.always(ANY, Fault::Status(503));
    let out = pricefetch(&server)
        .args(["-f", "json", "-r", "0", "BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let r = json_report(&out);
    assert_eq!((r.ok, r.failed), (0, 2));
    assert!(
        r.results
            .iter()
            .all(|x| x.error.as_ref().unwrap().status == Some(503))
    );
}

#[test]
fn ndjson_writes_one_decodable_object_per_symbol() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["-f", "ndjson", "BTCUSDT", "NOSUCHCOIN", "ETHUSDT"])
        .output()
        .unwrap();
    let lines: Vec<common::JsonResult> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let mut symbols: Vec<&str> = lines.iter().map(|l| l.symbol.as_str()).collect();
    symbols.sort_unstable();
    assert_eq!(symbols, ["BTCUSDT", "ETHUSDT", "NOSUCHCOIN"]);
}

#[test]
fn ndjson_streams_each_result_as_it_arrives() {
    let server = MockServer::start();
    server.script("ETHUSDT", [Fault::Delay(Duration::from_secs(2))]);
    let mut child = common::spawnable(&server)
        .args(["-f", "ndjson", "ETHUSDT", "BTCUSDT"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let first_at = start.elapsed();
    assert!(first.contains("\"BTCUSDT\""), "{first}");
    let mut rest = String::new();
    reader.read_line(&mut rest).unwrap();
    assert!(rest.contains("\"ETHUSDT\""), "{rest}");
    // Not a timing test: the fast line must simply come out before the slow answer exists.
    assert!(
        first_at < Duration::from_secs(2),
        "first line waited for the slow one"
    );
    assert!(child.wait().unwrap().success());
}

#[test]
fn csv_has_a_fixed_header_and_a_row_per_symbol() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["-f", "csv", "BTCUSDT", "NOSUCHCOIN"])
        .output()
        .unwrap();
    let text = stdout(&out);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "symbol,price,error,elapsed_ms,attempts,price_time");
    assert!(
        rows[1].starts_with("BTCUSDT,97123.45000000,,"),
        "{}",
        rows[1]
    );
    // attempts, then when the price was taken.
    assert!(rows[1].contains(",1,20"), "{}", rows[1]);
    assert!(rows[1].ends_with('Z'), "{}", rows[1]);
    assert!(
        rows[2].starts_with("NOSUCHCOIN,,HTTP 400: rejected by Binance: -1121 Invalid symbol.,"),
        "{}",
        rows[2]
    );
    assert_eq!(rows.len(), 3);
}

#[test]
fn table_aligns_prices_and_keeps_failures_on_stderr() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["-f", "table", "BTCUSDT", "PEPEUSDT", "NOSUCHCOIN"])
        .output()
        .unwrap();
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("SYMBOL"), "{text}");
    assert_eq!(lines.len(), 3, "{text}");
    let dot = |l: &str| l.find('.').unwrap();
    assert_eq!(
        dot(lines[1]),
        dot(lines[2]),
        "decimal points line up:\n{text}"
    );
    assert!(!text.contains("NOSUCHCOIN") && !text.contains('\x1b'));
    assert!(stderr(&out).contains("NOSUCHCOIN"));
}

#[test]
fn stdout_carries_only_data_and_quiet_hides_the_summary() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["BTCUSDT", "NOSUCHCOIN"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "BTCUSDT\t97123.45000000\n");
    let err = stderr(&out);
    assert!(err.contains("1 price, 1 failed in"), "{err}");
    // Two symbols asked (the whole market's names for "did you mean" are not counted).
    assert!(err.contains("(async, -c 16, 2 requests)"), "{err}");

    let out = pricefetch(&server)
        .args(["-q", "BTCUSDT", "NOSUCHCOIN"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        !err.contains("failed in") && err.contains("NOSUCHCOIN"),
        "{err}"
    );
    let out = pricefetch(&server)
        .args(["-qq", "BTCUSDT", "NOSUCHCOIN"])
        .output()
        .unwrap();
    assert_eq!(stderr(&out), "");
    assert_eq!(
        out.status.code(),
        Some(1),
        "quiet never hides the exit code"
    );
}

#[test]
fn verbose_logs_retries_on_stderr_only() {
    let server = MockServer::start();
    server.script("BTCUSDT", [Fault::Status(503)]);
    let out = pricefetch(&server)
        .args(["-v", "-f", "json", "--retry-delay", "10ms", "BTCUSDT"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(err.contains("retrying"), "{err}");
    assert!(
        err.contains("used weight 2 of 6000"),
        "-v shows the weight as it goes: {err}"
    );
    json_report(&out);
}

#[test]
fn compare_reports_both_modes_and_the_speedup() {
    let server = MockServer::with_latency(Duration::from_millis(20));
    let list = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"];
    let out = pricefetch(&server)
        .args(["--compare", "--runs", "2", "--warmup", "1", "-f", "json"])
        .args(list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!(r.mode, "compare");
    let c = r.comparison.unwrap();
    assert_eq!((c.runs, c.warmup), (2, 1));
    assert_eq!(c.async_stats.samples_ms.len(), 2);
    assert_eq!(c.sync.samples_ms.len(), 2);
    assert_eq!(
        (c.async_stats.requests_per_round, c.sync.requests_per_round),
        (4.0, 4.0)
    );
    // (1 warm-up + 2 measured) rounds × 2 modes × 4 symbols.
    assert_eq!(server.hits().len(), 24);
    assert_eq!(r.requests, 24);
    // Sync pays four latencies a round; it cannot beat one.
    assert!(c.sync.min_ms >= 80.0, "{}", c.sync.min_ms);
    let up = c.speedup.unwrap();
    assert_eq!(up.faster, "async");
    assert!(up.ratio > 1.0);
    assert_eq!(r.results.len(), 4);

    let out = pricefetch(&server)
        .args(["--compare", "--runs", "1", "-f", "table"])
        .args(list)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.contains("async, -c 16:"), "{text}");
    assert!(text.contains("\nsync: "), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    assert!(
        text.contains("async ran ") && text.contains(" times faster than sync"),
        "{text}"
    );
}

#[test]
fn compare_keeps_reporting_when_requests_fail_and_says_how_many() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args([
            "--compare",
            "--runs",
            "2",
            "--warmup",
            "0",
            "BTCUSDT",
            "NOSUCHCOIN",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("2 requests, 2 failed"), "{text}");
    assert!(text.contains("times faster than"), "{text}");
}

/// `pricefetch … | head -1`, with the reader gone before the output is written.
#[test]
fn a_closed_stdout_is_not_an_error() {
    let server = MockServer::start();
    let mut child = common::spawnable(&server)
        .args(["BTCUSDT", "ETHUSDT"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

#[test]
fn head_dash_1_in_a_shell_pipeline_exits_0() {
    let server = MockServer::start();
    let symbols = server.symbols().join(" ");
    let script = format!(
        "set -o pipefail; pricefetch --base-url {} -f ndjson {symbols} | head -1",
        server.url()
    );
    let out = common::clean("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

#[test]
fn ctrl_c_prints_what_arrived_marks_the_rest_cancelled_and_exits_130() {
    let server = MockServer::start();
    server.always("ETHUSDT", Fault::Hang);
    let child = common::spawnable(&server)
        .args(["-f", "json", "BTCUSDT", "ETHUSDT"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = common::signal_when(
        child,
        "both requests arriving",
        || server.hits_for("ETHUSDT") > 0 && server.hits_for("BTCUSDT") > 0,
        "INT",
    );
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let r = json_report(&out);
    assert!(r.interrupted);
    assert_eq!(r.results[0].price.as_deref(), Some("97123.45000000"));
    let err = r.results[1].error.as_ref().unwrap();
    assert_eq!(err.kind, "cancelled");
    assert_eq!(r.results[1].attempts, 1);
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_narrow_terminal_tables_and_messages_fit_its_width() {
    let server = MockServer::start();
    let line = format!(
        "pricefetch --base-url {} --ticker 24h BTCUSDT ETHUSDT NOSUCHCOIN",
        server.url()
    );
    let out = common::on_a_pty(&line, Some((80, 24)))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(
        screen.contains("CHANGE %") && screen.contains("HIGH"),
        "{screen}"
    );
    assert!(
        !screen.contains("QUOTE VOLUME"),
        "a column was left out: {screen}"
    );
    for l in screen.lines() {
        assert!(l.chars().count() <= 80, "over 80 columns: {l:?}\n{screen}");
    }
    assert!(
        screen.contains("\n  "),
        "a long message wraps with an indent: {screen}"
    );
}

#[test]
fn a_csv_log_appended_by_cron_has_one_header_and_the_time_of_every_price() {
    let server = MockServer::start();
    let dir = common::scratch_dir("cron");
    let log = dir.join("prices.csv");
    let script = format!(
        "pricefetch --base-url {url} -f csv BTCUSDT | head -1 > {log} && \
         pricefetch --base-url {url} -f csv --no-header BTCUSDT ETHUSDT >> {log} && \
         pricefetch --base-url {url} -f csv --no-header BTCUSDT ETHUSDT >> {log}",
        url = server.url(),
        log = log.display()
    );
    let out = common::hermetic_shell()
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&log).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 5, "{text}");
    assert_eq!(rows[0], "symbol,price,error,elapsed_ms,attempts,price_time");
    for row in &rows[1..] {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells.len(), 6, "{row}");
        let time = cells[5];
        assert!(
            time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
            "not an RFC 3339 time in ms: {row}"
        );
    }
}

#[test]
fn a_closed_or_full_stdout_is_exit_6_said_once() {
    let server = MockServer::start();
    // `>&-`: stdout closed before the run, so nothing could be written.
    let out = common::clean("sh")
        .args([
            "-c",
            &format!("pricefetch --base-url {} BTCUSDT >&-", server.url()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("standard output is closed"),
        "{}",
        stderr(&out)
    );
    assert!(
        server.hits().is_empty(),
        "nothing is sent when nothing can be shown"
    );
    // A full disk: the OS's words, once.
    let out = common::clean("sh")
        .args([
            "-c",
            &format!("pricefetch --base-url {} BTCUSDT > /dev/full", server.url()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(
        stderr(&out).matches("No space left on device").count(),
        1,
        "{}",
        stderr(&out)
    );
    // `> /dev/null` is a reader that wants nothing: fine; so is /dev/null opened read-write
    // (as Python's subprocess.DEVNULL does), which is what a closed stdout becomes at start.
    for redirect in ["> /dev/null", "1<> /dev/null"] {
        let line = format!("pricefetch --base-url {} BTCUSDT {redirect}", server.url());
        let out = common::clean("sh").args(["-c", &line]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{redirect}: {}", stderr(&out));
    }
}
