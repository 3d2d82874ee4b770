//! The board as a debug probe sees it: attach under reset (the firmware stops, so the board
//! leaves USB), read FICR, write flash page by page directly (no bootloader involved, so the
//! bootloader region too), then reset and run. Costs are the flash's own (timing.rs) plus the
//! SWD transfer.

use std::time::Duration;

use super::{Board, Presence, SimArgon, INTERNAL_FLASH_SIZE};
use crate::core::bundle::mbr_problem;
use crate::core::event::Phase;
use crate::core::flash_map::BOOTLOADER;
use crate::core::image::{page_chunks, Region};
use crate::core::module::{Module, ModuleFunction};
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

    /// Writes `regions` page by page, leaving pages that already hold the bytes and keeping a
    /// page's bytes outside the regions, then resets the board to run what it now holds.
    /// Returns the bytes programmed per region. A board pulled out mid-write is a failed
    /// write, as probe-rs reports it on hardware.
    pub fn swd_program(
        &self,
        regions: &[Region],
        progress: &mut dyn FnMut(SwdProgress),
    ) -> Result<Vec<u64>, SwdError> {
        let brings_mbr = regions.iter().any(|r| r.address == 0);
        {
            let b = self.lock();
            if !b.mbr && !brings_mbr {
                return Err(SwdError::Flash(
                    "flash is blank at 0x0: no MBR (an erased chip); the bundle does not carry \
                     Nordic's MBR (bundle.toml `mbr`), so the board could not boot"
                        .into(),
                ));
            }
        }
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
        let mut programmed = vec![0u64; regions.len()];
        for (i, region) in regions.iter().enumerate() {
            for (at, bytes) in page_chunks(region) {
                {
                    let mut b = self.lock();
                    b.settle();
                    if b.presence == Presence::Unplugged {
                        return Err(SwdError::Flash(
                            "the board went away while being written".into(),
                        ));
                    }
                    if write_page(&mut b, at as usize, bytes) {
                        programmed[i] += bytes.len() as u64;
                    }
                }
                self.pay();
                done += bytes.len() as u64;
                progress(SwdProgress {
                    phase: Phase::Write,
                    done,
                    total,
                });
            }
            if BOOTLOADER.contains(&u64::from(region.address)) {
                self.lock().install_swd_bootloader(&region.bytes);
            }
            if region.address == 0 {
                self.lock().mbr = mbr_problem(&region.bytes).is_none();
            }
        }
        let mut b = self.lock();
        b.reset(false);
        Ok(programmed)
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
    b.mbr = false;
    b.locked = false;
    let cost = b.timing.erase_all;
    b.spend(cost);
}

/// One page's share of a region: left alone when flash already holds `bytes` at `at`, else
/// the page is erased and written with its other bytes kept. Returns whether it was written.
fn write_page(b: &mut Board, at: usize, bytes: &[u8]) -> bool {
    let read_cost = b.timing.swd_byte * bytes.len() as u32;
    b.spend(read_cost);
    if b.internal.read(at, bytes.len()).as_deref() == Some(bytes) {
        return false;
    }
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
    true
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
    /// A bootloader written over SWD runs at the next reset if it is whole.
    fn install_swd_bootloader(&mut self, image: &[u8]) {
        match Module::parse(image.to_vec()) {
            Ok(m) if m.crc_ok() && m.function() == ModuleFunction::Bootloader => {
                self.bootloader_version = m.version();
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
