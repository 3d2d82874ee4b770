//! The bootloader the simulated board holds, by its module version: which flash map it was
//! built with (that of the Device OS release that shipped it, core::target), where it looks
//! for the system firmware, what it does with the UICR's MBR parameter page, and what its
//! module-slot copies can do. Facts that change with the version are table rows keyed by the
//! first bootloader version that has them.

use crate::core::module::{ModulePrefix, PREFIX_LEN};
use crate::core::target::{DeviceOs, FlashMap, FLASH_MAPS};

use super::stand_in::{legacy_system_part_start, starts_with_vector_table, VECTOR_TABLE};
use super::timing::row;
use super::Board;

/// What the bootloader's own configure_uicr does with UICR NRFFW[1] at every start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MbrParams {
    /// Before bootloader 1001 nothing sets it (1.x): the MBR refuses SD_MBR_COMMAND_COPY_BL.
    Untouched,
    /// Sets it to its map's page when unset, then resets (hw_config.c:73-90 @ v2.0.0-rc.1,
    /// from commit eabfbd936 in v2.0.0-alpha.3 = bootloader 1001).
    SetIfUnset,
    /// Also moves it from an older map's page (0x2F000) to its own (0x27000), erasing the
    /// page, then resets (hw_config.c:92-112 @ v6.2.0, commit f27e6281d).
    Move,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootloaderBoot {
    /// Inflates a compressed module it copies from a module slot: HAS_COMPRESSED_OTA
    /// (platform/MCU/nRF52840/src/flash_mal.c:40-45 @ v2.3.0; first in v2.0.0-alpha.1,
    /// bootloader 1000). An older one refuses the slot (verify_module, flash_mal.c:119).
    pub inflates: bool,
    /// Copies a staged bootloader through the MBR (SOFTDEVICE_MBR_UPDATES, flash_mal.c:466-484
    /// @ v6.2.0; bootloader 1001 = BOOTLOADER_MBR_UPDATE_MIN_VERSION).
    pub mbr_updates: bool,
    pub mbr_params: MbrParams,
}

pub const BOOTLOADER_BOOT: &[(u16, BootloaderBoot)] = &[
    (
        0,
        BootloaderBoot {
            inflates: false,
            mbr_updates: false,
            mbr_params: MbrParams::Untouched,
        },
    ),
    (
        1000,
        BootloaderBoot {
            inflates: true,
            mbr_updates: false,
            mbr_params: MbrParams::Untouched,
        },
    ),
    (
        1001,
        BootloaderBoot {
            inflates: true,
            mbr_updates: true,
            mbr_params: MbrParams::SetIfUnset,
        },
    ),
    (
        3100,
        BootloaderBoot {
            inflates: true,
            mbr_updates: true,
            mbr_params: MbrParams::Move,
        },
    ),
];

/// The Device OS release a bootloader version came with (core::target).
pub fn release_of_bootloader(version: u16) -> DeviceOs {
    DeviceOs::of_bootloader(version)
}

/// Where a module's prefix sits in flash at `at`: after the vector table when the first word
/// is a stack pointer, else at `at` (FLASH_ModuleInfo, flash_mal.c:749-765 @ v6.1.1).
pub(crate) fn prefix_at(board: &Board, at: u32) -> Option<(ModulePrefix, u32)> {
    let word = board.internal.read(at as usize, 4)?;
    let word = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
    let offset = if starts_with_vector_table(word) {
        VECTOR_TABLE as u32
    } else {
        0
    };
    let bytes = board.internal.read((at + offset) as usize, PREFIX_LEN)?;
    Some((ModulePrefix::parse(&bytes)?, offset))
}

impl Board {
    pub(crate) fn bootloader_boot(&self) -> BootloaderBoot {
        row(BOOTLOADER_BOOT, self.bootloader_version)
    }

