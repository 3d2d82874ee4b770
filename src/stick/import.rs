//! Taking a bundle from a stick. Under the import lock: open the archive (bounded), check the
//! signature of its lock, refuse a downgrade unless confirmed, then — unless a directory for
//! this very lock is already there and verifies — unpack only what the signed lock lists into
//! staging (each file checked against its hash), load it as any bundle is loaded and put it in
//! place; last, switch the `active` link atomically. Any failure leaves the active bundle
//! exactly as it was.

use std::fs;
use std::path::{Path, PathBuf};

use super::archive::{Archive, Signed};
use super::import_lock::ImportLock;
use super::StickError;
use crate::core::bundle::{self, Bundle, BundleLock};

pub const ACTIVE_LINK: &str = "active";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    Activated {
        name: String,
        version: String,
        dir: PathBuf,
        /// Files in the archive that the signed lock does not list: not unpacked.
        left_out: Vec<String>,
    },
    AlreadyActive {
        name: String,
        version: String,
    },
}

/// What the archive offers, for the OLED's question: its signature is checked, its files
/// are not (that is the import's work).
pub fn inspect(archive: &Path, pubkey: &Path) -> Result<Offer, StickError> {
    let signed = Archive::open(archive)?.signed_lock(pubkey)?;
    Ok(Offer {
        name: signed.lock.name,
        version: signed.lock.version,
    })
}

/// Imports the archive into `bundles`, a directory that must exist (a mistyped `--into`
/// must not become a new tree).
pub fn import(
    archive: &Path,
    pubkey: &Path,
    bundles: &Path,
    allow_downgrade: bool,
) -> Result<Imported, StickError> {
    if !bundles.is_dir() {
        return Err(StickError::NoBundlesDir(bundles.to_path_buf()));
    }
    let _one_at_a_time = ImportLock::take(bundles)?;
    clear_leftovers(bundles)?;
    let mut archive = Archive::open(archive)?;
    let signed = archive.signed_lock(pubkey)?;
    let active_path = bundles.join(ACTIVE_LINK);
    if is_active(&active_path, &signed) {
        return Ok(Imported::AlreadyActive {
            name: signed.lock.name,
            version: signed.lock.version,
        });
    }
    if !allow_downgrade {
        check_not_older(&active_path, &signed.lock.version)?;
    }
    let left_out = archive.not_listed(&signed);
    let (name, version) = (signed.lock.name.clone(), signed.lock.version.clone());
    // Name and version passed `check_identity`: one path component, inside `bundles`.
    let dir_name = format!("{name}-{version}-{}", &signed.lock_hash[..8]);
    let final_dir = bundles.join(&dir_name);
    if !verifies_as(&final_dir, &signed.lock_hash) {
        let staging = Staging::new(bundles)?;
        archive.unpack_signed(&signed, &staging.0)?;
        let new = Bundle::load(&staging.0).map_err(StickError::Bundle)?;
        if new.lock_hash != signed.lock_hash {
            return Err(StickError::Archive(
                "the lock changed while unpacking".into(),
            ));
        }
        put_in_place(&staging, &final_dir)?;
    }
    // The new link is made beside the old one, then renamed over it: `active` is always a
    // complete bundle, the old or the new.
    let tmp_link = bundles.join(format!(".active-{}", std::process::id()));
    let _ = fs::remove_file(&tmp_link);
    symlink(Path::new(&dir_name), &tmp_link).map_err(|e| StickError::io(&tmp_link, e))?;
    fs::rename(&tmp_link, &active_path).map_err(|e| StickError::io(&active_path, e))?;
    sync_dir(bundles)?;
    Ok(Imported::Activated {
        name,
        version,
        dir: final_dir,
        left_out,
    })
}

/// The active bundle is this very lock, and whole (a damaged one is imported again).
fn is_active(active: &Path, signed: &Signed) -> bool {
    Bundle::load(active).is_ok_and(|b| b.lock_hash == signed.lock_hash)
}

/// Refuses a version below the active one by semver precedence (`1.0.0-rc1` < `1.0.0`), and
/// an active bundle whose version cannot be read: no check would then hold an old, signed
/// bundle back from being replayed.
fn check_not_older(active: &Path, offered: &str) -> Result<(), StickError> {
    if fs::symlink_metadata(active).is_err() {
        return Ok(()); // a station's first bundle
    }
    let unknown = |why: String| StickError::ActiveUnknown {
        offered: offered.to_string(),
        why,
    };
    let (lock, _) = BundleLock::read(active).map_err(|e| unknown(e.to_string()))?;
    let current = bundle::parse_version(&lock.version).map_err(unknown)?;
    let new = bundle::parse_version(offered).map_err(|e| StickError::Archive(e.to_string()))?;
    if new.cmp_precedence(&current).is_lt() {
        return Err(StickError::Downgrade {
            active: lock.version,
            offered: offered.to_string(),
        });
    }
    Ok(())
}

/// A directory already there for this bundle is used only when it is a directory that loads
/// (every file matching) as this very lock; anything else is never trusted.
fn verifies_as(dir: &Path, lock_hash: &str) -> bool {
    fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir())
        && Bundle::load(dir).is_ok_and(|b| b.lock_hash == lock_hash)
}

/// Moves the checked staging directory to `final_dir`; whatever is there (damaged, files
/// missing, a link) is moved aside first and removed.
fn put_in_place(staging: &Staging, final_dir: &Path) -> Result<(), StickError> {
    sync_dir(&staging.0)?;
    if fs::symlink_metadata(final_dir).is_ok() {
        log::warn!(
            "{}: does not match its lock; replacing it",
            final_dir.display()
        );
        let parent = final_dir.parent().unwrap_or(Path::new("."));
        let stale = parent.join(format!(".stale-{}", std::process::id()));
        fs::rename(final_dir, &stale).map_err(|e| StickError::io(final_dir, e))?;
        fs::rename(&staging.0, final_dir).map_err(|e| StickError::io(final_dir, e))?;
        let _ = fs::remove_dir_all(&stale).or_else(|_| fs::remove_file(&stale));
        return Ok(());
    }
    fs::rename(&staging.0, final_dir).map_err(|e| StickError::io(final_dir, e))
}

/// A staging directory removed on drop unless it was renamed away.
struct Staging(PathBuf);

impl Staging {
    fn new(parent: &Path) -> Result<Staging, StickError> {
        let dir = parent.join(format!(".staging-{}", std::process::id()));
        fs::create_dir(&dir).map_err(|e| StickError::io(&dir, e))?;
        Ok(Staging(dir))
    }
}

/// Clears what an import cut off by a power loss or a kill left behind — safe only because
/// the caller holds the import lock (two imports did clear each other's staging).
fn clear_leftovers(bundles: &Path) -> Result<(), StickError> {
    let entries = fs::read_dir(bundles).map_err(|e| StickError::io(bundles, e))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if [".staging-", ".active-", ".stale-"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            let _ = fs::remove_dir_all(e.path()).or_else(|_| fs::remove_file(e.path()));
        }
    }
    Ok(())
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn sync_dir(dir: &Path) -> Result<(), StickError> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| StickError::io(dir, e))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("symlinks need a Unix system"))
}
