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

pub mod needs;
mod order;
mod route;

pub use order::dependency_order;
pub use route::{why, Route};

use serde::Serialize;

use super::bundle::{Bundle, BundleAsset, BundleModule};
use super::control::{AssetInfo, BoardModule};
use super::module::{ModuleForm, ModuleFunction};
use super::target::{Area, DeviceOs};
use needs::{FormNeed, ASSETS, BOOTLOADER_INVALIDATES_COMPAT, COMPRESSED};
use order::layer;

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

/// The bootloader that will be on the board when the DFU step runs: the bundle's when the
/// plan sends it before, else the board's; unknown in DFU mode.
fn bootloader_at_dfu(board: &BoardView, entries: &[PlanEntry<'_>]) -> Option<u16> {
    let sent_before = entries.iter().find(|e| {
        e.skip.is_none()
            && e.step == Step::BeforeDfu
            && e.module()
                .is_some_and(|m| m.module.function() == ModuleFunction::Bootloader)
    });
    match (board, sent_before) {
        (BoardView::Dfu, _) => None,
        (_, Some(e)) => e.module().map(|m| m.module.version()),
        (_, None) => board.version_of(ModuleFunction::Bootloader, 0),
    }
}

/// The compat slot erased in the DFU step when the bundle writes a user part to the map's
/// 256 KiB slot, the board may hold a compat application, and its bootloader will not
/// invalidate that one itself.
fn compat_entry<'b>(
    bundle: &'b Bundle,
    board: &BoardView,
    entries: &[PlanEntry<'b>],
) -> Option<PlanEntry<'b>> {
    let map = bundle.flash_map;
    let compat = map.user_part_compat?;
    let writes_app = entries.iter().any(|e| {
        e.skip.is_none()
            && e.module().is_some_and(|m| {
                (m.module.function(), m.module.index())
                    == (ModuleFunction::UserPart, map.user_part.index)
            })
    });
    if !writes_app {
        return None;
    }
    let bootloader = bootloader_at_dfu(board, entries);
    if bootloader.is_some_and(|v| v >= BOOTLOADER_INVALIDATES_COMPAT) {
        return None;
    }
    let skip = match board {
        BoardView::Firmware(_)
            if board
                .version_of(ModuleFunction::UserPart, compat.index)
                .is_none() =>
        {
            Some("board reports no compat application".to_string())
        }
        _ => None,
    };
    let whose = match bootloader {
        Some(v) => format!("the board's bootloader v{v} does not erase it itself"),
        None => "the board is in DFU mode, its bootloader unknown".into(),
    };
    Some(PlanEntry {
        item: Item::InvalidateCompat(compat.area),
        route: Route::Dfu,
        step: Step::Dfu,
        skip,
        why: format!(
            "a valid 128 KiB application there would run instead of user-part#{}, and {whose} \
             (particle-cli invalidate-128k-user-part)",
            map.user_part.index
        ),
        board_has: None,
    })
}

/// The Device OS that receives an entry sent by control request: the bundle's when the DFU
/// step writes its system part first, else the board's; unknown for a board in DFU mode.
/// Who receives an entry sent by control request: the Device OS this run installs first (the
/// bundle's), or the one the board runs (unknown in DFU mode).
enum Receiver {
    Bundle(DeviceOs),
    Board(Option<DeviceOs>),
}

