//! `--stream --serve ADDR`: the stream as a Prometheus exporter. `/metrics` answers from memory
//! (the mock sees no request per scrape), in the format the scraper asks for, accepted by
//! promtool; `/healthz` follows the stream's freshness; SIGTERM ends it; bad addresses and
//! flag mixes are usage errors.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{bare, promtool, spawnable, streaming};
use mock_binance::StreamFault;

/// A running exporter: the child and the address it said it serves.
struct Exporter {
    child: Child,
    addr: String,
    /// What it printed on stderr before (and including) the "serving" line.
    said: String,
}

impl Exporter {
    /// Starts `pricefetch --stream --serve 127.0.0.1:0 ARGS…` and waits for its address.
    fn start(server: &mock_binance::MockServer, args: &[&str]) -> Self {
        let mut child = spawnable(server)
            .args([
                "--stream-url",
                &server.stream_url(),
                "--stream",
                "--serve",
                "127.0.0.1:0",
            ])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pricefetch starts");
        let mut err = BufReader::new(child.stderr.take().expect("piped"));
        let mut said = String::new();
        let addr = loop {
            let mut line = String::new();
            let n = err.read_line(&mut line).expect("stderr reads");
            assert!(n > 0, "pricefetch ended before serving:\n{said}");
            said.push_str(&line);
            if let Some(rest) = line.strip_prefix("serving http://") {
                break rest.split('/').next().expect("an address").to_owned();
            }
        };
        // Keep draining stderr so that the child never blocks on it.
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = err.read_to_string(&mut rest);
        });
        Self { child, addr, said }
    }

    /// `GET path` with these extra header lines: (status, headers, body).
    fn get(&self, path: &str, headers: &str) -> (u16, String, String) {
        get(&self.addr, path, headers).expect("the exporter answers")
    }

    /// Waits up to 20 s for `/healthz` to answer `status`.
    fn wait_health(&self, status: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (got, _, body) = self.get("/healthz", "");
            if got == status {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "/healthz never answered {status} (last {got} {body})"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET (the exporter closes the connection when asked).
fn get(addr: &str, path: &str, headers: &str) -> std::io::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, head.to_lowercase(), body.to_owned()))
}

/// The value of the sample whose line starts with `prefix`.
fn sample(body: &str, prefix: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.starts_with(prefix))?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

