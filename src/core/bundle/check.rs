//! The rules a bundle must satisfy before it is locked or loaded, all applied, every problem
//! reported. The bundle's Device OS is chosen here, once, from its system part; each module is
//! checked against the flash map of that version.

use std::path::Path;

use super::assets::{load_asset, BundleAsset};
use super::{read_file, BundleError, BundleManifest, BundleModule, BundleProblem};
use crate::core::module::{Dependency, Module, ModuleForm, ModuleFunction, Platform};
use crate::core::plan::needs::{FormNeed, ASSETS, COMPRESSED};
use crate::core::plan::Route;
use crate::core::target::flash_map::{hex, overlaps, shared_page};
use crate::core::target::{DeviceOs, FlashMap};

/// A dependency the bundle does not carry because the board owns it: NCP firmware lives on
/// the coprocessor (the Tracker's system part needs ncp-firmware#0 ≥ 7, which no bundle
/// holds). The board is checked for it before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceDependency {
    pub needed_by: String,
    pub needs: Dependency,
}

/// Something the board must be for the bundle, that lock cannot see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardRequirement {
    pub file: String,
    pub what: &'static str,
    pub why: String,
}

/// A protected bootloader makes the board a Protected Device: Device OS refuses local
/// updates of what is not protected (ota_flash_hal.cpp:557-571), and the bootloader closes
/// SWD (hw_config.c:114-120 @ v6.2.0). particle-cli writes one only to a protected board.
pub const PROTECTED_DEVICE: &str = "protected-device";
const PROTECTED_MINIMUM: DeviceOs = DeviceOs(6101);

pub(super) struct Checked {
    pub platform: Platform,
    pub device_os: DeviceOs,
    pub flash_map: &'static FlashMap,
    pub modules: Vec<BundleModule>,
    pub final_firmware: Option<BundleModule>,
    pub assets: Vec<BundleAsset>,
    pub device_dependencies: Vec<DeviceDependency>,
    pub requirements: Vec<BoardRequirement>,
}

fn load_module(dir: &Path, file: &str) -> Result<BundleModule, BundleProblem> {
    let unloadable = |reason: String| BundleProblem::Unloadable {
        file: file.to_string(),
        reason,
    };
    let bytes = read_file(&dir.join(file)).map_err(|e| unloadable(e.reason()))?;
    let module = Module::parse(bytes).map_err(|e| unloadable(e.to_string()))?;
    module
        .check_integrity()
        .map_err(|e| unloadable(e.to_string()))?;
    Ok(BundleModule {
        file: file.to_string(),
        module,
    })
}

/// The modules a file holds: its parts when combined, else itself.
fn modules_in(m: &Module) -> Vec<&Module> {
    m.combined_parts()
        .map_or_else(|| vec![m], |parts| parts.iter().collect())
}

/// The bundle's Device OS: its system part's version; without one, the newest system part any
/// module needs (that dependency is then unmet anyway); without either, the oldest map.
pub(super) fn device_os_of<'a>(modules: impl Iterator<Item = &'a Module> + Clone) -> DeviceOs {
    let all = modules.flat_map(modules_in);
    let system = all
        .clone()
        .filter(|m| (m.function(), m.index()) == (ModuleFunction::SystemPart, 1))
        .map(Module::version)
        .max();
    let needed = all
        .flat_map(|m| m.prefix.dependencies.iter())
        .filter(|d| d.function == ModuleFunction::SystemPart)
        .map(|d| d.version)
        .max();
    DeviceOs(system.or(needed).unwrap_or(0))
}

/// Parses every file the manifest names and applies every rule, reporting all problems.
pub(super) fn checked(dir: &Path, manifest: &BundleManifest) -> Result<Checked, BundleError> {
    let mut problems = Vec::new();
    let Some(platform) = Platform::by_name(&manifest.platform) else {
        return Err(BundleError::invalid(
            dir,
            vec![BundleProblem::UnknownPlatform(manifest.platform.clone())],
            None,
        ));
    };
    if !platform.is_nrf52840() {
        problems.push(BundleProblem::NoFlashMap {
            platform: platform.name.into(),
            family: platform.family.name(),
        });
    }
    let mut load = |file: &str| load_module(dir, file).map_err(|p| problems.push(p)).ok();
    let modules: Vec<BundleModule> = manifest.modules.iter().filter_map(|f| load(f)).collect();
    let final_firmware = manifest.final_firmware.as_deref().and_then(load);
    let assets: Vec<BundleAsset> = manifest
        .assets
        .iter()
        .filter_map(|f| load_asset(dir, f).map_err(|p| problems.push(p)).ok())
        .collect();
    let device_os = device_os_of(modules.iter().map(|m| &m.module));
    let flash_map = FlashMap::for_version(device_os);
    let mut rules = Rules {
        platform,
        device_os,
        flash_map,
        problems,
        device_dependencies: Vec::new(),
        requirements: Vec::new(),
    };
    rules.each_module(&modules, final_firmware.as_ref());
    rules.flash_pages(&modules, final_firmware.as_ref());
    rules.user_part_slots(&modules, final_firmware.as_ref());
    rules.assets(&modules, final_firmware.as_ref(), &assets);
    rules.forms_received(&modules, final_firmware.as_ref());
    if !rules.problems.is_empty() {
        let about_flash = rules.problems.iter().any(|p| {
            matches!(
                p,
                BundleProblem::Placement { .. } | BundleProblem::SharedPage { .. }
            )
        });
        let hint = about_flash.then(|| flash_map.describe());
        return Err(BundleError::invalid(dir, rules.problems, hint));
    }
    Ok(Checked {
        platform,
        device_os,
        flash_map,
        modules,
        final_firmware,
        assets,
        device_dependencies: rules.device_dependencies,
        requirements: rules.requirements,
    })
}

