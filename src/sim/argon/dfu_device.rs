//! The Argon bootloader's DFU 1.1 + DfuSe class driver, request by request as Particle's
//! source has it (bootloader/src/nRF52840/usbd_dfu.cpp @ v6.2.0, the same at v1.5.0 except
//! where `BOOTLOADER_DFU` says): the state machine, what it stalls, which status each
//! failure reports, and when its work runs — after the IN stage of the GETSTATUS that
//! reported dfuDNBUSY, holding every later request until it ends.

use std::time::Duration;

use crate::core::dfu::request::{self, FunctionalDescriptor};
use crate::core::dfu::{DfuState, DfuStatus, DfuStatusCode};
use crate::ports::{ControlSetup, UsbError};
use crate::sim::fault::Fault;

use super::timing::{row, MANIFEST_RESET_DELAY};
use super::{Board, EXTERNAL_FLASH_BASE, EXTERNAL_FLASH_SIZE, INTERNAL_FLASH_SIZE};

/// USBD_DFU_TRANSFER_SIZE (usbd_dfu.h:30-32): the functional descriptor's wTransferSize and
/// the block size of `(wBlockNum - 2) * 4096 + pointer` (usbd_dfu.cpp:236, 543).
pub const TRANSFER_SIZE: u16 = 4096;
/// Alt 2's string (usbd_dfu_mal.h:42 @ v6.2.0; three spaces after "Flash"). Alt 0's is the
/// flash map's (`FlashMap::dfuse_layout`, usbd_dfu_mal.h:27).
pub const EXTERNAL_ALT: &str = "@External Flash   /0x80000000/1024*004Kg";
const DCD_ALT: &str = "@DCD Flash   /0x00000000/1*016Ke";
const DCT_ALT: &str = "@DCT Flash   /0x00000000/1*016Ke";
/// The DCT alt's size (DCT_END_ADDR, usbd_dfu_mal.h:31).
pub(super) const DCT_LEN: usize = 0x4000;
/// nrf_fstorage refuses anything below this: the MBR (hal/src/nRF52840/flash_hal.c:44-48).
pub(super) const FSTORAGE_START: usize = 0x1000;

const GET_COMMAND: u8 = 0x00;
const READ_UNPROTECT: u8 = 0x92;
const ENTER_SAFE_MODE: u8 = 0xFA;
const CLEAR_SECURITY_MODE_OVERRIDE: u8 = 0xFB;

/// What differs between bootloader versions, keyed by the bootloader's module version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootloaderDfu {
    /// Alt 1's string: "DCD" until the rename in commit fe942aa62 (first in v5.0.1,
    /// bootloader 2001; usbd_dfu_mal.h:31 @ v1.5.0 and @ v5.0.1).
    pub dct_alt: &'static str,
    /// UPLOAD block 0's reply: the DfuSe commands. 0xFA enter safe mode and 0xFB clear the
    /// security override arrive with commit 13605e36f (first in v6.1.1, bootloader 3001;
    /// usbd_dfu.cpp:215-223 @ v6.2.0, three bytes at v1.5.0).
    pub commands: &'static [u8],
}

const STANDARD_COMMANDS: &[u8] = &[
    GET_COMMAND,
    request::DFUSE_SET_ADDRESS,
    request::DFUSE_ERASE,
];

pub const BOOTLOADER_DFU: &[(u16, BootloaderDfu)] = &[
    (
        0,
        BootloaderDfu {
            dct_alt: DCD_ALT,
            commands: STANDARD_COMMANDS,
        },
    ),
    (
        2001,
        BootloaderDfu {
            dct_alt: DCT_ALT,
            commands: STANDARD_COMMANDS,
        },
    ),
    (
        3001,
        BootloaderDfu {
            dct_alt: DCT_ALT,
            commands: &[
                GET_COMMAND,
                request::DFUSE_SET_ADDRESS,
                request::DFUSE_ERASE,
                ENTER_SAFE_MODE,
                CLEAR_SECURITY_MODE_OVERRIDE,
            ],
        },
    ),
];

