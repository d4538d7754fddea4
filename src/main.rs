//! The `pricefetch` binary: parse, merge the config file, set up logging, run (`run::execute`),
//! pick the exit code. Everything else is in the library (see `lib.rs`).

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::FromArgMatches;
use pricefetch::cli::Cli;
use pricefetch::cli::file::Location;
use pricefetch::error::{self, Exit};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let matches = match pricefetch::cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) => {
            let e = pricefetch::cli::without_dash_dash_tip(e);
            let typed: Vec<String> = std::env::args().skip(1).collect();
            let e = pricefetch::cli::usage_as_typed(e, &typed);
            // clap names the flag; when the bad value came from its variable, say which.
            let note = pricefetch::cli::env_note(&e, std::env::args().skip(1).collect());
            say_clap(&e);
            if let Some(note) = note.filter(|_| e.use_stderr()) {
                let _ = writeln!(io::stderr().lock(), "note: {note}");
            }
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    cli.note_sources(&matches);
    let location = Location::of(&cli);
    let file = match location.load() {
        Ok(file) => file,
        Err(e) => return fail(&anyhow::Error::new(e)),
    };
    if let Some(file) = &file {
        file.apply(&mut cli, &matches);
    }
    let terminal = cli.terminal();
    init_tracing(cli.verbosity(), terminal.stderr_color);
    // A closed stdout (`>&-`) swallows every write without an error: say so, as for a full
    // disk, rather than exit 0 having written nothing.
    if stdout_was_closed() {
        let closed = io::Error::other("standard output is closed");
        return fail(&anyhow::Error::new(error::OutputError(closed)));
    }
    let mut out = BufWriter::new(io::stdout().lock());
    match pricefetch::cli::shell::print(&cli, &matches, &location, file.as_ref(), &mut out) {
        Ok(true) => return Exit::Ok.into(),
        Ok(false) => {}
        Err(e) => return fail(&e.into()),
    }
    let config = match cli.into_config(terminal) {
        Ok(config) => config,
        Err(e) => {
            let note = pricefetch::cli::file::origin_note(&e.0, &matches, &location, file.as_ref());
            let code = fail(&anyhow::Error::new(e));
            if let Some(note) = note {
                let _ = writeln!(io::stderr().lock(), "note: {note}");
            }
            return code;
        }
    };
    match pricefetch::run::execute(config, &mut out) {
        Ok(report) => report.exit().into(),
        Err(e) => fail(&e),
    }
}

/// Set before `main` when file descriptor 1 was closed at exec (`>&-`). Rust's start-up code
/// reopens a closed standard stream on `/dev/null` before `main` runs, which then cannot be
/// told from a `> /dev/null`; a constructor in `.init_array` runs before that, as std's own
/// argument capture does on Linux.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
#[allow(
    unsafe_code,
    reason = "a constructor that reads fd 1's flags before std reopens it: see SAFETY"
)]
static CHECK_STDOUT: extern "C" fn() = {
    extern "C" fn check_stdout() {
        // SAFETY: F_GETFD only reads file descriptor 1's flags; -1 means it is not open.
        if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
            STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    check_stdout
};

/// Whether stdout was closed when the process started.
fn stdout_was_closed() -> bool {
    STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Reports a run-ending error on stderr and picks its exit code.
fn fail(err: &anyhow::Error) -> ExitCode {
    // `pricefetch | head -1`: the reader left, which is not our failure (as in ripgrep).
    if error::is_broken_pipe(err) {
        return Exit::Ok.into();
    }
    pricefetch::output::say_error(&format!("{err:#}"));
    error::exit_for_error(err).into()
}

/// clap's answer: help and version on stdout as clap writes them; a usage error on stderr
/// with the prefix every error has (`pricefetch: error: …`), coloured as clap colours it on a
/// terminal.
fn say_clap(e: &clap::Error) {
    use std::io::IsTerminal as _;
    if !e.use_stderr() {
        let _ = e.print();
        return;
    }
    let text = e.render();
    let color = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = if color {
        text.ansi().to_string()
    } else {
        text.to_string()
    };
    pricefetch::output::say_usage_error(&text);
}

/// Logs go to stderr only (tracing's default writer is stdout). `RUST_LOG` wins; otherwise the
/// level follows -v/-q, and only pricefetch's own logs get more verbose.
fn init_tracing(verbosity: i16, color: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(match verbosity {
            // -q: the data's own warnings stay (gaps, not listed, rows left out); -qq: errors.
            -1 => "error,pricefetch::data=warn",
            ..=-2 => "error",
            0 => "warn",
            1 => "warn,pricefetch=info",
            2 => "warn,pricefetch=debug",
            _ => "warn,pricefetch=trace",
        })
    });
    let width = pricefetch::text::stderr_width();
    tracing_subscriber::fmt()
        .with_writer(move || pricefetch::output::StderrLines(width))
        .with_env_filter(filter)
        .with_ansi(color)
        // Its fallback report of a failed write is an `eprintln!`, which panics when stderr is
        // closed; a log line that cannot be written is simply lost.
        .log_internal_errors(false)
        .event_format(pricefetch::output::LogLine)
        .init();
}
