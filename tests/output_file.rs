//! `-o FILE`: the data goes to FILE, replaced whole (a reader never sees half of it), only
//! when the run has results; stdout stays empty; live runs are refused.

mod common;

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
