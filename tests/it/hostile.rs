//! The shared ledger against a hostile host: a planted symbolic link, another user's file, a
//! lock someone else holds, a server that bans "forever", one server under two names. Each
//! test checks what the user saw and what the mock received.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::{fresh_state_dir, pricefetch, spawnable, stderr};
use mock_binance::{ANY, Fault, MockServer, Options};
use pricefetch::ledger;

/// The ledger file `server`'s runs use in `dir` (made, with its directory, if missing).
fn ledger_file(dir: &std::path::Path, server: &MockServer) -> std::path::PathBuf {
    let path = ledger::path_for(dir, &server.url().parse().unwrap());
    ledger::Ledger::open(dir, &server.url().parse().unwrap()).unwrap();
    path
}

/// What the mock refused for rate: (429s, 418s).
fn refusals(server: &MockServer) -> (usize, usize) {
    let hits = server.hits();
    (
        hits.iter().filter(|h| h.status == 429).count(),
        hits.iter().filter(|h| h.status == 418).count(),
    )
}

#[test]
fn a_symbolic_link_planted_as_the_ledger_is_never_followed() {
    let server = MockServer::start();
    let dir = fresh_state_dir();
    let path = ledger_file(&dir, &server);
    let target = common::scratch_dir("victim").join("some-root-file");
    std::fs::write(&target, "precious\n").unwrap();
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let out = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &dir)
        .arg("BTCUSDT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    let err = stderr(&out);
    assert!(
        err.contains("symbolic link") && err.contains("own view"),
        "{err}"
    );
    assert_eq!(err.matches("WARN").count(), 1, "one warning: {err}");
}

#[test]
fn a_ledger_owned_by_another_user_is_refused() {
    if rustix::process::geteuid().as_raw() != 0 {
        eprintln!("skipped: making a file another user's (chown nobody) needs root");
        return;
    }
    let server = MockServer::start();
    let dir = fresh_state_dir();
    let path = ledger_file(&dir, &server);
    let nobody = std::process::Command::new("chown")
        .arg("nobody")
        .arg(&path)
        .status()
        .unwrap();
    assert!(nobody.success());
    let before = std::fs::read(&path).unwrap();
    let out = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &dir)
        .arg("BTCUSDT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("belongs to another user"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "not written");
}

#[test]
fn the_state_directory_is_private_whatever_the_umask() {
    let server = MockServer::start();
    let dir = fresh_state_dir();
    let out = common::hermetic_shell()
        .env("PRICEFETCH_STATE_DIR", &dir)
        .args([
            "-c",
            &format!(
                "umask 000 && pricefetch --base-url {} BTCUSDT",
                server.url()
            ),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    use std::os::unix::fs::MetadataExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(
        mode(&ledger::path_for(&dir, &server.url().parse().unwrap())),
        0o600
    );
}

/// A mock with Binance's limit cut to 100 weight a minute.
fn small_limit() -> MockServer {
    MockServer::start_with(Options {
        weight_limit: 100,
        ..Options::default()
    })
}

/// Starts `n` runs of `symbols` each against `server`, sharing `dir`.
fn fleet(
    server: &MockServer,
    dir: &std::path::Path,
    n: usize,
    symbols: &[&str],
) -> Vec<std::process::Child> {
    let mut cmd = spawnable(server);
    cmd.env("PRICEFETCH_STATE_DIR", dir)
        .args(["--weight-limit", "100", "--max-wait", "1s", "-c", "1"])
        .args(symbols)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    (0..n).map(|_| cmd.spawn().unwrap()).collect()
}

#[test]
fn fifty_processes_wait_for_a_held_lock_then_share_one_budget() {
    let server = small_limit();
    let dir = fresh_state_dir();
    let path = ledger_file(&dir, &server);
    // Someone holds the lock (a `flock FILE sleep 2`): the fleet waits for it. The budget is a
    // wall-clock minute's: the run starts clear of a minute's last seconds.
    common::clear_of_minute_end(10.0);
    let holder = std::fs::File::open(&path).unwrap();
    holder.lock().unwrap();
    let children = fleet(&server, &dir, 50, &["BTCUSDT"]);
    std::thread::sleep(Duration::from_secs(2));
    holder.unlock().unwrap();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 4)),
            "{:?}: {}",
            out.status,
            stderr(&out)
        );
    }
    assert_eq!(refusals(&server), (0, 0), "{:?}", server.hits().len());
    let spent: u32 = server.hits().iter().map(|h| h.weight).sum();
    assert!(spent <= 100, "{spent} weight against a limit of 100");
}

