//! One IP, one budget: every pricefetch on a host shares Binance's limit, its pauses and its
//! bans through the ledger in the state directory, and a run stopped from outside still prints
//! what it has. Each test checks what the user saw and what the mock received.

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{fresh_state_dir, json_report, pricefetch, spawnable, stderr, stdout};
use mock_binance::{ANY, Fault, MockServer, Options, generated_symbols};
use pricefetch::ledger::{self, Ledger, Step};

/// The ledger's record for `server` in `dir`, as another process would read it.
fn ledger_record(dir: &Path, server: &MockServer) -> ledger::Record {
    let mut l = Ledger::open(dir, &server.url().parse().unwrap()).unwrap();
    match l.read(ledger::unix_ms()) {
        Step::Done(r) => r,
        other => panic!("ledger not readable: {other:?}"),
    }
}

/// How many times `text` occurs in stderr.
fn count_in_stderr(out: &std::process::Output, text: &str) -> usize {
    stderr(out).matches(text).count()
}

/// `n` processes started together, 20 symbols each, one request per symbol, against a mock
/// whose IP limit is 100 weight a minute: the fleet stays inside it as one client would.
fn fleet(n: usize) {
    common::clear_of_minute_end(20.0);
    let server = MockServer::start_with(Options {
        weight_limit: 100,
        extra_symbols: 20 * n,
        ..Options::default()
    });
    let dir = fresh_state_dir();
    let names = generated_symbols(20 * n);
    let children: Vec<_> = names
        .chunks(20)
        .map(|chunk| {
            spawnable(&server)
                .env("PRICEFETCH_STATE_DIR", &dir)
                .args(["-c", "4", "--weight-limit", "100", "--max-wait", "1s"])
                .args(["-f", "json"])
                .args(chunk)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut prices = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let code = out.status.code();
        assert!(matches!(code, Some(0 | 4)), "{code:?}: {}", stderr(&out));
        prices += json_report(&out).ok;
    }
    let hits = server.hits();
    let refused: Vec<_> = hits
        .iter()
        .filter(|h| h.status == 429 || h.status == 418)
        .collect();
    assert!(refused.is_empty(), "the fleet was refused: {refused:?}");
    // The budget is the limit less 5%: 95 weight, 47 requests of weight 2.
    assert!(
        prices >= 45,
        "{prices} prices: under 95% of the 47 the budget allows"
    );
    let served: u32 = hits.iter().map(|h| h.weight).sum();
    assert_eq!(
        ledger_record(&dir, &server).used,
        served,
        "the ledger lost or invented an update"
    );
}

#[test]
fn ten_processes_started_together_share_one_budget() {
    fleet(10);
}

#[test]
fn thirty_processes_started_together_share_one_budget() {
    fleet(30);
}

#[test]
fn a_run_right_after_a_429_sends_nothing_and_says_until_when() {
    let server = MockServer::start();
    server.script(
        ANY,
        [Fault::RateLimit {
            retry_after_secs: 30,
        }],
    );
    let dir = fresh_state_dir();
    let run = || {
        pricefetch(&server)
            .env("PRICEFETCH_STATE_DIR", &dir)
            .args(["--max-wait", "1s", "-f", "json", "BTCUSDT"])
            .output()
            .unwrap()
    };
    let first = run();
    assert_eq!(first.status.code(), Some(4), "{}", stderr(&first));
    assert_eq!(server.hits().len(), 1);
    let again = run();
    assert_eq!(again.status.code(), Some(4), "{}", stderr(&again));
    assert_eq!(
        server.hits().len(),
        1,
        "the second run sent into the window"
    );
    let err = stderr(&again);
    assert!(
        err.contains("pricefetch on this host was told to wait (HTTP 429) until 20"),
        "{err}"
    );
    assert_eq!(
        json_report(&again).results[0].error.as_ref().unwrap().kind,
        "rate_limited"
    );
    // Opting out ignores the ledger (and here meets the mock's ban for it).
    let alone = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &dir)
        .args(["--no-shared-state", "--max-wait", "1s", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(alone.status.code(), Some(4), "{}", stderr(&alone));
    assert_eq!(server.hits().len(), 2);
}

#[test]
fn a_run_after_a_ban_exits_at_once_and_sends_nothing() {
    let server = MockServer::start();
    server.script(
        ANY,
        [Fault::Ban {
            retry_after_secs: 120,
        }],
    );
    let dir = fresh_state_dir();
    let run = || {
        pricefetch(&server)
            .env("PRICEFETCH_STATE_DIR", &dir)
            .args(["BTCUSDT", "ETHUSDT"])
            .output()
            .unwrap()
    };
    let first = run();
    assert_eq!(first.status.code(), Some(4), "{}", stderr(&first));
    let sent = server.hits().len();
    let again = run();
    assert_eq!(again.status.code(), Some(4), "{}", stderr(&again));
    assert_eq!(
        server.hits().len(),
        sent,
        "the second run asked a banned IP again"
    );
    let err = stderr(&again);
    assert!(err.contains("IP banned by Binance until 20"), "{err}");
    assert!(
        err.contains("another pricefetch on this host was banned"),
        "{err}"
    );
}

#[test]
fn a_ban_seen_by_another_process_ends_a_run_waiting_out_a_pause() {
    let server = MockServer::start();
    server.script(
        "BTCUSDT",
        [Fault::RateLimit {
            retry_after_secs: 30,
        }],
    );
    let dir = fresh_state_dir();
    let started = Instant::now();
    let child = spawnable(&server)
        .env("PRICEFETCH_STATE_DIR", &dir)
        .args(["-c", "1", "-f", "json", "BTCUSDT", "ETHUSDT"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while server.hits().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no request arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let now = ledger::unix_ms();
    let mut other = Ledger::open(&dir, &server.url().parse().unwrap()).unwrap();
    assert_eq!(other.ban(now + 120_000, now), Step::Done(()));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the run waited out the 30 s pause despite the ban"
    );
    assert_eq!(server.hits().len(), 1);
    assert_eq!(
        json_report(&out).results[1].error.as_ref().unwrap().kind,
        "banned"
    );
}

#[test]
fn a_corrupt_ledger_is_replaced_with_one_warning() {
    let server = MockServer::start();
    let dir = fresh_state_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        ledger::path_for(&dir, &server.url().parse().unwrap()),
        "{\"version\":1,\"used\":",
    )
    .unwrap();
    let out = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &dir)
        .args(["BTCUSDT", "ETHUSDT", "SOLUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 3);
    assert_eq!(count_in_stderr(&out, "replaced it"), 1, "{}", stderr(&out));
    assert_eq!(ledger_record(&dir, &server).used, 6);
}

#[test]
fn an_unusable_state_directory_is_said_once_and_the_run_goes_on() {
    let server = MockServer::start();
    let parent = fresh_state_dir();
    std::fs::create_dir_all(&parent).unwrap();
    // A file where the directory should be: as root, permission bits would not stop a write.
    let blocker = parent.join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let out = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", blocker.join("state"))
        .args(["BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2);
    assert_eq!(
        count_in_stderr(&out, "shared rate-limit state unavailable (cannot create"),
        1,
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_ledger_locked_by_a_stuck_process_is_given_up_after_its_patience() {
    let server = MockServer::start();
    let dir = fresh_state_dir();
    let url = server.url().parse().unwrap();
    drop(Ledger::open(&dir, &url).unwrap());
    let stuck = std::fs::File::open(ledger::path_for(&dir, &url)).unwrap();
    stuck.lock().unwrap();
    let out = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &dir)
        .args(["-c", "4", "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"])
        .output()
        .unwrap();
    stuck.unlock().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 4);
    assert_eq!(
        count_in_stderr(&out, "locked by another process"),
        1,
        "{}",
        stderr(&out)
    );
}

#[test]
fn sigterm_and_sighup_print_what_arrived_and_exit_143_and_129() {
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let server = MockServer::start();
        server.always("ETHUSDT", Fault::Hang);
        let child = spawnable(&server)
            .args(["-f", "json", "BTCUSDT", "ETHUSDT"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = common::signal_when(
            child,
            "both requests arriving",
            || server.hits_for("ETHUSDT") > 0 && server.hits_for("BTCUSDT") > 0,
            signal,
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "SIG{signal}: {}",
            stderr(&out)
        );
        let r = json_report(&out);
        assert!(r.interrupted);
        assert_eq!(r.results[0].price.as_deref(), Some("97123.45000000"));
        assert_eq!(r.results[1].error.as_ref().unwrap().kind, "cancelled");
        common::assert_stderr_has(&out, &format!("SIG{signal}: printing what has arrived"));
    }
}

#[test]
fn output_that_cannot_be_written_is_exit_6_naming_the_os_error() {
    let server = MockServer::start();
    let mut cmd = spawnable(&server);
    cmd.args(["BTCUSDT", "ETHUSDT"]).stdout(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    );
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    common::assert_stderr_has(&out, "cannot write the output: No space left on device");
}

#[test]
fn a_429_whose_retry_after_outlasts_the_deadline_fails_at_once_as_rate_limited() {
    let server = MockServer::start();
    server.script(
        ANY,
        [Fault::RateLimit {
            retry_after_secs: 30,
        }],
    );
    let out = pricefetch(&server)
        .args([
            "--deadline",
            "10s",
            "-c",
            "1",
            "-f",
            "json",
            "BTCUSDT",
            "ETHUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = json_report(&out);
    assert!(!r.deadline_hit, "it failed at once, not at the deadline");
    for res in &r.results {
        let err = res.error.as_ref().unwrap();
        assert_eq!(err.kind, "rate_limited", "{res:?}");
    }
    common::assert_stderr_has(&out, "past the run's --deadline");
}

#[test]
fn a_429_without_a_usable_retry_after_says_what_it_does() {
    for value in ["soon", "-5"] {
        // The pause lasts until the next minute: in a minute's last seconds it would fit in
        // --max-wait 1s, so start the run clear of them.
        common::clear_of_minute_end(5.0);
        let server = MockServer::start();
        server.script(
            ANY,
            [Fault::RetryAfter {
                status: 429,
                value: value.into(),
            }],
        );
        let out = pricefetch(&server)
            .args(["--max-wait", "1s", "-c", "1", "BTCUSDT", "ETHUSDT"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{value}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("no usable Retry-After: until the next minute"),
            "{err}"
        );
        assert!(err.contains("longer than --max-wait 1s"), "{err}");
        assert!(!err.contains("pausing every request"), "{err}");
        assert_eq!(server.hits().len(), 1);
    }
}

#[test]
fn retry_after_as_an_http_date_or_a_fraction_is_waited_out() {
    for (value, at_least) in [("{in 2}", 1000), ("1.5", 1500)] {
        let server = MockServer::start();
        server.script(
            ANY,
            [Fault::RetryAfter {
                status: 429,
                value: value.into(),
            }],
        );
        let out = pricefetch(&server)
            .args(["-c", "1", "BTCUSDT", "ETHUSDT"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{value}: {}", stderr(&out));
        let hits = server.hits();
        assert_eq!(hits[0].status, 429);
        let gap = hits[1].at - hits[0].at;
        assert!(
            gap >= Duration::from_millis(at_least),
            "{value}: resent after {gap:?}"
        );
    }
}

#[test]
fn a_503_with_retry_after_is_retried_after_it() {
    let server = MockServer::start();
    server.script(
        "BTCUSDT",
        [Fault::RetryAfter {
            status: 503,
            value: "2".into(),
        }],
    );
    let out = pricefetch(&server).arg("BTCUSDT").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hits = server.hits();
    assert_eq!(hits.len(), 2);
    assert!(
        hits[1].at - hits[0].at >= Duration::from_secs(2),
        "{hits:?}"
    );
}

#[test]
fn a_weight_limit_below_one_request_is_a_usage_error() {
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["--all", "--ticker", "24h", "--weight-limit", "80"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    common::assert_stderr_has(&out, "--weight-limit 80 leaves 76");
    assert!(server.hits().is_empty());
}

#[test]
fn isolating_unknown_symbols_stops_at_max_weight_and_names_what_it_did_not_check() {
    let server = MockServer::start_with(Options {
        extra_symbols: 950,
        ..Options::default()
    });
    let mut list = generated_symbols(950);
    list.extend((1..=50).map(|i| format!("NOPE{i:04}USDT")));
    // Spread the unknown ones over every batch.
    list.sort_by_key(|s| s.chars().rev().collect::<String>());
    let out = pricefetch(&server)
        .args(["--strategy", "batch", "-c", "4", "-f", "json"])
        .args(&list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let spent: u32 = server.hits().iter().map(|h| h.weight).sum();
    assert!(
        spent <= 1000,
        "{spent} weight sent against --max-weight 1000"
    );
    let r = json_report(&out);
    assert_eq!(r.weight, spent);
    let unchecked = r
        .results
        .iter()
        .filter(|res| {
            res.error
                .as_ref()
                .is_some_and(|e| e.message.contains("not checked"))
        })
        .count();
    assert!(unchecked > 0, "isolation never hit the cap");
    assert!(r.ok > 0 && r.ok < 950);
    common::assert_stderr_has(&out, "it would pass --max-weight");
}

#[test]
fn concurrency_is_capped_to_the_open_file_limit() {
    let server = MockServer::start_with(Options {
        latency: Duration::from_millis(50),
        extra_symbols: 300,
        ..Options::default()
    });
    let list = generated_symbols(300).join(" ");
    let bin = env!("CARGO_BIN_EXE_pricefetch");
    let base = server.url().to_owned();
    // The same clean environment as every test's, around a shell that lowers the limit.
    let mut cmd = common::clean("bash");
    let out = cmd
        .args([
            "-c",
            &format!("ulimit -n 100 && exec {bin} --base-url {base} -c 1000 -f json {list}"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_report(&out).ok, 300);
    common::assert_stderr_has(&out, "needs more open files than this process may have");
    assert!(
        server.max_in_flight() <= 68,
        "{} in flight",
        server.max_in_flight()
    );
}

#[test]
fn a_request_refused_at_connect_costs_no_weight() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = common::bare()
        .args(["--base-url", &format!("http://127.0.0.1:{port}")])
        .args([
            "--retries",
            "1",
            "--retry-delay",
            "10ms",
            "-f",
            "json",
            "BTCUSDT",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let r = json_report(&out);
    assert_eq!(
        (r.requests, r.weight),
        (2, 0),
        "refused requests reached no server"
    );
}
