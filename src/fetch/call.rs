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

    /// Every trading pair's base and quote asset, by symbol, from `exchangeInfo` (weight 20),
    /// kept in `cache` (the file beside the ledger) for the next run.
    pub(crate) async fn pair_assets(
        &self,
        cache: Option<&std::path::Path>,
    ) -> Result<std::collections::HashMap<String, (String, String)>, FetchError> {
        let pairs = self.trading_pairs().await?;
        if let Some(path) = cache
            && let Err(e) = crate::pairs::cache::store(path, &pairs, crate::clock::unix_ms())
        {
            tracing::info!("the pairs are not cached: {e}");
        }
        Ok(pairs
            .into_iter()
            .map(|p| (p.symbol, (p.base, p.quote)))
            .collect())
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
        let work = async {
            let mut tries = Tries::default();
            loop {
                let host = self.client.live_hosts()[0];
                let ticket = self.throttle.admit(weight).await?;
                if tries.failures + tries.rate_limited > 0 {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                }
                self.requests.fetch_add(1, Ordering::Relaxed);
                let answer = attempt(host).await;
                let outcome = answer.result.as_ref().map(|_| ());
                self.throttle
                    .observe(ticket, answer.used_weight, outcome, fastrand::f64())
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
