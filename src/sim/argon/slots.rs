//! Device OS's flash-module slots in the DCT and what the bootloader does with them at the
//! next boot that is not into DFU (FLASH_UpdateModules, flash_mal.c:675-747; the copy,
//! FLASH_CopyMemory, :356-490 @ v6.2.0): copy each module to where it goes — inflating a
//! compressed one, invalidating the compat application when a 256 KiB one lands, and a
//! bootloader last, through Nordic's MBR, with its own reset.

use std::time::Duration;

use crate::core::module::{Inner, Module, ModuleFunction, PREFIX_LEN};

use super::Board;

/// A copy Device OS left for the bootloader in a DCT module slot (flash_mal.c
/// FLASH_AddToNextAvailableModulesSlot), applied at the next boot that is not into DFU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSlot {
    /// The bytes in external flash: a module file as received, or a backup.
    pub bytes: Vec<u8>,
    pub dest: u32,
    pub function: ModuleFunction,
    /// MODULE_DROP_MODULE_INFO: the 24-byte prefix is not copied (the radio stack).
    pub drop_prefix: bool,
    /// MODULE_COMPRESSED: the bootloader inflates it (ota_flash_hal.cpp:655-657 @ v6.2.0).
    pub compressed: bool,
}

impl ModuleSlot {
    pub fn of(bytes: Vec<u8>, dest: u32, function: ModuleFunction) -> ModuleSlot {
        ModuleSlot {
            bytes,
            dest,
            function,
            drop_prefix: false,
            compressed: false,
        }
    }

    /// What lands in internal flash, or `None` when the bootloader cannot copy it (a
    /// compressed module for a bootloader that does not inflate, or data that does not).
    fn image(&self, inflates: bool) -> Option<Vec<u8>> {
        if self.compressed {
            if !inflates {
                return None;
            }
            return match Module::parse(self.bytes.clone())
                .ok()?
                .compressed()?
                .inner
                .as_ref()
            {
                Ok(Inner::Module(m)) => Some(m.bytes().to_vec()),
                _ => None,
            };
        }
        Some(match self.drop_prefix {
            true => self.bytes.get(PREFIX_LEN..).unwrap_or_default().to_vec(),
            false => self.bytes.clone(),
        })
    }

    /// The bytes written, for the time it takes.
    fn written_len(&self) -> usize {
        Module::parse(self.bytes.clone())
            .ok()
            .and_then(|m| m.compressed().map(|c| c.header.original_size as usize))
            .unwrap_or(self.bytes.len())
    }
}

/// The time the bootloader spends on its slots before it starts the firmware.
pub(super) fn slot_work(board: &Board) -> Duration {
    let t = &board.timing;
    board
        .slots
        .iter()
        .map(|s| match s.function {
            ModuleFunction::Bootloader => {
                let area = s.bytes.len().div_ceil(4096) * 4096;
                // Back the application area up to external flash, put the bootloader there,
                // the MBR copies it over the old one and resets, the new one restores the area.
                t.external_copy(area)
                    + t.internal_copy(s.bytes.len())
                    + t.internal_copy(s.bytes.len())
                    + t.bootloader_restart
                    + t.internal_copy(area)
            }
            _ => t.internal_copy(s.written_len()),
        })
        .sum()
}

/// FLASH_UpdateModules: every slot is copied and cleared, the bootloader last because it
/// resets the chip.
pub(super) fn apply_slots(board: &mut Board) {
    let slots = std::mem::take(&mut board.slots);
    let (bootloaders, others): (Vec<_>, Vec<_>) = slots
        .into_iter()
        .partition(|s| s.function == ModuleFunction::Bootloader);
    for slot in others {
        copy_slot(board, &slot);
    }
    for slot in bootloaders {
        install_staged_bootloader(board, &slot);
    }
}

pub(super) fn copy_slot(board: &mut Board, slot: &ModuleSlot) {
    let Some(image) = slot.image(board.bootloader_boot().inflates) else {
        log::warn!(
            "sim {}: the bootloader (v{}) cannot copy the {} slot (compressed: {})",
            board.port,
            board.bootloader_version,
            slot.function,
            slot.compressed
        );
        return;
    };
    // "Make sure to invalidate the compat application, otherwise we'll keep booting into the
    // compat application as it takes precedence" (flash_mal.c:395-402 @ v6.2.0).
    if slot.function == ModuleFunction::UserPart {
        if let Some((user, compat)) = board.compat_invalidation() {
            if slot.dest == user {
                board.internal.erase_page(compat as usize);
            }
        }
    }
    write(board, slot.dest, &image);
}

fn write(board: &mut Board, dest: u32, image: &[u8]) {
    let at = dest as usize;
    for page in (at..at + image.len()).step_by(4096) {
        board.internal.erase_page(page);
    }
    board.internal.program(at, image);
}

/// The staged path, when the running bootloader is ≥ 1001 (flash_mal.c:376-391, 466-484 @
/// v6.2.0): the old bootloader backs up the application area the new one is copied into
/// and leaves a slot to restore it, SD_MBR_COMMAND_COPY_BL has the MBR copy it over the old
/// bootloader and reset the chip, and the new bootloader restores the area at its first boot.
/// The MBR clears its parameter page (UICR NRFFW[1]) first and keeps the command there
/// across the reset; with no page set it refuses (NRF_ERROR_NO_MEM, Nordic nrf_mbr.h
/// `sd_mbr_command_copy_bl_t`) and the old bootloader stays.
fn install_staged_bootloader(board: &mut Board, slot: &ModuleSlot) {
    let area = slot.bytes.len().div_ceil(4096) * 4096;
    let staged = slot.dest as usize;
    let backup = board
        .internal
        .read(staged, area)
        .unwrap_or_else(|| vec![0xFF; area]);
    write(board, slot.dest, &slot.bytes);
    match board.mbr_params {
        Some(page) => {
            board.internal.erase_page(page as usize);
            // The MBR copies from the staging area, not from the file.
            let staged_image = board
                .internal
                .read(staged, slot.bytes.len())
                .unwrap_or_default();
            write_bootloader(board, &staged_image);
            board.stats.resets += 1;
        }
        None => log::warn!(
            "sim {}: MBR refuses to copy the bootloader: no parameter page in UICR",
            board.port
        ),
    }
    write(board, slot.dest, &backup);
}

/// Erases the bootloader region and writes `image` there; the board then runs it.
pub(super) fn write_bootloader(board: &mut Board, image: &[u8]) {
    let at = board.bootloader_map().bootloader.start;
    write(board, at, image);
    board.install_bootloader_from_flash();
}
