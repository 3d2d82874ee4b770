//! What to write, how, and in what order: from the locked bundle and what the board reports.
//!
//! A module the board already has (same function, index and version, reported valid) is
//! skipped; a locked bundle is exact, so a newer version on the board is rewritten too. The
//! bootloader (and NCP firmware) go by control request while Device OS runs; the rest in one
//! DFU session. particle-cli's order: a board running firmware gets its control-request
//! modules first, a board already in DFU its DFU modules first.

use serde::Serialize;

use super::bundle::{Bundle, BundleModule};
use super::control::BoardModule;
use super::module::{Module, ModuleForm, ModuleFunction, Platform, MAX_COMBINED_APPLIED};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// Firmware-update control requests; Device OS installs it at the next reset.
    Control,
    /// DFU alt 0 at the module's own address.
    Dfu,
}

impl Route {
    /// How a module reaches the board, by its function and form. DFU writes bytes as they
    /// are, so only a plain module of internal flash goes that way; everything else — the
    /// bootloader, NCP firmware, assets, compressed and combined files — goes by control
    /// request, which Device OS unpacks (ota_flash_hal.cpp:468-676 @ v6.2.0). A module no
    /// route can write is refused at lock (`Route::check`) and never gets here.
    pub fn of(m: &Module) -> Route {
        use ModuleFunction as F;
        match (m.form(), m.function()) {
            (ModuleForm::Plain, F::SystemPart | F::UserPart | F::RadioStack | F::Monolithic) => {
                Route::Dfu
            }
            _ => Route::Control,
        }
    }

    /// The route a module will take on a board of `platform`, or why none can write it,
    /// naming what to use instead.
    pub fn check(m: &Module, platform: &Platform) -> Result<Route, String> {
        use ModuleFunction as F;
        let flags = m.flags();
        if m.form() == ModuleForm::Encrypted {
            return Err(format!(
                "is encrypted (prefix flag 0x08): only rtl872x Device OS decrypts modules \
                 (hal/src/rtl872x/ota_flash_hal.cpp:568); use the unencrypted build for {}",
                platform.name
            ));
        }
        if flags.prefix_extensions() && m.function() != F::Asset {
            return Err(format!(
                "keeps extensions in its prefix (flag 0x10), which only rtl872x Device OS reads \
                 (platform/MCU/rtl872x/src/flash_mal.c:142); a {} module keeps them in its suffix: \
                 use the build for {}",
                platform.family.name(),
                platform.name
            ));
        }
        if let Some(parts) = m.combined_parts() {
            if parts.len() > MAX_COMBINED_APPLIED {
                return Err(format!(
                    "combines {} modules, and Device OS applies only the first {MAX_COMBINED_APPLIED} of \
                     a combined file (MAX_COMBINED_MODULE_COUNT, ota_flash_hal.cpp:578): list its \
                     modules ({}) as separate files",
                    parts.len(),
                    parts.iter().map(Module::label).collect::<Vec<_>>().join(", ")
                ));
            }
            for part in parts {
                Route::check(part, platform).map_err(|e| format!("its {}: {e}", part.label()))?;
            }
            return Ok(Route::Control);
        }
        if flags.compressed() && !matches!(m.function(), F::SystemPart | F::UserPart | F::Asset) {
            return Err(format!(
                "is a compressed {}: Device OS takes compressed modules only for the system part, \
                 user part and assets (ota_flash_hal.cpp:520-526); use the uncompressed file",
                m.function()
            ));
        }
        match m.function() {
            F::NcpFirmware => match platform.quirks.updatable_ncp {
                Some(ncp) if ncp.mcu_target == m.prefix.mcu_target => Ok(Route::Control),
                Some(ncp) => Err(format!(
                    "is NCP firmware for MCU target 0x{:02x}; the {}'s {} is 0x{:02x} \
                     (hal/shared/platform_ncp.h): use the {} NCP firmware",
                    m.prefix.mcu_target, platform.name, ncp.name, ncp.mcu_target, ncp.name
                )),
                None => Err(format!(
                    "is NCP firmware, and Device OS on a {} updates no coprocessor \
                     (ota_flash_hal.cpp:553-556): leave it out",
                    platform.name
                )),
            },
            F::None | F::Resource | F::Settings => Err(format!(
                "is a {} module, which no Device OS route installs",
                m.function()
            )),
            _ => Ok(Route::of(m)),
        }
    }
}

