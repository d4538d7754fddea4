//! `openmetrics` (also `prometheus`): the run as OpenMetrics 1.0 text, for a scraper or
//! node_exporter's textfile collector (`-o FILE`). One gauge family per value of the ticker
//! kind, labelled `symbol` (and `base`, `quote` when the cached pairs know them: left out rather
//! than guessed), the age of each value, and the run's own facts: requests, weight, failures by
//! kind and by symbol, the last success. A symbol without a price appears only among the
//! failures, never as a stale price. Values are the decimal strings Binance sent, exactly.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::board::{Board, contract_labels, escaped, labels as symbol_labels};
use crate::market::Ticker;
use crate::market::TickerKind;
use crate::outcome::Outcome;
use crate::report::Report;

/// The content type of the OpenMetrics text format, and of Prometheus's classic one.
pub(crate) const OPENMETRICS_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// See [`OPENMETRICS_TYPE`].
pub(crate) const CLASSIC_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The family name of one field: `binance_price` for the price ticker, the futures' mark price
/// and funding as `binance_futures_<field>` (the next funding as a timestamp in seconds), else
/// `binance_<kind>_<field>` (`binance_24h_last_price`, `binance_book_bid_price`, …).
fn family(kind: TickerKind, field: &str) -> String {
    match (kind, field) {
        (TickerKind::Price, _) => format!("binance_{field}"),
        (TickerKind::Mark, "next_funding_time") => {
            "binance_futures_next_funding_timestamp_seconds".into()
        }
        (TickerKind::Mark, _) => format!("binance_futures_{field}"),
        (other, _) => format!("binance_{}_{field}", other.name()),
    }
}

/// What a field's family says in its HELP line.
fn help(kind: TickerKind, field: &str) -> String {
    let span = match kind {
        TickerKind::Window(w) => format!(" over the last {}", w.param()),
        TickerKind::TradingDay(offset) => format!(" over the trading day ({})", offset.label()),
        TickerKind::Day => " over 24 hours".into(),
        TickerKind::Avg => " (the average over the last minutes)".into(),
        TickerKind::Price | TickerKind::Book | TickerKind::Mark => String::new(),
    };
    format!(
        "{} from Binance's {} ticker{span}, as Binance sent it.",
        field.replace('_', " "),
        kind.name()
    )
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut text = String::with_capacity(256 + 128 * report.outcomes.len());
    let priced: Vec<_> = report
        .outcomes
        .iter()
        .filter_map(|o| Some((o, o.result.as_ref().ok()?)))
        .collect();
    run_values(&mut text, report, &priced);
    run_failures(&mut text, report);
    run_facts(&mut text, report, &priced);
    text.push_str("# EOF\n");
    out.write_all(text.as_bytes())
}

/// The labels of one result: the symbol and, when known, its assets; or, with --in, the asset
/// and the one it is priced in.
fn run_labels(report: &Report, symbol: &str) -> String {
    if let Some(target) = &report.target {
        return format!("asset=\"{}\",in=\"{}\"", escaped(symbol), escaped(target));
    }
    if report.market.futures() {
        return contract_labels(symbol, report.market);
    }
    symbol_labels(symbol, report.assets.get(symbol))
}

/// Every priced symbol's values, a family a field, and their ages.
fn run_values(text: &mut String, report: &Report, priced: &[(&Outcome, &Ticker)]) {
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
        gauge_head(text, name, about);
        for (o, t) in priced {
            if let Some(value) = sample_value(name, t.values.get(i)) {
                let _ = writeln!(text, "{name}{{{}}} {value}", run_labels(report, &o.symbol));
            }
        }
    }
    let age = match &report.target {
        Some(_) => "pricefetch_converted_price_age_seconds",
        None => "binance_price_age_seconds",
    };
    gauge_head(
        text,
        age,
        "Seconds from when each value was taken to when this was written.",
    );
    let now_ms = crate::clock::unix_ms();
    for (o, t) in priced {
        let seconds = now_ms.saturating_sub(t.time_ms) as f64 / 1000.0;
        let _ = writeln!(
            text,
            "{age}{{{}}} {seconds:.3}",
            run_labels(report, &o.symbol)
        );
    }
}

