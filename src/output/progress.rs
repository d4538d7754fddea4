//! A progress bar on stderr for long runs: done/total, rate, failures.
//!
//! Only drawn when the caller allows it (stderr is a terminal, not `-q`), so it never reaches
//! cron mail or a log file, and it is cleared before the results are printed.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::outcome::Outcome;

/// Symbols above which a concurrent run is long enough to deserve a bar.
const MANY_SYMBOLS: usize = 50;
/// Symbols above which a sequential run (one request after another) takes over about a second.
const MANY_SEQUENTIAL: usize = 10;

/// A line redrawn in place on stderr (the exporter's status), or nothing: only on a terminal,
/// never in a pipe or a log.
pub(crate) struct StatusLine(Option<ProgressBar>);

impl StatusLine {
    /// A line if `allowed` (stderr is a terminal, not `-q`); log lines are written above it
    /// while it shows (see [`super::stderr::StderrLines`]).
    pub(crate) fn new(allowed: bool) -> Self {
        Self(allowed.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{msg}") {
                bar.set_style(style);
            }
            super::stderr::hold(Some(bar.clone()));
            bar
        }))
    }

    /// Shows `text` in place of the line before (unless it was let go).
    pub(crate) fn show(&self, text: String) {
        if let Some(bar) = self.0.as_ref().filter(|_| super::stderr::holding()) {
            bar.set_message(text);
        }
    }

    /// Clears the line, for the summary.
    pub(crate) fn finish(&self) {
        if self.0.is_some() {
            super::stderr::let_go();
        }
    }
}

/// Shows progress, or nothing.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    failed: u64,
}

impl Progress {
    /// A bar over `requests` results if `allowed` and the run is long: more than 50 symbols, or
    /// more than 10 when they go one at a time (`sequential`).
    pub(crate) fn new(allowed: bool, symbols: usize, sequential: bool, requests: u64) -> Self {
        let long = symbols > MANY_SYMBOLS || (sequential && symbols > MANY_SEQUENTIAL);
        let bar = (allowed && long).then(|| {
            let bar = ProgressBar::with_draw_target(Some(requests), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} symbols, {msg}") {
                bar.set_style(style);
            }
            bar
        });
        Self { bar, failed: 0 }
    }

    /// A bar over the `requests` of a range of candles, if `allowed` and there are more than
    /// ten.
    pub(crate) fn requests(allowed: bool, requests: u64) -> Self {
        let bar = (allowed && requests > MANY_SEQUENTIAL as u64).then(|| {
            let bar = ProgressBar::with_draw_target(Some(requests), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30} {pos}/{len} requests, {msg} ({eta} left)")
            {
                bar.set_style(style);
            }
            bar
        });
        Self { bar, failed: 0 }
    }

    /// Counts one answered request that brought `candles` more (in all).
    pub(crate) fn step(&self, candles: u64) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{candles} candles"));
            bar.inc(1);
        }
    }

    /// Counts one finished symbol.
    pub(crate) fn tick(&mut self, outcome: &Outcome) {
        let Some(bar) = &self.bar else { return };
        if outcome.result.is_err() {
            self.failed += 1;
        }
        // The message first: `inc` draws, and the last frame should carry the last count.
        let rate = (bar.position() + 1) as f64 / bar.elapsed().as_secs_f64().max(1e-3);
        let failed = match self.failed {
            0 => String::new(),
            n => format!(", {n} failed"),
        };
        bar.set_message(format!("{rate:.0}/s{failed}"));
        bar.inc(1);
    }

    /// Removes the bar so the results print on a clean screen.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
