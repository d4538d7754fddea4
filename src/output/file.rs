//! `-o FILE`: where the data goes when it is not standard output, decided by what FILE is
//! (`lstat`, never following a link):
//!
//! - **nothing, or a regular file**: the output goes to a temporary file beside FILE (an
//!   unpredictable name, created with `O_EXCL`, so nothing planted there is written through) and
//!   is renamed over it only when the caller commits, so a reader (node_exporter's textfile
//!   collector, a web server, a spreadsheet import) never sees half a file, and a run that fails
//!   leaves the previous one. The new file has the old one's permission bits, less setuid, setgid
//!   and sticky; a new one `0644` less the umask.
//! - **a character device or a FIFO** (`/dev/null`, `/dev/stdout`, a pipe someone reads): written
//!   as it goes, never renamed over.
//! - **a symbolic link, a socket, a directory, a block device**: refused before anything is sent
//!   (a link could make root's output take a setuid binary's mode, or a file another user can
//!   write): the user names the target itself.
//!
//! `--append` writes at the end of a regular file (or a new one) instead, for a log a cron job
//! grows; the caller leaves out the header when the file already has lines.

use std::fs::{File, Metadata};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why FILE cannot be written to (exit 2: nothing was sent), or the OS's error opening it.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// FILE is a kind of file `-o` does not write to; the words say which and what to do.
    Refused(String),
    /// The OS refused (no such directory, permission denied, ...), FILE named.
    Io(io::Error),
}

/// What the output is written to.
pub(crate) struct OutputFile {
    target: PathBuf,
    how: How,
}

enum How {
    /// Renamed over the target on commit; removed when dropped without one.
    Replace {
        file: BufWriter<tempfile::NamedTempFile>,
    },
    /// Written as it goes (a device, a FIFO, `--append`).
    Direct { file: BufWriter<File>, empty: bool },
}

impl OutputFile {
    /// Looks at what `target` is and opens what will be written (see the module's docs).
    pub(crate) fn open(target: &Path, append: bool) -> Result<Self, OpenError> {
        let meta = match std::fs::symlink_metadata(target) {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(OpenError::Io(named(target, e))),
        };
        if let Some(kind) = meta.as_ref().and_then(refused) {
            return Err(OpenError::Refused(format!(
                "-o {}: {kind}",
                target.display()
            )));
        }
        let direct = meta
            .as_ref()
            .is_some_and(|m| m.file_type().is_char_device() || m.file_type().is_fifo());
        let how = if direct || append {
            let file = File::options()
                .append(true)
                .create(true)
                .mode(0o644)
                .custom_flags(libc::O_NOFOLLOW)
                .open(target)
                .map_err(|e| OpenError::Io(opening(target, e)))?;
            let empty = file.metadata().map(|m| m.len() == 0).unwrap_or(true);
            How::Direct {
                file: BufWriter::new(file),
                empty,
            }
        } else {
            How::Replace {
                file: BufWriter::new(temporary(target, meta.as_ref())?),
            }
        };
        Ok(Self {
            target: target.to_path_buf(),
            how,
        })
    }

    /// Whether the output starts a new file (a header belongs in it): false only for
    /// `--append` to a file that has something in it, and for a device or FIFO.
    pub(crate) fn starts_a_file(&self) -> bool {
        match &self.how {
            How::Replace { .. } => true,
            How::Direct { empty, .. } => *empty,
        }
    }

    /// Whether a run that is cut short leaves the target as it was (nothing is written to it
    /// until the commit).
    pub(crate) fn is_atomic(&self) -> bool {
        matches!(self.how, How::Replace { .. })
    }

    /// Writes out what is buffered, makes it durable, and renames it over the target.
    pub(crate) fn commit(self) -> io::Result<()> {
        let target = self.target;
        match self.how {
            How::Direct { mut file, .. } => file.flush().map_err(|e| named(&target, e)),
            How::Replace { file } => {
                let file = file
                    .into_inner()
                    .map_err(|e| named(&target, e.into_error()))?;
                file.as_file().sync_all().map_err(|e| named(&target, e))?;
                file.persist(&target)
                    .map(drop)
                    .map_err(|e| named(&target, e.error))
            }
        }
    }

    /// The file it writes.
    pub(crate) fn target(&self) -> &Path {
        &self.target
    }
}

/// What `-o` refuses to write to, in words, or `None`.
fn refused(meta: &Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    Some(if kind.is_symlink() {
        "is a symbolic link; give its target"
    } else if kind.is_dir() {
        "is a directory; give a file in it"
    } else if kind.is_socket() {
        "is a socket; -o writes files, devices and FIFOs"
    } else if kind.is_block_device() {
        "is a block device; -o writes files, character devices and FIFOs"
    } else {
        return None;
    })
}