/// What the board looks like right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardView {
    /// In DFU mode: what it holds is unknown, so everything is written.
    Dfu,
    /// Device OS runs and reported its modules.
    Firmware(Vec<BoardModule>),
}

#[derive(Debug, Clone)]
pub struct PlanEntry<'b> {
    pub module: &'b BundleModule,
    pub route: Route,
    /// Why it is skipped, or `None` when it is written.
    pub skip: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FlashPlan<'b> {
    /// In execution order.
    pub entries: Vec<PlanEntry<'b>>,
}

impl<'b> FlashPlan<'b> {
    pub fn build(bundle: &'b Bundle, board: &BoardView) -> FlashPlan<'b> {
        let ordered = dependency_order(&bundle.modules);
        let entry = |m: &'b BundleModule| PlanEntry {
            module: m,
            route: Route::of(&m.module),
            skip: skip_reason(m, board),
        };
        let (control, dfu): (Vec<_>, Vec<_>) = ordered
            .into_iter()
            .map(entry)
            .partition(|e| e.route == Route::Control);
        let entries = match board {
            BoardView::Dfu => dfu.into_iter().chain(control).collect(),
            BoardView::Firmware(_) => control.into_iter().chain(dfu).collect(),
        };
        FlashPlan { entries }
    }

    pub fn to_write(&self, route: Route) -> Vec<&'b BundleModule> {
        self.entries
            .iter()
            .filter(|e| e.route == route && e.skip.is_none())
            .map(|e| e.module)
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(|e| e.skip.is_some())
    }

    /// The route of the first module still to write.
    pub fn next_route(&self) -> Option<Route> {
        self.entries
            .iter()
            .find(|e| e.skip.is_none())
            .map(|e| e.route)
    }

    /// One line per module, for `flash --dry-run` and the log.
    pub fn describe(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| {
                let m = &e.module.module;
                let how = match e.route {
                    Route::Control => "control-request update".to_string(),
                    Route::Dfu if m.prefix.drops_prefix() => {
                        format!(
                            "DFU alt 0 at 0x{:05x} (without its {}-byte prefix)",
                            m.image_address(),
                            m.prefix_size()
                        )
                    }
                    Route::Dfu => format!("DFU alt 0 at 0x{:05x}", m.image_address()),
                };
                match &e.skip {
                    Some(why) => format!("skip   {:<24} {why}", m.label()),
                    None => format!("write  {:<24} {how}, {} bytes", m.label(), m.image().len()),
                }
            })
            .collect()
    }
}

fn skip_reason(m: &BundleModule, board: &BoardView) -> Option<String> {
    let BoardView::Firmware(reported) = board else {
        return None;
    };
    reported
        .iter()
        .find(|r| r.function == m.module.function() && r.index == m.module.index())
        .filter(|r| r.version == m.module.version() && r.valid())
        .map(|_| "board has it (same version, valid)".to_string())
}

/// Device OS layers, lowest first: what a module of each function builds on.
fn layer(f: ModuleFunction) -> u8 {
    match f {
        ModuleFunction::Bootloader => 0,
        ModuleFunction::RadioStack => 1,
        ModuleFunction::SystemPart | ModuleFunction::Monolithic => 2,
        ModuleFunction::NcpFirmware => 3,
        ModuleFunction::UserPart => 4,
        _ => 5,
    }
}

