//! Bundle signing keys in minisign's formats, so `minisign -V` verifies what flashline signs
//! and a key made with `minisign -G` signs what flashline verifies.

use std::path::Path;

use super::StickError;
use crate::core::atomic_file;

pub const SECRET_KEY_FILE: &str = "bundle.key";
pub const PUBLIC_KEY_FILE: &str = "bundle.pub";

/// Writes `bundle.key` and `bundle.pub` into `dir`; refuses to overwrite a key.
pub fn generate(dir: &Path) -> Result<(), StickError> {
    let sk_path = dir.join(SECRET_KEY_FILE);
    if sk_path.exists() {
        return Err(StickError::Key(format!(
            "{}: exists; not overwriting a signing key",
            sk_path.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| StickError::io(dir, e))?;
    let kp = minisign::KeyPair::generate_unencrypted_keypair()
        .map_err(|e| StickError::Key(e.to_string()))?;
    let pk = kp
        .pk
        .to_box()
        .map_err(|e| StickError::Key(e.to_string()))?
        .into_string();
    let sk = kp
        .sk
        .to_box(Some(
            "flashline bundle signing key: keep it off the station",
        ))
        .map_err(|e| StickError::Key(e.to_string()))?
        .into_string();
    atomic_file::write(&sk_path, sk.as_bytes()).map_err(|e| StickError::io(&sk_path, e))?;
    restrict(&sk_path);
    let pk_path = dir.join(PUBLIC_KEY_FILE);
    atomic_file::write(&pk_path, pk.as_bytes()).map_err(|e| StickError::io(&pk_path, e))?;
    Ok(())
}

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict(_: &Path) {}

/// A secret key; an encrypted one (made by `minisign -G`) takes its password from
/// FLASHLINE_KEY_PASSWORD.
pub fn load_secret(path: &Path) -> Result<minisign::SecretKey, StickError> {
    let text = crate::core::regular_file::read_text(path, MAX_KEY_BYTES)
        .map_err(|e| StickError::Key(format!("{}: {e}", path.display())))?;
    let sk_box = minisign::SecretKeyBox::from_string(&text)
        .map_err(|e| StickError::Key(format!("{}: {e}", path.display())))?;
    let password = std::env::var("FLASHLINE_KEY_PASSWORD").ok();
    let sk = match password {
        Some(p) => sk_box.into_secret_key(Some(p)),
        None => sk_box.into_unencrypted_secret_key(),
    };
    sk.map_err(|e| {
        StickError::Key(format!(
            "{}: {e} (encrypted key? set FLASHLINE_KEY_PASSWORD)",
            path.display()
        ))
    })
}

/// Key files are a few lines: anything larger is not one.
const MAX_KEY_BYTES: u64 = 4096;

pub fn load_public(path: &Path) -> Result<minisign_verify::PublicKey, StickError> {
    let bad = |e: &dyn std::fmt::Display| StickError::Key(format!("{}: {e}", path.display()));
    let text = crate::core::regular_file::read_text(path, MAX_KEY_BYTES).map_err(|e| bad(&e))?;
    minisign_verify::PublicKey::decode(&text).map_err(|e| bad(&e))
}
