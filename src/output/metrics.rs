//! `openmetrics` (also `prometheus`): the run as OpenMetrics 1.0 text, for a scraper or
//! node_exporter's textfile collector (`-o FILE`). One gauge family per value of the ticker
//! kind, labelled `symbol` (and `base`, `quote` when the cached pairs know them: left out rather
//! than guessed), the age of each value, and the run's own facts: requests, weight, failures by
//! kind and by symbol, the last success. A symbol without a price appears only among the
//! failures, never as a stale price. Values are the decimal strings Binance sent, exactly.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::market::TickerKind;
use crate::report::Report;

/// One label value, escaped as OpenMetrics wants (`\`, `"` and line feeds).
fn escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The family name of one field: `binance_price` for the price ticker, else
/// `binance_<kind>_<field>` (`binance_24h_last_price`, `binance_book_bid_price`, …).
fn family(kind: TickerKind, field: &str) -> String {
    match kind {
        TickerKind::Price => format!("binance_{field}"),
        other => format!("binance_{}_{field}", other.name()),
    }
}

/// What a field's family says in its HELP line.
fn help(kind: TickerKind, field: &str) -> String {
    let span = match kind {
        TickerKind::Window(w) => format!(" over the last {}", w.param()),
        TickerKind::TradingDay(offset) => format!(" over the trading day ({})", offset.label()),
        TickerKind::Day => " over 24 hours".into(),
        TickerKind::Avg => " (the average over the last minutes)".into(),
        TickerKind::Price | TickerKind::Book => String::new(),
    };
    format!(
        "{} from Binance's {} ticker{span}, as Binance sent it.",
        field.replace('_', " "),
        kind.name()
    )
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut text = String::with_capacity(256 + 128 * report.outcomes.len());
    let now_ms = crate::clock::unix_ms();
    let priced: Vec<_> = report
        .outcomes
        .iter()
        .filter_map(|o| Some((o, o.result.as_ref().ok()?)))
        .collect();
    // The labels of one result: the symbol and, when known, its assets; or, with --in, the
    // asset and the one it is priced in.
    let labels = |symbol: &str| -> String {
        if let Some(target) = &report.target {
            return format!("asset=\"{}\",in=\"{}\"", escaped(symbol), escaped(target));
        }
        match report.assets.get(symbol) {
            Some((base, quote)) => format!(
                "symbol=\"{}\",base=\"{}\",quote=\"{}\"",
                escaped(symbol),
                escaped(base),
                escaped(quote)
            ),
            None => format!("symbol=\"{}\"", escaped(symbol)),
        }
    };
    let fields: Vec<(String, String)> = match &report.target {
        Some(target) => vec![(
            "pricefetch_converted_price".into(),
            format!(
                "The price of one unit of the asset in {target}, computed exactly from Binance's pairs."
            ),
        )],
        None => report
            .kind
            .fields()
            .iter()
            .map(|f| (family(report.kind, f), help(report.kind, f)))
            .collect(),
    };
    for (i, (name, about)) in fields.iter().enumerate() {
        let _ = writeln!(text, "# HELP {name} {about}");
        let _ = writeln!(text, "# TYPE {name} gauge");
        for (o, t) in &priced {
            if let Some(value) = t.values.get(i) {
                let _ = writeln!(text, "{name}{{{}}} {value}", labels(&o.symbol));
            }
        }
    }
    let age = match &report.target {
        Some(_) => "pricefetch_converted_price_age_seconds",
        None => "binance_price_age_seconds",
    };
    let _ = writeln!(
        text,
        "# HELP {age} Seconds from when each value was taken to when this was written."
    );
    let _ = writeln!(text, "# TYPE {age} gauge");
    for (o, t) in &priced {
        let seconds = now_ms.saturating_sub(t.time_ms) as f64 / 1000.0;
        let _ = writeln!(text, "{age}{{{}}} {seconds:.3}", labels(&o.symbol));
    }
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    let _ = writeln!(
        text,
        "# HELP pricefetch_symbol_failed 1 for each symbol (or asset) without a value this run, with why."
    );
    let _ = writeln!(text, "# TYPE pricefetch_symbol_failed gauge");
    for o in &report.outcomes {
        if let Err(e) = &o.result {
            *by_kind.entry(e.kind()).or_default() += 1;
            let _ = writeln!(
                text,
                "pricefetch_symbol_failed{{{},kind=\"{}\"}} 1",
                labels(&o.symbol),
                e.kind()
            );
        }
    }
    let _ = writeln!(
        text,
        "# HELP pricefetch_run_failures Symbols without a value this run, by kind of failure."
    );
    let _ = writeln!(text, "# TYPE pricefetch_run_failures gauge");
    for (kind, n) in &by_kind {
        let _ = writeln!(text, "pricefetch_run_failures{{kind=\"{kind}\"}} {n}");
    }
    let facts = [
        (
            "pricefetch_run_requests",
            "Requests this run sent, retries and hedges included.",
            f64::from(report.sent.requests),
        ),
        (
            "pricefetch_run_weight",
            "Binance request weight this run spent.",
            f64::from(report.sent.weight),
        ),
        (
            "pricefetch_run_duration_seconds",
            "How long the run took.",
            report.elapsed.as_secs_f64(),
        ),
    ];
    for (name, about, value) in facts {
        let _ = writeln!(text, "# HELP {name} {about}");
        let _ = writeln!(text, "# TYPE {name} gauge");
        let _ = writeln!(text, "{name} {value}");
    }
    if let Some(last) = priced.iter().map(|(_, t)| t.time_ms).max() {
        let name = "pricefetch_last_success_timestamp_seconds";
        let _ = writeln!(
            text,
            "# HELP {name} When the newest value of this run was taken (unix time)."
        );
        let _ = writeln!(text, "# TYPE {name} gauge");
        let _ = writeln!(text, "{name} {:.3}", last as f64 / 1000.0);
    }
    text.push_str("# EOF\n");
    out.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_families_named_by_kind() {
        assert_eq!(escaped("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escaped("币安人生USDT"), "币安人生USDT");
        assert_eq!(family(TickerKind::Price, "price"), "binance_price");
        assert_eq!(
            family(TickerKind::Day, "last_price"),
            "binance_24h_last_price"
        );
        assert_eq!(family(TickerKind::Book, "bid_qty"), "binance_book_bid_qty");
    }
}
