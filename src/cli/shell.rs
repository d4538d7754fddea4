//! Shell integration: `--completions SHELL`, `--man` and `--show-config` print to stdout and
//! end the run before anything is fetched.
//!
//! They are flags, not subcommands: `config`, `man` and `completions` are valid symbol spellings
//! (`CONFIG` matches Binance's pattern), and a symbol list must never be misread as a command.

use std::io::{self, Write};

use clap::ArgMatches;

use super::file::{FileSettings, Location, show};
use crate::cli::Cli;

/// Prints what a shell-integration flag asks for; `false` when none was given.
pub fn print(
    cli: &Cli,
    matches: &ArgMatches,
    location: &Location,
    file: Option<&FileSettings>,
    out: &mut dyn Write,
) -> io::Result<bool> {
    if let Some(shell) = cli.shell.completions {
        clap_complete::generate(shell, &mut super::command(), "pricefetch", out);
    } else if cli.shell.man {
        man_page(out)?;
    } else if cli.config.show_config {
        out.write_all(show(cli, matches, location, file).as_bytes())?;
    } else {
        return Ok(false);
    }
    out.flush()?;
    Ok(true)
}

/// The man page's ENVIRONMENT: every flag's variable, and the others pricefetch reads.
fn environment(cmd: &clap::Command, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, ".SH ENVIRONMENT")?;
    let mut vars: Vec<(String, String)> = cmd
        .get_arguments()
        .filter_map(|a| {
            let var = a.get_env()?.to_string_lossy().into_owned();
            let help = a.get_help().map(ToString::to_string).unwrap_or_default();
            Some((
                var,
                format!("as --{}: {help}", a.get_long().unwrap_or_default()),
            ))
        })
        .collect();
    vars.extend(
        [
            (
                "PRICEFETCH_STATE_DIR",
                "where the shared rate-limit ledger lives (default ~/.local/state/pricefetch)",
            ),
            (
                "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY",
                "the proxy to use, and the hosts to reach without it (--proxy wins)",
            ),
            (
                "NO_COLOR",
                "set to anything but empty: no colour (as --color never)",
            ),
            (
                "RUST_LOG",
                "a tracing filter for stderr's log lines; overrides -v and -q",
            ),
        ]
        .map(|(v, h)| (v.to_owned(), h.to_owned())),
    );
    for (var, help) in vars {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(&var), roff(&help))?;
    }
    Ok(())
}

/// The man page: clap's sections for the name, synopsis, description and options, then
/// EXAMPLES, EXIT STATUS, ENVIRONMENT and FILES written here (clap_mangen would put the
/// examples and exit codes together under "EXTRA").
fn man_page(out: &mut dyn Write) -> io::Result<()> {
    let cmd = super::command();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    // clap_mangen's synopsis lists every flag (13 lines); the OPTIONS section does that. Like
    // `--help`'s usage line: options, then symbols, which repeat.
    writeln!(
        out,
        ".SH SYNOPSIS\n\\fBpricefetch\\fR [\\fIOPTIONS\\fR] [\\fISYMBOL\\fR]..."
    )?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    writeln!(out, ".SH EXAMPLES")?;
    for (command, what) in super::help::EXAMPLES {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(command), roff(what))?;
    }
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    for (code, meaning) in super::help::EXIT_CODES {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(code), roff(meaning))?;
    }
    writeln!(
        out,
        ".PP\n{}",
        roff(
            "When several apply, the highest of 3, 4, 5 and 6 wins over 1. A signal still prints \
             what had arrived; a second one quits at once. A closed pipe is exit 0."
        )
    )?;
    environment(&cmd, out)?;
    writeln!(out, ".SH FILES")?;
    for (path, what) in [
        (
            "~/.config/pricefetch/config.toml",
            "settings and a watch-list (the platform's config directory; --config, --no-config)",
        ),
        (
            "~/.local/state/pricefetch/HOST.json",
            "the request weight, pauses and bans every pricefetch on this host shares, one file \
             per API host (--no-shared-state)",
        ),
    ] {
        writeln!(out, ".TP\n\\fI{}\\fR\n{}", roff(path), roff(what))?;
    }
    man.render_version_section(out)
}

/// Text made safe for roff: backslashes and hyphens escaped, no line read as a request.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}
