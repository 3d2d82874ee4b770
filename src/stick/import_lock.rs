//! One import at a time per bundles directory. Two at once would each clear the other's
//! staging as a leftover of a power cut (they did). The lock is `flock` on a file beside the
//! bundles: the kernel drops it when its holder exits, however it exits, so a killed import
//! never leaves the station locked out.

use std::fs::{File, OpenOptions};
use std::path::Path;

use super::StickError;

const IMPORT_LOCK_FILE: &str = ".import.lock";

/// Held for as long as it lives.
pub struct ImportLock(#[allow(dead_code)] File);

impl ImportLock {
    /// Takes the lock, or says another import holds it (without waiting for it).
    pub fn take(bundles: &Path) -> Result<ImportLock, StickError> {
        let path = bundles.join(IMPORT_LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StickError::io(&path, e))?;
        match try_lock(&file) {
            Ok(()) => Ok(ImportLock(file)),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(StickError::Busy(path)),
            Err(e) => Err(StickError::io(&path, e)),
        }
    }
}

#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this File owns; no memory is involved.
    match unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(not(unix))]
fn try_lock(_: &File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = ImportLock::take(dir.path()).unwrap();
        let e = ImportLock::take(dir.path()).err().unwrap();
        assert!(matches!(e, StickError::Busy(_)), "{e}");
        drop(first);
        ImportLock::take(dir.path()).unwrap();
    }
}