    /// The flash map the running bootloader was built with.
    pub(crate) fn bootloader_map(&self) -> &'static FlashMap {
        FlashMap::for_version(release_of_bootloader(self.bootloader_version))
    }

    /// Where the bootloader looks for the system firmware, in order: its map's system part,
    /// then the legacy address (dfu_usb.c:10-27 @ v6.2.0: CORE_FW_ADDRESS 0x28000, then
    /// SYSTEM_PART_LEGACY_ADDRESS 0x30000; before 6.2 only CORE_FW_ADDRESS = 0x30000).
    pub(crate) fn boot_entries(&self) -> Vec<u32> {
        let map = self.bootloader_map();
        std::iter::once(map.system_part.start)
            .chain(legacy_system_part_start(map))
            .collect()
    }

    /// is_application_valid (dfu_usb.c @ v6.2.0): a module info at `at` whose start is `at`,
    /// ending inside flash, of this platform, and whose CRC-32 over [start, end) matches the
    /// one after it (FLASH_isUserModuleInfoValid, FLASH_VerifyCRC32, flash_mal.c:864-885 @
    /// v6.1.1). The function is not checked. Returns the module's version.
    pub(crate) fn entry_valid(&self, at: u32) -> Option<u16> {
        let (p, _) = prefix_at(self, at)?;
        if p.start_address != at || p.end_address > 0x10_0000 || p.platform_id != self.platform.id {
            return None;
        }
        let len = (p.end_address - at) as usize;
        let body = self.internal.read(at as usize, len + 4)?;
        let stored = u32::from_be_bytes([body[len], body[len + 1], body[len + 2], body[len + 3]]);
        (crc32fast::hash(&body[..len]) == stored).then_some(p.version)
    }

    /// The bootloader's configure_uicr at its start; true when it changed the UICR and reset.
    pub(crate) fn configure_uicr_by_bootloader(&mut self) -> bool {
        let mode = self.bootloader_boot().mbr_params;
        let map = self.bootloader_map();
        self.configure_mbr_params(mode, map)
    }

    /// Points NRFFW[1] at `map`'s MBR parameter page as `mode` allows; true when it changed
    /// (the code then resets the chip: NVIC_SystemReset).
    pub(crate) fn configure_mbr_params(&mut self, mode: MbrParams, map: &FlashMap) -> bool {
        let mine = map.mbr_params.start;
        let older = |page: u32| {
            FLASH_MAPS
                .iter()
                .filter(|m| m.family == map.family && m.mbr_params.start == page)
                .all(|m| m.since < map.since)
        };
        let change = match (mode, self.mbr_params) {
            (MbrParams::Untouched, _) => false,
            (_, None) => true,
            (MbrParams::Move, Some(page)) => page != mine && older(page),
            (MbrParams::SetIfUnset, Some(_)) => false,
        };
        if !change {
            return false;
        }
        log::debug!("sim {}: UICR NRFFW[1] = 0x{mine:05x}", self.port);
        self.mbr_params = Some(mine);
        if mode == MbrParams::Move {
            self.internal.erase_page(mine as usize);
        }
        true
    }

    /// The bootloader erases the compat application's first page when a user part lands at
    /// the 256 KiB slot, by DFU (usbd_dfu_mal.cpp:124-132 @ v6.2.0) or from a module slot
    /// (flash_mal.c:395-402 @ v6.2.0) — both from commit 70edb002f, first in v3.1.0-rc.1
    /// (bootloader 1100), so for a bootloader whose map has the compat slot. Returns (the
    /// 256 KiB slot's address, the compat slot's).
    pub(crate) fn compat_invalidation(&self) -> Option<(u32, u32)> {
        let map = self.bootloader_map();
        map.user_part_compat
            .map(|c| (map.user_part.area.start, c.area.start))
    }

    /// Whether a valid user module info sits at `at` (FLASH_isUserModuleInfoValid).
    pub(crate) fn user_module_info_valid(&self, at: u32) -> bool {
        prefix_at(self, at).is_some_and(|(p, _)| {
            p.start_address == at && p.end_address <= 0x10_0000 && p.platform_id == self.platform.id
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootloaders_come_with_their_release_map() {
        assert_eq!(release_of_bootloader(501), DeviceOs(1404));
        assert_eq!(release_of_bootloader(1100), DeviceOs(3103));
        assert_eq!(release_of_bootloader(3001), DeviceOs(6101));
        assert_eq!(release_of_bootloader(3100), DeviceOs(6200));
        assert_eq!(release_of_bootloader(9999), DeviceOs(6305));
        assert!(BOOTLOADER_BOOT.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(!row(BOOTLOADER_BOOT, 501).inflates && row(BOOTLOADER_BOOT, 1006).mbr_updates);
        assert_eq!(row(BOOTLOADER_BOOT, 3001).mbr_params, MbrParams::SetIfUnset);
        assert_eq!(row(BOOTLOADER_BOOT, 3100).mbr_params, MbrParams::Move);
    }
}
