//! The HTTP layer: one [`BinanceClient`] per run, the endpoints, their weights and fields.
//!
//! It owns the single `reqwest::Client` (reqwest pools connections per client, so building it
//! once is what makes keep-alive and connection reuse work), with the run's TLS roots and proxy;
//! builds URLs, caps every attempt with the timeout and every body with a size limit, and names
//! what went wrong on the way (a refused certificate, the proxy, the network). What an answer
//! means is [`crate::answer`]'s ([`classify`]). It never retries or waits: that is
//! [`crate::fetch`]'s job, on [`crate::retry`]'s advice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use url::Url;

use crate::answer::{
    BookDto, DayDto, PremiumDto, PriceDto, RawAnswer, classify, decode, decode_avg, decode_tickers,
    parse_retry_after,
};
use crate::error::FetchError;
use crate::market::{Market, Selection, Ticker, TickerKind};

mod history;
use crate::pairs::Pair;

/// Body cap for a one-symbol answer: a real one is under 1 KiB.
pub(crate) const SMALL_BODY_LIMIT: usize = 64 * 1024;
/// Body cap for a batch or the whole market (a whole-market 24h answer is a few MiB).
pub(crate) const LARGE_BODY_LIMIT: usize = 10 * 1024 * 1024;
/// Body cap for the whole exchange's `exchangeInfo`: megabytes, with every pair's filters.
const EXCHANGE_INFO_LIMIT: usize = 64 * 1024 * 1024;

/// How the HTTP client is built.
#[derive(Debug, Clone)]
pub(crate) struct HttpSettings {
    /// Where `/api/v3/...` lives, e.g. `https://api.binance.com`.
    pub(crate) base_url: Url,
    /// Other hosts serving the same API, tried after the base (failover and `--hedge`).
    pub(crate) mirrors: Vec<Url>,
    /// An explicit proxy for every request; `None` leaves reqwest to honour `HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`.
    pub(crate) proxy: Option<Url>,
    /// The limit for one attempt, from connect to the last body byte.
    pub(crate) timeout: Duration,
    /// The limit for the TCP (and TLS) connect alone.
    pub(crate) connect_timeout: Duration,
    /// `--cacert`: certificates trusted in addition to the system's.
    pub(crate) extra_roots: Vec<reqwest::Certificate>,
    /// `--market`: which exchange's endpoints every path is in.
    pub(crate) market: crate::market::Market,
}

/// One attempt's result, with the server's used-weight figure (present on errors too).
#[derive(Debug)]
pub(crate) struct Attempt<T> {
    /// The value, or why there is none.
    pub(crate) result: Result<T, FetchError>,
    /// `X-MBX-USED-WEIGHT-1M` of the answer, when there was an answer.
    pub(crate) used_weight: Option<u32>,
}

impl<T> Attempt<T> {
    /// The same attempt (its weight kept), its value read on by `f`.
    fn and_then<U>(self, f: impl FnOnce(T) -> Result<U, FetchError>) -> Attempt<U> {
        Attempt {
            used_weight: self.used_weight,
            result: self.result.and_then(f),
        }
    }
}

/// A client for the base URL and its mirrors.
#[derive(Debug)]
pub(crate) struct BinanceClient {
    http: reqwest::Client,
    /// The base URL first, then the mirrors.
    hosts: Vec<Url>,
    /// Hosts that failed with a connect error or a 5xx: skipped for the rest of the run.
    down: Vec<AtomicBool>,
    timeout: Duration,
    /// Set once any answer has arrived: a connection is open and, over TLS, knows whether it
    /// speaks HTTP/2.
    warm: AtomicBool,
    /// The proxy each host is reached through, if any, for messages.
    proxies: Vec<Option<crate::proxy::Choice>>,
    /// The exchange whose endpoints the paths are in.
    market: Market,
}

impl BinanceClient {
    /// The exchange this client asks.
    pub(crate) fn market(&self) -> Market {
        self.market
    }

