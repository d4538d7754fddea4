//! The words every format shares: the formats themselves (`-f`), times as RFC 3339, durations
//! as milliseconds, a failure in one line.

use crate::error::FetchError;

/// The output formats (`-f`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for people (default on a terminal).
    Table,
    /// `SYMBOL<TAB>PRICE` lines (default when stdout is not a terminal).
    Plain,
    /// One JSON object with the run's facts and every result.
    Json,
    /// One JSON object per result, written as each result arrives.
    Ndjson,
    /// `symbol,price,error,elapsed_ms,attempts` with a header row.
    Csv,
    /// OpenMetrics text (Prometheus), for a scraper or node_exporter's textfile collector.
    #[value(alias = "prometheus")]
    Openmetrics,
    /// Ledger/hledger price directives (`P 2024-03-01 00:00:00 BTC 61234.56 USDT`), for `--at`
    /// and `--candles`.
    Ledger,
    /// Beancount price directives (`2024-03-01 price BTC 61234.56 USDT`), for `--at` and
    /// `--candles`.
    Beancount,
}

impl Format {
    /// The format a file's extension names: `.prom` (OpenMetrics, as node_exporter's textfile
    /// collector wants), `.csv`, `.json`, `.ndjson`/`.jsonl`, `.beancount`/`.bean`,
    /// `.ledger`/`.journal`; `None` for any other.
    pub(crate) fn for_file(path: &std::path::Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "prom" => Self::Openmetrics,
            "csv" => Self::Csv,
            "json" => Self::Json,
            "ndjson" | "jsonl" => Self::Ndjson,
            "beancount" | "bean" => Self::Beancount,
            "ledger" | "journal" => Self::Ledger,
            _ => return None,
        })
    }

    /// As `-f` names it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Plain => "plain",
            Self::Json => "json",
            Self::Ndjson => "ndjson",
            Self::Csv => "csv",
            Self::Openmetrics => "openmetrics",
            Self::Ledger => "ledger",
            Self::Beancount => "beancount",
        }
    }

    /// Formats that only history (`--at`, `--candles`) writes.
    pub(crate) fn is_accounting(self) -> bool {
        self.book().is_some()
    }

    /// Which accounting tool's commodity names the format writes.
    pub(crate) fn book(self) -> Option<crate::commodity::Book> {
        match self {
            Self::Ledger => Some(crate::commodity::Book::Ledger),
            Self::Beancount => Some(crate::commodity::Book::Beancount),
            _ => None,
        }
    }
}

impl Format {
    /// Formats that print each result as soon as it arrives rather than at the end.
    pub(crate) fn streams(self) -> bool {
        self == Self::Ndjson
    }
}

/// `ms` since the epoch as RFC 3339, UTC, with milliseconds: `2026-12-01T11:02:57.123Z`.
pub(crate) fn rfc3339_ms(ms: u64) -> String {
    crate::clock::rfc3339_millis(ms)
}

/// Milliseconds with three decimals, for JSON and CSV.
pub(super) fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// A failure in one line: the HTTP status (if any) first, then what went wrong.
pub(crate) fn describe(err: &FetchError) -> String {
    match err.status() {
        Some(status) => format!("HTTP {status}: {err}"),
        None => err.to_string(),
    }
}
