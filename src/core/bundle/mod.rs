//! Locked bundles: `bundle.toml` (what the user wants) + `bundle.lock` (what was pinned)
//! → a checked [`Bundle`]. Past `Bundle::load`, code never re-checks a bundle.

mod assets;
mod check;
mod lock;
mod manifest;
mod mbr;
mod problem;
#[cfg(test)]
mod tests;

pub use assets::BundleAsset;
pub use check::{BoardRequirement, DeviceDependency, PROTECTED_DEVICE};
pub use lock::{
    BundleLock, LockedAsset, LockedDependency, LockedDeviceOs, LockedFile, LockedModule,
    LockedRequirement, LOCK_FILE,
};
pub use manifest::{check_identity, parse_version, BundleManifest, MANIFEST_FILE};
pub use mbr::{mbr_problem, BundleMbr};
pub use problem::BundleProblem;

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

use super::board_test::TestPlan;
use super::label::LabelTemplate;
use super::module::{Module, ModuleError, Platform};
use super::plan::Route;
use super::target::{DeviceOs, FlashMap};

/// Bundle files are small (a full Device OS is < 1 MiB); anything larger is not a module.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}: {reason}")]
    Manifest { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {} is larger than any module ({MAX_FILE_BYTES} max)", size_of(*.size))]
    TooLarge { path: PathBuf, size: Option<u64> },
    #[error("{path}: not a regular file (it is a {kind}); a bundle holds plain files only")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{path}: {source}")]
    Module { path: PathBuf, source: ModuleError },
    #[error("{}: not locked (run `flashline bundle lock {}`)", .0.display(), .0.display())]
    NotLocked(PathBuf),
    #[error("{}: {} problem(s):{}{}", dir.display(), problems.len(), list(problems), hint.as_ref().map(|h| format!("\n  ({h})")).unwrap_or_default())]
    Invalid {
        dir: PathBuf,
        problems: Vec<BundleProblem>,
        /// The flash map the modules were checked against, when that matters.
        hint: Option<String>,
    },
}

impl BundleError {
    /// What is wrong with one file, without its path (the problem list names the file).
    pub fn reason(&self) -> String {
        match self {
            BundleError::Manifest { reason, .. } => reason.clone(),
            BundleError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "no such file in the bundle's directory".into()
            }
            BundleError::Io { source, .. } => source.to_string(),
            BundleError::TooLarge { size, .. } => format!(
                "{} is larger than any module ({MAX_FILE_BYTES} max)",
                size_of(*size)
            ),
            BundleError::NotRegular { kind, .. } => {
                format!("not a regular file (it is a {kind}); a bundle holds plain files only")
            }
            BundleError::Module { source, .. } => source.to_string(),
            other => other.to_string(),
        }
    }

    fn invalid(dir: &Path, problems: Vec<BundleProblem>, hint: Option<String>) -> BundleError {
        BundleError::Invalid {
            dir: dir.to_path_buf(),
            problems,
            hint,
        }
    }
}

fn size_of(size: Option<u64>) -> String {
    size.map_or("it".into(), |s| format!("{s} bytes"))
}

fn list(problems: &[BundleProblem]) -> String {
    problems.iter().map(|p| format!("\n  - {p}")).collect()
}

/// The bundle's peripheral tests, checked.
#[derive(Debug, Clone)]
pub struct BundleTests {
    pub file: String,
    pub plan: TestPlan,
}

fn load_label(dir: &Path, file: &str) -> Result<LabelTemplate, BundleError> {
    let path = dir.join(file);
    let bad = |reason: String| BundleError::Manifest {
        path: path.clone(),
        reason,
    };
    let text = String::from_utf8(read_file(&path)?).map_err(|_| bad("not UTF-8 text".into()))?;
    LabelTemplate::parse(&text, &format!("bundle {file}")).map_err(bad)
}

fn load_tests(dir: &Path, file: &str) -> Result<BundleTests, BundleError> {
    let path = dir.join(file);
    let bad = |reason: String| BundleError::Manifest {
        path: path.clone(),
        reason,
    };
    let text = String::from_utf8(read_file(&path)?).map_err(|_| bad("not UTF-8 text".into()))?;
    let plan = TestPlan::parse(&text).map_err(bad)?;
    Ok(BundleTests {
        file: file.to_string(),
        plan,
    })
}

