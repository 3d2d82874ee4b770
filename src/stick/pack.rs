//! `bundle pack`: a locked bundle as one tar for a USB stick, with a minisign signature of
//! `bundle.lock`. The lock pins every file (and bundle.toml) by SHA-256, so signing it signs
//! the bundle; the trusted comment names it for the OLED before anything is unpacked.

use std::path::Path;

use super::{StickError, SIGNATURE_FILE};
use crate::core::atomic_file;
use crate::core::bundle::{self, Bundle, LOCK_FILE, MANIFEST_FILE};

pub fn trusted_comment(b: &Bundle) -> String {
    format!(
        "flashline-bundle name={} version={} platform={} lock={}",
        b.name, b.version, b.platform.name, b.lock_hash
    )
}

/// Packs the locked bundle in `dir`, signed with the key at `key`, into `output`.
pub fn pack(dir: &Path, key: &Path, output: &Path) -> Result<Bundle, StickError> {
    let b = Bundle::load(dir).map_err(StickError::Bundle)?;
    let (lock, lock_bytes) = bundle::BundleLock::read(dir).map_err(StickError::Bundle)?;
    let sk = super::keys::load_secret(key)?;
    let signature = minisign::sign(
        None,
        &sk,
        std::io::Cursor::new(&lock_bytes),
        Some(&trusted_comment(&b)),
        None,
    )
    .map_err(|e| StickError::Key(e.to_string()))?
    .into_string();
    let mut files: Vec<String> = vec![MANIFEST_FILE.into(), LOCK_FILE.into()];
    files.extend(lock.pinned_files().map(|(f, _)| f.to_string()));
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| -> Result<(), StickError> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, name, data)
            .map_err(|e| StickError::io(output, e))
    };
    for f in &files {
        let path = dir.join(f);
        let data = bundle::read_file(&path).map_err(StickError::Bundle)?;
        add(f, &data)?;
    }
    add(SIGNATURE_FILE, signature.as_bytes())?;
    let bytes = builder
        .into_inner()
        .map_err(|e| StickError::io(output, e))?;
    atomic_file::write(output, &bytes).map_err(|e| StickError::io(output, e))?;
    Ok(b)
}
