//! What to write, how, and in what order: from the locked bundle and what the board reports.
//!
//! A module the board already has (same function, index and version, reported valid) is
//! skipped; a locked bundle is exact, so a newer version on the board is rewritten too. Each
//! module takes the route of its function and form (route.rs, docs/module-forms.md). The run
//! goes in steps, as particle-cli's `createFlashSteps` (flash-helper.js): on a board running
//! Device OS, what goes by control request first (bootloader, NCP firmware), then one DFU
//! session, then the modules Device OS must unpack (compressed, combined), then the assets;
//! a board already in DFU mode gets its DFU session first. A user-part#2 application on a map
//! with the compat slot, where the board's bootloader does not invalidate that slot itself,
//! gets the slot erased in the DFU session, as particle-cli's `invalidate-128k-user-part`.

mod compat;
pub mod needs;
mod order;
mod refusal;
mod route;

pub use order::dependency_order;
pub use route::{why, Route};

use serde::Serialize;

use super::bundle::{Bundle, BundleAsset, BundleModule};
use super::control::{AssetInfo, BoardModule};
use super::module::{ModuleForm, ModuleFunction};
use super::target::{Area, DeviceOs};
use compat::compat_entry;
use order::layer;
use refusal::{notes, refusal};

/// What the board looks like right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardView {
    /// In DFU mode: what it holds is unknown, so everything is written.
    Dfu,
    /// Device OS runs and reported its modules (and, when asked, its assets).
    Firmware(FirmwareView),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirmwareView {
    /// The running set (factory and backup copies left out).
    pub modules: Vec<BoardModule>,
    /// The asset store's contents; `None` when not asked or the board cannot say.
    pub assets: Option<AssetInfo>,
}

impl BoardView {
    pub fn firmware(modules: Vec<BoardModule>) -> BoardView {
        BoardView::Firmware(FirmwareView {
            modules,
            assets: None,
        })
    }

    pub fn modules(&self) -> &[BoardModule] {
        match self {
            BoardView::Dfu => &[],
            BoardView::Firmware(f) => &f.modules,
        }
    }

    fn version_of(&self, function: ModuleFunction, index: u8) -> Option<u16> {
        self.modules()
            .iter()
            .find(|m| m.runs() && m.function == function && m.index == index)
            .map(|m| m.version)
    }
}

/// What an entry of the plan puts on the board.
#[derive(Debug, Clone)]
pub enum Item<'b> {
    Module(&'b BundleModule),
    /// The compat slot's first page erased (4096 × 0xFF written), so an old 128 KiB
    /// application there cannot win over the bundle's user-part#2.
    InvalidateCompat(Area),
    Asset(&'b BundleAsset),
}

/// When in the run an entry goes. A board running Device OS takes the steps in this order; a
/// board in DFU mode takes the DFU step first (it cannot answer control requests yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Control requests to the Device OS the board has: bootloader, NCP firmware.
    BeforeDfu,
    Dfu,
    /// Control requests Device OS must unpack: compressed and combined files. On a board
    /// whose system part the DFU step writes, the bundle's Device OS receives them.
    AfterDfu,
    /// Assets, once the bundle's application runs (storing an asset drops those the running
    /// application does not need, asset_manager.cpp:315) and after anything over 592 KiB
    /// (which overwrites the asset store on an Argon or Boron, flash_mal.h:108-118 @ v6.2.0).
    Assets,
}

#[derive(Debug, Clone)]
pub struct PlanEntry<'b> {
    pub item: Item<'b>,
    pub route: Route,
    pub step: Step,
    /// Why it is skipped, or `None` when it is written.
    pub skip: Option<String>,
    /// Why it takes this route.
    pub why: String,
    /// Why it is written, from what the board reports (`board has v1502`); `None` when the
    /// board could not say (DFU mode) or the entry is skipped.
    pub board_has: Option<String>,
}

impl<'b> PlanEntry<'b> {
    pub fn module(&self) -> Option<&'b BundleModule> {
        match self.item {
            Item::Module(m) => Some(m),
            _ => None,
        }
    }

    /// What the entry is, for plans and reports: `system-part#1 v1502`, `compat user-part#1
    /// slot`, `asset cat.txt`.
    pub fn label(&self) -> String {
        match &self.item {
            Item::Module(m) => m.module.label(),
            Item::InvalidateCompat(_) => "compat user-part#1 slot".into(),
            Item::Asset(a) => format!("asset {}", a.name),
        }
    }
}

