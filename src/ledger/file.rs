//! The ledger's files as another local user might meet them: the directory made 0700 and the
//! file 0600 whatever the umask, never followed through a symbolic link, never a device or a
//! FIFO, and refused when not owned by this user (mended when ours but open to others).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::io_reason;

/// This process's effective user id.
fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Refuses what another user could steer: not ours, or (when it is ours) a mode open to others
/// is mended. `what` names it for the message.
fn trusted(
    meta: &std::fs::Metadata,
    path: &Path,
    private: u32,
    fix: impl FnOnce(u32) -> std::io::Result<()>,
) -> Result<(), String> {
    if meta.uid() != euid() {
        return Err(format!(
            "{} belongs to another user (uid {}), so it is not trusted",
            path.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        fix(private).map_err(|e| {
            format!(
                "{} is open to other users and cannot be made private: {}",
                path.display(),
                io_reason(&e)
            )
        })?;
    }
    Ok(())
}

/// The state directory, made 0700 if it is new; refused if it is a symbolic link or not ours.
pub(crate) fn private_dir(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {}", dir.display(), io_reason(&e)))?;
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("cannot read {}: {}", dir.display(), io_reason(&e)))?;
    if !meta.is_dir() {
        return Err(format!(
            "{} is a symbolic link or not a directory, so it is not trusted",
            dir.display()
        ));
    }
    trusted(&meta, dir, 0o700, |mode| {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
    })
}

/// Puts `body` at `path` whole: written to a private temporary file in the same directory
/// (0600, never through a link) and renamed over what was there, so that a reader never sees
/// half of it. The directory is made private first.
pub(crate) fn replace_private(path: &Path, body: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    private_dir(path.parent().unwrap_or(Path::new(".")))?;
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&temporary)
        .and_then(|mut f| f.write_all(body))
        .and_then(|()| std::fs::rename(&temporary, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        format!("cannot write {}: {}", path.display(), io_reason(&e))
    })
}

/// The ledger file, created 0600; never through a symbolic link, never a device or a FIFO.
pub(super) fn private_file(path: &Path) -> Result<File, String> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        // O_NONBLOCK: a FIFO planted at the path must not block the open.
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                format!(
                    "{} is a symbolic link, so it is not followed",
                    path.display()
                )
            } else {
                format!("cannot open {}: {}", path.display(), io_reason(&e))
            }
        })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {}", path.display(), io_reason(&e)))?;
    if !meta.is_file() {
        return Err(format!(
            "{} is not a regular file, so it is not used",
            path.display()
        ));
    }
    trusted(&meta, path, 0o600, |mode| {
        file.set_permissions(std::fs::Permissions::from_mode(mode))
    })?;
    Ok(file)
}