#[test]
fn a_process_that_cannot_coordinate_sends_only_a_small_share() {
    let server = small_limit();
    let dir = fresh_state_dir();
    let path = ledger_file(&dir, &server);
    // The lock is held for the whole run: past its patience, each process goes alone, with
    // at most 5% of the budget a minute (4 of 95 here: two requests of weight 2). The third
    // request must wait for the next minute, past --max-wait 1s: the run starts clear of a
    // minute's last seconds (3 s of the lock's patience, then the requests).
    common::clear_of_minute_end(12.0);
    let holder = std::fs::File::open(&path).unwrap();
    holder.lock().unwrap();
    let children = fleet(&server, &dir, 10, &["BTCUSDT", "ETHUSDT", "SOLUSDT"]);
    let mut said = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(matches!(out.status.code(), Some(4)), "{}", stderr(&out));
        said += usize::from(
            stderr(&out).contains("cannot coordinate") && stderr(&out).contains("at most 4"),
        );
    }
    holder.unlock().unwrap();
    assert_eq!(
        said, 10,
        "each process said it went alone, and with how much"
    );
    assert_eq!(refusals(&server), (0, 0));
    let spent: u32 = server.hits().iter().map(|h| h.weight).sum();
    assert_eq!(spent, 10 * 4, "two requests each");
}

#[test]
fn a_ban_far_in_the_future_is_read_as_three_days_and_nothing_panics() {
    let server = MockServer::start();
    server.script(
        ANY,
        [Fault::BanText {
            until: "99999999999999999".into(),
        }],
    );
    let dir = fresh_state_dir();
    let run = || {
        pricefetch(&server)
            .env("PRICEFETCH_STATE_DIR", &dir)
            .arg("BTCUSDT")
            .output()
            .unwrap()
    };
    let first = run();
    assert_eq!(first.status.code(), Some(4), "{}", stderr(&first));
    assert!(!stderr(&first).contains("panicked"), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("longest (3 days)"),
        "{}",
        stderr(&first)
    );
    // The next run reads the ban from the ledger: still exit 4, still no panic, nothing sent.
    let again = run();
    assert_eq!(again.status.code(), Some(4), "{}", stderr(&again));
    assert!(!stderr(&again).contains("panicked"), "{}", stderr(&again));
    assert_eq!(server.hits().len(), 1);
}

#[test]
fn one_server_under_two_names_is_one_budget() {
    let server = MockServer::start();
    server.script(
        ANY,
        [Fault::RateLimit {
            retry_after_secs: 30,
        }],
    );
    let dir = fresh_state_dir();
    let first = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &dir)
        .args(["--max-wait", "1s", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(4), "{}", stderr(&first));
    // The same server as `localhost`: the pause holds, nothing is sent.
    let localhost = server.url().replace("127.0.0.1", "localhost");
    let again = common::bare()
        .env("PRICEFETCH_STATE_DIR", &dir)
        .args(["--base-url", &localhost, "--max-wait", "1s", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(4), "{}", stderr(&again));
    assert_eq!(server.hits().len(), 1, "sent into the other name's pause");
}

#[test]
fn a_huge_ledger_is_read_no_further_than_a_few_kib() {
    // A 1 GiB (sparse) file where the ledger is: read up to its cap, kept aside, replaced.
    let server = MockServer::start();
    let dir = fresh_state_dir();
    let path = ledger_file(&dir, &server);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let out = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &dir)
        .args(["--deadline", "10s", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("over 8192 bytes"), "{}", stderr(&out));
    assert!(
        std::fs::metadata(&path).unwrap().len() < 1024,
        "rewritten as a record"
    );
}

#[test]
fn a_tampered_pairs_cache_is_discarded_and_asked_again() {
    use std::os::unix::fs::PermissionsExt;
    let server = MockServer::start();
    let dir = fresh_state_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let path = pricefetch::pairs::cache::path_for(&dir, &server.url().parse().unwrap());
    // BTCEUR with its assets swapped: believed, BTC in EUR would be 1 / 91234.5.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let body =
        format!(r#"{{"version":1,"fetched_ms":{now},"pairs":[["BTCEUR","EUR","BTC","TRADING"]]}}"#);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = pricefetch(&server)
        .env("PRICEFETCH_STATE_DIR", &dir)
        .args(["-v", "--in", "EUR", "-f", "plain", "BTC"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        common::stdout(&out).trim_end().split('\t').nth(1),
        Some("91234.50000000")
    );
    let err = stderr(&out);
    assert!(
        err.contains("is discarded (BTCEUR is not EUR + BTC)"),
        "{err}"
    );
    assert_eq!(
        server
            .hits()
            .iter()
            .filter(|h| h.path.contains("exchangeInfo"))
            .count(),
        1,
        "the pairs were asked again"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "made private");
}