/// A new temporary file in `target`'s directory, with the permissions the target will have.
fn temporary(target: &Path, old: Option<&Metadata>) -> Result<tempfile::NamedTempFile, OpenError> {
    let name = target.file_name().ok_or_else(|| {
        OpenError::Refused(format!("-o {}: is not a file name", target.display()))
    })?;
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // A new file: 0644, less the umask (the kernel applies it at creation).
    let file = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)
        .map_err(|e| OpenError::Io(opening(target, e)))?;
    // A replaced regular file: its permission bits exactly, never setuid, setgid or sticky.
    if let Some(old) = old {
        let bits = old.permissions().mode() & 0o777;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(bits))
            .map_err(|e| OpenError::Io(named(target, e)))?;
    }
    Ok(file)
}

/// An error opening `target` (or a file beside it), with a missing directory said as such.
fn opening(target: &Path, e: io::Error) -> io::Error {
    if e.kind() != io::ErrorKind::NotFound {
        return named(target, e);
    }
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    io::Error::new(e.kind(), format!("{}: no such directory", dir.display()))
}

/// `e` with the file it happened to, in the OS's words.
fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("{}: {}", path.display(), crate::error::io_reason(&e)),
    )
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.how {
            How::Replace { file } => file.write(buf),
            How::Direct { file, .. } => file.write(buf),
        }
        .map_err(|e| named(&self.target, e))
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.how {
            How::Replace { file } => file.flush(),
            How::Direct { file, .. } => file.flush(),
        }
        .map_err(|e| named(&self.target, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn the_target_changes_only_on_commit_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("prices.prom");
        std::fs::write(&target, "old\n").unwrap();
        let mut r = OutputFile::open(&target, false).unwrap();
        r.write_all(b"new\n").unwrap();
        r.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
        drop(r);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
        let mut r = OutputFile::open(&target, false).unwrap();
        r.write_all(b"new\n").unwrap();
        r.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new\n");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the target remains");
    }

    #[test]
    fn a_replaced_file_keeps_its_permission_bits_but_never_setuid() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("prices.csv");
        std::fs::write(&target, "old\n").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o4751)).unwrap();
        let mut r = OutputFile::open(&target, false).unwrap();
        r.write_all(b"new\n").unwrap();
        r.commit().unwrap();
        assert_eq!(mode(&target), 0o751);
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        OutputFile::open(&target, false).unwrap().commit().unwrap();
        assert_eq!(mode(&target), 0o600, "a private file stays private");
    }

    #[test]
    fn a_new_file_is_0644_less_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("new.csv");
        OutputFile::open(&target, false).unwrap().commit().unwrap();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .map(|m| u32::from_str_radix(m.trim(), 8).unwrap())
            .unwrap();
        assert_eq!(mode(&target), 0o644 & !umask);
    }

    #[test]
    fn a_symbolic_link_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, "mine\n").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let Err(OpenError::Refused(why)) = OutputFile::open(&link, false) else {
            panic!("a link is refused");
        };
        assert!(
            why.ends_with("is a symbolic link; give its target"),
            "{why}"
        );
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "mine\n");
        let Err(OpenError::Refused(why)) = OutputFile::open(dir.path(), false) else {
            panic!("a directory is refused");
        };
        assert!(why.contains("is a directory"), "{why}");
    }

    #[test]
    fn a_fifo_is_written_directly_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success(), "mkfifo");
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        let mut w = OutputFile::open(&fifo, false).unwrap();
        assert!(!w.is_atomic());
        w.write_all(b"a line\n").unwrap();
        w.commit().unwrap();
        assert_eq!(reader.join().unwrap(), "a line\n");
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
    }

    #[test]
    fn append_writes_at_the_end_and_says_whether_the_file_was_empty() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("log.csv");
        let mut w = OutputFile::open(&target, true).unwrap();
        assert!(w.starts_a_file());
        w.write_all(b"header\nrow 1\n").unwrap();
        w.commit().unwrap();
        let mut w = OutputFile::open(&target, true).unwrap();
        assert!(!w.starts_a_file());
        w.write_all(b"row 2\n").unwrap();
        w.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "header\nrow 1\nrow 2\n"
        );
    }

    #[test]
    fn a_missing_directory_is_named() {
        let Err(OpenError::Io(e)) = OutputFile::open(Path::new("/no/such/dir/prices.csv"), false)
        else {
            panic!("no directory");
        };
        assert_eq!(e.to_string(), "/no/such/dir: no such directory");
    }
}
