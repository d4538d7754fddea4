//! `-o FILE`: the data goes to FILE, replaced whole (a reader never sees half of it), only
//! when the run has results; stdout stays empty; live runs are refused.

use crate::common;

use common::{pricefetch, scratch_dir, stderr, stdout};
use mock_binance::MockServer;

#[test]
fn the_file_gets_the_data_and_a_failed_run_leaves_it_as_it_was() {
    let server = MockServer::start();
    let dir = scratch_dir("output-file");
    let path = dir.join("prices.csv");
    let out = pricefetch(&server)
        .args(["-f", "csv", "-o"])
        .arg(&path)
        .args(["BTCUSDT", "ETHUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "the data went to the file");
    let first = std::fs::read_to_string(&path).unwrap();
    assert!(first.starts_with("symbol,price,"), "{first}");
    assert_eq!(first.lines().count(), 3);

    // Nothing answers: the previous file stays, and says so.
    let out = common::bare()
        .args([
            "--base-url",
            "http://127.0.0.1:1",
            "-r",
            "0",
            "-f",
            "csv",
            "-o",
        ])
        .arg(&path)
        .arg("BTCUSDT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("left as it was"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first);

    // Some failed, some priced: the file is replaced, with the failures in it (exit 1).
    let out = pricefetch(&server)
        .args(["-f", "csv", "-o"])
        .arg(&path)
        .args(["BTCUSDT", "NOSUCHCOIN"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let second = std::fs::read_to_string(&path).unwrap();
    assert!(second.contains("NOSUCHCOIN,,HTTP 400"), "{second}");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["prices.csv"], "no temporary file left behind");
}

#[test]
fn the_default_format_is_for_a_file_and_live_runs_are_refused() {
    let server = MockServer::start();
    let path = scratch_dir("output-default").join("p.txt");
    let out = pricefetch(&server)
        .arg("-o")
        .arg(&path)
        .arg("BTCUSDT")
        .env("TERM", "xterm")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "BTCUSDT\t97123.45000000\n"
    );
    for live in [&["--watch", "1s"][..], &["--stream"]] {
        let out = pricefetch(&server)
            .args(live)
            .arg("-o")
            .arg(&path)
            .arg("BTCUSDT")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{live:?}");
        assert!(stderr(&out).contains("-o FILE"), "{}", stderr(&out));
    }
    let out = pricefetch(&server)
        .args(["-o", "/no/such/dir/p.csv", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(
        stderr(&out).contains("/no/such/dir: no such directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_reader_in_a_loop_never_sees_half_a_file() {
    let server = MockServer::start();
    let path = scratch_dir("output-atomic").join("prices.json");
    let run = |path: &std::path::Path| {
        let out = pricefetch(&server)
            .args(["-f", "json", "-q", "--strategy", "each", "-o"])
            .arg(path)
            .args(mock_binance::generated_symbols(0))
            .args([
                "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    };
    run(&path);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (done, path) = (std::sync::Arc::clone(&done), path.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let text = std::fs::read_to_string(&path).unwrap();
                let doc: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("read {reads}: half a file ({e}):\n{text}"));
                assert_eq!(doc["results"].as_array().unwrap().len(), 6);
                reads += 1;
            }
            reads
        })
    };
    for _ in 0..60 {
        run(&path);
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert!(reads > 60, "the reader read {reads} times");
}

/// `-o` run against `path` with the mock; (exit code, stdout, stderr).
fn run_to(
    server: &MockServer,
    path: &std::path::Path,
    more: &[&str],
) -> (Option<i32>, String, String) {
    let out = pricefetch(server)
        .args(["-f", "csv"])
        .args(more)
        .arg("-o")
        .arg(path)
        .arg("BTCUSDT")
        .output()
        .unwrap();
    (out.status.code(), stdout(&out), stderr(&out))
}

#[test]
fn a_device_node_is_written_to_never_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let server = MockServer::start();
    let dir = scratch_dir("output-device");
    let null = dir.join("null");
    // A character device of our own (1,3 is /dev/null's), so that a test that fails cannot
    // turn the system's /dev/null into a file.
    let made = std::process::Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .status()
        .unwrap();
    if !made.success() {
        eprintln!("skipped: mknod needs root");
        return;
    }
    let (code, _, err) = run_to(&server, &null, &[]);
    assert_eq!(code, Some(0), "{err}");
    let meta = std::fs::symlink_metadata(&null).unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "still a device: {meta:?}"
    );
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file beside it");
}

#[test]
fn a_symbolic_link_socket_or_directory_is_refused_before_anything_is_sent() {
    use std::os::unix::fs::PermissionsExt;
    let server = MockServer::start();
    let dir = scratch_dir("output-link");
    let victim = dir.join("setuid-binary");
    std::fs::write(&victim, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let link = dir.join("prices.csv");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let (code, out, err) = run_to(&server, &link, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("prices.csv: is a symbolic link; give its target"),
        "{err}"
    );
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "#!/bin/sh\n");
    let socket = dir.join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let (code, _, err) = run_to(&server, &socket, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("is a socket"), "{err}");
    let (code, _, err) = run_to(&server, &dir, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("is a directory"), "{err}");
    assert!(server.hits().is_empty(), "nothing was sent");
}

#[test]
fn a_replaced_file_never_takes_setuid_and_a_new_one_is_not_world_writable() {
    use std::os::unix::fs::PermissionsExt;
    let server = MockServer::start();
    let dir = scratch_dir("output-mode");
    let old = dir.join("old.csv");
    std::fs::write(&old, "x\n").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o6775)).unwrap();
    assert_eq!(run_to(&server, &old, &[]).0, Some(0));
    let mode = std::fs::metadata(&old).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o775);
    let new = dir.join("new.csv");
    assert_eq!(run_to(&server, &new, &[]).0, Some(0));
    let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode & 0o7022, 0, "{mode:o}");
}

#[test]
fn dash_is_stdout_and_append_writes_the_header_once() {
    let server = MockServer::start();
    let (code, out, err) = run_to(&server, std::path::Path::new("-"), &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("symbol,price,"), "{out}");
    let log = scratch_dir("output-append").join("prices.csv");
    for _ in 0..3 {
        let (code, out, err) = run_to(&server, &log, &["--append"]);
        assert_eq!((code, out.as_str()), (Some(0), ""), "{err}");
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert_eq!(text.matches("symbol,price,").count(), 1, "{text}");
    let (code, _, err) = run_to(&server, &log, &["--append", "-f", "json"]);
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn the_guides_cron_log_loads_into_sqlite_as_the_guide_says() {
    let server = MockServer::start();
    let dir = scratch_dir("output-sqlite");
    let log = dir.join("prices.csv");
    for _ in 0..2 {
        let out = pricefetch(&server)
            .args(["-q", "-f", "csv", "-o"])
            .arg(&log)
            .args(["--append", "BTCUSDT", "ETHUSDT", "NOSUCHCOIN"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    }
    let query = "SELECT symbol, price, price_time FROM prices WHERE error = '' ORDER BY price_time DESC LIMIT 4";
    let out = std::process::Command::new("sqlite3")
        .arg(dir.join("prices.db"))
        .arg(format!(".import --csv {} prices", log.display()))
        .arg(query)
        .output();
    let out = match out {
        Ok(out) => out,
        Err(_) if std::env::var_os("CI").is_some() => panic!("sqlite3 is not installed"),
        Err(_) => return eprintln!("skipped: sqlite3 is not installed"),
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(rows.lines().count(), 4, "{rows}");
    assert!(rows.lines().all(|l| !l.starts_with("NOSUCHCOIN")), "{rows}");
}

#[test]
fn the_format_follows_the_files_extension_unless_f_says_otherwise() {
    let server = MockServer::start();
    let dir = scratch_dir("output-extension");
    let run = |name: &str, more: &[&str]| {
        let path = dir.join(name);
        let out = pricefetch(&server)
            .args(more)
            .arg("-o")
            .arg(&path)
            .arg("BTCUSDT")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        (std::fs::read_to_string(&path).unwrap(), stderr(&out))
    };
    let (text, said) = run("btc.prom", &["-v"]);
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        said.contains("-f openmetrics from the extension of -o"),
        "{said}"
    );
    assert!(run("btc.csv", &[]).0.starts_with("symbol,price,"));
    assert!(run("btc.json", &[]).0.trim_start().starts_with('{'));
    assert!(
        run("btc.ndjson", &[])
            .0
            .starts_with("{\"symbol\":\"BTCUSDT\"")
    );
    // -f wins over the extension.
    assert_eq!(run("btc.csv.txt", &[]).0, "BTCUSDT\t97123.45000000\n");
    assert_eq!(
        run("forced.csv", &["-f", "plain"]).0,
        "BTCUSDT\t97123.45000000\n"
    );
}
