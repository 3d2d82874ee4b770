//! The compat slot (0xD4000) a plan erases where a user-part#2 goes on a board whose
//! bootloader will not invalidate the old 128 KiB application itself.

use super::needs::BOOTLOADER_INVALIDATES_COMPAT;
use super::{BoardView, Item, PlanEntry, Route, Step};
use crate::core::bundle::Bundle;
use crate::core::module::ModuleFunction;

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
pub(super) fn compat_entry<'b>(
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
