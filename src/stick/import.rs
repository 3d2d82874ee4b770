//! Taking a bundle from a stick: unpack into staging (plain files only, bounded), verify the
//! signature with the station's key, verify every file against the signed lock, then switch
//! the `active` link atomically. Any failure leaves the active bundle exactly as it was.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{StickError, SIGNATURE_FILE};
use crate::core::bundle::{self, Bundle, LOCK_FILE};

const MAX_ENTRIES: usize = 64;
const MAX_TOTAL: u64 = 64 * 1024 * 1024;
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
    },
    AlreadyActive {
        name: String,
        version: String,
    },
}

/// Unpacks and checks the archive's signature: what it offers, for the OLED's question.
pub fn inspect(archive: &Path, pubkey: &Path, work: &Path) -> Result<Offer, StickError> {
    let staging = Staging::new(work)?;
    unpack(archive, &staging.0)?;
    verify_signature(&staging.0, pubkey)
}

pub fn import(
    archive: &Path,
    pubkey: &Path,
    bundles: &Path,
    allow_downgrade: bool,
) -> Result<Imported, StickError> {
    fs::create_dir_all(bundles).map_err(|e| StickError::io(bundles, e))?;
    let staging = Staging::new(bundles)?;
    unpack(archive, &staging.0)?;
    let offer = verify_signature(&staging.0, pubkey)?;
    let new = Bundle::load(&staging.0).map_err(StickError::Bundle)?;
    if (new.name.as_str(), new.version.as_str()) != (offer.name.as_str(), offer.version.as_str()) {
        return Err(StickError::Signature(
            "the signed name/version differ from bundle.toml".into(),
        ));
    }
    let active_path = bundles.join(ACTIVE_LINK);
    if let Ok(active) = Bundle::load(&active_path) {
        if active.lock_hash == new.lock_hash {
            return Ok(Imported::AlreadyActive {
                name: new.name,
                version: new.version,
            });
        }
        if compare_versions(&new.version, &active.version).is_lt() && !allow_downgrade {
            return Err(StickError::Downgrade {
                active: active.version,
                offered: new.version,
            });
        }
    }
    let dir_name = format!("{}-{}-{}", new.name, new.version, &new.lock_hash[..8]);
    let final_dir = bundles.join(&dir_name);
    if !final_dir.exists() {
        sync_dir(&staging.0)?;
        fs::rename(&staging.0, &final_dir).map_err(|e| StickError::io(&final_dir, e))?;
    }
    // The new link is made beside the old one, then renamed over it: `active` is always a
    // complete bundle, the old or the new.
    let tmp_link = bundles.join(format!(".active-{}", std::process::id()));
    let _ = fs::remove_file(&tmp_link);
    symlink(Path::new(&dir_name), &tmp_link).map_err(|e| StickError::io(&tmp_link, e))?;
    fs::rename(&tmp_link, &active_path).map_err(|e| StickError::io(&active_path, e))?;
    sync_dir(bundles)?;
    Ok(Imported::Activated {
        name: new.name,
        version: new.version,
        dir: final_dir,
    })
}

/// A staging directory removed on drop unless it was renamed away.
struct Staging(PathBuf);

impl Staging {
    fn new(parent: &Path) -> Result<Staging, StickError> {
        fs::create_dir_all(parent).map_err(|e| StickError::io(parent, e))?;
        // Leftovers of an import cut off by a power loss: only one import runs at a time.
        for e in fs::read_dir(parent)
            .map_err(|e| StickError::io(parent, e))?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".staging-") || name.starts_with(".active-") {
                let _ = fs::remove_dir_all(e.path()).or_else(|_| fs::remove_file(e.path()));
            }
        }
        let dir = parent.join(format!(".staging-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).map_err(|e| StickError::io(&dir, e))?;
        Ok(Staging(dir))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn unpack(archive: &Path, into: &Path) -> Result<(), StickError> {
    let file = fs::File::open(archive).map_err(|e| StickError::io(archive, e))?;
    let mut tar = tar::Archive::new(file);
    let refuse = |why: String| StickError::Archive(format!("{}: {why}", archive.display()));
    let mut total = 0u64;
    let entries = tar.entries().map_err(|e| refuse(e.to_string()))?;
    for (count, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| refuse(e.to_string()))?;
        if count >= MAX_ENTRIES {
            return Err(refuse(format!("more than {MAX_ENTRIES} entries")));
        }
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8(raw).map_err(|_| refuse("a name that is not UTF-8".into()))?;
        if !plain_name(&name) {
            return Err(refuse(format!(
                "entry `{}` is not a plain file name",
                name.escape_default()
            )));
        }
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(refuse(format!(
                "entry `{name}` is not a regular file (links and devices are refused)"
            )));
        }
        let size = entry.header().size().map_err(|e| refuse(e.to_string()))?;
        total += size;
        if size > bundle::MAX_FILE_BYTES || total > MAX_TOTAL {
            return Err(refuse(format!(
                "entry `{name}` makes the archive too large"
            )));
        }
        let mut data = Vec::with_capacity(size as usize);
        entry
            .by_ref()
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| refuse(e.to_string()))?;
        let path = into.join(&name);
        if path.exists() {
            return Err(refuse(format!("entry `{name}` appears twice")));
        }
        crate::core::atomic_file::write(&path, &data).map_err(|e| StickError::io(&path, e))?;
    }
    Ok(())
}

fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && Path::new(name).file_name().is_some_and(|n| n == name)
}

fn verify_signature(dir: &Path, pubkey: &Path) -> Result<Offer, StickError> {
    let pk = super::keys::load_public(pubkey)?;
    let lock = fs::read(dir.join(LOCK_FILE))
        .map_err(|_| StickError::Signature("no bundle.lock in the archive".into()))?;
    let sig_text = fs::read_to_string(dir.join(SIGNATURE_FILE))
        .map_err(|_| StickError::Signature("no signature in the archive".into()))?;
    let sig = minisign_verify::Signature::decode(&sig_text)
        .map_err(|e| StickError::Signature(e.to_string()))?;
    pk.verify(&lock, &sig, false).map_err(|e| {
        StickError::Signature(format!("{e} (wrong key, or the bundle was changed)"))
    })?;
    let comment = sig.trusted_comment();
    let field = |key: &str| {
        comment
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
    };
    match (field("name"), field("version")) {
        (Some(name), Some(version)) if comment.starts_with("flashline-bundle ") => {
            Ok(Offer { name, version })
        }
        _ => Err(StickError::Signature(format!(
            "not a flashline bundle signature: `{comment}`"
        ))),
    }
}

/// Dotted versions compared number by number (`3.10.0` > `3.9.2`); text parts compare as text.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<(u64, String)> {
        v.split(['.', '-', '+'])
            .map(|p| (p.parse::<u64>().unwrap_or(u64::MAX), p.to_string()))
            .collect()
    };
    parts(a).cmp(&parts(b))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::*;

    #[test]
    fn versions_compare_by_number() {
        assert_eq!(compare_versions("3.10.0", "3.9.2"), Greater);
        assert_eq!(compare_versions("1.0.0", "1.0.0"), Equal);
        assert_eq!(compare_versions("1.0", "1.0.1"), Less);
    }

    #[test]
    fn only_plain_names_unpack() {
        for bad in ["../x", "/etc/passwd", "a/b", ".hidden", "", "a\\b"] {
            assert!(!plain_name(bad), "{bad}");
        }
        assert!(plain_name("argon-system-part1@1.5.0.bin"));
    }
}
