//! stderr's lines for a person: the log lines in one form (`WARN message`, whatever stderr
//! is; an error as `pricefetch: error: message`, as the run's own error), broken at spaces at
//! the terminal's width rather than mid-word by the terminal.

use std::fmt;
use std::io::{self, Write};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::text::{stderr_width, wrap};

/// The run's error, the one line before the exit code: `pricefetch: error: …`, wrapped on a
/// terminal. A write error is ignored (stderr closed: nothing more can be said).
pub fn say_error(message: &str) {
    let line = wrap(&format!("pricefetch: error: {message}"), stderr_width(), 2);
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// clap's usage error (`error: …`, the usage, a tip), rendered, with the prefix every error
/// has, and each line wrapped on a terminal.
pub fn say_usage_error(rendered: &str) {
    let width = stderr_width();
    let text = format!("pricefetch: {rendered}");
    let lines: Vec<String> = text.lines().map(|l| wrap(l, width, 2)).collect();
    let _ = writeln!(io::stderr().lock(), "{}", lines.join("\n"));
}

/// A log event as a line: `WARN message` (the level coloured on a terminal, never padded), and
/// an error as `pricefetch: error: message`.
pub struct LogLine;

impl<S, N> FormatEvent<S, N> for LogLine
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let (name, color) = match *event.metadata().level() {
            tracing::Level::ERROR => ("error:", "31"),
            tracing::Level::WARN => ("WARN", "33"),
            tracing::Level::INFO => ("INFO", "32"),
            tracing::Level::DEBUG => ("DEBUG", "34"),
            tracing::Level::TRACE => ("TRACE", "35"),
        };
        if *event.metadata().level() == tracing::Level::ERROR {
            write!(writer, "pricefetch: ")?;
        }
        if writer.has_ansi_escapes() {
            write!(writer, "\x1b[{color}m{name}\x1b[0m ")?;
        } else {
            write!(writer, "{name} ")?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// The line redrawn in place at the foot of stderr, if one shows: log lines go above it.
static HELD: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);

/// Keeps `line` at the foot of stderr (or none).
pub(super) fn hold(line: Option<indicatif::ProgressBar>) {
    *held() = line;
}

fn held() -> std::sync::MutexGuard<'static, Option<indicatif::ProgressBar>> {
    HELD.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether a status line shows.
pub(super) fn holding() -> bool {
    held().is_some()
}

/// Clears the status line for good, if one shows (Ctrl-C: the summary comes next, and the
/// `^C` the terminal echoed on it goes too); whether one did.
pub(crate) fn let_go() -> bool {
    let Some(line) = held().take() else {
        return false;
    };
    line.finish_and_clear();
    true
}

/// stderr for log lines: on a terminal (`width`), each line is broken at spaces with an indent
/// like the rest of stderr, rather than mid-word by the terminal; elsewhere it is written whole.
/// tracing formats an event and writes it in one call, so each call is whole lines. A status
/// line that shows is cleared first and drawn again below.
pub struct StderrLines(pub Option<usize>);

impl Write for StderrLines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let line = held().clone();
        match line {
            Some(line) => line.suspend(|| self.write_lines(buf)),
            None => self.write_lines(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl StderrLines {
    fn write_lines(&self, buf: &[u8]) -> io::Result<usize> {
        let mut err = io::stderr().lock();
        match (self.0, std::str::from_utf8(buf)) {
            (Some(width), Ok(text)) => {
                for line in text.split_inclusive('\n') {
                    let (body, end) = line
                        .strip_suffix('\n')
                        .map_or((line, ""), |body| (body, "\n"));
                    write!(err, "{}{end}", wrap(body, Some(width), 2))?;
                }
            }
            _ => err.write_all(buf)?,
        }
        Ok(buf.len())
    }
}
