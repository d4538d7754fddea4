//! Proxies, as users behind them meet them: CONNECT tunnels for https, absolute-form requests
//! for http, chosen by --proxy, HTTPS_PROXY or ALL_PROXY, bypassed by NO_PROXY; credentials
//! that work and are never printed; and failures that name the proxy, not Binance.

use crate::common;

use common::proxy::{ProxyRules, TestProxy};
use common::{pricefetch, stderr, stdout};
use mock_binance::{MockServer, Options, TlsMode};

fn https_mock() -> (MockServer, std::path::PathBuf) {
    let server = MockServer::start_with(Options {
        tls: TlsMode::On,
        ..Options::default()
    });
    let dir = common::fresh_state_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, server.ca_pem().unwrap()).unwrap();
    (server, ca)
}

#[test]
fn https_goes_through_a_connect_tunnel_from_https_proxy_all_proxy_and_the_flag() {
    let (server, ca) = https_mock();
    let proxy = TestProxy::start(ProxyRules::default());
    for (how, var) in [("env", "HTTPS_PROXY"), ("env", "ALL_PROXY"), ("flag", "")] {
        let mut cmd = pricefetch(&server);
        cmd.arg("--cacert").arg(&ca).args(["-r", "0", "BTCUSDT"]);
        if how == "env" {
            cmd.env(var, &proxy.url);
        } else {
            cmd.args(["--proxy", &proxy.url]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{how} {var}: {}", stderr(&out));
        assert_eq!(stdout(&out), "BTCUSDT\t97123.45000000\n");
    }
    let seen = proxy.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen.iter().all(|l| l.starts_with("CONNECT 127.0.0.1:")),
        "{seen:?}"
    );
}

#[test]
fn plain_http_goes_in_absolute_form_and_no_proxy_bypasses_the_proxy() {
    let server = MockServer::start();
    let proxy = TestProxy::start(ProxyRules::default());
    let out = pricefetch(&server)
        .env("HTTP_PROXY", &proxy.url)
        .arg("BTCUSDT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(proxy.seen.lock().unwrap()[0].starts_with("GET http://127.0.0.1:"));
    let out = pricefetch(&server)
        .env("HTTP_PROXY", &proxy.url)
        .env("NO_PROXY", "localhost,127.0.0.1")
        .arg("ETHUSDT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(proxy.requests(), 1, "NO_PROXY: straight to the server");
}

#[test]
fn credentials_in_the_proxy_url_work_and_are_never_printed() {
    let (server, ca) = https_mock();
    // base64("user:s3cret")
    let proxy = TestProxy::start(ProxyRules {
        basic_auth: Some("dXNlcjpzM2NyZXQ=".into()),
        refuse: false,
    });
    let with = proxy.url.replace("http://", "http://user:s3cret@");
    let out = pricefetch(&server)
        .arg("--cacert")
        .arg(&ca)
        .args(["-vvv", "--proxy", &with, "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("s3cret"), "{}", stderr(&out));
    let out = pricefetch(&server)
        .arg("--cacert")
        .arg(&ca)
        .env("HTTPS_PROXY", &with)
        .args(["--show-config", "BTCUSDT"])
        .output()
        .unwrap();
    assert!(!stdout(&out).contains("s3cret"));
}

#[test]
fn a_proxy_that_wants_credentials_is_named_as_the_proxy_with_exit_3() {
    let rules = ProxyRules {
        basic_auth: Some("dXNlcjpzM2NyZXQ=".into()),
        refuse: false,
    };
    // Over https: the CONNECT is refused with 407.
    let (server, ca) = https_mock();
    let proxy = TestProxy::start(rules.clone());
    let out = pricefetch(&server)
        .arg("--cacert")
        .arg(&ca)
        .env("HTTPS_PROXY", &proxy.url)
        .args(["-f", "json", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    let port = proxy.url.rsplit(':').next().unwrap();
    assert!(
        err.contains(&format!(
            "the proxy 127.0.0.1:{port} (from HTTPS_PROXY) asked for credentials (HTTP 407)"
        )),
        "{err}"
    );
    assert!(err.contains("http://USER:PASSWORD@HOST:PORT"), "{err}");
    assert_eq!(
        common::json_report(&out).results[0]
            .error
            .as_ref()
            .unwrap()
            .kind,
        "proxy"
    );
    assert_eq!(proxy.requests(), 1, "a 407 is not retried");
    // Over plain http: the proxy's own 407 answer, not Binance's.
    let plain = MockServer::start();
    let proxy = TestProxy::start(rules);
    let out = pricefetch(&plain)
        .env("HTTP_PROXY", &proxy.url)
        .arg("BTCUSDT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(from HTTP_PROXY) asked for credentials"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("rejected by Binance"));
}

#[test]
fn a_proxy_that_refuses_or_cannot_be_reached_is_named() {
    let (server, ca) = https_mock();
    let proxy = TestProxy::start(ProxyRules {
        basic_auth: None,
        refuse: true,
    });
    let out = pricefetch(&server)
        .arg("--cacert")
        .arg(&ca)
        .args(["--proxy", &proxy.url, "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(from --proxy) refused to open a tunnel to Binance"),
        "{}",
        stderr(&out)
    );
    let out = pricefetch(&server)
        .arg("--cacert")
        .arg(&ca)
        .env("ALL_PROXY", "http://u:pw@nonexistent.invalid:3128")
        .args(["-r", "0", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the proxy nonexistent.invalid:3128 (from ALL_PROXY) cannot be reached"),
        "{err}"
    );
    assert!(!err.contains("pw@"), "{err}");
}

#[test]
fn socks_and_malformed_proxy_variables_are_usage_errors_before_anything_is_sent() {
    let server = MockServer::start();
    for (var, value, says) in [
        (
            "ALL_PROXY",
            "socks5://127.0.0.1:1080",
            "SOCKS proxies are not supported",
        ),
        ("HTTPS_PROXY", "http://", "is not a proxy URL"),
    ] {
        let out = pricefetch(&server)
            .env(var, value)
            .arg("BTCUSDT")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{var}={value}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(var) && stderr(&out).contains(says),
            "{}",
            stderr(&out)
        );
    }
    assert!(server.hits().is_empty());
}
