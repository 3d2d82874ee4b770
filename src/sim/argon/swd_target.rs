//! The board as a debug probe sees it: attach under reset (the firmware stops, so the board
//! leaves USB), read FICR, write flash page by page directly (no bootloader involved, so the
//! bootloader region too), then reset and run. Costs are the flash's own (timing.rs) plus the
//! SWD transfer.

use std::time::Duration;

use super::{Board, Presence, SimArgon, INTERNAL_FLASH_SIZE};
use crate::core::event::Phase;
use crate::core::flash_map::BOOTLOADER;
use crate::core::image::{page_chunks, Region};
use crate::core::module::{ModuleFunction, ModulePrefix, CRC_LEN, PREFIX_LEN};
use crate::ports::{FicrDeviceId, SwdError, SwdProgress};
use crate::sim::Fault;

const PAGE: usize = 4096;

impl SimArgon {
    /// Attaches under reset and reads FICR. A locked chip is erased whole (flash, UICR, MBR)
    /// only with `allow_erase_all`.
    pub fn swd_attach(&self, allow_erase_all: bool) -> Result<FicrDeviceId, SwdError> {
        let result = {
            let mut b = self.lock();
            b.settle();
            attach(&mut b, allow_erase_all)
        };
        self.pay();
        result
    }

    /// Reads internal flash, as a probe would (halted or not).
    pub fn swd_read(&self, address: u32, len: usize) -> Result<Vec<u8>, SwdError> {
        let result = {
            let mut b = self.lock();
            b.settle();
            if b.presence == Presence::Unplugged {
                return Err(SwdError::TargetNotFound("no board in the fixture".into()));
            }
            let cost = b.timing.swd_byte * len as u32;
            b.spend(cost);
            b.internal
                .read(address as usize, len)
                .ok_or_else(|| SwdError::Flash(format!("reading {len} bytes at {address:#x}")))
        };
        self.pay();
        result
    }

    /// Writes `regions` page by page (each page erased, its bytes outside the regions kept),
    /// then resets the board to run what it now holds. A board pulled out mid-write is a
    /// failed write, as probe-rs reports it on hardware.
    pub fn swd_program(
        &self,
        regions: &[Region],
        progress: &mut dyn FnMut(SwdProgress),
    ) -> Result<(), SwdError> {
        if let Some(r) = regions
            .iter()
            .find(|r| r.address as usize + r.bytes.len() > INTERNAL_FLASH_SIZE)
        {
            return Err(SwdError::Flash(format!(
                "{} at {:#x} runs past the end of flash",
                r.label, r.address
            )));
        }
        let total: u64 = regions.iter().map(|r| r.bytes.len() as u64).sum();
        let mut done = 0u64;
        for region in regions {
            for (at, bytes) in page_chunks(region) {
                {
                    let mut b = self.lock();
                    b.settle();
                    if b.presence == Presence::Unplugged {
                        return Err(SwdError::Flash(
                            "the board went away while being written".into(),
                        ));
                    }
                    write_page(&mut b, at as usize, bytes);
                }
                self.pay();
                done += bytes.len() as u64;
                progress(SwdProgress {
                    phase: Phase::Write,
                    done,
                    total,
                });
            }
        }
        let mut b = self.lock();
        if regions
            .iter()
            .any(|r| BOOTLOADER.contains(&u64::from(r.address)))
        {
            b.install_bootloader_from_flash();
        }
        b.reset(false);
        Ok(())
    }
}

impl SimArgon {
    /// The probe lets go: a chip it halted resets and runs.
    pub fn swd_release(&self) {
        let mut b = self.lock();
        b.settle();
        if let Presence::Rebooting {
            ready_at: Duration::MAX,
            ..
        } = b.presence
        {
            b.reset(false);
        }
    }
}

