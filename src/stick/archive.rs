//! A bundle archive off the stick, opened in the order that keeps an unsigned one harmless:
//! index it (bounded, no entry data read), read `bundle.lock` and its signature (bounded),
//! check the signature — and only then read the files the signed lock lists, each checked
//! against its pinned SHA-256 as it is read.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::tar_reader::{self, Entry, MAX_INDEX_READ, MAX_TOTAL};
use super::{StickError, SIGNATURE_FILE};
use crate::core::bundle::{self, BundleLock, LOCK_FILE, MANIFEST_FILE};
use crate::core::regular_file::{self, ReadError};

/// A lock lists a few dozen files: 64 KiB is far more than any needs.
const MAX_LOCK_BYTES: u64 = 64 * 1024;
/// A minisign signature with its trusted comment is a few hundred bytes.
const MAX_SIGNATURE_BYTES: u64 = 4 * 1024;
/// No archive of a bundle is larger: the data, and the headers around it.
const MAX_ARCHIVE_BYTES: u64 = MAX_TOTAL + MAX_INDEX_READ + 64 * 1024;

/// What the signature vouches for: the lock, and the name and version it gives.
#[derive(Debug, Clone)]
pub struct Signed {
    pub lock: BundleLock,
    pub lock_bytes: Vec<u8>,
    pub lock_hash: String,
}

pub struct Archive {
    file: File,
    path: PathBuf,
    entries: Vec<Entry>,
}

impl Archive {
    /// Opens and indexes the archive: a regular file (a FIFO on the stick would block, a
    /// device never end), no larger than a bundle can be.
    pub fn open(path: &Path) -> Result<Archive, StickError> {
        let refuse = |why: String| StickError::Archive(format!("{}: {why}", path.display()));
        let (mut file, len) = regular_file::open_regular(path).map_err(|e| match e {
            ReadError::Io(e) => StickError::io(path, e),
            other => refuse(other.to_string()),
        })?;
        if len > MAX_ARCHIVE_BYTES {
            return Err(refuse(format!(
                "{len} bytes is larger than any bundle archive ({MAX_ARCHIVE_BYTES} max)"
            )));
        }
        let entries = tar_reader::index(&mut file, len).map_err(|e| refuse(e.0))?;
        Ok(Archive {
            file,
            path: path.to_path_buf(),
            entries,
        })
    }

    fn refuse(&self, why: String) -> StickError {
        StickError::Archive(format!("{}: {why}", self.path.display()))
    }

    fn entry(&self, name: &str) -> Option<Entry> {
        self.entries.iter().find(|e| e.name == name).cloned()
    }

    /// Names in the archive, in its order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// The bytes of one entry, refusing it unread when it is larger than `max`.
    fn read(&mut self, entry: &Entry, max: u64) -> Result<Vec<u8>, StickError> {
        if entry.size > max {
            return Err(self.refuse(format!(
                "`{}` is {} bytes; at most {max}",
                entry.name, entry.size
            )));
        }
        let mut data = Vec::with_capacity(entry.size as usize);
        self.file
            .seek(SeekFrom::Start(entry.offset))
            .and_then(|_| (&mut self.file).take(entry.size).read_to_end(&mut data))
            .map_err(|e| StickError::io(&self.path, e))?;
        if data.len() as u64 != entry.size {
            return Err(self.refuse(format!("`{}` is cut short", entry.name)));
        }
        Ok(data)
    }

