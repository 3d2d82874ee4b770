//! `bundle.toml` as the user wrote it: names of files, nothing checked yet.

use serde::Deserialize;
use std::path::Path;

use super::BundleError;

pub const MANIFEST_FILE: &str = "bundle.toml";

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    pub name: String,
    pub version: String,
    pub platform: String,
    pub modules: Vec<String>,
    #[serde(default)]
    pub tests: Option<String>,
    #[serde(default)]
    pub final_firmware: Option<String>,
    /// Nordic's MBR as a raw binary for 0x0, written only over SWD (after an erase-all, a
    /// board has none, and no Particle module carries it).
    #[serde(default)]
    pub mbr: Option<String>,
    /// The assets an application depends on (Device OS ≥ 5.5), as particle-cli's app+assets
    /// bundle holds them: raw files (named as the application names them) or asset modules.
    #[serde(default)]
    pub assets: Vec<String>,
}

impl BundleManifest {
    pub fn read(dir: &Path) -> Result<(BundleManifest, Vec<u8>), BundleError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = super::read_file(&path)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| BundleError::Manifest {
            path: path.clone(),
            reason: "not UTF-8 text".into(),
        })?;
        let manifest: BundleManifest = toml::from_str(text).map_err(|e| BundleError::Manifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        for file in manifest.all_files() {
            if !is_plain_file_name(file) {
                return Err(BundleError::Manifest {
                    path,
                    reason: format!("`{file}` must be a file name inside the bundle directory"),
                });
            }
        }
        if manifest.modules.is_empty() {
            return Err(BundleError::Manifest {
                path,
                reason: "key `modules` lists no module".into(),
            });
        }
        Ok((manifest, bytes))
    }

    /// Every file the manifest names, in the order it names them.
    pub fn all_files(&self) -> impl Iterator<Item = &str> {
        self.modules
            .iter()
            .map(String::as_str)
            .chain(self.tests.as_deref())
            .chain(self.final_firmware.as_deref())
            .chain(self.mbr.as_deref())
            .chain(self.assets.iter().map(String::as_str))
    }
}

/// A bundle only ever reads files beside its manifest: no paths, no `..`.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && Path::new(name).file_name().is_some_and(|n| n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_must_stay_inside_the_bundle() {
        assert!(is_plain_file_name("argon-system-part1@1.5.0.bin"));
        assert!(!is_plain_file_name("../other/x.bin"));
        assert!(!is_plain_file_name("/etc/passwd"));
        assert!(!is_plain_file_name(".."));
        assert!(!is_plain_file_name(""));
    }
}