pub fn functional_descriptor() -> FunctionalDescriptor {
    // usbd_dfu.h:62-92: can download, can upload, will detach, not manifestation tolerant.
    FunctionalDescriptor {
        attributes: 0x0B,
        detach_timeout_ms: 255,
        transfer_size: TRANSFER_SIZE,
        dfu_version: 0x011A,
    }
}

/// A DNLOAD's payload, waiting for the GETSTATUS after which the bootloader acts on it.
#[derive(Debug, Clone)]
enum Work {
    Command(Vec<u8>),
    Data { block: u16, data: Vec<u8> },
}

/// How a piece of work ends (the state inDone leaves, usbd_dfu.cpp:467-561).
pub(super) enum Outcome {
    Done,
    /// GET_COMMAND does nothing, so the state stays dfuDNBUSY (usbd_dfu.cpp:475-477).
    StillBusy,
    /// Enter safe mode: manifestation, then a reset (usbd_dfu.cpp:510-515).
    Manifest,
    /// setError from inDone: its stall lands after the GETSTATUS's status stage
    /// (usbd_device.cpp:386-392 clears it first), so the host sees the status, not a stall.
    Failed(DfuStatusCode),
    /// The work never ends (the `slow-erase` fault): every later request is held.
    Hung,
}

#[derive(Debug, Clone)]
pub(crate) struct DfuMachine {
    pub state: DfuState,
    pub status: DfuStatusCode,
    pub alt: u8,
    pub(super) pointer: u32,
    work: Option<Work>,
    /// When the work running in the USB interrupt ends; until then every request waits.
    pub busy_until: Duration,
    /// The SysTick countdown of dfuMANIFEST-WAIT-RESET ends here.
    reset_at: Option<Duration>,
}

impl Default for DfuMachine {
    fn default() -> Self {
        // init(): dfuIDLE, OK, address 0 (usbd_dfu.cpp:45-58).
        DfuMachine {
            state: DfuState::DfuIdle,
            status: DfuStatusCode::Ok,
            alt: 0,
            pointer: 0,
            work: None,
            busy_until: Duration::ZERO,
            reset_at: None,
        }
    }
}

impl DfuMachine {
    /// When the bootloader resets by itself: only while it still waits in
    /// dfuMANIFEST-WAIT-RESET (checkReset, usbd_dfu.cpp:613-620).
    pub fn self_reset_due(&self) -> Option<Duration> {
        match self.state {
            DfuState::ManifestWaitReset => self.reset_at,
            _ => None,
        }
    }
}

impl Board {
    fn dfu_dialect(&self) -> BootloaderDfu {
        row(BOOTLOADER_DFU, self.bootloader_version)
    }

    /// The three alt settings' strings, as this bootloader names them.
    pub(crate) fn alt_names(&self) -> [&'static str; 3] {
        [
            self.bootloader_map().dfuse_layout(),
            self.dfu_dialect().dct_alt,
            EXTERNAL_ALT,
        ]
    }

    pub(crate) fn dfu_out(&mut self, setup: ControlSetup, data: &[u8]) -> Result<(), UsbError> {
        use DfuState::*;
        match setup.request {
            request::DETACH => match self.dfu.state {
                // usbd_dfu.cpp:149-182: back to dfuIDLE, then a detach-attach on the bus.
                DfuIdle | DnloadSync | DnloadIdle | ManifestSync | UploadIdle => {
                    self.dfu.state = DfuIdle;
                    self.reattach();
                    Ok(())
                }
                _ => self.fail(DfuStatusCode::ErrUnknown),
            },
            request::DNLOAD => self.dnload(setup.value, data),
            request::CLRSTATUS if self.dfu.state == Error => {
                self.dfu.state = DfuIdle;
                self.dfu.status = DfuStatusCode::Ok;
                Ok(())
            }
            request::CLRSTATUS => self.fail(DfuStatusCode::ErrUnknown),
            request::ABORT => match self.dfu.state {
                // usbd_dfu.cpp:371-391: allowed from dfuDNLOAD-SYNC too; drops pending work.
                DfuIdle | DnloadSync | DnloadIdle | ManifestSync | UploadIdle => {
                    self.dfu.state = DfuIdle;
                    self.dfu.status = DfuStatusCode::Ok;
                    self.dfu.work = None;
                    Ok(())
                }
                _ => self.fail(DfuStatusCode::ErrUnknown),
            },
            // An unknown class request is stalled and changes nothing (usbd_dfu.cpp:141-146).
            _ => Err(UsbError::Stall),
        }
    }

