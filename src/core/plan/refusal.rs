//! What the board can take: the Device OS that receives a control-route form, the refusal
//! when it cannot install it (or a system part it could not boot), and the notes a plan's
//! order relies on.

use super::needs::{self, FormNeed, ASSETS, COMPRESSED};
use super::{BoardView, Item, PlanEntry, Refusal, Step};
use crate::core::bundle::Bundle;
use crate::core::module::{ModuleForm, ModuleFunction};
use crate::core::target::DeviceOs;

/// Who receives an entry sent by control request: the Device OS this run installs first (the
/// bundle's), or the one the board runs (unknown in DFU mode).
enum Receiver {
    Bundle(DeviceOs),
    Board(Option<DeviceOs>),
}

/// The Device OS that receives an entry sent by control request: the bundle's when the DFU
/// step writes its system part first, else the board's; unknown for a board in DFU mode.
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
        crate::core::target::FlashMap::for_version(DeviceOs::of_bootloader(v))
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
pub(super) fn notes(bundle: &Bundle, board: &BoardView, entries: &[PlanEntry<'_>]) -> Vec<String> {
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
pub(super) fn refusal(
    bundle: &Bundle,
    board: &BoardView,
    entries: &[PlanEntry<'_>],
) -> Option<Refusal> {
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