/// A module of a bundle: its file name and its parsed, integrity-checked contents.
#[derive(Debug, Clone)]
pub struct BundleModule {
    pub file: String,
    pub module: Module,
}

/// A locked bundle whose files all match their lock.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    pub name: String,
    pub version: String,
    pub platform: Platform,
    /// The Device OS its system part is, chosen once at load: what every later step
    /// (routes, the simulated board, the plan) takes as given.
    pub device_os: DeviceOs,
    /// The flash map of that Device OS, which every module was checked against.
    pub flash_map: &'static FlashMap,
    pub modules: Vec<BundleModule>,
    pub final_firmware: Option<BundleModule>,
    pub tests: Option<BundleTests>,
    /// Nordic's MBR, if the bundle carries it (written over SWD only).
    pub mbr: Option<BundleMbr>,
    /// The assets its applications need, sent by control request after DFU.
    pub assets: Vec<BundleAsset>,
    /// What the board must already hold (NCP firmware), checked before anything is written.
    pub device_dependencies: Vec<DeviceDependency>,
    /// What the board must be (a Protected Device for a protected bootloader).
    pub board_requirements: Vec<BoardRequirement>,
    /// The bundle's label template, checked.
    pub label_template: Option<LabelTemplate>,
    /// SHA-256 of bundle.lock: names exactly this bundle in records.
    pub lock_hash: String,
}

impl Bundle {
    /// The bundle a board should hold after a two-stage run: the test firmware's user part
    /// replaced by the final firmware; `None` for a one-stage bundle.
    pub fn final_stage(&self) -> Option<Bundle> {
        let fin = self.final_firmware.clone()?;
        let mut b = self.clone();
        let (function, index) = (fin.module.function(), fin.module.index());
        b.modules
            .retain(|m| (m.module.function(), m.module.index()) != (function, index));
        b.modules.push(fin);
        b.final_firmware = None;
        b.tests = None;
        Some(b)
    }

    /// Loads a locked bundle, refusing it when any file differs from its lock.
    pub fn load(dir: &Path) -> Result<Bundle, BundleError> {
        if !dir.is_dir() {
            return Err(BundleError::Manifest {
                path: dir.to_path_buf(),
                reason: "no bundle here".into(),
            });
        }
        let (lock, lock_bytes) = BundleLock::read(dir)?;
        let problems = verify(dir)?;
        if !problems.is_empty() {
            return Err(BundleError::invalid(dir, problems, None));
        }
        let (manifest, _) = BundleManifest::read(dir)?;
        let checked = check::checked(dir, &manifest)?;
        let tests = manifest
            .tests
            .as_deref()
            .map(|f| load_tests(dir, f))
            .transpose()?;
        let mbr = manifest
            .mbr
            .as_deref()
            .map(|f| mbr::load_mbr(dir, f))
            .transpose()?;
        let label_template = manifest
            .label
            .as_deref()
            .map(|f| load_label(dir, f))
            .transpose()?;
        Ok(Bundle {
            label_template,
            dir: dir.to_path_buf(),
            name: lock.name,
            version: lock.version,
            platform: checked.platform,
            device_os: checked.device_os,
            flash_map: checked.flash_map,
            modules: checked.modules,
            final_firmware: checked.final_firmware,
            tests,
            mbr,
            assets: checked.assets,
            device_dependencies: checked.device_dependencies,
            board_requirements: checked.requirements,
            lock_hash: sha256_hex(&lock_bytes),
        })
    }

    pub fn device_os(&self) -> DeviceOs {
        self.device_os
    }