    pub(crate) fn dfu_in(&mut self, setup: ControlSetup) -> Result<Vec<u8>, UsbError> {
        match setup.request {
            request::GETSTATUS => self.get_status(),
            request::GETSTATE => match self.dfu.state {
                // usbd_dfu.cpp:353-369.
                DfuState::DnBusy | DfuState::Manifest | DfuState::ManifestWaitReset => {
                    Err(self.fail(DfuStatusCode::ErrUnknown).unwrap_err())
                }
                state => Ok(vec![state as u8]),
            },
            request::UPLOAD => self.upload(setup.value, setup.length),
            _ => Err(UsbError::Stall),
        }
    }

    /// setError(status) with its default stall (usbd_dfu.cpp:405-417) from a request
    /// handler: dfuERROR, and the request that caused it is stalled. Leaving
    /// dfuMANIFEST-WAIT-RESET this way also cancels the self-reset.
    fn fail(&mut self, status: DfuStatusCode) -> Result<(), UsbError> {
        self.dfu.state = DfuState::Error;
        self.dfu.status = status;
        Err(UsbError::Stall)
    }

    fn dnload(&mut self, block: u16, data: &[u8]) -> Result<(), UsbError> {
        // The `stall` fault: the board answers every DNLOAD as one in a state without a
        // transition (usbd_dfu.cpp:202-205), from the first one until it is re-seated.
        if self.has_active(&Fault::Stall) || self.take_fault(|f| *f == Fault::Stall).is_some() {
            if !self.has_active(&Fault::Stall) {
                self.active_faults.push(Fault::Stall);
            }
            return self.fail(DfuStatusCode::ErrUnknown);
        }
        // usbd_dfu.cpp:184-208: only from dfuIDLE or dfuDNLOAD-IDLE, never stalled there.
        if !matches!(self.dfu.state, DfuState::DfuIdle | DfuState::DnloadIdle) {
            return self.fail(DfuStatusCode::ErrUnknown);
        }
        if data.is_empty() {
            // Leave: manifestation starts on the next GETSTATUS.
            self.dfu.state = DfuState::ManifestSync;
            return Ok(());
        }
        let bytes = data[..data.len().min(usize::from(TRANSFER_SIZE))].to_vec();
        self.dfu.work = Some(match block {
            0 => Work::Command(bytes),
            _ => Work::Data { block, data: bytes },
        });
        self.dfu.state = DfuState::DnloadSync;
        Ok(())
    }

    fn status_reply(&self) -> Vec<u8> {
        // bwPollTimeout is always 0: every MAL's getStatus sets it so
        // (usbd_dfu_mal.cpp:156-159, 214-217, 292-295); iString is 0 outside protected mode.
        DfuStatus {
            status: self.dfu.status,
            poll_timeout_ms: 0,
            state: self.dfu.state,
        }
        .to_bytes()
        .to_vec()
    }

    fn get_status(&mut self) -> Result<Vec<u8>, UsbError> {
        use DfuState::*;
        match self.dfu.state {
            DnloadSync => {
                // usbd_dfu.cpp:264-289: report dfuDNBUSY once; the work runs after this
                // reply's IN stage (inDone), and the next request waits for it.
                self.dfu.state = DnBusy;
                let reply = self.status_reply();
                if self.dfu_state_entered(DnBusy) {
                    return Err(UsbError::NoDevice);
                }
                self.run_work();
                Ok(reply)
            }
            ManifestSync => {
                // usbd_dfu.cpp:297-301, then inDone (562-567): dfuMANIFEST-WAIT-RESET and a
                // 500 ms countdown to the reset.
                self.dfu.state = Manifest;
                self.dfu.status = DfuStatusCode::Ok;
                let reply = self.status_reply();
                if self.dfu_state_entered(Manifest) {
                    return Err(UsbError::NoDevice);
                }
                self.dfu.state = ManifestWaitReset;
                self.dfu.reset_at = Some(self.now() + MANIFEST_RESET_DELAY);
                Ok(reply)
            }
            AppIdle | AppDetach | DfuIdle | DnloadIdle | UploadIdle | Error => {
                let state = self.dfu.state;
                if self.dfu_state_entered(state) {
                    return Err(UsbError::NoDevice);
                }
                Ok(self.status_reply())
            }
            // dfuDNBUSY (after GET_COMMAND), dfuMANIFEST-WAIT-RESET: "transition not
            // defined" (usbd_dfu.cpp:326-330). In WAIT-RESET this cancels the reset.
            _ => Err(self.fail(DfuStatusCode::ErrUnknown).unwrap_err()),
        }
    }