    /// Builds the one HTTP client of the run.
    pub(crate) fn new(settings: &HttpSettings) -> anyhow::Result<Self> {
        let http = client_builder(settings, false)?
            .build()
            .context("cannot set up the HTTP client")?;
        let hosts: Vec<Url> = std::iter::once(settings.base_url.clone())
            .chain(settings.mirrors.iter().cloned())
            .collect();
        let proxies = hosts
            .iter()
            .map(|h| crate::proxy::choice(h, settings.proxy.as_ref(), |v| std::env::var(v).ok()))
            .collect();
        Ok(Self {
            http,
            proxies,
            down: hosts.iter().map(|_| AtomicBool::new(false)).collect(),
            hosts,
            timeout: settings.timeout,
            warm: AtomicBool::new(false),
            market: settings.market,
        })
    }

    /// Whether a fan-out should open one connection before the rest: over TLS no connection is
    /// known to speak HTTP/2 until ALPN says so, and a cold fan-out would open one connection per
    /// request where one h2 connection carries them all.
    pub(crate) fn cold_tls(&self) -> bool {
        !self.warm.load(Ordering::Relaxed) && self.hosts[0].scheme() == "https"
    }

    /// The hosts still worth asking, in order; never empty (when every host has failed, all of
    /// them are tried again rather than none).
    pub(crate) fn live_hosts(&self) -> Vec<usize> {
        let live: Vec<usize> = (0..self.hosts.len())
            .filter(|&i| !self.down[i].load(Ordering::Relaxed))
            .collect();
        if live.is_empty() {
            (0..self.hosts.len()).collect()
        } else {
            live
        }
    }

    /// Notes a host's failure: a connect error or a 5xx takes it out of the run. The first host
    /// to go is a warning; the others only with -v (no network at all is one warning, not one
    /// per mirror, and the failures name the mirrors).
    pub(crate) fn note_failure(&self, host: usize, err: &FetchError) {
        if matches!(err, FetchError::Connect { .. } | FetchError::Server { .. })
            && self.hosts.len() > 1
            && !self.down[host].swap(true, Ordering::Relaxed)
        {
            let down = self
                .down
                .iter()
                .filter(|d| d.load(Ordering::Relaxed))
                .count();
            if down == 1 {
                tracing::warn!("{err}; trying the other hosts");
            } else {
                tracing::info!("{err}; skipping this host for the rest of the run");
            }
        }
    }

    /// One attempt at a ticker endpoint for `selection`, on host number `host`.
    pub(crate) async fn tickers(
        &self,
        host: usize,
        kind: TickerKind,
        selection: Selection<'_>,
        trading_only: bool,
    ) -> Attempt<Vec<Ticker>> {
        let list;
        let (mut query, limit): (Vec<(&str, &str)>, usize) = match selection {
            Selection::One(symbol) => (vec![("symbol", symbol)], SMALL_BODY_LIMIT),
            Selection::Many(symbols) => {
                // Binance wants a compact JSON array: ["BTCUSDT","ETHUSDT"].
                list = serde_json::to_string(symbols).expect("strings serialise");
                (vec![("symbols", list.as_str())], LARGE_BODY_LIMIT)
            }
            Selection::All => (vec![], LARGE_BODY_LIMIT),
        };
        let param = kind.param();
        if let Some((name, value)) = &param {
            query.push((name, value.as_str()));
        }
        if trading_only && kind.filters_status() && !self.market.futures() {
            // Delisted and halted pairs still answer with their last, stale price; with the
            // filter a lone one is refused (-1220) and a list leaves them out.
            query.push(("symbolStatus", "TRADING"));
        }
        let attempt = self.get(host, kind.path(), &query, limit).await;
        // COIN-M answers an array even for one symbol.
        let one = matches!(selection, Selection::One(_)) && self.market != Market::Coinm;
        Attempt {
            used_weight: attempt.used_weight,
            result: attempt
                .result
                .map_err(|e| match (selection, e.code()) {
                    (Selection::One(symbol), Some(-1220)) => FetchError::NotTrading {
                        symbol: symbol.to_owned(),
                    },
                    _ => e,
                })
                .and_then(|raw| {
                    let tickers = match kind {
                        TickerKind::Price => decode_tickers::<PriceDto>(&raw, one),
                        TickerKind::Day => decode_tickers::<DayDto>(&raw, one),
                        TickerKind::Book => decode_tickers::<BookDto>(&raw, one),
                        TickerKind::Mark => decode_tickers::<PremiumDto>(&raw, one),
                        TickerKind::Window(_) | TickerKind::TradingDay(_) => {
                            decode_tickers::<DayDto>(&raw, one)
                        }
                        // avgPrice answers one symbol, and does not name it.
                        TickerKind::Avg => match selection {
                            Selection::One(symbol) => decode_avg(&raw, symbol),
                            _ => unreachable!("avgPrice is asked one symbol at a time"),
                        },
                    }?;
                    if let (Selection::One(symbol), Some(t)) = (selection, tickers.first())
                        && t.symbol != symbol
                    {
                        return Err(FetchError::Decode {
                            status: raw.status,
                            detail: format!("asked for {symbol}, got {}", t.symbol),
                        });
                    }
                    Ok(tickers)
                }),
        }
    }

