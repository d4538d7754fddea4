//! The network flags, lowered: hosts (the market's by default), mirrors, a proxy, timeouts and
//! extra certificates, each URL checked for its scheme before anything is sent.

use std::path::Path;

use url::Url;

use crate::binance::HttpSettings;
use crate::cli::Cli;
use crate::error::{UsageError, io_reason};
use crate::host::{BINANCE_ALTERNATES, DEFAULT_BASE_URL};

impl Cli {
    /// Hosts, mirrors, proxy, timeouts and extra certificates of the HTTP client.
    pub(super) fn http(&self) -> Result<HttpSettings, UsageError> {
        let net = &self.network;
        let market = self.market();
        let base = match net.base_url.as_str() {
            DEFAULT_BASE_URL => market.rest_host(),
            given => given,
        };
        let base_url = parse_host_url(base, "--base-url", Web::Rest, net.allow_http)?;
        let mirrors = if net.mirror.is_empty() && base == DEFAULT_BASE_URL {
            BINANCE_ALTERNATES
                .iter()
                .map(|u| u.parse().expect("valid"))
                .collect()
        } else {
            net.mirror
                .iter()
                .map(|m| parse_host_url(m, "--mirror", Web::Rest, net.allow_http))
                .collect::<Result<Vec<Url>, _>>()?
        };
        if net.hedge.is_some() && mirrors.is_empty() {
            return Err(UsageError(
                "--hedge needs another host to send to: add --mirror URL".into(),
            ));
        }
        let proxy = net
            .proxy
            .as_deref()
            .map(crate::proxy::parse_proxy)
            .transpose()?;
        if proxy.is_none() {
            crate::proxy::check_env(|v| std::env::var(v).ok())?;
        }
        let timeout = self.fetch.timeout;
        Ok(HttpSettings {
            market,
            base_url,
            mirrors,
            proxy,
            timeout,
            connect_timeout: self.fetch.connect_timeout.min(timeout),
            extra_roots: match &net.cacert {
                Some(path) => read_cacert(path)?,
                None => Vec::new(),
            },
        })
    }
}

/// Which kind of host a URL flag names.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Web {
    /// REST: `https://`, or `http://` on loopback; an optional path prefix.
    Rest,
    /// WebSocket streams: `wss://`, or `ws://` on loopback; an optional path prefix (a
    /// gateway's; USD-M's route, `/market` or `/public`, is added by the run).
    Stream,
}

impl Web {
    /// (plain, secure) schemes.
    fn schemes(self) -> (&'static str, &'static str) {
        match self {
            Self::Rest => ("http", "https"),
            Self::Stream => ("ws", "wss"),
        }
    }
}

/// A host URL given to `flag`: the right scheme, a host, plain text only to loopback unless
/// `allow_http`, and no query; a path prefix is kept, ending in `/` (so that `Url::join`
/// appends to it).
pub(super) fn parse_host_url(
    s: &str,
    flag: &str,
    web: Web,
    allow_http: bool,
) -> Result<Url, UsageError> {
    let bad = |why: &str| UsageError(format!("invalid {flag} '{s}': {why}"));
    let (plain, secure) = web.schemes();
    if let Some(guess) = with_scheme(s, plain, secure) {
        return Err(bad(&format!("no scheme; did you mean {guess}?")));
    }
    let mut url = Url::parse(s).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != plain && url.scheme() != secure {
        return Err(bad(&format!(
            "the scheme must be {secure}:// (or {plain}:// for a local server)"
        )));
    }
    let Some(host) = url.host_str() else {
        return Err(bad("no host"));
    };
    if url.scheme() == plain && !allow_http && !crate::host::is_loopback(host) {
        return Err(bad(&format!(
            "plain {plain}:// lets anyone on the path alter prices; use {secure}://, or pass \
             --allow-http"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "give the host (and an optional path prefix) only, without ? or #",
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// For an address typed without a scheme (`127.0.0.1:8731`, `api.binance.com`), the URL it
/// most likely means: `plain://` on this machine, `secure://` elsewhere.
fn with_scheme(s: &str, plain: &str, secure: &str) -> Option<String> {
    if s.contains("://") || s.is_empty() {
        return None;
    }
    let host = s.split(['/', '?', '#']).next().unwrap_or(s);
    let scheme = if crate::host::is_loopback(host) {
        plain
    } else {
        secure
    };
    Some(format!("{scheme}://{s}"))
}

/// `--cacert FILE`: the PEM certificates in it, or a usage error naming the file.
fn read_cacert(path: &Path) -> Result<Vec<reqwest::Certificate>, UsageError> {
    let bad = |why: String| UsageError(format!("--cacert {}: {why}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(io_reason(&e)))?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(bad(
            "no PEM certificate in it (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| bad(format!("not a PEM certificate ({e})")))?;
    Ok(certs)
}