#[test]
fn metrics_come_from_memory_in_the_format_asked_for() {
    let server = streaming(100);
    let exporter = Exporter::start(&server, &["BTCUSDT", "ETHUSDT", "NOPEUSDT"]);
    // Wait for some updates.
    let deadline = Instant::now() + Duration::from_secs(20);
    let classic = loop {
        let (status, head, body) = exporter.get("/metrics", "");
        assert_eq!(status, 200);
        assert!(
            head.contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
        if sample(&body, "pricefetch_stream_updates_total ").unwrap_or(0.0) >= 4.0 {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "no updates reached /metrics:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // The latest value of each symbol, exactly as the mock's strings look, with its age;
    // the unknown symbol only as a failure.
    let price = classic
        .lines()
        .find(|l| l.starts_with("binance_price{symbol=\"BTCUSDT\""))
        .unwrap_or_else(|| panic!("no BTCUSDT price:\n{classic}"));
    let value = price.rsplit(' ').next().unwrap();
    assert!(
        value.contains('.') && value.parse::<f64>().is_ok_and(|p| p > 0.0),
        "{price}"
    );
    assert!(classic.contains("binance_price_age_seconds{symbol=\"ETHUSDT\""));
    assert!(classic.contains("pricefetch_symbol_failed{symbol=\"NOPEUSDT\",kind=\"api\"} 1"));
    assert!(!classic.contains("binance_price{symbol=\"NOPEUSDT\""));
    assert!(!classic.contains("# EOF"));
    match promtool(&classic) {
        Some((ok, said)) => assert!(ok, "promtool refused /metrics: {said}\n{classic}"),
        None => eprintln!("skipped promtool: not installed (apt-get install prometheus)"),
    }
    // Scrapes cost Binance nothing: the mock sees no new request for ten of them.
    let before = server.hits().len();
    for _ in 0..10 {
        exporter.get("/metrics", "");
    }
    assert_eq!(server.hits().len(), before, "a scrape sent a request");
    // What Prometheus asks for gets OpenMetrics: counters named without _total in their TYPE
    // line, # EOF at the end.
    let (status, head, om) = exporter.get(
        "/metrics",
        "Accept: application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4\r\n",
    );
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# TYPE pricefetch_stream_updates counter\n"));
    assert!(om.contains("\npricefetch_stream_updates_total "));
    // promtool reads the classic format only: on OpenMetrics, its one complaint may be that
    // a counter's samples (`x_total`) have no HELP of their own (the family `x` has it).
    if let Some((ok, said)) = promtool(&om)
        && !ok
    {
        for line in said.lines().filter(|l| !l.trim().is_empty()) {
            let name = line
                .strip_suffix(" no help text")
                .and_then(|n| n.strip_suffix("_total"))
                .unwrap_or_else(|| panic!("promtool: {line}\n{om}"));
            assert!(om.contains(&format!("# HELP {name} ")), "{line}");
        }
    }
    let (status, _, page) = exporter.get("/", "");
    assert_eq!(status, 200);
    assert!(page.contains("/metrics") && page.contains("/healthz"));
    assert!(exporter.said.contains("serving http://127.0.0.1:"));
}

#[test]
fn healthz_follows_the_stream_and_gaps_are_counted() {
    let server = streaming(100);
    // The first connection stalls after half a second, the next two deliver nothing: no value
    // for a while (503), then a connection that delivers (200 again).
    server.script_streams([
        Some(StreamFault::StallAfter(Duration::from_millis(500))),
        Some(StreamFault::StallAfter(Duration::ZERO)),
        Some(StreamFault::StallAfter(Duration::ZERO)),
    ]);
    let mut exporter = Exporter::start(&server, &["--stale", "1s", "BTCUSDT"]);
    exporter.wait_health(200);
    exporter.wait_health(503);
    let (_, _, why) = exporter.get("/healthz", "");
    assert!(why.starts_with("stale: no value for"), "{why}");
    let (_, _, body) = exporter.get("/metrics", "");
    assert!(body.contains("pricefetch_stream_fresh 0"), "{body}");
    exporter.wait_health(200);
    // The gap shows once the first update after it arrives.
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        let (_, _, body) = exporter.get("/metrics", "");
        if sample(&body, "pricefetch_stream_gaps_total ").unwrap_or(0.0) >= 1.0 {
            break body;
        }
        assert!(Instant::now() < deadline, "no gap counted:\n{body}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let gap = sample(&body, "pricefetch_stream_gap_seconds_total ").unwrap();
    assert!(
        gap >= 1.0,
        "the gap was at least --stale long: {gap}\n{body}"
    );
    assert!(sample(&body, "pricefetch_stream_reconnects_total ").unwrap() >= 1.0);
    // SIGTERM ends it with the signal's code, and the port closes.
    let addr = exporter.addr.clone();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &exporter.child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = exporter.child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert!(
        get(&addr, "/healthz", "").is_err(),
        "still serving after exit"
    );
}

#[test]
fn serve_flags_are_checked_before_anything_is_sent() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--serve", "9464", "BTCUSDT"],
            "--serve goes with --stream",
        ),
        (
            &["--stream", "--serve", "9464", "-f", "ndjson", "BTCUSDT"],
            "leave out -f",
        ),
        (
            &["--stream", "--serve", "example.com:80", "BTCUSDT"],
            "IP address and port",
        ),
        (&["--stream", "--serve", "70000", "BTCUSDT"], "not a port"),
        (
            &[
                "--stream",
                "--serve",
                &port,
                "--base-url",
                "http://127.0.0.1:9",
                "BTCUSDT",
            ],
            "cannot listen on 127.0.0.1:",
        ),
    ];
    for (args, says) in cases {
        let out = bare().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    drop(taken);
}

#[test]
fn binding_beyond_loopback_is_said() {
    let server = streaming(100);
    let out = common::pricefetch(&server)
        .args([
            "--stream-url",
            &server.stream_url(),
            "--stream",
            "--count",
            "2",
        ])
        .args(["--serve", "0.0.0.0:0", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    common::assert_stderr_has(&out, "is not a loopback address: anyone who can reach");
    assert!(out.stdout.is_empty(), "--serve prints nothing");
    // In a pipe, no status line.
    assert!(
        !common::stderr(&out).contains("scrape"),
        "{}",
        common::stderr(&out)
    );
}

/// A real Prometheus scrapes the exporter (scripts/scrape.sh: the mock, the exporter and
/// Prometheus on loopback ports). Ignored for CI's time; run it with the ignored tests.
#[test]
#[ignore = "starts Prometheus (Debian's package); about 10 s"]
fn a_real_prometheus_scrapes_the_exporter() {
    let out = std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/scrape.sh"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("binance_price {"), "{said}");
    assert!(said.contains("\"symbol\": \"BTCUSDT\""), "{said}");
}

#[test]
fn every_streamed_ticker_kind_is_an_exposition_promtool_accepts() {
    let server = streaming(100);
    for kind in ["24h", "book"] {
        let exporter = Exporter::start(&server, &["--ticker", kind, "BTCUSDT", "ETHBTC"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        let body = loop {
            let (_, _, body) = exporter.get("/metrics", "");
            if sample(&body, "pricefetch_stream_updates_total ").unwrap_or(0.0) >= 2.0 {
                break body;
            }
            assert!(Instant::now() < deadline, "{kind}: no updates:\n{body}");
            std::thread::sleep(Duration::from_millis(50));
        };
        let family = if kind == "book" {
            "binance_book_bid_price{symbol=\"ETHBTC\""
        } else {
            "binance_24h_last_price{symbol=\"ETHBTC\""
        };
        assert!(body.contains(family), "{kind}:\n{body}");
        if let Some((ok, said)) = promtool(&body) {
            assert!(ok, "{kind}: promtool refused /metrics: {said}\n{body}");
        }
    }
}

/// How many descriptors `pid` has open.
fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

#[test]
fn slow_clients_are_cut_off_and_a_scrape_always_gets_in() {
    let server = streaming(100);
    let exporter = Exporter::start(&server, &["BTCUSDT"]);
    exporter.wait_health(200);
    let pid = exporter.child.id();
    let before = descriptors(pid);
    // 400 connections that send half a request's headers and then nothing.
    let slow: Vec<TcpStream> = (0..400)
        .map(|_| {
            let mut s = TcpStream::connect(&exporter.addr).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            s
        })
        .collect();
    // Every scrape gets in while they hang (the oldest make room), and answers.
    for _ in 0..5 {
        let (status, _, body) = exporter.get("/metrics", "");
        assert_eq!(status, 200);
        assert!(body.contains("binance_price{"), "{body}");
    }
    let held = descriptors(pid);
    assert!(
        held <= before + 256 + 2,
        "at most 256 connections held: {before} before, {held} now"
    );
    // After the header timeout (5 s), every slow connection has been closed by the server.
    std::thread::sleep(Duration::from_secs(7));
    for (i, mut s) in slow.into_iter().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut rest = Vec::new();
        match s.read_to_end(&mut rest) {
            Ok(_) => {} // closed (after a 408, or without a word)
            Err(e) => assert!(
                e.kind() == std::io::ErrorKind::ConnectionReset,
                "connection {i} is still open: {e}"
            ),
        }
    }
    let after = descriptors(pid);
    assert!(
        after <= before + 2,
        "{before} descriptors before, {after} after"
    );
    assert_eq!(exporter.get("/healthz", "").0, 200);
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_a_status_line_says_updates_scrapes_and_health() {
    let server = streaming(100);
    let mut pty = common::Pty::start(
        &format!(
            "--base-url {} --stream-url {} --stream --serve 127.0.0.1:0 BTCUSDT",
            server.url(),
            server.stream_url()
        ),
        (80, 24),
    );
    let screen = pty.wait_for("the address", &["serving http://"]);
    let addr = screen.split("serving http://").nth(1).unwrap();
    let addr = addr.split('/').next().unwrap().to_owned();
    pty.wait_for("the line before any scrape", &["no scrape yet · healthy"]);
    let (status, _, _) = get(&addr, "/metrics", "").unwrap();
    assert_eq!(status, 200);
    // Redrawn in place (a carriage return, never a new line each second).
    let screen = pty.wait_for("the scrape counted", &["1 scrape, the last "]);
    let line = screen
        .rsplit('\r')
        .find(|l| l.contains("1 scrape"))
        .unwrap();
    assert!(
        line.contains(" updates · 1 scrape, the last ") && line.contains("· healthy"),
        "{line}"
    );
    let (code, screen) = pty.signal_and_screen("INT");
    assert_eq!(code, Some(130), "{screen}");
    // The line is cleared for the summary.
    assert!(screen.trim_end().ends_with("reconnects)"), "{screen:?}");
}

#[test]
fn a_funding_rate_exporter_is_fed_by_the_mark_price_stream() {
    let server = streaming(100);
    let exporter = Exporter::start(
        &server,
        &[
            "--market",
            "usdm",
            "--ticker",
            "mark",
            "BTCUSDT",
            "BTCUSDT_250627",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        let (_, _, body) = exporter.get("/metrics", "");
        if sample(&body, "pricefetch_stream_updates_total ").unwrap_or(0.0) >= 4.0 {
            break body;
        }
        assert!(Instant::now() < deadline, "no updates:\n{body}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let perp = "{symbol=\"BTCUSDT\",market=\"usdm\",pair=\"BTCUSDT\"}";
    for line in [
        format!("binance_futures_mark_price{perp} 97148.37011594"),
        format!("binance_futures_funding_rate{perp} 0.00010000"),
        format!("binance_futures_interest_rate{perp} 0.00010000"),
    ] {
        assert!(body.lines().any(|l| l == line), "no {line}:\n{body}");
    }
    // The next funding as seconds, on the 8-hour grid; a quarterly has no funding samples.
    let next = sample(
        &body,
        &format!("binance_futures_next_funding_timestamp_seconds{perp}"),
    );
    assert_eq!(next.map(|s| s as u64 % (8 * 3600)), Some(0), "{body}");
    let quarterly = "symbol=\"BTCUSDT_250627\",market=\"usdm\",pair=\"BTCUSDT\"";
    assert!(body.contains(&format!(
        "binance_futures_mark_price{{{quarterly}}} 98511.2"
    )));
    assert!(!body.contains(&format!("binance_futures_funding_rate{{{quarterly}}}")));
    // A scrape costs no request: the market's limit (once a day) and the snapshot's one per
    // symbol, nothing for labels.
    let before: Vec<String> = server.hits().into_iter().map(|h| h.path).collect();
    exporter.get("/metrics", "");
    assert_eq!(server.hits().len(), 3);
    assert_eq!(
        before,
        [
            "/fapi/v1/exchangeInfo",
            "/fapi/v1/premiumIndex",
            "/fapi/v1/premiumIndex"
        ]
    );
    if let Some((ok, said)) = promtool(&body) {
        assert!(ok, "promtool refused /metrics: {said}\n{body}");
    }
}