    /// The listed pairs from `/api/v3/exchangeInfo` (weight 20), with their status and base
    /// and quote assets: for `symbols`, or the whole exchange (trading pairs only when
    /// `trading_only`: Binance's filter halves an answer of megabytes).
    pub(crate) async fn listings(
        &self,
        host: usize,
        symbols: Option<&[String]>,
        trading_only: bool,
    ) -> Attempt<Vec<Pair>> {
        #[derive(Deserialize)]
        struct Info {
            symbols: Vec<Listed>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Listed {
            symbol: String,
            status: String,
            base_asset: String,
            quote_asset: String,
        }
        let list = symbols.map(|s| serde_json::to_string(s).expect("strings serialise"));
        let mut query: Vec<(&str, &str)> = list.iter().map(|l| ("symbols", l.as_str())).collect();
        if trading_only && symbols.is_none() {
            // (Binance refuses symbolStatus together with symbols.)
            query.push(("symbolStatus", "TRADING"));
        }
        let attempt = self
            .get(host, "api/v3/exchangeInfo", &query, EXCHANGE_INFO_LIMIT)
            .await;
        attempt.and_then(|raw| {
            decode::<Info>(&raw).map(|info| {
                info.symbols
                    .into_iter()
                    .map(|l| Pair {
                        symbol: l.symbol,
                        base: l.base_asset,
                        quote: l.quote_asset,
                        status: l.status,
                    })
                    .collect()
            })
        })
    }

    /// The request-weight limit a minute that `exchangeInfo` (weight 1 on the futures) gives in
    /// its `rateLimits` (`REQUEST_WEIGHT`, one `MINUTE`); `None` if it gives none.
    pub(crate) async fn weight_limit(&self, host: usize) -> Attempt<Option<u32>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Info {
            rate_limits: Vec<RateLimit>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct RateLimit {
            rate_limit_type: String,
            interval: String,
            interval_num: u32,
            limit: u32,
        }
        let attempt = self
            .get(host, "api/v3/exchangeInfo", &[], EXCHANGE_INFO_LIMIT)
            .await;
        attempt.and_then(|raw| {
            decode::<Info>(&raw).map(|info| {
                info.rate_limits
                    .into_iter()
                    .find(|l| {
                        l.rate_limit_type == "REQUEST_WEIGHT"
                            && l.interval == "MINUTE"
                            && l.interval_num == 1
                    })
                    .map(|l| l.limit)
                    .filter(|&n| n > 0)
            })
        })
    }

    /// One GET with the per-attempt timeout over the whole exchange, and a body cap.
    pub(super) async fn get(
        &self,
        host: usize,
        path: &str,
        query: &[(&str, &str)],
        limit: usize,
    ) -> Attempt<RawAnswer> {
        let path = self.market.api(path);
        let mut url = self.hosts[host].join(&path).expect("relative API path");
        url.query_pairs_mut().extend_pairs(query);
        let mut used_weight = None;
        let exchange = async {
            let resp = self
                .http
                .get(url.clone())
                .send()
                .await
                .map_err(|e| transport_error(&e, &url, self.proxies[host].as_ref()))?;
            self.warm.store(true, Ordering::Relaxed);
            used_weight = header_u32(resp.headers(), "x-mbx-used-weight-1m");
            let status = resp.status().as_u16();
            if let (407, Some(p)) = (status, &self.proxies[host]) {
                // An answer from the proxy, on its own behalf: it wants credentials.
                return Err(proxy_error(p, "asked for credentials (HTTP 407)", true));
            }
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
            let text = |name: reqwest::header::HeaderName| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let location = text(reqwest::header::LOCATION);
            let encoding = text(reqwest::header::CONTENT_ENCODING)
                .filter(|e| !e.eq_ignore_ascii_case("identity"));
            let body = read_capped(resp, limit, &url).await?;
            classify(RawAnswer {
                status,
                retry_after,
                body,
                location,
                encoding,
            })
        };
        let result = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        };
        Attempt {
            result,
            used_weight,
        }
    }
}