    /// inDone in dfuDNBUSY: the DfuSe command or the block write, charged as the bootloader's
    /// own time; requests before it ends are held (SimHandle).
    fn run_work(&mut self) {
        let Some(work) = self.dfu.work.take() else {
            return;
        };
        let (outcome, cost) = match work {
            Work::Command(cmd) => self.dfuse_command(&cmd),
            // usbd_dfu.cpp:555-559.
            Work::Data { block: 1, .. } => {
                (Outcome::Failed(DfuStatusCode::ErrTarget), Duration::ZERO)
            }
            Work::Data { block, data } => self.write_block(block, &data),
        };
        match outcome {
            Outcome::Done => {
                self.dfu.state = DfuState::DnloadIdle;
                self.dfu.status = DfuStatusCode::Ok;
            }
            Outcome::StillBusy => {}
            Outcome::Manifest => {
                self.dfu.state = DfuState::ManifestSync;
                self.dfu.status = DfuStatusCode::Ok;
            }
            Outcome::Failed(status) => {
                self.dfu.state = DfuState::Error;
                self.dfu.status = status;
            }
            Outcome::Hung => {
                self.dfu.busy_until = Duration::MAX;
                return;
            }
        }
        self.stats.device_busy += cost;
        self.dfu.busy_until = self.now() + cost;
        let state = self.dfu.state;
        self.dfu_state_entered(state);
    }

    fn dfuse_command(&mut self, cmd: &[u8]) -> (Outcome, Duration) {
        let address = match cmd {
            [_, a, b, c, d] => Some(u32::from_le_bytes([*a, *b, *c, *d])),
            _ => None,
        };
        let commands = self.dfu_dialect().commands;
        match (cmd[0], address) {
            (GET_COMMAND, _) => (Outcome::StillBusy, Duration::ZERO),
            // usbd_dfu.cpp:478-486: no check of the address whatsoever.
            (request::DFUSE_SET_ADDRESS, Some(a)) => {
                self.dfu.pointer = a;
                (Outcome::Done, Duration::ZERO)
            }
            (request::DFUSE_ERASE, Some(a)) => self.erase(a),
            // A one-byte erase is a mass erase: unsupported (usbd_dfu.cpp:502-505).
            (request::DFUSE_ERASE, None) if cmd.len() == 1 => {
                (Outcome::Failed(DfuStatusCode::ErrTarget), Duration::ZERO)
            }
            (request::DFUSE_SET_ADDRESS | request::DFUSE_ERASE, None) => {
                (Outcome::Failed(DfuStatusCode::ErrUnknown), Duration::ZERO)
            }
            (ENTER_SAFE_MODE, _) if commands.contains(&ENTER_SAFE_MODE) => {
                (Outcome::Manifest, Duration::ZERO)
            }
            (CLEAR_SECURITY_MODE_OVERRIDE, _)
                if commands.contains(&CLEAR_SECURITY_MODE_OVERRIDE) =>
            {
                (Outcome::Done, Duration::ZERO)
            }
            (READ_UNPROTECT, _) => (Outcome::Failed(DfuStatusCode::ErrUnknown), Duration::ZERO),
            // usbd_dfu.cpp:527-530.
            _ => (
                Outcome::Failed(DfuStatusCode::ErrStalledPkt),
                Duration::ZERO,
            ),
        }
    }

