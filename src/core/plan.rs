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
use super::module::{ModuleFunction, PREFIX_LEN};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// Firmware-update control requests; Device OS installs it at the next reset.
    Control,
    /// DFU alt 0 at the module's own address.
    Dfu,
}

impl Route {
    pub fn of(function: ModuleFunction) -> Route {
        match function {
            ModuleFunction::Bootloader | ModuleFunction::NcpFirmware => Route::Control,
            _ => Route::Dfu,
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
            route: Route::of(m.module.function()),
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
                            "DFU alt 0 at 0x{:05x} (without its {PREFIX_LEN}-byte prefix)",
                            m.image_address()
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
}
