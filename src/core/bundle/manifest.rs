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
    /// A ZPL label template for passed units (`core::label`); station.toml's wins.
    #[serde(default)]
    pub label: Option<String>,
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
        check_identity(&manifest.name, &manifest.version)
            .map_err(|reason| BundleError::Manifest { path, reason })?;
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
            .chain(self.label.as_deref())
    }
}

/// A bundle's name and version name its directory on the station (`NAME-VERSION-HASH`) and
/// decide what is a downgrade, so `bundle lock` and a stick import both hold them to this:
/// the name one safe path component, the version a semantic version (semver.org), both short
/// enough for a file name and the OLED.
pub fn check_identity(name: &str, version: &str) -> Result<(), String> {
    const MAX_NAME: usize = 64;
    let name_ok = (1..=MAX_NAME).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with(['.', '-']);
    if !name_ok {
        return Err(format!(
            "key `name`: `{}` must be 1-{MAX_NAME} letters, digits, `-`, `_` or `.`, not \
             starting with `.` or `-` (it names the bundle's directory)",
            shown(name)
        ));
    }
    parse_version(version).map(|_| ())
}

/// A bundle version as a semantic version, compared by its rules (`1.0.0-rc1` < `1.0.0`).
pub fn parse_version(version: &str) -> Result<semver::Version, String> {
    const MAX_VERSION: usize = 64;
    if version.len() > MAX_VERSION {
        return Err(format!(
            "key `version`: {} characters; at most {MAX_VERSION}",
            version.len()
        ));
    }
    semver::Version::parse(version).map_err(|e| {
        format!(
            "key `version`: `{}` is not a semantic version like 3.2.1 or 3.2.1-rc.1 ({e})",
            shown(version)
        )
    })
}

/// Input quoted in an error: escaped and cut short, so an error never repeats a huge value.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(40).collect();
    let more = if cut.len() < text.len() { "…" } else { "" };
    format!("{}{more}", cut.escape_default())
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

    #[test]
    fn names_are_one_path_component_and_versions_semantic() {
        for bad in [
            "",
            "../../escape/EVIL",
            "a/b",
            "..",
            ".hidden",
            "-x",
            "a b",
            &"n".repeat(65),
        ] {
            assert!(
                check_identity(bad, "1.0.0")
                    .unwrap_err()
                    .contains("key `name`"),
                "{bad}"
            );
        }
        for bad in ["dev", "1", "1.0", "01.0.0", &"1".repeat(100_000)] {
            let e = check_identity("ok", bad).unwrap_err();
            assert!(e.contains("key `version`") && e.len() < 200, "{e}");
        }
        for good in ["1.0.0", "3.2.1-rc.1", "1.0.0+build.5", "10.20.30"] {
            check_identity("wheelchair-ctl", good).unwrap();
        }
    }

    #[test]
    fn pre_releases_are_below_their_release() {
        let v = |s| parse_version(s).unwrap();
        assert!(v("1.0.0-rc1") < v("1.0.0"));
        assert!(v("1.0.0-alpha") < v("1.0.0-alpha.1"));
        assert!(v("1.0.0-rc.2") < v("1.0.0-rc.10"));
        assert!(v("3.10.0") > v("3.9.2"));
        assert_eq!(
            v("1.0.0+a").cmp_precedence(&v("1.0.0+b")),
            std::cmp::Ordering::Equal
        );
    }
}
