//! A bundle's assets: the files an application names in its ASSET_DEPENDENCY extensions
//! (Device OS ≥ 5.5). particle-cli's app+assets bundle holds them as raw files under the
//! names the application uses; an asset module (function 9) names itself (NAME extension) and
//! carries its contents' hash (HASH extension), as binary-version-reader's `createAssetModule`
//! makes it. Either is accepted; the dependency's hash is the SHA-256 of the raw contents
//! (binary-version-reader `isAssetValid`).

use std::path::Path;

use sha2::{Digest, Sha256};

use super::{read_file, BundleProblem};
use crate::core::module::{Module, ModuleFunction};

/// One asset of a bundle.
#[derive(Debug, Clone)]
pub struct BundleAsset {
    pub file: String,
    /// The name applications know it by.
    pub name: String,
    /// SHA-256 of its contents: what an asset dependency names.
    pub content_sha256: [u8; 32],
    /// SHA-256 of the file as it is, what the lock pins.
    pub file_sha256: [u8; 32],
    /// The asset module, when the file is one (sent as it is); a raw file is wrapped in one
    /// when it is sent.
    pub module: Option<Module>,
    pub bytes: Vec<u8>,
}

pub(super) fn load_asset(dir: &Path, file: &str) -> Result<BundleAsset, BundleProblem> {
    let unloadable = |reason: String| BundleProblem::Unloadable {
        file: file.to_string(),
        reason,
    };
    let bytes = read_file(&dir.join(file)).map_err(|e| unloadable(e.reason()))?;
    let file_sha256: [u8; 32] = Sha256::digest(&bytes).into();
    let module = Module::parse(bytes.clone())
        .ok()
        .filter(|m| m.function() == ModuleFunction::Asset);
    let (name, content_sha256) = match &module {
        Some(m) => {
            m.check_integrity()
                .map_err(|e| unloadable(format!("asset module: {e}")))?;
            let hash: [u8; 32] =
                m.asset_hash()
                    .and_then(|h| h.try_into().ok())
                    .ok_or_else(|| {
                        unloadable("asset module without a SHA-256 hash extension".into())
                    })?;
            (m.name().unwrap_or(file).to_string(), hash)
        }
        None => (file.to_string(), file_sha256),
    };
    Ok(BundleAsset {
        file: file.to_string(),
        name,
        content_sha256,
        file_sha256,
        module,
        bytes,
    })
}
