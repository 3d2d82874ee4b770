//! The rules a bundle must satisfy before it is locked or loaded.

use std::fmt;
use std::path::Path;

use super::{read_file, BundleError, BundleManifest, BundleModule};
use crate::core::flash_map;
use crate::core::module::{Dependency, Module, ModuleFunction, Platform};

/// One reason a bundle is refused; `bundle lock` and `bundle verify` list them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleProblem {
    UnknownPlatform(String),
    WrongPlatform {
        file: String,
        module: String,
        bundle: String,
    },
    Duplicate {
        function: ModuleFunction,
        index: u8,
        first: String,
        second: String,
    },
    UnmetDependency {
        file: String,
        needs: Dependency,
        found: Option<u16>,
    },
    Placement {
        file: String,
        reason: String,
    },
    Overlap {
        first: String,
        second: String,
    },
    FinalNotUserPart {
        file: String,
        function: ModuleFunction,
    },
    ManifestChanged,
    Changed(String),
    Missing(String),
    NotInLock(String),
    Unreadable(String, String),
}

impl fmt::Display for BundleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use BundleProblem::*;
        match self {
            UnknownPlatform(p) => write!(
                f,
                "platform `{p}` is unknown (known: {})",
                Platform::names().join(", ")
            ),
            WrongPlatform {
                file,
                module,
                bundle,
            } => {
                write!(
                    f,
                    "{file}: module is for {module}, the bundle is for {bundle}"
                )
            }
            Duplicate {
                function,
                index,
                first,
                second,
            } => {
                write!(f, "{first} and {second} are both {function}#{index}")
            }
            UnmetDependency {
                file,
                needs,
                found: None,
            } => {
                write!(f, "{file} needs {needs}, which the bundle does not contain")
            }
            UnmetDependency {
                file,
                needs,
                found: Some(v),
            } => {
                write!(f, "{file} needs {needs}, the bundle has version {v}")
            }
            Placement { file, reason } => write!(f, "{file}: {reason}"),
            Overlap { first, second } => write!(f, "{first} and {second} overlap in flash"),
            FinalNotUserPart { file, function } => {
                write!(f, "final_firmware {file} is a {function}, not a user-part")
            }
            ManifestChanged => write!(f, "bundle.toml changed since it was locked"),
            Changed(file) => write!(f, "{file}: changed since it was locked (SHA-256 differs)"),
            Missing(file) => write!(f, "{file}: missing"),
            NotInLock(file) => write!(f, "{file}: not in the lock"),
            Unreadable(file, why) => write!(f, "{file}: {why}"),
        }
    }
}

pub(super) struct Checked {
    pub platform: Platform,
    pub modules: Vec<BundleModule>,
    pub final_firmware: Option<BundleModule>,
}

fn load_module(dir: &Path, file: &str) -> Result<BundleModule, BundleError> {
    let path = dir.join(file);
    let bytes = read_file(&path)?;
    let module_err = |source| BundleError::Module {
        path: path.clone(),
        source,
    };
    let module = Module::parse(bytes).map_err(module_err)?;
    module.check_integrity().map_err(module_err)?;
    Ok(BundleModule {
        file: file.to_string(),
        module,
    })
}

/// Parses every module the manifest names and applies every rule, reporting all problems.
pub(super) fn checked(dir: &Path, manifest: &BundleManifest) -> Result<Checked, BundleError> {
    let invalid = |problems| BundleError::Invalid {
        dir: dir.to_path_buf(),
        problems,
    };
    let platform = Platform::by_name(&manifest.platform).ok_or_else(|| {
        invalid(vec![BundleProblem::UnknownPlatform(
            manifest.platform.clone(),
        )])
    })?;
    let modules = manifest
        .modules
        .iter()
        .map(|f| load_module(dir, f))
        .collect::<Result<Vec<_>, _>>()?;
    let final_firmware = manifest
        .final_firmware
        .as_deref()
        .map(|f| load_module(dir, f))
        .transpose()?;

    let mut problems = Vec::new();
    let all = modules.iter().chain(final_firmware.as_ref());
    for m in all.clone() {
        if m.module.platform.id != platform.id {
            problems.push(BundleProblem::WrongPlatform {
                file: m.file.clone(),
                module: m.module.platform.name.to_string(),
                bundle: platform.name.to_string(),
            });
        }
        if let Some(reason) = flash_map::placement_problem(&m.module) {
            problems.push(BundleProblem::Placement {
                file: m.file.clone(),
                reason,
            });
        }
        for needs in &m.module.prefix.dependencies {
            let found = modules
                .iter()
                .find(|o| o.module.function() == needs.function && o.module.index() == needs.index)
                .map(|o| o.module.version());
            if found.is_none_or(|v| v < needs.version) {
                problems.push(BundleProblem::UnmetDependency {
                    file: m.file.clone(),
                    needs: *needs,
                    found,
                });
            }
        }
    }
    for (i, a) in modules.iter().enumerate() {
        for b in &modules[i + 1..] {
            if (a.module.function(), a.module.index()) == (b.module.function(), b.module.index()) {
                problems.push(BundleProblem::Duplicate {
                    function: a.module.function(),
                    index: a.module.index(),
                    first: a.file.clone(),
                    second: b.file.clone(),
                });
            } else if flash_map::modules_overlap(&a.module, &b.module) {
                problems.push(BundleProblem::Overlap {
                    first: a.file.clone(),
                    second: b.file.clone(),
                });
            }
        }
    }
    if let Some(f) = &final_firmware {
        if f.module.function() != ModuleFunction::UserPart {
            problems.push(BundleProblem::FinalNotUserPart {
                file: f.file.clone(),
                function: f.module.function(),
            });
        }
    }
    if problems.is_empty() {
        Ok(Checked {
            platform,
            modules,
            final_firmware,
        })
    } else {
        Err(invalid(problems))
    }
}
