//! Where a run's data goes, and the runtime it runs on: standard output, or `-o FILE` as
//! `output::file` decides (replaced whole when the run has results, written directly for a
//! device or a FIFO, appended to with `--append`).

use std::io::Write;

use crate::config::Config;
use crate::error::{OutputError, UsageError};
use crate::output::file::{OpenError, OutputFile};
use crate::report::Report;

/// Runs `config` on a one-thread runtime, its data to `-o FILE` or else to `stdout`.
pub fn execute(mut config: Config, stdout: &mut dyn Write) -> anyhow::Result<Report> {
    // One thread is plenty for an I/O-bound fan-out, and keeps memory and start-up small.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::Error::new(e).context("cannot start the async runtime"))?;
    let Some(path) = config.output.clone() else {
        return runtime.block_on(super::run(config, stdout));
    };
    let mut file = OutputFile::open(&path, config.append).map_err(|e| match e {
        OpenError::Refused(why) => anyhow::Error::new(UsageError(why)),
        OpenError::Io(e) => anyhow::Error::new(OutputError(e)),
    })?;
    // --append to a file that has lines already: no second header.
    config.header &= file.starts_a_file();
    let report = runtime.block_on(super::run(config, &mut file))?;
    let complete = report.interrupted.is_none() && !report.deadline_hit;
    if !file.is_atomic() || (complete && report.ok() > 0) {
        file.commit().map_err(OutputError)?;
    } else {
        tracing::warn!(
            "{} left as it was: the run {}",
            file.target().display(),
            if complete {
                "has no result"
            } else {
                "was cut short"
            }
        );
    }
    Ok(report)
}
