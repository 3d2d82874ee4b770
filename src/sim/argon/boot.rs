//! What the board does on reset, by the rules of the bootloader it holds and then of the
//! Device OS that starts: the bootloader configures the UICR, applies the module slots
//! Device OS left in the DCT (slots.rs) unless it stays in DFU, and looks for the system
//! firmware where its flash map says (bootloader.rs); the system part it starts finds the
//! other modules by its own map (scan.rs), which decides whether it runs normally, in safe
//! mode, not at all (DFU mode) — or crashes, when what sits there is not code.

use super::device_os::dialect;
use super::scan::{self, map_of, FoundModule, Store};
use super::slots::apply_slots;
use super::Board;
use crate::core::module::ModuleFunction;

pub(super) use super::slots::slot_work;

/// The radio stack's module version for S140 7.0.1, which every Gen3 Device OS from 1.5.0 to
/// 6.3.4 ships (SOFTDEVICE_DEPENDENCY = 202, system_module_version.mk:45 @ v6.2.0).
pub const S140_7_0_1: u16 = 202;

/// The system firmware the bootloader started: where it found it and its module version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Running {
    pub entry: u32,
    pub version: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootOutcome {
    pub modules: Vec<FoundModule>,
    pub running: Option<Running>,
    /// The bootloader jumped into something that is not code (a compressed image written
    /// raw): a hard fault, a reset, the same again — the board never comes up.
    pub crashed: bool,
}

impl BootOutcome {
    /// The system firmware starts when the bootloader found an intact one.
    pub fn runs_firmware(&self) -> bool {
        self.running.is_some() && !self.crashed
    }

    /// Any module failing its checks puts Device OS in safe mode (breathing magenta).
    pub fn safe_mode(&self) -> bool {
        self.modules
            .iter()
            .any(|m| m.store == Store::Main && !m.valid())
    }

    /// The user part that runs, if the firmware runs it (not in safe mode).
    pub fn running_user_part(&self) -> Option<&FoundModule> {
        if !self.runs_firmware() || self.safe_mode() {
            return None;
        }
        self.modules
            .iter()
            .find(|m| m.function == ModuleFunction::UserPart && m.store == Store::Main)
    }
}

/// The boot after a reset. Resets the chip makes by itself on the way (the UICR changed, the
/// MBR copied a bootloader) are counted; the host sees only the enumeration at the end.
pub(super) fn boot(board: &mut Board, into_dfu: bool) -> BootOutcome {
    if board.configure_uicr_by_bootloader() {
        board.stats.resets += 1;
    }
    let mut running = None;
    if !into_dfu {
        // The bootloader only applies slots on its way to the firmware (main.c:413-424 @
        // v6.2.0).
        apply_slots(board);
        running = board.boot_entries().into_iter().find_map(|entry| {
            board
                .entry_valid(entry)
                .map(|version| Running { entry, version })
        });
    }
    if let Some(r) = running {
        // From 6.2.0 the system part moves the MBR parameter page too (commit 42818a967,
        // hw_config.c:92-112 @ v6.2.0), and resets when it did.
        let map = map_of(board, r.version);
        if dialect(r.version).moves_mbr_params
            && board.configure_mbr_params(super::bootloader::MbrParams::Move, map)
        {
            board.stats.resets += 1;
        }
    }
    let modules = scan::scan_as(board, running.map_or(0, |r| r.version));
    let entry_compressed = running.is_some_and(|r| {
        super::bootloader::prefix_at(board, r.entry).is_some_and(|(p, _)| p.flags().compressed())
    });
    let mut outcome = BootOutcome {
        modules,
        running,
        crashed: entry_compressed,
    };
    if outcome.running_user_part().is_some_and(|m| m.compressed) {
        outcome.crashed = true;
    }
    if outcome.crashed {
        log::warn!(
            "sim {}: the firmware it starts is not code: crash loop",
            board.port
        );
    }
    log::debug!(
        "sim {}: booted {:?} with {:?}",
        board.port,
        outcome.running,
        outcome
            .modules
            .iter()
            .map(|m| (m.function, m.index, m.version, m.valid()))
            .collect::<Vec<_>>()
    );
    outcome
}