    pub fn flash_map(&self) -> &'static FlashMap {
        self.flash_map
    }

    /// The user part the station tests with: the bundle's own, in whichever slot its Device
    /// OS puts it (user-part#2 from 3.1; a simulated board treats whatever application it
    /// gets as the test firmware).
    pub fn test_firmware(&self) -> Option<&Module> {
        self.modules
            .iter()
            .find(|m| m.module.function() == super::module::ModuleFunction::UserPart)
            .map(|m| &m.module)
    }

    /// The parsed modules, e.g. to preload a simulated board with them.
    pub fn parsed_modules(&self) -> Vec<Module> {
        self.modules.iter().map(|m| m.module.clone()).collect()
    }

    pub fn module(
        &self,
        function: super::module::ModuleFunction,
        index: u8,
    ) -> Option<&BundleModule> {
        self.modules
            .iter()
            .find(|m| m.module.function() == function && m.module.index() == index)
    }
}

/// Checks the bundle and writes `bundle.lock` atomically. Refuses (writing nothing), listing
/// every problem, when a module is damaged, for another platform, has no route to a board,
/// duplicates a function/index, needs what the bundle lacks, lies outside its function's
/// region on the flash map of the bundle's Device OS, or shares a flash page with another.
pub fn lock(dir: &Path) -> Result<BundleLock, BundleError> {
    let (manifest, manifest_bytes) = BundleManifest::read(dir)?;
    // Every problem is listed at once: the modules', tests.toml's and the MBR's together.
    let (checked, mut problems, hint) = match check::checked(dir, &manifest) {
        Ok(c) => (Some(c), Vec::new(), None),
        Err(BundleError::Invalid { problems, hint, .. }) => (None, problems, hint),
        Err(e) => return Err(e),
    };
    let mut unloadable = |file: &str, e: BundleError| {
        problems.push(BundleProblem::Unloadable {
            file: file.into(),
            reason: e.reason(),
        });
    };
    let locked = |m: &BundleModule| LockedModule {
        file: m.file.clone(),
        sha256: hex::encode(m.module.file_sha256),
        size: m.module.bytes().len() as u64,
        function: m.module.function().to_string(),
        index: m.module.index(),
        version: m.module.version(),
        address: format!("0x{:05x}", m.module.image_address()),
        route: Some(route_name(Route::of(&m.module)).into()),
        form: Some(form_name(&m.module)),
    };
    // A file checked by `load` (it must load now, not on the line) and pinned by its hash.
    let mut pinned = |file: &Option<String>, load: &dyn Fn(&str) -> Result<(), BundleError>| {
        let file = file.as_deref()?;
        match load(file).and_then(|()| read_file(&dir.join(file))) {
            Ok(bytes) => Some(LockedFile {
                file: file.into(),
                sha256: sha256_hex(&bytes),
            }),
            Err(e) => {
                unloadable(file, e);
                None
            }
        }
    };
    let tests = pinned(&manifest.tests, &|f| load_tests(dir, f).map(drop));
    // A template a printer would not take.
    let label = pinned(&manifest.label, &|f| load_label(dir, f).map(drop));
    // A file that is not an MBR is refused now, not on the line.
    let mbr = match manifest.mbr.as_deref().map(|f| (f, mbr::load_mbr(dir, f))) {
        Some((_, Ok(m))) => Some(LockedFile {
            sha256: sha256_hex(&m.bytes),
            file: m.file,
        }),
        Some((file, Err(e))) => {
            unloadable(file, e);
            None
        }
        None => None,
    };
    let checked = match checked {
        Some(c) if problems.is_empty() => c,
        _ => return Err(BundleError::invalid(dir, problems, hint)),
    };
    let lock = BundleLock {
        lock_format: BundleLock::new_format(),
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        platform: checked.platform.name.to_string(),
        manifest_sha256: sha256_hex(&manifest_bytes),
        modules: checked.modules.iter().map(locked).collect(),
        final_firmware: checked.final_firmware.as_ref().map(locked),
        tests,
        mbr,
        device_os: Some(LockedDeviceOs {
            version: checked.device_os.to_string(),
            module_version: checked.device_os.module_version(),
            flash_map: checked.flash_map.name(),
        }),
        assets: checked
            .assets
            .iter()
            .map(|a| LockedAsset {
                file: a.file.clone(),
                sha256: hex::encode(a.file_sha256),
                name: a.name.clone(),
                content_sha256: hex::encode(a.content_sha256),
            })
            .collect(),
        device_dependencies: checked
            .device_dependencies
            .iter()
            .map(|d| LockedDependency {
                needed_by: d.needed_by.clone(),
                function: d.needs.function.to_string(),
                index: d.needs.index,
                version: d.needs.version,
            })
            .collect(),
        board_requirements: checked
            .requirements
            .iter()
            .map(|r| LockedRequirement {
                file: r.file.clone(),
                what: r.what.into(),
                why: r.why.clone(),
            })
            .collect(),
        label,
    };
    let text = lock.to_toml().map_err(|reason| BundleError::Manifest {
        path: dir.join(LOCK_FILE),
        reason,
    })?;
    crate::core::atomic_file::write(&dir.join(LOCK_FILE), text.as_bytes()).map_err(|source| {
        BundleError::Io {
            path: dir.join(LOCK_FILE),
            source,
        }
    })?;
    Ok(lock)
}