/// The HTTP client's settings, shared by the REST client and the WebSocket streams (which
/// upgrade an HTTP/1.1 request, so that the same proxies and TLS roots apply). `tls` forces the
/// TLS roots to be loaded even when no REST hop needs them (a `wss://` stream does).
pub(crate) fn client_builder(
    settings: &HttpSettings,
    tls: bool,
) -> anyhow::Result<reqwest::ClientBuilder> {
    // ring is the process's TLS crypto (Cargo.toml says why); rustls wants it named once, and
    // every client of the run is built here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("pricefetch/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(settings.connect_timeout)
        .tcp_nodelay(true)
        // An API client has no business following a redirect to an unknown host.
        .redirect(reqwest::redirect::Policy::none());
    if let Some(proxy) = &settings.proxy {
        let proxy = reqwest::Proxy::all(proxy.as_str()).with_context(|| {
            format!(
                "invalid --proxy {}",
                crate::proxy::mask_password(proxy.as_str())
            )
        })?;
        builder = builder.proxy(proxy);
    }
    if !settings.extra_roots.is_empty() {
        builder = builder.tls_certs_merge(settings.extra_roots.clone());
    } else if !tls && !speaks_tls(settings, |var| std::env::var(var).ok()) {
        // Loading the system root store reads every file in /etc/ssl/certs (about 5 ms at
        // each start). A run that never speaks TLS does not need it; redirects are off so
        // nothing can lead it to an https host either.
        builder = builder.tls_certs_only([]);
    }
    Ok(builder)
}

/// Reads the body chunk by chunk and stops at `limit`, so a huge answer costs no memory.
async fn read_capped(
    mut resp: reqwest::Response,
    limit: usize,
    url: &Url,
) -> Result<Vec<u8>, FetchError> {
    let status = resp.status().as_u16();
    let too_large = FetchError::TooLarge { status, limit };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    let mut body =
        Vec::with_capacity(resp.content_length().unwrap_or(256).min(limit as u64) as usize);
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport_error(&e, url, None))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether any hop of this run may use TLS: an https base URL, or an https proxy from the flag
/// or from the variables reqwest reads for http targets. `env` is injected for tests.
fn speaks_tls(settings: &HttpSettings, env: impl Fn(&str) -> Option<String>) -> bool {
    let https = |s: &str| s.trim().to_ascii_lowercase().starts_with("https:");
    settings.base_url.scheme() == "https"
        || settings.mirrors.iter().any(|m| m.scheme() == "https")
        || settings
            .proxy
            .as_ref()
            .is_some_and(|p| p.scheme() == "https")
        || ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
            .iter()
            .any(|v| env(v).is_some_and(|val| https(&val)))
}

