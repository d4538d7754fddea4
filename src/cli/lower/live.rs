//! The live flags (`--watch`, `--stream`, `--count`, `--until`, `--serve`, `--backfill`, the
//! stream's hosts and limits): checked against each other and lowered into
//! [`StreamSettings`].

use std::time::Duration;

use super::network::{Web, parse_host_url};
use crate::cli::{Cli, TickerChoice};
use crate::config::StreamSettings;
use crate::error::UsageError;
use crate::host::{DEFAULT_STREAM_URL, STREAM_MIRROR};
use crate::market::TickerKind;
use crate::output::Format;

impl Cli {
    /// `--watch`, `--stream`, `--count`, `--until` and the market filters: the flags that only
    /// make sense together.
    pub(super) fn check_live_flags(&self) -> Result<(), UsageError> {
        let live = self.watch.is_some() || self.stream;
        if let Some(every) = self.watch
            && every < Duration::from_secs(1)
        {
            return Err(UsageError(format!(
                "--watch {} is too often: refresh at most once a second",
                crate::text::span(every)
            )));
        }
        if self.live.backfill
            && (!self.stream
                || self.live.serve.is_some()
                || self.ticker != TickerChoice::Price
                || self.fetch.window.is_some())
        {
            return Err(UsageError(
                "--backfill fills the gaps of --stream -f ndjson for the price ticker (Binance's \
                 1s candles are prices)"
                    .into(),
            ));
        }
        if self.live.serve.is_some() && !self.stream {
            return Err(UsageError(
                "--serve goes with --stream: the exporter is fed by the stream, so a scrape \
                 never costs a request to Binance"
                    .into(),
            ));
        }
        if self.live.serve.is_some() && self.format_typed {
            return Err(UsageError(
                "--serve answers /metrics and prints nothing: leave out -f (or drop --serve to \
                 print the stream)"
                    .into(),
            ));
        }
        if matches!(self.format, Some(Format::Openmetrics)) && live {
            return Err(UsageError(
                "-f openmetrics writes one run's metrics; run it from cron with -o FILE for \
                 node_exporter's textfile collector, or serve them live with --stream --serve ADDR"
                    .into(),
            ));
        }
        if self.output.output.is_some() && live {
            return Err(UsageError(
                "-o FILE replaces FILE with one run's output; a live run writes as it goes: \
                 pipe stdout instead"
                    .into(),
            ));
        }
        self.check_live_outputs()?;
        self.check_market_flags()
    }

    /// `--count` and `--until` need a live run; a live run writes line by line (a stream has
    /// no one document, `--watch` no plain or csv).
    fn check_live_outputs(&self) -> Result<(), UsageError> {
        let live = self.watch.is_some() || self.stream;
        if self.live.count.is_some() && !live {
            return Err(UsageError("--count goes with --watch or --stream".into()));
        }
        if self.live.until.is_some() && !live {
            return Err(UsageError(
                "--until goes with --stream or --watch: it stops a live run".into(),
            ));
        }
        if self.stream && matches!(self.format, Some(Format::Json)) {
            return Err(UsageError(
                "--stream writes an update at a time: use -f table, ndjson, plain or csv".into(),
            ));
        }
        if self.watch.is_some() && matches!(self.format, Some(Format::Plain | Format::Csv)) {
            return Err(UsageError(
                "--watch writes a live table, ndjson (a line per symbol per refresh) or json \
                 (an object per refresh): use -f table, ndjson or json"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The ticker and market filters a stream or `--all` can take.
    fn check_market_flags(&self) -> Result<(), UsageError> {
        let kind = self.ticker()?;
        if self.stream && kind.stream().is_none() {
            return Err(UsageError(format!(
                "--stream follows the price, 24h, book and (futures) mark tickers; --ticker {} is \
                 asked over REST: use --watch to refresh it",
                kind.name()
            )));
        }
        if self.all && !kind.batches() {
            return Err(UsageError(
                "--ticker avg asks Binance for one symbol a request (avgPrice): give symbols \
                 rather than --all"
                    .into(),
            ));
        }
        if self.all && matches!(kind, TickerKind::Window(_) | TickerKind::TradingDay(_)) {
            return Err(UsageError(format!(
                "Binance serves the {} ticker for named symbols only (at most 100 a request): \
                 give symbols rather than --all",
                kind.name()
            )));
        }
        if self.stream && self.all && !matches!(kind, TickerKind::Price | TickerKind::Mark) {
            return Err(UsageError(
                "--stream --all follows every pair's mini ticker (the last price), or on the \
                 futures every mark price: Binance retired the all-market ticker stream, so \
                 --ticker 24h and book need symbols"
                    .into(),
            ));
        }
        // (Checked here: clap waives `requires = "all"` whenever symbols are given, because
        // --all conflicts with them.)
        if !self.all && (self.input.quote.is_some() || self.input.pattern.is_some()) {
            return Err(UsageError(
                "--quote and --match filter the whole market: add --all (without symbols)".into(),
            ));
        }
        Ok(())
    }

    /// `--stream`'s host, its mirror and its connection limits; `None` without `--stream`.
    pub(super) fn stream(&self) -> Result<Option<StreamSettings>, UsageError> {
        if !self.stream {
            return Ok(None);
        }
        let net = &self.network;
        let given = match net.stream_url.as_str() {
            DEFAULT_STREAM_URL => self.market().stream_host(),
            given => given,
        };
        let url = parse_host_url(given, "--stream-url", Web::Stream, net.allow_http)?;
        let mirrors = if given == DEFAULT_STREAM_URL {
            vec![STREAM_MIRROR.parse().expect("valid")]
        } else {
            Vec::new()
        };
        Ok(Some(StreamSettings {
            url,
            mirrors,
            stale: self.live.stale,
            rollover: self.live.stream_rollover,
            serve: self.live.serve,
            backfill: self.live.backfill,
        }))
    }
}
