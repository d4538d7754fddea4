//! Binance's trading pairs as assets: each pair's base and quote asset (from `exchangeInfo`;
//! a symbol's name alone does not split), the route from one asset to another through them
//! (`--in`), and the cache of the pairs in the state directory (`cache.rs`). Vocabulary: the
//! route search is pure; only the cache touches files.

use std::collections::{HashMap, HashSet};

pub mod cache;

/// The hubs a two-leg route goes through, in the order they are tried: the stablecoins with the
/// most pairs first, then the biggest coins.
pub(crate) const HUBS: [&str; 6] = ["USDT", "USDC", "FDUSD", "BTC", "BNB", "ETH"];

/// One listed pair, as `exchangeInfo` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pair {
    /// e.g. `ADAUSDT`.
    pub(crate) symbol: String,
    /// e.g. `ADA`.
    pub(crate) base: String,
    /// e.g. `USDT`.
    pub(crate) quote: String,
    /// `TRADING`, or `BREAK` (delisted), `HALT`, …
    pub(crate) status: String,
}

impl Pair {
    /// Whether it trades now (a route never uses a pair that does not).
    pub(crate) fn trades(&self) -> bool {
        self.status == "TRADING"
    }
}

/// One step of a route: a pair's price, or its inverse (`EURUSDT` read as USDT in EUR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leg {
    /// The pair whose price is used.
    pub(crate) symbol: String,
    /// Whether the price is divided by rather than multiplied by.
    pub(crate) inverted: bool,
}

/// How one converted price was made: the asset it is in, and each leg with the price it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// The asset the price is in (`--in`).
    pub(crate) target: String,
    /// In order; empty when the asset is the target itself (its price is 1).
    pub(crate) legs: Vec<LegPrice>,
}

impl Route {
    /// The route as arithmetic on pair names: `BTCEUR`, `1/BTCEUR`, `ADAUSDT/EURUSDT`,
    /// `ETHBTC*BTCEUR`; `1` for the target itself.
    pub(crate) fn expression(&self) -> String {
        expression(self.legs.iter().map(|l| (l.symbol.as_str(), l.inverted)))
    }
}

/// Legs (pair, inverted) as arithmetic on pair names: `BTCEUR`, `1/BTCEUR`, `ADAUSDT/EURUSDT`,
/// `ETHBTC*BTCEUR`; `1` for none (the target itself).
pub(crate) fn expression<'a>(legs: impl IntoIterator<Item = (&'a str, bool)>) -> String {
    let mut text = String::new();
    for (i, (symbol, inverted)) in legs.into_iter().enumerate() {
        text.push_str(match (i, inverted) {
            (0, false) => "",
            (0, true) => "1/",
            (_, false) => "*",
            (_, true) => "/",
        });
        text.push_str(symbol);
    }
    if text.is_empty() {
        text.push('1');
    }
    text
}

/// One leg of a [`Route`] as it was priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LegPrice {
    /// The pair, e.g. `EURUSDT`.
    pub(crate) symbol: String,
    /// Divided by rather than multiplied by.
    pub(crate) inverted: bool,
    /// The pair's own price, as Binance sent it.
    pub(crate) price: String,
    /// When that price was taken (ms since the epoch).
    pub(crate) time_ms: u64,
}

/// No route: the pairs that would have made one, each with why it could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoRoute {
    /// e.g. `["ADAXYZ (no such pair)", "LTCEUR (BREAK)"]`.
    pub(crate) missing: Vec<String>,
    /// The asset that no pair names at all, if that is why.
    pub(crate) unknown: Option<String>,
}

/// Every pair, indexed by its two assets.
#[derive(Debug, Default)]
pub(crate) struct Pairs {
    pairs: Vec<Pair>,
    by_assets: HashMap<(String, String), usize>,
    assets: HashSet<String>,
}

impl Pairs {
    /// Indexes `pairs`; a later pair with the same two assets does not replace a trading one.
    pub(crate) fn new(pairs: Vec<Pair>) -> Self {
        let mut by_assets: HashMap<(String, String), usize> = HashMap::new();
        let mut assets = HashSet::new();
        for (i, p) in pairs.iter().enumerate() {
            assets.insert(p.base.clone());
            assets.insert(p.quote.clone());
            let key = (p.base.clone(), p.quote.clone());
            match by_assets.get(&key) {
                Some(&j) if pairs[j].trades() => {}
                _ => {
                    by_assets.insert(key, i);
                }
            }
        }
        Self {
            pairs,
            by_assets,
            assets,
        }
    }

    /// The pairs, as listed.
    pub(crate) fn list(&self) -> &[Pair] {
        &self.pairs
    }

    /// Whether any pair, trading or not, names `asset`.
    pub(crate) fn knows(&self, asset: &str) -> bool {
        self.assets.contains(asset)
    }