    /// One 4 KiB page (usbd_dfu_mal.cpp:137-154): the MAL checks only that the address is in
    /// 0..=1 MiB and nrf_fstorage refuses the MBR page; the layout's letters are not looked
    /// at. Every failure is errUNKNOWN (usbd_dfu.cpp:495-497).
    fn erase(&mut self, address: u32) -> (Outcome, Duration) {
        let failed = (Outcome::Failed(DfuStatusCode::ErrUnknown), Duration::ZERO);
        let at = address as usize;
        match self.dfu.alt {
            0 if !(FSTORAGE_START..INTERNAL_FLASH_SIZE).contains(&at) => failed,
            // A Protected Device's bootloader refuses erases (usbd_dfu.cpp:487-491 @ v6.2.0);
            // in service mode it ignores those of the system part (usbd_dfu_mal.cpp:143-146).
            0 if self.protected && !self.service_mode => {
                (Outcome::Failed(DfuStatusCode::ErrVendor), Duration::ZERO)
            }
            0 if self.service_mode && self.in_system_part_region(address) => {
                (Outcome::Done, Duration::ZERO)
            }
            0 => {
                if self.take_fault(|f| *f == Fault::SlowErase).is_some() {
                    self.active_faults.push(Fault::SlowErase);
                    return (Outcome::Hung, Duration::ZERO);
                }
                self.internal.erase_page(at);
                self.stats.pages_erased += 1;
                (Outcome::Done, self.timing.internal_page_erase)
            }
            // DctMal::erase is a no-op (usbd_dfu_mal.cpp:210-212).
            1 => (Outcome::Done, Duration::ZERO),
            _ => match at.checked_sub(EXTERNAL_FLASH_BASE as usize) {
                Some(off) if off < EXTERNAL_FLASH_SIZE => {
                    self.external.erase_page(off);
                    self.stats.pages_erased += 1;
                    (Outcome::Done, self.timing.external_sector_erase)
                }
                _ => failed,
            },
        }
    }

    /// usbd_dfu.cpp:210-257: block 0 lists the DfuSe commands, block 1 is an error, blocks
    /// from 2 read `wLength` bytes at `pointer + (block − 2) × 4096` — checked against the
    /// memory's bounds only, not the layout.
    fn upload(&mut self, block: u16, length: u16) -> Result<Vec<u8>, UsbError> {
        if !matches!(self.dfu.state, DfuState::DfuIdle | DfuState::UploadIdle) {
            return Err(self.fail(DfuStatusCode::ErrUnknown).unwrap_err());
        }
        if block == 0 {
            self.dfu.state = DfuState::DfuIdle;
            let commands = self.dfu_dialect().commands;
            return Ok(commands[..commands.len().min(usize::from(length))].to_vec());
        }
        if block == 1 {
            return Err(self.fail(DfuStatusCode::ErrUnknown).unwrap_err());
        }
        let at = u64::from(self.dfu.pointer) + u64::from(block - 2) * u64::from(TRANSFER_SIZE);
        // The bootloader reads into its 4 KiB transfer buffer; a longer wLength would overrun
        // it (usbd_dfu.cpp:237), which the sim does not imitate.
        let len = usize::from(length.min(TRANSFER_SIZE));
        let at = at as usize;
        let bytes = match self.dfu.alt {
            0 if at + len <= INTERNAL_FLASH_SIZE => self.internal.read(at, len),
            1 if at + len <= DCT_LEN => self.dct.read(at, len),
            2 => at
                .checked_sub(EXTERNAL_FLASH_BASE as usize)
                .and_then(|off| self.external.read(off, len)),
            _ => None,
        };
        match bytes {
            Some(b) => {
                self.dfu.state = DfuState::UploadIdle;
                Ok(b)
            }
            None => Err(self.fail(DfuStatusCode::ErrUnknown).unwrap_err()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bootloader_table_is_sorted_and_names_alt_1_by_version() {
        assert_eq!(BOOTLOADER_DFU[0].0, 0);
        assert!(BOOTLOADER_DFU.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(row(BOOTLOADER_DFU, 501).dct_alt.starts_with("@DCD"));
        assert!(row(BOOTLOADER_DFU, 2001).dct_alt.starts_with("@DCT"));
        assert_eq!(row(BOOTLOADER_DFU, 501).commands.len(), 3);
        assert_eq!(row(BOOTLOADER_DFU, 3000).commands.len(), 3);
        assert_eq!(
            row(BOOTLOADER_DFU, 3001).commands,
            &[0x00, 0x21, 0x41, 0xFA, 0xFB]
        );
    }
}
