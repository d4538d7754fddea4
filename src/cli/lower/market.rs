//! `--market`, lowered: which exchange, its default host and limit, and what the futures
//! markets are asked here (the last price, the 24-hour ticker, the book and the mark
//! price, once, `--watch` or `--stream`, for symbols or `--all`, in any format but the
//! accounting ones; the last trade at a moment and candles, `--at` and `--candles`; the funding
//! history, `--funding`):
//! everything else is refused before anything is sent, saying whether Binance has no such
//! endpoint there or pricefetch does not ask it there yet.

use crate::cli::{Cli, MarketChoice, TickerChoice};
use crate::error::UsageError;
use crate::market::Market;
use crate::output::Format;

/// The futures markets' request weight a minute when `--weight-limit` does not say (both
/// USD-M's and COIN-M's `exchangeInfo` said 2,400 when binance-api.md was written).
pub(super) const FUTURES_WEIGHT_LIMIT: u32 = 2400;

/// `--weight-limit`'s default, spot's limit: left so, it is read as not given.
pub(super) const SPOT_WEIGHT_LIMIT: u32 = 6000;

impl Cli {
    /// `--market`.
    pub(crate) fn market(&self) -> Market {
        match self.network.market {
            MarketChoice::Spot => Market::Spot,
            MarketChoice::Usdm => Market::Usdm,
            MarketChoice::Coinm => Market::Coinm,
        }
    }

    /// `--weight-limit`: spot's 6,000 by default, the futures markets' 2,400 (the default
    /// unchanged is read as not given: give 6001 to mean more).
    pub(crate) fn weight_limit(&self) -> u32 {
        match self.limits.weight_limit.get() {
            SPOT_WEIGHT_LIMIT if self.market().futures() => FUTURES_WEIGHT_LIMIT,
            n => n,
        }
    }

    /// What `--market` and the rest of the command line ask together, checked.
    pub(super) fn check_market(&self, format: Format) -> Result<(), UsageError> {
        let market = self.market();
        if !market.futures() {
            return match self.ticker {
                TickerChoice::Mark => Err(UsageError(
                    "--ticker mark is the futures' mark price and funding rate: add --market \
                     usdm (or --market coinm)"
                        .into(),
                )),
                _ => Ok(()),
            };
        }
        let name = market.name();
        if let Some(why) = self.absent_on_futures() {
            return Err(UsageError(format!(
                "{why}: Binance's {name} market has no such endpoint"
            )));
        }
        let not_yet = [
            (
                self.stream && self.ticker == TickerChoice::Day && market == Market::Coinm,
                "--stream --ticker 24h (COIN-M's ticker stream counts its volume in contracts)",
            ),
            (self.target.is_some(), "--in"),
            (
                format.is_accounting() && !self.history.funding,
                "-f ledger and -f beancount",
            ),
        ];
        if let Some((_, flag)) = not_yet.iter().find(|(on, _)| *on) {
            return Err(UsageError(format!(
                "{flag} with --market {name}: pricefetch asks the futures markets for --ticker \
                 price, 24h, book and mark, once, with --watch or --stream (for symbols \
                 or --all), for --at, --candles and --funding, so far"
            )));
        }
        if self.fetch.strategy == crate::cli::StrategyChoice::Batch {
            return Err(UsageError(format!(
                "the {name} market takes one symbol a request, or all (no symbols=[…] list): \
                 leave out --strategy batch"
            )));
        }
        Ok(())
    }

    /// What the futures markets do not have at all, if the command line asks for it.
    fn absent_on_futures(&self) -> Option<&'static str> {
        if self.live.backfill {
            return Some("--backfill (1-second candles)");
        }
        match (self.ticker, self.fetch.window.is_some()) {
            (_, true) => Some("--window (the rolling-window ticker)"),
            (TickerChoice::Avg, _) => Some("--ticker avg (avgPrice)"),
            (TickerChoice::TradingDay, _) => Some("--ticker day (the trading-day ticker)"),
            _ => None,
        }
    }
}
