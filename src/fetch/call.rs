//! One request to an endpoint other than the ticker rounds: [`Engine::call`], the loop of
//! throttle → attempt → retry decision for any answer, and the listings it serves
//! (`exchangeInfo`'s pairs and their assets, the whole market's names); history's `klines`
//! and `aggTrades` go through it too.

use std::sync::atomic::Ordering;

use super::Engine;
use crate::binance::BinanceClient;
use crate::error::FetchError;
use crate::market::{Selection, TickerKind};
use crate::pairs::Pair;
use crate::retry::{Decision, Tries};

impl Engine {
    /// `--any-status`: which of `symbols` (all listed pairs for `None`) do not trade, with
    /// their status, from one exchangeInfo request (weight 20, through the throttle).
    pub(crate) async fn not_trading(
        &self,
        symbols: Option<&[String]>,
    ) -> Result<Vec<(String, String)>, FetchError> {
        let host = self.client.live_hosts()[0];
        let ticket = self.throttle.admit(20).await?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let attempt = self.client.listings(host, symbols, false).await;
        let outcome = attempt.result.as_ref().map(|_| ());
        self.throttle
            .observe(ticket, attempt.used_weight, outcome, fastrand::f64())
            .await;
        let mut list: Vec<(String, String)> = attempt
            .result?
            .into_iter()
            .filter(|p| !p.trades())
            .map(|p| (p.symbol, p.status))
            .collect();
        list.sort();
        Ok(list)
    }

    /// Every trading pair of the exchange with its base and quote asset, from `exchangeInfo`
    /// (weight 20, through the throttle), retried as a ticker request is.
    pub(crate) async fn trading_pairs(&self) -> Result<Vec<Pair>, FetchError> {
        self.call(20, "exchangeInfo", |host| {
            self.client.listings(host, None, true)
        })
        .await
    }

    /// The market's request-weight limit a minute as its `exchangeInfo` gives it (weight 1 on
    /// the futures), through the throttle and retries. Bookkeeping, not the asked work: the
    /// run's totals leave it out (`-v` says it was asked).
    pub(crate) async fn exchange_weight_limit(&self) -> Result<Option<u32>, FetchError> {
        let before = self.totals();
        let limit = self
            .call(1, "exchangeInfo", |host| self.client.weight_limit(host))
            .await;
        self.requests.store(before.requests, Ordering::Relaxed);
        self.retries.store(before.retries, Ordering::Relaxed);
        self.throttle.recount_from(before.weight);
        limit
    }

    /// Each pair's base and quote asset, by symbol (for ledger and beancount names and for
    /// the exporters' labels): from the pairs cached in the state directory `dir` when they
    /// name every one of `symbols`, else from `exchangeInfo` (weight 20), cached for the next
    /// run; when Binance cannot be asked, what the cache had, said once.
    pub(crate) async fn pair_assets(
        &self,
        (dir, base_url): (Option<&std::path::Path>, &url::Url),
        symbols: &[String],
    ) -> std::collections::HashMap<String, (String, String)> {
        let cached = crate::pairs::cache::assets(dir, base_url);
        if symbols.iter().all(|s| cached.contains_key(s)) {
            return cached;
        }
        let pairs = match self.trading_pairs().await {
            Ok(pairs) => pairs,
            Err(e) => {
                tracing::warn!("cannot learn the pairs' base and quote assets (exchangeInfo): {e}");
                return cached;
            }
        };
        if let Some(path) = crate::pairs::cache::path_in(dir, base_url)
            && let Err(e) = crate::pairs::cache::store(&path, &pairs, crate::clock::unix_ms())
        {
            tracing::info!("the pairs are not cached: {e}");
        }
        pairs
            .into_iter()
            .map(|p| (p.symbol, (p.base, p.quote)))
            .collect()
    }

    /// The HTTP client (for [`Engine::call`]'s attempts).
    pub(crate) fn client(&self) -> &BinanceClient {
        &self.client
    }

    /// One request to an endpoint other than the tickers (`exchangeInfo`, `klines`,
    /// `aggTrades`): the throttle for `weight`, an attempt on the first live host, retries as
    /// the one retry policy decides; a stop cancels it. `what` names it in the logs.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        weight: u32,
        what: &str,
        attempt: F,
    ) -> Result<T, FetchError>
    where
        F: Fn(usize) -> Fut,
        Fut: std::future::Future<Output = crate::binance::Attempt<T>>,
    {
        self.call_through(&self.throttle, (weight, what), attempt)
            .await
    }

    /// [`Engine::call`] paced by `throttle` rather than the run's: an endpoint with a limit
    /// of its own (the futures' funding history).
    pub(crate) async fn call_through<T, F, Fut>(
        &self,
        throttle: &crate::throttle::Throttle,
        (weight, what): (u32, &str),
        attempt: F,
    ) -> Result<T, FetchError>
    where
        F: Fn(usize) -> Fut,
        Fut: std::future::Future<Output = crate::binance::Attempt<T>>,
    {
        let work = async {
            let mut tries = Tries::default();
            loop {
                let host = self.client.live_hosts()[0];
                let ticket = throttle.admit(weight).await?;
                if tries.failures + tries.rate_limited > 0 {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                }
                self.requests.fetch_add(1, Ordering::Relaxed);
                let answer = attempt(host).await;
                let outcome = answer.result.as_ref().map(|_| ());
                // X-MBX-USED-WEIGHT-1M counts the market's request weight: news for the run's
                // throttle only, never for a limit of another kind (the funding history's).
                let used = match std::ptr::eq(throttle, &*self.throttle) {
                    true => answer.used_weight,
                    false => None,
                };
                throttle
                    .observe(ticket, used, outcome, fastrand::f64())
                    .await;
                let err = match answer.result {
                    Ok(value) => return Ok(value),
                    Err(e) => e,
                };
                self.client.note_failure(host, &err);
                tries = tries.after(&err);
                match self.policy.decide(&err, tries, fastrand::f64()) {
                    Decision::GiveUp => return Err(err),
                    Decision::Retry(pause) => {
                        tracing::info!("{what}: {err}; retrying");
                        tokio::time::sleep(pause).await;
                    }
                }
            }
        };
        tokio::select! {
            result = work => result,
            () = self.stop.token.cancelled() => Err(self.stop.error()),
        }
    }

    /// The names of every trading pair (every listed pair unless `trading_only`), from one
    /// whole-market price request (weight 4, through the throttle): what "did you mean" picks
    /// from, and how a stream of the whole market tells pairs that do not trade.
    pub(crate) async fn listed_symbols(
        &self,
        trading_only: bool,
    ) -> Result<Vec<String>, FetchError> {
        let host = self.client.live_hosts()[0];
        let weight = TickerKind::Price.weight(Selection::All);
        let ticket = self.throttle.admit(weight).await?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let attempt = self
            .client
            .tickers(host, TickerKind::Price, Selection::All, trading_only)
            .await;
        let outcome = attempt.result.as_ref().map(|_| ());
        self.throttle
            .observe(ticket, attempt.used_weight, outcome, fastrand::f64())
            .await;
        Ok(attempt.result?.into_iter().map(|t| t.symbol).collect())
    }
}