/// Modules ordered so dependencies come first. Device OS modules depend on each other in
/// cycles (system part ↔ radio stack ↔ bootloader), so when no module is free of unmet
/// dependencies the lowest layer goes next.
pub fn dependency_order(modules: &[BundleModule]) -> Vec<&BundleModule> {
    let mut left: Vec<&BundleModule> = modules.iter().collect();
    left.sort_by_key(|m| (layer(m.module.function()), m.module.index()));
    let mut out: Vec<&BundleModule> = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let waits_on_another = |m: &BundleModule, left: &[&BundleModule]| {
            m.module.prefix.dependencies.iter().any(|d| {
                left.iter().any(|o| {
                    !std::ptr::eq(*o, m)
                        && o.module.function() == d.function
                        && o.module.index() == d.index
                })
            })
        };
        let next = left
            .iter()
            .position(|m| !waits_on_another(m, &left))
            .unwrap_or(0);
        out.push(left.remove(next));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn example() -> Bundle {
        Bundle::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/bundles/example-argon"
        )))
        .unwrap()
    }

    fn reported(bundle: &Bundle) -> Vec<BoardModule> {
        bundle
            .modules
            .iter()
            .map(|m| BoardModule {
                function: m.module.function(),
                index: m.module.index(),
                version: m.module.version(),
                size: 0,
                failed: 0,
                store: Default::default(),
                dependencies: Vec::new(),
            })
            .collect()
    }

    fn labels(modules: Vec<&BundleModule>) -> Vec<ModuleFunction> {
        modules.iter().map(|m| m.module.function()).collect()
    }

    #[test]
    fn a_board_in_dfu_gets_dfu_modules_first_then_the_bootloader() {
        let b = example();
        let plan = FlashPlan::build(&b, &BoardView::Dfu);
        let order: Vec<_> = plan
            .entries
            .iter()
            .map(|e| e.module.module.function())
            .collect();
        use ModuleFunction::*;
        assert_eq!(order, vec![RadioStack, SystemPart, UserPart, Bootloader]);
        assert_eq!(plan.next_route(), Some(Route::Dfu));
        assert!(plan.describe()[0].contains("without its 24-byte prefix"));
    }

    #[test]
    fn a_running_board_gets_the_bootloader_first_and_skips_what_it_has() {
        let b = example();
        let mut board = reported(&b);
        board.retain(|m| m.function != ModuleFunction::UserPart);
        board
            .iter_mut()
            .find(|m| m.function == ModuleFunction::Bootloader)
            .unwrap()
            .version = 400;
        let plan = FlashPlan::build(&b, &BoardView::Firmware(board));
        assert_eq!(plan.next_route(), Some(Route::Control));
        assert_eq!(
            labels(plan.to_write(Route::Control)),
            vec![ModuleFunction::Bootloader]
        );
        assert_eq!(
            labels(plan.to_write(Route::Dfu)),
            vec![ModuleFunction::UserPart]
        );
    }

    #[test]
    fn newer_or_invalid_modules_on_the_board_are_rewritten() {
        let b = example();
        let mut board = reported(&b);
        for m in &mut board {
            match m.function {
                ModuleFunction::SystemPart => m.version = 2202,
                ModuleFunction::UserPart => m.failed = 1,
                _ => {}
            }
        }
        let plan = FlashPlan::build(&b, &BoardView::Firmware(board));
        assert_eq!(
            labels(plan.to_write(Route::Dfu)),
            vec![ModuleFunction::SystemPart, ModuleFunction::UserPart]
        );
        assert!(plan.to_write(Route::Control).is_empty());
        let identical = FlashPlan::build(&b, &BoardView::Firmware(reported(&b)));
        assert!(identical.is_empty());
    }

    #[test]
    fn dependency_order_puts_needed_modules_first() {
        let b = example();
        let order = labels(dependency_order(&b.modules));
        use ModuleFunction::*;
        assert_eq!(order, vec![Bootloader, RadioStack, SystemPart, UserPart]);
    }

    /// The guard: DFU writes bytes as they are, so nothing but a plain module of internal
    /// flash may ever take that route, whatever its function.
    #[test]
    fn no_compressed_combined_or_encrypted_module_takes_the_dfu_route() {
        use crate::core::module::reseal;
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/particle-modern"
        );
        let mut seen = 0;
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let Ok(bytes) = std::fs::read(e.path()) else {
                continue;
            };
            let Ok(m) = Module::parse(bytes.clone()) else {
                continue;
            };
            let mut encrypted = bytes;
            if reseal::edit_prefix(&mut encrypted, |p| p[reseal::field::FLAGS] |= 0x08).is_ok() {
                let e = Module::parse(encrypted).unwrap();
                assert_eq!(e.form(), ModuleForm::Encrypted);
                assert_eq!(Route::of(&e), Route::Control);
                assert!(Route::check(&e, &e.platform).is_err());
            }
            if m.form() != ModuleForm::Plain {
                seen += 1;
                assert_eq!(Route::of(&m), Route::Control, "{}", e.path().display());
            }
            if Route::of(&m) == Route::Dfu {
                assert!(m.in_internal_flash() && m.function() != ModuleFunction::Bootloader);
            }
        }
        assert!(
            seen >= 4,
            "compressed, combined and asset fixtures were looked at"
        );
    }
}
