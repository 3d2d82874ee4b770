//! What the board must run for a module form to be installed, as Device OS's source has it —
//! the host's side of facts the simulator holds as its own version tables (a test checks the
//! two agree) — and the checks made on the board before anything is written.

use crate::core::bundle::{Bundle, PROTECTED_DEVICE};
use crate::core::control::{BoardModule, ProtectedState};
use crate::core::module::{Module, ModuleFunction, ModulePrefix};
use crate::core::target::{DeviceOs, FlashMap};

/// What the Device OS that receives a form, and the bootloader that installs it, must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormNeed {
    pub what: &'static str,
    pub system: DeviceOs,
    /// The bootloader that copies it from the module slot at the next boot (0: any).
    pub bootloader: u16,
    pub source: &'static str,
}

/// Compressed and combined files: Device OS knows the flags from 2.0.0-alpha.1 (module
/// version 2000), and the bootloader inflates from the same release (bootloader 1000).
pub const COMPRESSED: FormNeed = FormNeed {
    what: "compressed and combined modules",
    system: DeviceOs(2000),
    bootloader: 1000,
    source: "module_info.h flags from commit 56f6e24f5; HAS_COMPRESSED_OTA, \
             platform/MCU/nRF52840/src/flash_mal.c:40-45 @ v2.0.0-alpha.1",
};

/// Assets: stored from 5.5.0 (HAL_PLATFORM_ASSETS), listed by GET_ASSET_INFO from 5.6.0 —
/// and a station must see them listed to verify them.
pub const ASSETS: FormNeed = FormNeed {
    what: "assets (stored from 5.5.0, listed for verification from 5.6.0)",
    system: DeviceOs(5600),
    bootloader: 0,
    source: "hal_platform_nrf52840_config.h:117 @ v5.5.0; CTRL_REQUEST_GET_ASSET_INFO, \
             system_control.h:64 @ v5.6.0",
};

/// From bootloader 1100 (3.1.0-rc.1) a user part written at the 256 KiB slot erases the compat
/// application's first page (usbd_dfu_mal.cpp:124-132, flash_mal.c:395-402 @ v6.2.0, commit
/// 70edb002f); an older bootloader leaves it, and the compat application keeps winning.
pub const BOOTLOADER_INVALIDATES_COMPAT: u16 = 1100;

/// Device OS before 6.0.0 has no GET_PROTECTED_STATE and no Device Protection.
pub const PROTECTED_STATE_SINCE: DeviceOs = DeviceOs(6000);

/// A module the bundle needs the board to own (its coprocessor's firmware) that it lacks.
pub fn unmet_device_dependencies(bundle: &Bundle, board: &[BoardModule]) -> Vec<String> {
    bundle
        .device_dependencies
        .iter()
        .filter_map(|d| {
            let has = board
                .iter()
                .filter(|m| m.runs() && m.function == d.needs.function && m.index == d.needs.index)
                .map(|m| m.version)
                .max();
            match has {
                Some(v) if v >= d.needs.version => None,
                has => Some(format!(
                    "{} needs {}#{} ≥ {} on the board, which {}",
                    d.needed_by,
                    d.needs.function,
                    d.needs.index,
                    d.needs.version,
                    match has {
                        Some(v) => format!("has v{v}"),
                        None => "has none".into(),
                    }
                )),
            }
        })
        .collect()
}

/// The board requirement a protected bootloader brings, unmet by a board in this state.
pub fn unmet_requirement(bundle: &Bundle, state: ProtectedState) -> Option<String> {
    let r = bundle
        .board_requirements
        .iter()
        .find(|r| r.what == PROTECTED_DEVICE)?;
    (!state.protected && !state.overridden).then(|| {
        format!(
            "{} is a protected bootloader and the board is not a Protected Device: {}",
            r.file, r.why
        )
    })
}

/// The running system part's version in a module list (it answers, so it runs, in safe mode
/// or not).
pub fn running_system(board: &[BoardModule]) -> Option<u16> {
    board
        .iter()
        .find(|m| m.runs() && m.function == ModuleFunction::SystemPart)
        .map(|m| m.version)
}

/// Where a bootloader older than the map's row looks for the system part, when this map puts
/// it elsewhere: the first row's address (0x30000 for the 6.2 map's 0x28000;
/// bootloader/src/nRF52840/dfu_usb.c:10-27 @ v6.2.0 boots 0x28000 then that, older ones only
/// that).
pub fn legacy_system_part_start(map: &FlashMap) -> Option<u32> {
    let first = FlashMap::for_target(map.family, DeviceOs(0))?;
    (first.system_part.start != map.system_part.start).then_some(first.system_part.start)
}

/// Whether a system part linked away from the legacy address carries the entry an older
/// bootloader boots it by there: a module info whose start is that address, after a vector
/// table, with its CRC-32 right after it (linker_system_part1_common.ld `.vectors_legacy`,
/// `.module_info_legacy`, `.module_info_crc_legacy`; module.mk:205-211 @ v6.2.0) — what
/// FLASH_isUserModuleInfoValid and FLASH_VerifyCRC32 check (flash_mal.c:864-885 @ v6.1.1).
pub fn has_legacy_entry(m: &Module, legacy: u32) -> bool {
    let Some(at) = legacy.checked_sub(m.image_address()).map(|o| o as usize) else {
        return false;
    };
    let bytes = m.bytes();
    let Some(p) = bytes
        .get(at + 0x200..)
        .and_then(ModulePrefix::parse)
        .filter(|p| p.start_address == legacy && p.end_address > legacy)
    else {
        return false;
    };
    let len = (p.end_address - legacy) as usize;
    match bytes.get(at..at + len + 4) {
        Some(span) => {
            let stored =
                u32::from_be_bytes([span[len], span[len + 1], span[len + 2], span[len + 3]]);
            crc32fast::hash(&span[..len]) == stored
        }
        None => false,
    }
}