fn attach(b: &mut Board, allow_erase_all: bool) -> Result<FicrDeviceId, SwdError> {
    if b.presence == Presence::Unplugged {
        return Err(SwdError::TargetNotFound("no board in the fixture".into()));
    }
    if b.take_fault(|f| *f == Fault::SwdNoTarget).is_some() {
        return Err(SwdError::TargetNotFound("no ACK on SWDIO".into()));
    }
    let cost = b.timing.swd_attach;
    b.spend(cost);
    if b.locked {
        if !allow_erase_all {
            return Err(SwdError::Locked);
        }
        erase_all(b);
    }
    // Held halted by the probe: the firmware stops and the board leaves USB until reset.
    let now = b.clock.now();
    b.presence = Presence::Rebooting {
        ready_at: Duration::MAX,
        since: now,
        into_dfu: false,
    };
    b.generation += 1;
    Ok(ficr_of(&b.device_id))
}

/// ERASEALL: flash and UICR, the MBR and bootloader with them; APPROTECT is gone after it.
fn erase_all(b: &mut Board) {
    log::warn!("sim {}: SWD erase-all", b.port);
    b.internal = super::NorFlash::erased(INTERNAL_FLASH_SIZE, PAGE);
    b.bootloader = None;
    b.bricked = true;
    b.locked = false;
    let cost = b.timing.erase_all;
    b.spend(cost);
}

/// One page's share of a region: the page erased and written, its other bytes kept.
fn write_page(b: &mut Board, at: usize, bytes: &[u8]) {
    let page = at - at % PAGE;
    let mut content = b
        .internal
        .read(page, PAGE)
        .unwrap_or_else(|| vec![0xFF; PAGE]);
    content[at - page..at - page + bytes.len()].copy_from_slice(bytes);
    b.internal.erase_page(page);
    b.internal.program(page, &content);
    b.stats.pages_erased += 1;
    b.stats.bytes_written += bytes.len() as u64;
    let flash = b.timing.internal_page_erase + b.timing.internal_write(PAGE);
    let transfer = b.timing.swd_byte * PAGE as u32;
    b.spend(flash.max(transfer));
}

/// FICR DEVICEID as the chip holds it, from the sim's device ID (its last 16 hex digits are
/// the words' bytes in memory order, as Device OS prints them).
fn ficr_of(device_id: &str) -> FicrDeviceId {
    let byte = |i: usize| {
        device_id
            .get(8 + 2 * i..10 + 2 * i)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0)
    };
    let word = |w: usize| {
        u32::from_le_bytes([
            byte(4 * w),
            byte(4 * w + 1),
            byte(4 * w + 2),
            byte(4 * w + 3),
        ])
    };
    [word(0), word(1)]
}

impl Board {
    /// A bootloader written over SWD runs at the next reset if the module now in its region
    /// is whole (it may have been written only in part: the pages that differed).
    pub(super) fn install_bootloader_from_flash(&mut self) {
        let at = BOOTLOADER.start as usize;
        let module = self
            .internal
            .read(at, 0x200 + PREFIX_LEN)
            .and_then(|head| ModulePrefix::find(&head))
            .and_then(|(p, _)| {
                let len = p.end_address.checked_sub(p.start_address)? as usize + CRC_LEN;
                self.internal.read(at, len)
            })
            .and_then(super::scan::parse_installed);
        match module {
            Some((m, true)) if m.function() == ModuleFunction::Bootloader => {
                self.bootloader_version = m.version();
                // security_mode_init reads the bootloader's SECURITY_MODE extension at every start
                // (services/src/security_mode.cpp:103-125 @ v6.2.0):
                // a protected bootloader makes the board a Protected Device.
                self.protected = m.is_protected();
                self.bootloader = Some(m);
                self.bricked = false;
            }
            _ => log::warn!(
                "sim {}: SWD wrote a bootloader that does not check",
                self.port
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::flash::particle_device_id;

    #[test]
    fn ficr_read_back_names_the_board_as_device_os_does() {
        let id = "e00fce68f372fe94a3fad5fb";
        assert_eq!(particle_device_id(ficr_of(id)), id);
    }
}