/// What a field's sample shows: the value as sent, a timestamp's milliseconds as seconds;
/// nothing for a value the contract does not have (a quarterly's funding).
fn sample_value<'v>(family: &str, value: Option<&'v String>) -> Option<Cow<'v, str>> {
    let value = value.filter(|v| !v.is_empty())?;
    Some(match family.ends_with("_timestamp_seconds") {
        true => Cow::Owned(seconds(value)),
        false => Cow::Borrowed(value),
    })
}

/// Milliseconds as seconds, exactly (`1796601600000` → `1796601600`, `…123` → `….123`).
fn seconds(ms: &str) -> String {
    let ms: u64 = ms.parse().unwrap_or(0);
    match ms % 1000 {
        0 => (ms / 1000).to_string(),
        rest => format!("{}.{rest:03}", ms / 1000),
    }
}

/// `# HELP` and `# TYPE … gauge` of a family.
fn gauge_head(text: &mut String, name: &str, about: &str) {
    let _ = writeln!(text, "# HELP {name} {about}");
    let _ = writeln!(text, "# TYPE {name} gauge");
}

/// Each symbol without a value, with why, and the failures counted by kind.
fn run_failures(text: &mut String, report: &Report) {
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    gauge_head(
        text,
        "pricefetch_symbol_failed",
        "1 for each symbol (or asset) without a value this run, with why.",
    );
    for o in &report.outcomes {
        if let Err(e) = &o.result {
            *by_kind.entry(e.kind()).or_default() += 1;
            let _ = writeln!(
                text,
                "pricefetch_symbol_failed{{{},kind=\"{}\"}} 1",
                run_labels(report, &o.symbol),
                e.kind()
            );
        }
    }
    gauge_head(
        text,
        "pricefetch_run_failures",
        "Symbols without a value this run, by kind of failure.",
    );
    for (kind, n) in &by_kind {
        let _ = writeln!(text, "pricefetch_run_failures{{kind=\"{kind}\"}} {n}");
    }
}

/// What the run sent and spent, how long it took, and when its newest value was taken.
fn run_facts(text: &mut String, report: &Report, priced: &[(&Outcome, &Ticker)]) {
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
        gauge_head(text, name, about);
        let _ = writeln!(text, "{name} {value}");
    }
    if let Some(last) = priced.iter().map(|(_, t)| t.time_ms).max() {
        let name = "pricefetch_last_success_timestamp_seconds";
        gauge_head(
            text,
            name,
            "When the newest value of this run was taken (unix time).",
        );
        let _ = writeln!(text, "{name} {:.3}", last as f64 / 1000.0);
    }
}

/// A family's HELP and TYPE lines; for a counter, the name its samples take (`_total`, which
/// the OpenMetrics TYPE line leaves out and the classic format keeps).
fn head(text: &mut String, name: &str, counter: bool, about: &str, om: bool) -> String {
    let (kind, sample) = if counter {
        ("counter", format!("{name}_total"))
    } else {
        ("gauge", name.to_owned())
    };
    let named = if om { name } else { &sample };
    let _ = writeln!(text, "# HELP {named} {about}");
    let _ = writeln!(text, "# TYPE {named} {kind}");
    sample
}

/// One sample line: `name{labels} value`.
fn sample(text: &mut String, name: &str, labels: &str, value: &str) {
    text.push_str(name);
    text.push('{');
    text.push_str(labels);
    text.push_str("} ");
    text.push_str(value);
    text.push('\n');
}

/// `/metrics` of `--serve`: the board as it is now, in OpenMetrics text (`om`) or
/// Prometheus's classic text format. The latest value of every symbol with its age, the gaps
/// reconnects left, the stream's counters, the process's own facts.
pub(crate) fn exposition(board: &Board, om: bool) -> String {
    let facts = board.facts();
    let now_ms = crate::clock::unix_ms();
    let fresh = board.fresh().is_ok();
    let state = board.lock();
    // Two lines a symbol (its value, its age) and a few of the process's own: written with
    // `push_str` from labels made once, fifty scrapes a second of a thousand symbols cost
    // about as much CPU as the stream itself otherwise.
    let mut text = String::with_capacity(4096 + 2 * 96 * state.entries.len());
    let shown = || state.entries.iter().filter(|e| !e.values.is_empty());
    for (i, field) in state.kind.fields().iter().enumerate() {
        let name = family(state.kind, field);
        head(&mut text, &name, false, &help(state.kind, field), om);
        for e in shown() {
            if let Some(value) = sample_value(&name, e.values.get(i)) {
                sample(&mut text, &name, &e.labels, &value);
            }
        }
    }
    ages_and_failures(&mut text, &state, now_ms, om);
    counters(&mut text, &state, &facts, om);
    gauges(&mut text, &state, fresh, om);
    if om {
        text.push_str("# EOF\n");
    }
    text
}

