//! Shell integration: `--completions SHELL`, `--man` and `--show-config` print to stdout and
//! end the run before anything is fetched.
//!
//! They are flags, not subcommands: `config`, `man` and `completions` are valid symbol spellings
//! (`CONFIG` matches Binance's pattern), and a symbol list must never be misread as a command.

use std::io::{self, Write};

use clap::{ArgMatches, CommandFactory};

use crate::cli::Cli;
use crate::config_file::{FileSettings, Location, show};

/// Prints what a shell-integration flag asks for; `false` when none was given.
pub fn print(
    cli: &Cli,
    matches: &ArgMatches,
    location: &Location,
    file: Option<&FileSettings>,
    out: &mut dyn Write,
) -> io::Result<bool> {
    if let Some(shell) = cli.completions {
        clap_complete::generate(shell, &mut Cli::command(), "pricefetch", out);
    } else if cli.man {
        clap_mangen::Man::new(Cli::command()).render(out)?;
    } else if cli.show_config {
        out.write_all(show(cli, matches, location, file).as_bytes())?;
    } else {
        return Ok(false);
    }
    out.flush()?;
    Ok(true)
}
