//! Bundles on a USB stick: signing keys, signed archives, and the import that swaps the
//! station's active bundle.

mod import;
pub mod keys;
mod pack;

pub use import::{compare_versions, import, inspect, Imported, Offer, ACTIVE_LINK};
pub use pack::{pack, trusted_comment};

use std::path::Path;

use crate::core::bundle::BundleError;

/// The detached signature of bundle.lock inside an archive.
pub const SIGNATURE_FILE: &str = "bundle.lock.minisig";

#[derive(Debug, thiserror::Error)]
pub enum StickError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("refused archive: {0}")]
    Archive(String),
    #[error("bad signature: {0}")]
    Signature(String),
    #[error("key: {0}")]
    Key(String),
    #[error(transparent)]
    Bundle(BundleError),
    #[error("downgrade from {active} to {offered} needs confirmation (--allow-downgrade)")]
    Downgrade { active: String, offered: String },
}

impl StickError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        StickError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