    /// The leg from `from` to `to`: the pair `fromto` as it is, else `tofrom` inverted; a pair
    /// that does not trade is never used. `Err` says what was missing.
    fn leg(&self, from: &str, to: &str) -> Result<Leg, String> {
        let trading = |base: &str, quote: &str| {
            self.by_assets
                .get(&(base.to_owned(), quote.to_owned()))
                .map(|&i| &self.pairs[i])
        };
        let mut seen = Vec::new();
        for (base, quote, inverted) in [(from, to, false), (to, from, true)] {
            match trading(base, quote) {
                Some(p) if p.trades() => {
                    return Ok(Leg {
                        symbol: p.symbol.clone(),
                        inverted,
                    });
                }
                Some(p) => seen.push(format!("{} ({})", p.symbol, p.status)),
                None => {}
            }
        }
        if seen.is_empty() {
            Err(format!("{from}{to} or {to}{from}"))
        } else {
            Err(seen.join(", "))
        }
    }

    /// How to price one `asset` in `target`: nothing (the same asset), the direct pair or its
    /// inverse, else two legs through the first hub of [`HUBS`] (or `via` alone) that has both.
    pub(crate) fn route(
        &self,
        asset: &str,
        target: &str,
        via: Option<&str>,
    ) -> Result<Vec<Leg>, NoRoute> {
        if asset == target {
            return Ok(Vec::new());
        }
        for unknown in [asset, target] {
            if !self.knows(unknown) {
                // A pair's name where an asset belongs (BTCUSDT for BTC): say which asset.
                let pair = self.pairs.iter().find(|p| p.symbol == unknown);
                return Err(NoRoute {
                    missing: pair
                        .map(|p| {
                            vec![format!(
                                "{unknown} is a pair, not an asset: give its base, {}",
                                p.base
                            )]
                        })
                        .unwrap_or_default(),
                    unknown: Some(unknown.to_owned()),
                });
            }
        }
        let mut missing = Vec::new();
        if via.is_none() {
            match self.leg(asset, target) {
                Ok(leg) => return Ok(vec![leg]),
                Err(m) => missing.push(m),
            }
        }
        let hubs: Vec<&str> = match via {
            Some(hub) => vec![hub],
            None => HUBS.to_vec(),
        };
        for hub in hubs.into_iter().filter(|h| *h != asset && *h != target) {
            match (self.leg(asset, hub), self.leg(hub, target)) {
                (Ok(first), Ok(second)) => return Ok(vec![first, second]),
                (Err(m), _) | (_, Err(m)) => missing.push(format!("{m} (via {hub})")),
            }
        }
        Err(NoRoute {
            missing,
            unknown: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs() -> Pairs {
        let p = |s: &str, b: &str, q: &str, status: &str| Pair {
            symbol: s.into(),
            base: b.into(),
            quote: q.into(),
            status: status.into(),
        };
        Pairs::new(vec![
            p("BTCEUR", "BTC", "EUR", "TRADING"),
            p("ADAUSDT", "ADA", "USDT", "TRADING"),
            p("EURUSDT", "EUR", "USDT", "TRADING"),
            p("LTCUSDT", "LTC", "USDT", "TRADING"),
            p("LTCEUR", "LTC", "EUR", "BREAK"),
            p("XMRUSDT", "XMR", "USDT", "BREAK"),
            p("ETHBTC", "ETH", "BTC", "TRADING"),
        ])
    }

    fn leg(symbol: &str, inverted: bool) -> Leg {
        Leg {
            symbol: symbol.into(),
            inverted,
        }
    }

    #[test]
    fn direct_inverse_and_two_legs_in_the_hub_order() {
        let p = pairs();
        assert_eq!(p.route("BTC", "EUR", None), Ok(vec![leg("BTCEUR", false)]));
        assert_eq!(p.route("EUR", "BTC", None), Ok(vec![leg("BTCEUR", true)]));
        assert_eq!(
            p.route("ADA", "EUR", None),
            Ok(vec![leg("ADAUSDT", false), leg("EURUSDT", true)])
        );
        assert_eq!(p.route("EUR", "EUR", None), Ok(vec![]));
        // ETH to EUR: no ETHEUR; USDT has no ETHUSDT here; BTC has both legs.
        assert_eq!(
            p.route("ETH", "EUR", None),
            Ok(vec![leg("ETHBTC", false), leg("BTCEUR", false)])
        );
    }

    #[test]
    fn a_pair_that_does_not_trade_is_never_a_leg() {
        let p = pairs();
        assert_eq!(
            p.route("LTC", "EUR", None),
            Ok(vec![leg("LTCUSDT", false), leg("EURUSDT", true)])
        );
        let e = p.route("XMR", "EUR", None).unwrap_err();
        assert!(
            e.missing.iter().any(|m| m.contains("XMRUSDT (BREAK)")),
            "{e:?}"
        );
    }

    #[test]
    fn via_forces_the_hub_and_unknown_assets_are_named() {
        let p = pairs();
        assert_eq!(
            p.route("BTC", "EUR", Some("USDT")).unwrap_err().missing,
            ["BTCUSDT or USDTBTC (via USDT)"]
        );
        assert_eq!(
            p.route("ADA", "NOPE", None).unwrap_err().unknown.as_deref(),
            Some("NOPE")
        );
        assert_eq!(
            p.route("ADAUSDT", "EUR", None).unwrap_err().missing,
            ["ADAUSDT is a pair, not an asset: give its base, ADA"]
        );
    }
}
