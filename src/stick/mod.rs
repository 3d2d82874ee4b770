//! Bundles on a USB stick: signing keys, signed archives, and the import that swaps the
//! station's active bundle. An archive is read in the order that keeps an unsigned one
//! harmless: a bounded index (`tar_reader`), the signed lock (`archive`), then only the files
//! that lock lists (`import`).

mod archive;
mod import;
mod import_lock;
pub mod keys;
mod pack;
pub mod tar_reader;

pub use import::{import, inspect, Imported, Offer, ACTIVE_LINK};
pub use pack::{pack, trusted_comment};

use std::path::{Path, PathBuf};

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
    #[error(
        "the active bundle's version cannot be read ({why}); replacing it with {offered} \
         needs confirmation (--allow-downgrade)"
    )]
    ActiveUnknown { offered: String, why: String },
    #[error("{}: does not exist; create it first, or check --into (paths.bundles)", .0.display())]
    NoBundlesDir(PathBuf),
    #[error("another import is running (it holds {}); try again when it is done", .0.display())]
    Busy(PathBuf),
}

impl StickError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        StickError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