/// Why the board cannot take what the plan would send it; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub module: String,
    pub needs: String,
    pub board: String,
}

#[derive(Debug, Clone)]
pub struct FlashPlan<'b> {
    /// In execution order.
    pub entries: Vec<PlanEntry<'b>>,
    /// Something the plan would send the board that the receiving Device OS or bootloader
    /// cannot install, known already.
    pub refusal: Option<Refusal>,
    /// What the order relies on, for the reader of a plan.
    pub notes: Vec<String>,
}

impl<'b> FlashPlan<'b> {
    pub fn build(bundle: &'b Bundle, board: &BoardView) -> FlashPlan<'b> {
        Self::build_after(bundle, board, &[])
    }

    /// The plan of a later round: `written` are the entries this run already wrote. One the
    /// running Device OS cannot report (a user-part#2 under a Device OS before 3.1, until the
    /// bundle's system part replaces it) is not written again.
    pub fn build_after(bundle: &'b Bundle, board: &BoardView, written: &[String]) -> FlashPlan<'b> {
        let mut entries: Vec<PlanEntry<'b>> = dependency_order(&bundle.modules)
            .into_iter()
            .map(|m| {
                let route = Route::of(&m.module);
                let (skip, board_has) = match compare(m, board) {
                    Ok(same) => (Some(same), None),
                    Err(differs) => (None, differs),
                };
                PlanEntry {
                    item: Item::Module(m),
                    route,
                    step: step_of(m, route),
                    skip,
                    why: why(&m.module).into(),
                    board_has,
                }
            })
            .collect();
        if let Some(running) = board.version_of(ModuleFunction::SystemPart, 1) {
            let map = super::target::FlashMap::for_version(DeviceOs(running));
            for e in entries.iter_mut().filter(|e| e.skip.is_none()) {
                let hidden = e.module().is_some_and(|m| {
                    m.module.in_internal_flash()
                        && map.area_of(m.module.function(), m.module.index()).is_none()
                });
                if hidden && written.contains(&e.label()) {
                    e.skip = Some(format!(
                        "written; Device OS {} cannot report it until the bundle's runs",
                        DeviceOs(running)
                    ));
                }
            }
        }
        if let Some(e) = compat_entry(bundle, board, &entries) {
            entries.push(e);
        }
        entries.extend(bundle.assets.iter().map(|a| PlanEntry {
            item: Item::Asset(a),
            route: Route::Control,
            step: Step::Assets,
            skip: match board {
                BoardView::Firmware(FirmwareView {
                    assets: Some(info), ..
                }) if info.has(&a.name, &a.content_sha256) => {
                    Some("board has it (same name and contents)".into())
                }
                _ => None,
            },
            why: "Device OS stores it in its asset store, after the application".into(),
            board_has: None,
        }));
        let order = |step: Step| match (board, step) {
            (BoardView::Dfu, Step::Dfu) => 0,
            (BoardView::Dfu, _) => step as u8 + 1,
            (BoardView::Firmware(_), _) => step as u8,
        };
        // Stable: dependency order within a step; the compat slot first in the DFU step.
        entries.sort_by_key(|e| (order(e.step), !matches!(e.item, Item::InvalidateCompat(_))));
        let refusal = refusal(bundle, board, &entries);
        let notes = notes(bundle, board, &entries);
        FlashPlan {
            entries,
            refusal,
            notes,
        }
    }

    /// The modules to write by `route`, in order (what the DFU session takes, for example).
    pub fn to_write(&self, route: Route) -> Vec<&'b BundleModule> {
        self.entries
            .iter()
            .filter(|e| e.route == route && e.skip.is_none())
            .filter_map(PlanEntry::module)
            .collect()
    }

    /// The next step with something to write, and its entries in order.
    pub fn next_batch(&self) -> Option<(Step, Vec<&PlanEntry<'b>>)> {
        let first = self.entries.iter().find(|e| e.skip.is_none())?;
        let batch = self
            .entries
            .iter()
            .filter(|e| e.skip.is_none() && e.step == first.step)
            .collect();
        Some((first.step, batch))
    }

    /// The entries of `step` still to write.
    pub fn to_write_in(&self, step: Step) -> Vec<&PlanEntry<'b>> {
        self.entries
            .iter()
            .filter(|e| e.skip.is_none() && e.step == step)
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

    /// One line per entry, for `flash --dry-run` and the log: what, how, and why.
    pub fn describe(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| {
                let how = match &e.item {
                    Item::Module(m) => how(&m.module, e.route),
                    Item::InvalidateCompat(area) => format!(
                        "DFU alt 0 at 0x{:05x}, 4096 × 0xFF (one page erased)",
                        area.start
                    ),
                    Item::Asset(a) => format!(
                        "control-request update ({}), {} bytes",
                        match a.module {
                            Some(_) => "asset module",
                            None => "wrapped in an asset module",
                        },
                        a.bytes.len()
                    ),
                };
                match &e.skip {
                    Some(why) => format!("skip   {:<24} {why}", e.label()),
                    None => match &e.board_has {
                        Some(has) => {
                            format!("write  {:<24} {how}: {} ({has})", e.label(), e.why)
                        }
                        None => format!("write  {:<24} {how}: {}", e.label(), e.why),
                    },
                }
            })
            .chain(self.refusal.iter().map(|r| {
                format!(
                    "refuse {:<24} {}, and the board has {}",
                    r.module, r.needs, r.board
                )
            }))
            .chain(self.notes.iter().map(|n| format!("note   {n}")))
            .collect()
    }
}