struct Rules {
    platform: Platform,
    device_os: DeviceOs,
    flash_map: &'static FlashMap,
    problems: Vec<BundleProblem>,
    device_dependencies: Vec<DeviceDependency>,
    requirements: Vec<BoardRequirement>,
}

impl Rules {
    /// Platform, route, region, dependencies, protection: one module at a time.
    fn each_module(&mut self, modules: &[BundleModule], final_firmware: Option<&BundleModule>) {
        let carried: Vec<&Module> = modules.iter().flat_map(|m| modules_in(&m.module)).collect();
        for m in modules.iter().chain(final_firmware) {
            let file = &m.file;
            if m.module.function() == ModuleFunction::Asset {
                self.problems
                    .push(BundleProblem::AssetInModules(file.clone()));
                continue;
            }
            for part in modules_in(&m.module) {
                if part.platform.id != self.platform.id && part.platform != Platform::ANY {
                    self.problems.push(BundleProblem::WrongPlatform {
                        file: file.clone(),
                        module: part.platform.name.to_string(),
                        bundle: self.platform.name.to_string(),
                    });
                }
                if let Some(reason) = self.flash_map.placement_problem(part) {
                    self.problems.push(BundleProblem::Placement {
                        file: file.clone(),
                        reason,
                    });
                }
                self.dependencies(file, part, &carried);
                if part.is_protected() {
                    self.protected(file);
                }
            }
            if let Err(reason) = Route::check(&m.module, &self.platform) {
                self.problems.push(BundleProblem::NoRoute {
                    file: file.clone(),
                    reason,
                });
            }
        }
        if let Some(f) = final_firmware {
            if f.module.function() != ModuleFunction::UserPart {
                self.problems.push(BundleProblem::FinalNotUserPart {
                    file: f.file.clone(),
                    function: f.module.function(),
                });
            }
        }
        for (i, a) in carried.iter().enumerate() {
            for b in &carried[i + 1..] {
                if (a.function(), a.index()) == (b.function(), b.index()) {
                    let file_of = |x: &Module| file_holding(modules, x);
                    self.problems.push(BundleProblem::Duplicate {
                        function: a.function(),
                        index: a.index(),
                        first: file_of(a),
                        second: file_of(b),
                    });
                }
            }
        }
    }

    fn dependencies(&mut self, file: &str, m: &Module, carried: &[&Module]) {
        for needs in &m.prefix.dependencies {
            let found = carried
                .iter()
                .find(|o| o.function() == needs.function && o.index() == needs.index)
                .map(|o| o.version());
            match found {
                Some(v) if v >= needs.version => {}
                // The coprocessor's firmware is the board's, not the bundle's.
                None if needs.function == ModuleFunction::NcpFirmware => {
                    self.device_dependencies.push(DeviceDependency {
                        needed_by: file.to_string(),
                        needs: *needs,
                    })
                }
                // A file that did not load is the problem said; what needed it follows.
                None if self
                    .problems
                    .iter()
                    .any(|p| matches!(p, BundleProblem::Unloadable { .. })) => {}
                found => self.problems.push(BundleProblem::UnmetDependency {
                    file: file.to_string(),
                    needs: *needs,
                    found,
                }),
            }
        }
    }

    fn protected(&mut self, file: &str) {
        if self.device_os < PROTECTED_MINIMUM {
            self.problems
                .push(BundleProblem::ProtectedNeedsNewerDeviceOs {
                    file: file.to_string(),
                    device_os: self.device_os.to_string(),
                });
        }
        self.requirements.push(BoardRequirement {
            file: file.to_string(),
            what: PROTECTED_DEVICE,
            why: "a protected bootloader is for a board in Device Protection: on an open board it \
                  would close SWD and refuse later local updates of unprotected modules"
                .into(),
        });
    }

