//! What a DFU write does to the board's flash, as the bootloader's InternalFlashMal has it
//! (bootloader/src/nRF52840/usbd_dfu_mal.cpp @ v6.2.0): programmed as NOR flash, the compat
//! application invalidated by a user part at the 256 KiB slot, a Protected Device's refusal,
//! and the `corrupt` fault's flipped bit.

use std::time::Duration;

use crate::core::dfu::DfuStatusCode;
use crate::core::module::PREFIX_LEN;
use crate::sim::fault::Fault;

use super::dfu_device::{Outcome, DCT_LEN, FSTORAGE_START, TRANSFER_SIZE};
use super::{Board, EXTERNAL_FLASH_BASE, EXTERNAL_FLASH_SIZE, INTERNAL_FLASH_SIZE};

/// Data written before the `unplug` fault pulls the cable: inside the first module.
const UNPLUG_DEFAULT_AFTER: u64 = 64 * 1024;

impl Board {
    /// A data block at `pointer + (block − 2) × 4096` (usbd_dfu.cpp:533-554): programmed as
    /// NOR flash (no erase), any failure errUNKNOWN.
    pub(super) fn write_block(&mut self, block: u16, data: &[u8]) -> (Outcome, Duration) {
        let failed = (Outcome::Failed(DfuStatusCode::ErrUnknown), Duration::ZERO);
        let address = u64::from(self.dfu.pointer) + u64::from(block - 2) * u64::from(TRANSFER_SIZE);
        let range = address..address + data.len() as u64;
        let hits = |f: &Fault| match f {
            Fault::WriteError(None) => true,
            Fault::WriteError(Some(a)) => range.contains(&u64::from(*a)),
            _ => false,
        };
        if self.take_fault(hits).is_some() {
            return failed;
        }
        // Counted over the board's life in the fixture, across DFU sessions, so a fault can
        // land in a later stage (a two-stage bundle's final firmware).
        let before = self.stats.bytes_written;
        let after = before + data.len() as u64;
        let unplug_at = |f: &Fault| match f {
            Fault::Unplug => Some(UNPLUG_DEFAULT_AFTER),
            Fault::UnplugAfter(n) => Some(*n),
            _ => None,
        };
        let crossing =
            |f: &Fault| unplug_at(f).is_some_and(|n| before < n.max(1) && after >= n.max(1));
        if self.faults.iter().any(crossing) {
            self.take_fault(|f| unplug_at(f).is_some_and(|n| before < n.max(1)));
            self.unplug();
            return failed;
        }
        let at = address as usize;
        let end = at + data.len();
        if self.dfu.alt == 0 && self.protected {
            if let Some(refused) = self.protected_write(address as u32, data) {
                return refused;
            }
        }
        let (ok, cost) = match self.dfu.alt {
            // InternalFlashMal::write: 0..=1 MiB, then nrf_fstorage (not below 0x1000).
            0 if at >= FSTORAGE_START && end <= INTERNAL_FLASH_SIZE => (
                self.internal.program(at, data),
                self.timing.internal_write(data.len()),
            ),
            0 => (false, Duration::ZERO),
            1 if end <= DCT_LEN => (
                self.dct.overwrite(at, data),
                self.timing.external_write(data.len()),
            ),
            1 => (false, Duration::ZERO),
            _ => match at.checked_sub(EXTERNAL_FLASH_BASE as usize) {
                Some(off) if off + data.len() <= EXTERNAL_FLASH_SIZE => (
                    self.external.program(off, data),
                    self.timing.external_write(data.len()),
                ),
                _ => (false, Duration::ZERO),
            },
        };
        if !ok {
            return failed;
        }
        self.stats.bytes_written += data.len() as u64;
        if self.dfu.alt == 0 {
            self.invalidate_compat_after_write(address as u32, data.len());
        }
        // A flipped bit in code the board CRC-checks at boot: the system part. Not the radio
        // stack (Device OS does not checksum it), nor the compat slot's erased page a plan may
        // write first (no module there: the bit would harm nothing and the unit would pass).
        if self.in_system_part_region(address as u32)
            && self.dfu.alt == 0
            && self.take_fault(|f| *f == Fault::Corrupt).is_some()
        {
            self.internal.flip_bit(at + data.len() / 2);
        }
        (Outcome::Done, cost)
    }

    /// InternalFlashMal::write's epilogue (usbd_dfu_mal.cpp:124-132 @ v6.2.0, from 3.1.0-rc.1):
    /// a write that starts at the 256 KiB application slot, holding a valid user module
    /// info, erases the compat application's first page.
    fn invalidate_compat_after_write(&mut self, address: u32, len: usize) {
        let Some((user, compat)) = self.compat_invalidation() else {
            return;
        };
        if address == user && len >= PREFIX_LEN && self.user_module_info_valid(user) {
            log::debug!(
                "sim {}: compat application at 0x{compat:05x} invalidated",
                self.port
            );
            self.internal.erase_page(compat as usize);
            self.stats.pages_erased += 1;
        }
    }

    pub(super) fn in_system_part_region(&self, address: u32) -> bool {
        let map = self.bootloader_map();
        (map.system_part.start..map.system_part.end).contains(&address)
    }

    /// A Protected Device's bootloader (usbd_dfu.cpp:540-543, usbd_dfu_mal.cpp:87-120 @
    /// v6.2.0): no write at all, unless in service mode, where a system part must be ≥ 6.0.0
    /// and a page-aligned write in its region erases the pages itself. `None` lets it write.
    fn protected_write(&mut self, address: u32, data: &[u8]) -> Option<(Outcome, Duration)> {
        let refused = Some((Outcome::Failed(DfuStatusCode::ErrVendor), Duration::ZERO));
        if !self.service_mode {
            return refused;
        }
        if !self.in_system_part_region(address) {
            return None;
        }
        let starts = [self.bootloader_map().system_part.start].into_iter().chain(
            super::stand_in::legacy_system_part_start(self.bootloader_map()),
        );
        if starts.into_iter().any(|s| s == address) {
            let old =
                crate::core::module::ModulePrefix::find(data).is_none_or(|(p, _)| p.version < 6000);
            if data.len() < PREFIX_LEN + 0x200 || old {
                return refused;
            }
        }
        if address % 4096 == 0 {
            let at = address as usize;
            for page in (at..at + data.len()).step_by(4096) {
                self.internal.erase_page(page);
            }
        }
        None
    }
}
