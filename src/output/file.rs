//! `-o FILE`: the output goes to a temporary file beside FILE and is renamed over it only when
//! the caller commits, so a reader (node_exporter's textfile collector, a web server, a
//! spreadsheet import) never sees half a file, and a run that fails leaves the previous one.
//! Dropped without a commit, the temporary file is removed.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The file that will replace `target`.
pub struct Replacement {
    target: PathBuf,
    temporary: PathBuf,
    file: BufWriter<File>,
    committed: bool,
}

impl Replacement {
    /// A new temporary file in `target`'s directory (`.NAME.tmp-PID`), created exclusively.
    pub fn create(target: &Path) -> io::Result<Self> {
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::other(format!("{} is not a file name", target.display())))?;
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temporary = dir.join(format!(
            ".{}.tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temporary)
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => {
                    io::Error::new(e.kind(), format!("{}: no such directory", dir.display()))
                }
                _ => named(target, e),
            })?;
        Ok(Self {
            target: target.to_path_buf(),
            temporary,
            file: BufWriter::new(file),
            committed: false,
        })
    }

    /// Writes out what is buffered, makes it durable, and renames it over the target (which
    /// keeps its permissions: a file made private stays private).
    pub fn commit(mut self) -> io::Result<()> {
        self.file.flush().map_err(|e| named(&self.target, e))?;
        if let Ok(meta) = std::fs::metadata(&self.target) {
            self.file
                .get_ref()
                .set_permissions(meta.permissions())
                .map_err(|e| named(&self.target, e))?;
        }
        self.file
            .get_ref()
            .sync_all()
            .map_err(|e| named(&self.target, e))?;
        std::fs::rename(&self.temporary, &self.target).map_err(|e| named(&self.target, e))?;
        self.committed = true;
        Ok(())
    }

    /// The file it replaces.
    pub fn target(&self) -> &Path {
        &self.target
    }
}

/// `e` with the file it happened to, in the OS's words.
fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("{}: {}", path.display(), crate::error::io_reason(&e)),
    )
}

impl Write for Replacement {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf).map_err(|e| named(&self.target, e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush().map_err(|e| named(&self.target, e))
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_changes_only_on_commit_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("prices.prom");
        std::fs::write(&target, "old\n").unwrap();
        let mut r = Replacement::create(&target).unwrap();
        r.write_all(b"new\n").unwrap();
        r.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
        drop(r);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
        let mut r = Replacement::create(&target).unwrap();
        r.write_all(b"new\n").unwrap();
        r.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new\n");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the target remains");
        // A private file stays private when it is replaced.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut r = Replacement::create(&target).unwrap();
        r.write_all(b"newer\n").unwrap();
        r.commit().unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_missing_directory_is_named() {
        let e = Replacement::create(Path::new("/no/such/dir/prices.csv"))
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "/no/such/dir: no such directory");
    }
}