    /// Every module, the final firmware too, owns the 4 KiB pages it touches once installed;
    /// no two may share one. Two of one slot are a duplicate (reported apart) or the final
    /// firmware taking its own slot's place.
    fn flash_pages(&mut self, modules: &[BundleModule], final_firmware: Option<&BundleModule>) {
        let owners: Vec<(&str, &Module)> = modules
            .iter()
            .chain(final_firmware)
            .flat_map(|m| {
                modules_in(&m.module)
                    .into_iter()
                    .map(|p| (m.file.as_str(), p))
            })
            .collect();
        for (i, (file_a, a)) in owners.iter().enumerate() {
            for (file_b, b) in &owners[i + 1..] {
                let (Some(ra), Some(rb)) = (a.footprint(), b.footprint()) else {
                    continue;
                };
                if (a.function(), a.index()) == (b.function(), b.index()) {
                    continue;
                }
                if let Some(page) = shared_page(&ra, &rb) {
                    self.problems.push(BundleProblem::SharedPage {
                        first: format!("{file_a} ({} {})", a.slot_label(), hex(&ra)),
                        second: format!("{file_b} ({} {})", b.slot_label(), hex(&rb)),
                        page,
                        overlap: overlaps(&ra, &rb),
                    });
                }
            }
        }
    }

    /// On a map with the compat slot, an application there wins over user-part#2.
    fn user_part_slots(&mut self, modules: &[BundleModule], final_firmware: Option<&BundleModule>) {
        let Some(compat) = self.flash_map.user_part_compat else {
            return;
        };
        let slot = |index: u8| {
            move |m: &&BundleModule| {
                (m.module.function(), m.module.index()) == (ModuleFunction::UserPart, index)
            }
        };
        let old = modules.iter().find(slot(compat.index));
        let new = modules
            .iter()
            .chain(final_firmware)
            .find(slot(self.flash_map.user_part.index));
        if let (Some(old), Some(new)) = (old, new) {
            self.problems.push(BundleProblem::CompatWins {
                compat: old.file.clone(),
                app: new.file.clone(),
            });
        }
    }

    /// Each asset dependency met by an asset of the bundle with the same name and contents;
    /// each asset needed by some module.
    fn assets(
        &mut self,
        modules: &[BundleModule],
        final_firmware: Option<&BundleModule>,
        assets: &[BundleAsset],
    ) {
        let mut used = vec![false; assets.len()];
        for m in modules.iter().chain(final_firmware) {
            for part in modules_in(&m.module) {
                for dep in part.asset_dependencies() {
                    let Some(i) = assets.iter().position(|a| a.name == dep.name) else {
                        self.problems.push(BundleProblem::MissingAsset {
                            file: m.file.clone(),
                            name: dep.name.clone(),
                            hash: hex::encode(&dep.hash),
                        });
                        continue;
                    };
                    used[i] = true;
                    if assets[i].content_sha256.as_slice() != dep.hash.as_slice() {
                        self.problems.push(BundleProblem::AssetMismatch {
                            file: m.file.clone(),
                            name: dep.name.clone(),
                            needs: hex::encode(&dep.hash),
                            asset_file: assets[i].file.clone(),
                            has: hex::encode(assets[i].content_sha256),
                        });
                    }
                }
            }
        }
        for (asset, used) in assets.iter().zip(used) {
            if !used {
                self.problems
                    .push(BundleProblem::UnusedAsset(asset.file.clone()));
            }
        }
        if let Some(first) = assets.first() {
            self.received_by_the_bundle(modules, &first.file, ASSETS);
        }
    }

    /// Compressed and combined modules other than the system part go after it: the bundle's
    /// own system part receives them.
    fn forms_received(&mut self, modules: &[BundleModule], final_firmware: Option<&BundleModule>) {
        for m in modules.iter().chain(final_firmware) {
            let packed = matches!(
                m.module.form(),
                ModuleForm::Compressed | ModuleForm::Combined
            );
            let holds_system = modules_in(&m.module)
                .iter()
                .any(|p| p.function() == ModuleFunction::SystemPart);
            if packed && !holds_system {
                self.received_by_the_bundle(modules, &m.file, COMPRESSED);
            }
        }
    }

    /// A form the bundle's own system part receives (it goes after it) and cannot install
    /// makes a bundle no board can take.
    fn received_by_the_bundle(&mut self, modules: &[BundleModule], file: &str, need: FormNeed) {
        let carries_system = modules
            .iter()
            .flat_map(|m| modules_in(&m.module))
            .any(|p| p.function() == ModuleFunction::SystemPart);
        if carries_system && self.device_os < need.system {
            self.problems.push(BundleProblem::NeedsNewerDeviceOs {
                file: file.into(),
                what: need.what,
                device_os: self.device_os,
                needs: need.system,
            });
        }
    }
}

fn file_holding(modules: &[BundleModule], part: &Module) -> String {
    modules
        .iter()
        .find(|m| modules_in(&m.module).iter().any(|p| std::ptr::eq(*p, part)))
        .map_or_else(|| part.label(), |m| m.file.clone())
}
