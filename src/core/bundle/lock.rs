//! `bundle.lock`: what `bundle lock` pinned — every file's SHA-256 and what its module is.

use serde::{Deserialize, Serialize};
use std::path::Path;

use super::BundleError;

pub const LOCK_FILE: &str = "bundle.lock";
const LOCK_FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BundleLock {
    pub lock_format: u32,
    pub name: String,
    pub version: String,
    pub platform: String,
    /// SHA-256 of bundle.toml, so an edited manifest invalidates the lock.
    pub manifest_sha256: String,
    #[serde(rename = "module")]
    pub modules: Vec<LockedModule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_firmware: Option<LockedModule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<LockedFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mbr: Option<LockedFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<LockedFile>,
    /// The bundle's Device OS (its system part's module version) and the flash map row its
    /// modules were checked against. Absent in locks written before they were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_os: Option<LockedDeviceOs>,
    #[serde(default, rename = "asset", skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<LockedAsset>,
    /// What the bundle needs the board to have already (NCP firmware on its coprocessor).
    #[serde(
        default,
        rename = "device_dependency",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub device_dependencies: Vec<LockedDependency>,
    /// What the board must be (a protected bootloader needs a Protected Device).
    #[serde(
        default,
        rename = "board_requirement",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub board_requirements: Vec<LockedRequirement>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LockedDeviceOs {
    pub version: String,
    pub module_version: u16,
    pub flash_map: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LockedAsset {
    pub file: String,
    pub sha256: String,
    /// The name and content hash applications know it by.
    pub name: String,
    pub content_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LockedDependency {
    pub needed_by: String,
    pub function: String,
    pub index: u8,
    pub version: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LockedRequirement {
    pub file: String,
    pub what: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LockedModule {
    pub file: String,
    pub sha256: String,
    pub size: u64,
    pub function: String,
    pub index: u8,
    pub version: u16,
    /// Hex, for people reading the lock; the module's own prefix is what flashing uses.
    pub address: String,
    /// How it reaches the board (`dfu`, `control`) and its form, for people reading the lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LockedFile {
    pub file: String,
    pub sha256: String,
}

impl BundleLock {
    pub fn new_format() -> u32 {
        LOCK_FORMAT
    }

    pub fn read(dir: &Path) -> Result<(BundleLock, Vec<u8>), BundleError> {
        let path = dir.join(LOCK_FILE);
        if !path.exists() {
            return Err(BundleError::NotLocked(dir.to_path_buf()));
        }
        let bytes = super::read_file(&path)?;
        let lock: BundleLock = std::str::from_utf8(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|t| toml::from_str(t).map_err(|e| e.to_string()))
            .map_err(|reason| BundleError::Manifest {
                path: path.clone(),
                reason,
            })?;
        if lock.lock_format != LOCK_FORMAT {
            return Err(BundleError::Manifest {
                path,
                reason: format!("lock_format {} is not {LOCK_FORMAT}", lock.lock_format),
            });
        }
        Ok((lock, bytes))
    }

    pub fn to_toml(&self) -> Result<String, String> {
        let body = toml::to_string_pretty(self).map_err(|e| e.to_string())?;
        Ok(format!(
            "# Written by `flashline bundle lock`. Do not edit: re-lock instead.\n{body}"
        ))
    }

    /// Every locked file with its pinned hash.
    pub fn pinned_files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.modules
            .iter()
            .chain(self.final_firmware.as_ref())
            .map(|m| (m.file.as_str(), m.sha256.as_str()))
            .chain(
                self.tests
                    .iter()
                    .chain(self.mbr.as_ref())
                    .chain(self.label.as_ref())
                    .map(|t| (t.file.as_str(), t.sha256.as_str())),
            )
            .chain(
                self.assets
                    .iter()
                    .map(|a| (a.file.as_str(), a.sha256.as_str())),
            )
    }
}