    /// Reads `bundle.lock` and its signature, checks the signature with the station's key and
    /// what the signed lock says (its name and version, held to `bundle lock`'s rules).
    pub fn signed_lock(&mut self, pubkey: &Path) -> Result<Signed, StickError> {
        let pk = super::keys::load_public(pubkey)?;
        let lock_entry = self
            .entry(LOCK_FILE)
            .ok_or_else(|| StickError::Signature("no bundle.lock in the archive".into()))?;
        let sig_entry = self
            .entry(SIGNATURE_FILE)
            .ok_or_else(|| StickError::Signature("no signature in the archive".into()))?;
        let lock_bytes = self.read(&lock_entry, MAX_LOCK_BYTES)?;
        let sig_bytes = self.read(&sig_entry, MAX_SIGNATURE_BYTES)?;
        let sig_text = String::from_utf8(sig_bytes)
            .map_err(|_| StickError::Signature("the signature is not text".into()))?;
        let sig = minisign_verify::Signature::decode(&sig_text)
            .map_err(|e| StickError::Signature(e.to_string()))?;
        pk.verify(&lock_bytes, &sig, false).map_err(|e| {
            StickError::Signature(format!("{e} (wrong key, or the bundle was changed)"))
        })?;
        let lock_hash = bundle::sha256_hex(&lock_bytes);
        let lock: BundleLock = std::str::from_utf8(&lock_bytes)
            .map_err(|e| e.to_string())
            .and_then(|t| toml::from_str(t).map_err(|e| e.to_string()))
            .map_err(|e| self.refuse(format!("{LOCK_FILE}: {e}")))?;
        if lock.lock_format != BundleLock::new_format() {
            return Err(self.refuse(format!(
                "{LOCK_FILE}: lock_format {} is not {}",
                lock.lock_format,
                BundleLock::new_format()
            )));
        }
        // Signed is not the same as sensible: an old signer may have signed any name.
        bundle::check_identity(&lock.name, &lock.version)
            .map_err(|e| self.refuse(format!("the signed {LOCK_FILE}: {e}")))?;
        check_comment(sig.trusted_comment(), &lock, &lock_hash)?;
        Ok(Signed {
            lock,
            lock_bytes,
            lock_hash,
        })
    }

    /// The files the signed lock pins, with their hashes, and the manifest first.
    fn wanted(signed: &Signed) -> Vec<(&str, &str)> {
        let lock = &signed.lock;
        let mut wanted: Vec<(&str, &str)> = vec![(MANIFEST_FILE, &lock.manifest_sha256)];
        wanted.extend(lock.pinned_files());
        wanted
    }

    /// Names in the archive that the signed lock does not list: never unpacked.
    pub fn not_listed(&self, signed: &Signed) -> Vec<String> {
        let wanted = Self::wanted(signed);
        let kept =
            |n: &str| n == LOCK_FILE || n == SIGNATURE_FILE || wanted.iter().any(|w| w.0 == n);
        self.names()
            .filter(|n| !kept(n))
            .map(str::to_string)
            .collect()
    }

    /// Writes into `dir` the manifest and every file the signed lock pins, each checked
    /// against its hash as it is read, then the lock and its signature.
    pub fn unpack_signed(&mut self, signed: &Signed, dir: &Path) -> Result<(), StickError> {
        for (file, sha) in Self::wanted(signed) {
            let entry = self.entry(file).ok_or_else(|| {
                self.refuse(format!("it lacks `{file}`, which the signed lock lists"))
            })?;
            let data = self.read(&entry, bundle::MAX_FILE_BYTES)?;
            if hex::encode(Sha256::digest(&data)) != sha {
                return Err(self.refuse(format!(
                    "{file}: changed since it was locked (SHA-256 differs)"
                )));
            }
            write(&dir.join(file), &data)?;
        }
        write(&dir.join(LOCK_FILE), &signed.lock_bytes)?;
        if let Some(sig) = self.entry(SIGNATURE_FILE) {
            let bytes = self.read(&sig, MAX_SIGNATURE_BYTES)?;
            write(&dir.join(SIGNATURE_FILE), &bytes)?;
        }
        Ok(())
    }
}

/// A file in the staging directory, on disk before the directory is renamed into place (the
/// rename of the whole directory is what makes it appear, so no rename per file).
fn write(path: &Path, data: &[u8]) -> Result<(), StickError> {
    let mut file = File::create(path).map_err(|e| StickError::io(path, e))?;
    file.write_all(data)
        .and_then(|()| file.sync_all())
        .map_err(|e| StickError::io(path, e))
}

/// The trusted comment names the bundle for the OLED before anything is unpacked; it must
/// say what the lock says.
fn check_comment(comment: &str, lock: &BundleLock, lock_hash: &str) -> Result<(), StickError> {
    let field = |key: &str| {
        comment
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
    };
    if !comment.starts_with("flashline-bundle ") {
        return Err(StickError::Signature(format!(
            "not a flashline bundle signature: `{}`",
            tar_reader::shown(comment.as_bytes())
        )));
    }
    let agrees = field("name") == Some(lock.name.as_str())
        && field("version") == Some(lock.version.as_str())
        && field("lock").is_none_or(|h| h == lock_hash);
    if !agrees {
        return Err(StickError::Signature(
            "the signed name, version or lock hash differ from bundle.lock".into(),
        ));
    }
    Ok(())
}