fn route_name(r: Route) -> &'static str {
    match r {
        Route::Dfu => "dfu",
        Route::Control => "control",
    }
}

/// "plain", "compressed", "combined (2 modules)": a module's form in words.
pub fn form_name(m: &Module) -> String {
    let form = serde_json::to_value(m.form())
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    match m.combined_parts() {
        Some(parts) => format!("{form} ({} modules)", parts.len()),
        None => form,
    }
}

/// Every way the bundle directory differs from its lock; empty when it matches.
pub fn verify(dir: &Path) -> Result<Vec<BundleProblem>, BundleError> {
    let (lock, _) = BundleLock::read(dir)?;
    let mut problems = Vec::new();
    match BundleManifest::read(dir) {
        Ok((manifest, bytes)) => {
            if sha256_hex(&bytes) != lock.manifest_sha256 {
                problems.push(BundleProblem::ManifestChanged);
            }
            let pinned: Vec<&str> = lock.pinned_files().map(|(f, _)| f).collect();
            for file in manifest.all_files() {
                if !pinned.contains(&file) {
                    problems.push(BundleProblem::NotInLock(file.to_string()));
                }
            }
        }
        Err(e) => problems.push(BundleProblem::Unreadable(
            MANIFEST_FILE.into(),
            e.to_string(),
        )),
    }
    for (file, sha) in lock.pinned_files() {
        let path = dir.join(file);
        if !path.exists() {
            problems.push(BundleProblem::Missing(file.to_string()));
            continue;
        }
        match read_file(&path) {
            Ok(bytes) if sha256_hex(&bytes) == sha => {}
            Ok(_) => problems.push(BundleProblem::Changed(file.to_string())),
            Err(e) => problems.push(BundleProblem::Unreadable(file.to_string(), e.to_string())),
        }
    }
    // A module file dropped into the directory but never locked would otherwise go unnoticed.
    let pinned: Vec<&str> = lock.pinned_files().map(|(f, _)| f).collect();
    let entries = std::fs::read_dir(dir).map_err(|source| BundleError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut strays: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| {
            name.to_ascii_lowercase().ends_with(".bin") && !pinned.contains(&name.as_str())
        })
        .collect();
    strays.sort();
    problems.extend(strays.into_iter().map(BundleProblem::NotInLock));
    problems.dedup();
    Ok(problems)
}

/// Reads a bundle file: a regular file (not a device, FIFO or directory, also behind a
/// symlink) of at most [`MAX_FILE_BYTES`], counted as it is read, not taken from its length.
pub fn read_file(path: &Path) -> Result<Vec<u8>, BundleError> {
    use crate::core::regular_file::{read_regular, ReadError};
    read_regular(path, MAX_FILE_BYTES).map_err(|e| match e {
        ReadError::Io(source) => BundleError::Io {
            path: path.to_path_buf(),
            source,
        },
        ReadError::TooLarge { size, .. } => BundleError::TooLarge {
            path: path.to_path_buf(),
            size,
        },
        ReadError::NotRegular(kind) => BundleError::NotRegular {
            path: path.to_path_buf(),
            kind,
        },
    })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
