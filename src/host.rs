//! Host names: Binance's hosts and their defaults, and whether a host the user gives is this
//! machine. Vocabulary: imports nothing.

use std::net::IpAddr;

use url::Url;

/// `--base-url`'s default; only it gets Binance's alternates as default mirrors.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.binance.com";

/// The alternates Binance lists for the main host (binance-api.md, "Hosts").
pub(crate) const BINANCE_ALTERNATES: [&str; 5] = [
    "https://api-gcp.binance.com/",
    "https://api1.binance.com/",
    "https://api2.binance.com/",
    "https://api3.binance.com/",
    "https://api4.binance.com/",
];

/// `--stream-url`'s default, and the market-data-only host it fails over to.
pub(crate) const DEFAULT_STREAM_URL: &str = "wss://stream.binance.com:9443";
pub(crate) const STREAM_MIRROR: &str = "wss://data-stream.binance.vision";

/// Every Binance spot REST host: one request-weight limit per IP covers them all.
pub(crate) const BINANCE_SPOT_HOSTS: &[&str] = &[
    "api.binance.com",
    "api-gcp.binance.com",
    "api1.binance.com",
    "api2.binance.com",
    "api3.binance.com",
    "api4.binance.com",
    "data-api.binance.vision",
];

/// A URL's host as messages name it: `api.binance.com`, `127.0.0.1:8731`, `proxy.corp:3128`
/// (the port only when the URL gives one that is not its scheme's default).
pub(crate) fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => url.to_string(),
    }
}

/// Whether `host` (`127.0.0.1`, `localhost`, `[::1]`, with or without `:port`) is this machine.
pub(crate) fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        // `::1` is an address, not a name and a port; `[::1]:80` is both.
        Some((name, port))
            if port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_with_and_without_a_port() {
        for host in [
            "127.0.0.1",
            "127.0.0.1:8731",
            "localhost",
            "localhost:9",
            "[::1]:80",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "api.binance.com",
            "10.0.0.1:80",
            "api.binance.com:443",
            "2001:db8::1",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