fn how(m: &super::module::Module, route: Route) -> String {
    let n = m.bytes().len();
    match route {
        Route::Control => match m.compressed() {
            Some(c) => format!(
                "control-request update, {n} bytes (inflates to {})",
                c.header.original_size
            ),
            None => format!("control-request update, {n} bytes"),
        },
        Route::Dfu if m.prefix.drops_prefix() => format!(
            "DFU alt 0 at 0x{:05x} (without its {}-byte prefix), {} bytes",
            m.image_address(),
            m.prefix_size(),
            m.image().len()
        ),
        Route::Dfu => format!("DFU alt 0 at 0x{:05x}, {} bytes", m.image_address(), n),
    }
}

fn step_of(m: &BundleModule, route: Route) -> Step {
    match (route, m.module.form()) {
        (Route::Dfu, _) => Step::Dfu,
        (Route::Control, ModuleForm::Compressed | ModuleForm::Combined) => Step::AfterDfu,
        (Route::Control, _) if layer(m.module.function()) <= layer(ModuleFunction::NcpFirmware) => {
            Step::BeforeDfu
        }
        (Route::Control, _) => Step::AfterDfu,
    }
}

/// `Ok(why it is skipped)` when the board runs every part of `m` at its version, valid and
/// (where both sides know it) with its SHA-256; otherwise `Err(what the board has instead)`,
/// `Err(None)` when the board cannot say (DFU mode).
fn compare(m: &BundleModule, board: &BoardView) -> Result<String, Option<String>> {
    let BoardView::Firmware(view) = board else {
        return Err(None);
    };
    let parts = m
        .module
        .combined_parts()
        .map_or_else(|| vec![&m.module], |p| p.iter().collect());
    let mut by_hash = false;
    for part in parts {
        let label = format!("{}#{}", part.function().name(), part.index());
        let Some(r) = view
            .modules
            .iter()
            .find(|r| r.runs() && r.function == part.function() && r.index == part.index())
        else {
            return Err(Some(format!("board has no {label}")));
        };
        if r.version != part.version() {
            return Err(Some(format!("board has {label} v{}", r.version)));
        }
        if !r.valid() {
            return Err(Some(format!("board reports {label} invalid")));
        }
        match (r.hash, installed_hash(part)) {
            (Some(h), Some(want)) if h != want => {
                return Err(Some(format!(
                    "board has another build of v{}: SHA-256 {}…",
                    r.version,
                    hex::encode(&h[..4])
                )))
            }
            (Some(_), Some(_)) => by_hash = true,
            _ => {}
        }
    }
    Ok(match by_hash {
        true => "board has it (same version and SHA-256, valid)".into(),
        false => "board has it (same version, valid)".into(),
    })
}

/// The SHA-256 module info reports for a module once installed: its suffix's, that of the
/// module a compressed one inflates to; `None` for what Device OS does not read from a
/// suffix in internal flash (the radio stack, NCP firmware, assets).
pub fn installed_hash(m: &super::module::Module) -> Option<[u8; 32]> {
    use super::module::Inner;
    if !matches!(
        m.function(),
        ModuleFunction::Bootloader | ModuleFunction::SystemPart | ModuleFunction::UserPart
    ) {
        return None;
    }
    match m.compressed().map(|c| &c.inner) {
        Some(Ok(Inner::Module(inner))) => Some(inner.stored_sha()),
        Some(_) => None,
        None => Some(m.stored_sha()),
    }
}

#[cfg(test)]
mod tests;