fn header_u32(headers: &HeaderMap, name: &str) -> Option<u32> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Maps a reqwest failure to what the user should hear: the host and the innermost cause.
fn transport_error(
    err: &reqwest::Error,
    url: &Url,
    proxy: Option<&crate::proxy::Choice>,
) -> FetchError {
    let cause = root_cause(err);
    if let Some(why) = refused_certificate(err) {
        return FetchError::Certificate {
            host: crate::host::authority(url),
            cause: why,
        };
    }
    // Through a proxy, a connect failure is the proxy's: reaching it, or its answer to CONNECT.
    if let (Some(p), true) = (proxy, err.is_connect()) {
        return if cause.contains("proxy authorization required") {
            proxy_error(p, "asked for credentials (HTTP 407)", true)
        } else if cause.contains("tunnel error") {
            proxy_error(p, "refused to open a tunnel to Binance", true)
        } else {
            proxy_error(p, &format!("cannot be reached: {cause}"), false)
        };
    }
    if err.is_connect() {
        FetchError::Connect {
            host: crate::host::authority(url),
            // tokio-rustls reports a failed handshake as InvalidData; say so in plain words.
            cause: if has_io_kind(err, std::io::ErrorKind::InvalidData) {
                format!("TLS handshake failed: {cause}")
            } else {
                cause
            },
        }
    } else if err.is_timeout() {
        FetchError::Transport(format!("timed out: {cause}"))
    } else {
        FetchError::Transport(cause)
    }
}

fn proxy_error(p: &crate::proxy::Choice, cause: &str, lasting: bool) -> FetchError {
    FetchError::Proxy {
        proxy: p.host.clone(),
        source_of: p.source.clone(),
        cause: cause.to_owned(),
        lasting,
    }
}

/// The certificate error, if the TLS layer refused the server's certificate (unknown issuer,
/// expired, wrong name): found in the chain, inside the `io::Error`s that wrap it.
fn refused_certificate(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    while let Some(e) = next {
        next = e.source();
        if let Some(rustls::Error::InvalidCertificate(why)) = e.downcast_ref::<rustls::Error>() {
            return Some(match why {
                rustls::CertificateError::UnknownIssuer => {
                    "its certificate is signed by an unknown authority".to_owned()
                }
                rustls::CertificateError::Expired
                | rustls::CertificateError::ExpiredContext { .. } => {
                    "its certificate has expired (or this machine's clock is wrong)".to_owned()
                }
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. } => {
                    "its certificate is for another name".to_owned()
                }
                other => format!("its certificate was refused ({other:?})"),
            });
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            next = Some(inner);
        }
    }
    None
}

/// Whether an `io::Error` of `kind` is anywhere in the chain. `io::Error::source` skips the
/// error it wraps (it returns that error's source), so wrapped errors are entered by `get_ref`.
fn has_io_kind(err: &(dyn std::error::Error + 'static), kind: std::io::ErrorKind) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        next = e.source();
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == kind {
                return true;
            }
            if let Some(inner) = io.get_ref() {
                next = Some(inner);
            }
        }
    }
    false
}

/// The innermost cause, in the OS's or the library's words.
pub(crate) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_set_up_only_when_a_hop_needs_it() {
        let settings = |base: &str, proxy: Option<&str>| HttpSettings {
            base_url: base.parse().unwrap(),
            mirrors: vec![],
            proxy: proxy.map(|p| p.parse().unwrap()),
            timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            extra_roots: Vec::new(),
            market: Market::Spot,
        };
        let none = |_: &str| None;
        assert!(speaks_tls(&settings("https://api.binance.com", None), none));
        assert!(!speaks_tls(&settings("http://127.0.0.1:1", None), none));
        assert!(speaks_tls(
            &settings("http://127.0.0.1:1", Some("https://p:1")),
            none
        ));
        let env = |v: &str| (v == "all_proxy").then(|| "HTTPS://proxy:443".to_owned());
        assert!(speaks_tls(&settings("http://127.0.0.1:1", None), env));
    }

    #[test]
    fn weights_follow_binance() {
        let list = |n: usize| vec!["X".to_owned(); n];
        assert_eq!(TickerKind::Price.weight(Selection::One("X")), 2);
        assert_eq!(TickerKind::Price.weight(Selection::Many(&list(100))), 4);
        assert_eq!(TickerKind::Book.weight(Selection::All), 4);
        assert_eq!(TickerKind::Day.weight(Selection::Many(&list(20))), 2);
        assert_eq!(TickerKind::Day.weight(Selection::Many(&list(21))), 40);
        assert_eq!(TickerKind::Day.weight(Selection::Many(&list(101))), 80);
        assert_eq!(TickerKind::Day.weight(Selection::All), 80);
    }
}