fn receiver(
    bundle: &Bundle,
    board: &BoardView,
    entries: &[PlanEntry<'_>],
    e: &PlanEntry<'_>,
) -> Receiver {
    let system_by_dfu = entries.iter().any(|o| {
        o.skip.is_none()
            && o.step == Step::Dfu
            && o.module()
                .is_some_and(|m| m.module.function() == ModuleFunction::SystemPart)
    });
    match e.step {
        Step::AfterDfu | Step::Assets if system_by_dfu => Receiver::Bundle(bundle.device_os),
        Step::Assets if bundle.module(ModuleFunction::SystemPart, 1).is_some() => {
            // Everything before the assets put the bundle's system part on the board.
            Receiver::Bundle(bundle.device_os)
        }
        _ => Receiver::Board(
            board
                .version_of(ModuleFunction::SystemPart, 1)
                .map(DeviceOs),
        ),
    }
}

/// A system part the DFU step writes away from the legacy address, without the legacy entry a
/// bootloader older than its map's boots it by, to a board whose bootloader is unknown (DFU
/// mode) or older: the board would stay in DFU mode, unable to take the new bootloader.
fn legacy_refusal(bundle: &Bundle, board: &BoardView, e: &PlanEntry<'_>) -> Option<Refusal> {
    let m = e
        .module()
        .filter(|m| e.step == Step::Dfu && m.module.function() == ModuleFunction::SystemPart)?;
    let legacy = needs::legacy_system_part_start(bundle.flash_map)?;
    if needs::has_legacy_entry(&m.module, legacy) {
        return None;
    }
    let first_row = |v: u16| {
        super::target::FlashMap::for_version(DeviceOs::of_bootloader(v))
            .system_part
            .start
            == bundle.flash_map.system_part.start
    };
    let bootloader = board.version_of(ModuleFunction::Bootloader, 0);
    if bootloader.is_some_and(first_row) {
        return None;
    }
    Some(Refusal {
        module: e.label(),
        needs: format!(
            "a bootloader older than Device OS {}'s looks for the system part at 0x{legacy:05x} \
             only (bootloader/src/nRF52840/dfu_usb.c @ v6.1.1), and this one, at 0x{:05x}, has \
             no legacy entry there",
            bundle.flash_map.since.line_name(),
            m.module.image_address()
        ),
        board: match bootloader {
            Some(v) => format!("bootloader v{v}"),
            None => "a bootloader unknown in DFU mode".into(),
        },
    })
}

/// What a system part away from the legacy address relies on when the DFU step writes it
/// before the board's bootloader is known to be the bundle's.
fn notes(bundle: &Bundle, board: &BoardView, entries: &[PlanEntry<'_>]) -> Vec<String> {
    let Some(legacy) = needs::legacy_system_part_start(bundle.flash_map) else {
        return Vec::new();
    };
    let dfu_first = matches!(board, BoardView::Dfu);
    let writes_system = entries.iter().any(|e| {
        e.skip.is_none()
            && e.step == Step::Dfu
            && e.module()
                .is_some_and(|m| m.module.function() == ModuleFunction::SystemPart)
    });
    let bootloader_first = entries.iter().any(|e| {
        e.skip.is_none()
            && e.step == Step::BeforeDfu
            && e.module()
                .is_some_and(|m| m.module.function() == ModuleFunction::Bootloader)
    });
    let map = bundle.flash_map;
    match (dfu_first, writes_system, bootloader_first) {
        (true, true, _) => vec![format!(
            "the board's bootloader is unknown in DFU mode: one older than Device OS {}'s boots \
             the new system part by its legacy entry at 0x{legacy:05x} (dfu_usb.c @ v6.1.1), \
             which it carries, and that system part moves the MBR parameter page to 0x{:05x} \
             at its first start (hw_config.c:92-112 @ v6.2.0) before the bootloader is sent",
            map.since.line_name(),
            map.mbr_params.start
        )],
        (false, true, true) => vec![format!(
            "the bootloader goes first, from the Device OS the board runs: the new one boots \
             0x{:05x} and moves the MBR parameter page to 0x{:05x} before the system part is \
             written there",
            map.system_part.start, map.mbr_params.start
        )],
        _ => Vec::new(),
    }
}

/// The first entry the receiving Device OS (or the bootloader that applies it) cannot take.
fn refusal(bundle: &Bundle, board: &BoardView, entries: &[PlanEntry<'_>]) -> Option<Refusal> {
    let bootloader = |e: &PlanEntry<'_>| match e.step {
        Step::AfterDfu | Step::Assets => bundle
            .module(ModuleFunction::Bootloader, 0)
            .map(|b| b.module.version())
            .or_else(|| board.version_of(ModuleFunction::Bootloader, 0)),
        _ => board.version_of(ModuleFunction::Bootloader, 0),
    };
    let unbootable = entries
        .iter()
        .filter(|e| e.skip.is_none())
        .find_map(|e| legacy_refusal(bundle, board, e));
    if unbootable.is_some() {
        return unbootable;
    }
    entries.iter().filter(|e| e.skip.is_none()).find_map(|e| {
        let need: FormNeed = match &e.item {
            Item::Asset(_) => ASSETS,
            Item::Module(m)
                if matches!(
                    m.module.form(),
                    ModuleForm::Compressed | ModuleForm::Combined
                ) =>
            {
                COMPRESSED
            }
            _ => return None,
        };
        let (os, whose) = match receiver(bundle, board, entries, e) {
            Receiver::Bundle(v) => (Some(v), " (the bundle's, installed before it)"),
            Receiver::Board(v) => (v, ""),
        };
        let short = os
            .filter(|v| *v < need.system)
            .map(|v| format!("Device OS {v}{whose}"));
        let old_bootloader = bootloader(e)
            .filter(|v| *v < need.bootloader)
            .map(|v| format!("bootloader v{v}"));
        let bootloader_too = match need.bootloader {
            0 => String::new(),
            v => format!(" and bootloader {v}"),
        };
        short.or(old_bootloader).map(|board| Refusal {
            module: e.label(),
            needs: format!(
                "{} need Device OS {}{bootloader_too} or later ({})",
                need.what, need.system, need.source
            ),
            board,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::module::Module;
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
                hash: None,
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
            .map(|e| e.module().unwrap().module.function())
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
        let plan = FlashPlan::build(&b, &BoardView::firmware(board));
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
        let plan = FlashPlan::build(&b, &BoardView::firmware(board));
        assert_eq!(
            labels(plan.to_write(Route::Dfu)),
            vec![ModuleFunction::SystemPart, ModuleFunction::UserPart]
        );
        assert!(plan.to_write(Route::Control).is_empty());
        let identical = FlashPlan::build(&b, &BoardView::firmware(reported(&b)));
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