/// Each value's age, and the symbols without a value (with why).
fn ages_and_failures(text: &mut String, state: &crate::board::State, now_ms: u64, om: bool) {
    let shown = || state.entries.iter().filter(|e| !e.values.is_empty());
    let age = head(
        text,
        "binance_price_age_seconds",
        false,
        "Seconds since each value was true (its event time).",
        om,
    );
    let mut seconds = String::with_capacity(16);
    for e in shown() {
        let ms = now_ms.saturating_sub(e.event_ms);
        seconds.clear();
        let _ = write!(seconds, "{}.{:03}", ms / 1000, ms % 1000);
        sample(text, &age, &e.labels, &seconds);
    }
    if !state.failed.is_empty() {
        head(
            text,
            "pricefetch_symbol_failed",
            false,
            "1 for each symbol without a value (not streamed), with why.",
            om,
        );
        for (symbol, kind) in &state.failed {
            let labels = format!("{},kind=\"{kind}\"", state.labels_of(symbol));
            sample(text, "pricefetch_symbol_failed", &labels, "1");
        }
    }
}

/// The stream's and the process's counters.
fn counters(text: &mut String, state: &crate::board::State, facts: &crate::board::Facts, om: bool) {
    let counters = [
        (
            "pricefetch_stream_updates",
            "Updates taken, over every symbol.",
            state.updates,
        ),
        (
            "pricefetch_stream_reconnects",
            "Stream connections replaced after one ended.",
            state.reconnects,
        ),
        (
            "pricefetch_stream_gaps",
            "Gaps a reconnect left in a symbol's series (Binance replays nothing), over every symbol.",
            state.gaps,
        ),
        (
            "pricefetch_stream_connections",
            "Stream connections that opened.",
            facts.opened,
        ),
        (
            "pricefetch_stream_connection_failures",
            "Stream connection attempts that failed.",
            facts.failed,
        ),
        (
            "pricefetch_stream_dropped",
            "Updates dropped because the exporter was behind.",
            facts.dropped,
        ),
        (
            "pricefetch_stream_left_out",
            "Updates left out: repeats of a rollover, streams not subscribed, values that are not prices.",
            state.left_out,
        ),
        (
            "pricefetch_requests",
            "REST requests sent (the snapshot, retries included).",
            facts.requests,
        ),
        (
            "pricefetch_weight",
            "Binance REST request weight spent.",
            facts.weight,
        ),
    ];
    for (name, about, value) in counters {
        let sample = head(text, name, true, about, om);
        let _ = writeln!(text, "{sample} {value}");
    }
    let gap_seconds = head(
        text,
        "pricefetch_stream_gap_seconds",
        true,
        "The total length of those gaps, each from a symbol's last update before to its first after.",
        om,
    );
    let _ = writeln!(text, "{gap_seconds} {:.3}", state.gap_ms as f64 / 1000.0);
}

/// Whether the stream is fresh, when the newest value was true, when the exporter started.
fn gauges(text: &mut String, state: &crate::board::State, fresh: bool, om: bool) {
    let shown = || state.entries.iter().filter(|e| !e.values.is_empty());
    let last = shown().map(|e| e.event_ms).max().unwrap_or_default();
    let gauges = [
        (
            "pricefetch_stream_fresh",
            "1 while a value arrived within --stale, else 0 (as /healthz).",
            if fresh {
                "1".to_owned()
            } else {
                "0".to_owned()
            },
        ),
        (
            "pricefetch_last_update_timestamp_seconds",
            "When the newest value was true (unix time).",
            format!("{:.3}", last as f64 / 1000.0),
        ),
        (
            "pricefetch_start_time_seconds",
            "When this exporter started (unix time).",
            format!("{:.3}", state.started_ms as f64 / 1000.0),
        ),
    ];
    for (name, about, value) in gauges {
        head(text, name, false, about, om);
        let _ = writeln!(text, "{name} {value}");
    }
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
