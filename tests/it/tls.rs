//! The real wire, on 127.0.0.1: HTTPS with the mock's private CA (trusted with --cacert or
//! SSL_CERT_FILE, refused without), HTTP/2 negotiated by ALPN, and wss:// streams.

use crate::common;

use std::time::Duration;

use common::{pricefetch, stderr, stdout};
use mock_binance::{MockServer, Options, TlsMode, generated_symbols};

fn https(mode: TlsMode, latency_ms: u64, extra: usize) -> MockServer {
    MockServer::start_with(Options {
        tls: mode,
        latency: Duration::from_millis(latency_ms),
        extra_symbols: extra,
        ..Options::default()
    })
}

/// The mock's CA in a file, as a user would have it.
fn ca_file(server: &MockServer) -> std::path::PathBuf {
    let dir = common::fresh_state_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    std::fs::write(&path, server.ca_pem().unwrap()).unwrap();
    path
}

#[test]
fn https_works_with_cacert_and_with_ssl_cert_file() {
    let server = https(TlsMode::On, 0, 0);
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let ca = ca_file(&server);
    let out = pricefetch(&server)
        .arg("--cacert")
        .arg(&ca)
        .arg("BTCUSDT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "BTCUSDT\t97123.45000000\n");
    let out = pricefetch(&server)
        .env("SSL_CERT_FILE", &ca)
        .arg("ETHUSDT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn an_untrusted_certificate_is_tried_once_and_named_with_the_way_out() {
    let server = https(TlsMode::On, 0, 0);
    let out = pricefetch(&server).arg("BTCUSDT").output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        server.connections(),
        1,
        "a certificate does not heal: no retry"
    );
    let err = stderr(&out);
    assert!(err.contains("cannot trust 127.0.0.1:"), "{err}");
    assert!(err.contains("signed by an unknown authority"), "{err}");
    assert!(
        err.contains("--cacert") && err.contains("SSL_CERT_FILE"),
        "{err}"
    );
    assert!(err.contains("company proxy"), "{err}");
}

#[test]
fn an_expired_certificate_is_named_as_such() {
    let server = https(TlsMode::Expired, 0, 0);
    let out = pricefetch(&server)
        .arg("--cacert")
        .arg(ca_file(&server))
        .args(["-f", "json", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let r = common::json_report(&out);
    let e = r.results[0].error.as_ref().unwrap();
    assert_eq!(e.kind, "certificate");
    assert!(e.message.contains("expired"), "{}", e.message);
}

#[test]
fn a_cacert_that_is_not_pem_or_not_there_is_a_usage_error() {
    let dir = common::fresh_state_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    for (path, says) in [
        (junk, "no PEM certificate"),
        (dir.join("missing.pem"), "no such file"),
    ] {
        let out = common::bare()
            .arg("--cacert")
            .arg(&path)
            .arg("BTCUSDT")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        assert!(stderr(&out).contains(&path.display().to_string()));
    }
}

#[test]
fn http2_is_negotiated_and_multiplexes_the_fan_out_on_one_connection() {
    let server = https(TlsMode::On, 50, 16);
    let out = pricefetch(&server)
        .arg("--cacert")
        .arg(ca_file(&server))
        .args(["--strategy", "each", "-c", "16"])
        .args(generated_symbols(16))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 16);
    assert!(
        server.max_in_flight() >= 8,
        "{} in flight",
        server.max_in_flight()
    );
    assert_eq!(
        server.connections(),
        1,
        "h2: one connection carries them all"
    );
    assert_eq!(server.h2_connections(), 1, "negotiated by ALPN");
}

#[test]
fn wss_streams_trust_the_same_certificates() {
    let server = https(TlsMode::On, 0, 0);
    let out = pricefetch(&server)
        .env_remove("PRICEFETCH_STRATEGY")
        .arg("--cacert")
        .arg(ca_file(&server))
        .args([
            "--stream",
            "--stream-url",
            &server.stream_url(),
            "--count",
            "2",
        ])
        .args(["-f", "plain", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().count(),
        3,
        "the snapshot and two updates"
    );
}
