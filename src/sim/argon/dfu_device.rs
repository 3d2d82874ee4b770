//! The Argon bootloader's DFU 1.1 + DfuSe device side: states, status codes, DfuSe commands,
//! no implicit erase, GETSTATUS doing the pending work (as usbd-dfu and the real bootloader do)
//! and reporting dfuDNBUSY once before dfuDNLOAD-IDLE.

use crate::core::dfu::request::{self, FunctionalDescriptor};
use crate::core::dfu::{DfuState, DfuStatus, DfuStatusCode, MemoryLayout};
use crate::ports::{ControlSetup, UsbError};
use crate::sim::fault::Fault;

use super::{Board, EXTERNAL_FLASH_BASE};

pub const TRANSFER_SIZE: u16 = 4096;
pub const ALT_NAMES: [&str; 3] = [
    "@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka",
    "@DCT Flash   /0x00000000/1*016Ke",
    "@External Flash   /0x80000000/1024*004Kg",
];
/// Data written before the `unplug` fault pulls the cable: inside the first module.
const UNPLUG_DEFAULT_AFTER: u64 = 64 * 1024;

pub fn functional_descriptor() -> FunctionalDescriptor {
    // As recorded from a Gen3 board: can download, can upload, will detach.
    FunctionalDescriptor {
        attributes: 0x0B,
        detach_timeout_ms: 255,
        transfer_size: TRANSFER_SIZE,
        dfu_version: 0x011A,
    }
}

#[derive(Debug, Clone)]
enum Pending {
    Command(Vec<u8>),
    Data { block: u16, data: Vec<u8> },
}

#[derive(Debug, Clone)]
pub(crate) struct DfuMachine {
    pub state: DfuState,
    pub status: DfuStatusCode,
    pub alt: u8,
    pointer: u32,
    pending: Option<Pending>,
    /// Result of the work done in the last dfuDNBUSY, reported on the next GETSTATUS.
    outcome: DfuStatusCode,
    stuck: bool,
}

impl Default for DfuMachine {
    fn default() -> Self {
        DfuMachine {
            state: DfuState::DfuIdle,
            status: DfuStatusCode::Ok,
            alt: 0,
            pointer: 0,
            pending: None,
            outcome: DfuStatusCode::Ok,
            stuck: false,
        }
    }
}

impl Board {
    pub(crate) fn dfu_out(&mut self, setup: ControlSetup, data: &[u8]) -> Result<(), UsbError> {
        match setup.request {
            request::DNLOAD => self.dnload(setup.value, data),
            request::CLRSTATUS if self.dfu.state == DfuState::Error => {
                self.dfu.state = DfuState::DfuIdle;
                self.dfu.status = DfuStatusCode::Ok;
                Ok(())
            }
            request::ABORT
                if matches!(
                    self.dfu.state,
                    DfuState::DfuIdle | DfuState::DnloadIdle | DfuState::UploadIdle
                ) =>
            {
                self.dfu.state = DfuState::DfuIdle;
                Ok(())
            }
            _ => self.stall_request(),
        }
    }

    pub(crate) fn dfu_in(&mut self, setup: ControlSetup) -> Result<Vec<u8>, UsbError> {
        match setup.request {
            request::GETSTATUS => self.get_status(),
            request::GETSTATE => Ok(vec![self.dfu.state as u8]),
            request::UPLOAD => self.upload(setup.value, setup.length),
            _ => Err(self.stall_request().unwrap_err()),
        }
    }

    /// A request the current state does not allow: stall and enter dfuERROR, as DFU 1.1 says.
    fn stall_request(&mut self) -> Result<(), UsbError> {
        self.dfu.state = DfuState::Error;
        self.dfu.status = DfuStatusCode::ErrStalledPkt;
        Err(UsbError::Stall)
    }

    fn dnload(&mut self, block: u16, data: &[u8]) -> Result<(), UsbError> {
        if self.has_active(&Fault::Stall) || self.take_fault(|f| *f == Fault::Stall).is_some() {
            if !self.has_active(&Fault::Stall) {
                self.active_faults.push(Fault::Stall);
            }
            return self.stall_request();
        }
        if !matches!(self.dfu.state, DfuState::DfuIdle | DfuState::DnloadIdle) {
            return self.stall_request();
        }
        if data.is_empty() {
            // Leave: manifestation starts on the next GETSTATUS.
            self.dfu.state = DfuState::ManifestSync;
            return Ok(());
        }
        self.dfu.pending = match block {
            0 => Some(Pending::Command(data.to_vec())),
            1 => return self.stall_request(),
            _ => Some(Pending::Data {
                block,
                data: data.to_vec(),
            }),
        };
        self.dfu.state = DfuState::DnloadSync;
        Ok(())
    }

    fn get_status(&mut self) -> Result<Vec<u8>, UsbError> {
        let reply = |b: &mut Board, state: DfuState, status: DfuStatusCode, poll_ms: u32| {
            b.dfu.state = state;
            b.dfu.status = status;
            if b.dfu_state_entered(state) {
                return Err(UsbError::NoDevice);
            }
            Ok(DfuStatus {
                status,
                poll_timeout_ms: poll_ms,
                state,
            }
            .to_bytes()
            .to_vec())
        };
        match self.dfu.state {
            DfuState::DnloadSync => {
                let outcome = self.run_pending();
                if self.presence == super::Presence::Unplugged {
                    return Err(UsbError::NoDevice);
                }
                self.dfu.outcome = outcome;
                reply(self, DfuState::DnBusy, DfuStatusCode::Ok, 0)
            }
            DfuState::DnBusy if self.dfu.stuck => {
                reply(self, DfuState::DnBusy, DfuStatusCode::Ok, 100)
            }
            DfuState::DnBusy => match self.dfu.outcome {
                DfuStatusCode::Ok => reply(self, DfuState::DnloadIdle, DfuStatusCode::Ok, 0),
                err => reply(self, DfuState::Error, err, 0),
            },
            DfuState::ManifestSync => {
                let bytes = reply(self, DfuState::Manifest, DfuStatusCode::Ok, 0)?;
                // The bootloader resets to start the firmware it was given.
                self.reset(false);
                Ok(bytes)
            }
            state => {
                let status = self.dfu.status;
                reply(self, state, status, 0)
            }
        }
    }

    /// Does the work a DNLOAD asked for, charging its time; returns the status to report.
    fn run_pending(&mut self) -> DfuStatusCode {
        match self.dfu.pending.take() {
            Some(Pending::Command(cmd)) => self.dfuse_command(&cmd),
            Some(Pending::Data { block, data }) => self.write_block(block, &data),
            None => DfuStatusCode::ErrUnknown,
        }
    }

    fn layout(&self) -> Option<MemoryLayout> {
        ALT_NAMES
            .get(usize::from(self.dfu.alt))
            .and_then(|n| MemoryLayout::parse(n).ok())
    }

    fn dfuse_command(&mut self, cmd: &[u8]) -> DfuStatusCode {
        let Some(layout) = self.layout() else {
            return DfuStatusCode::ErrTarget;
        };
        let address = match cmd {
            [_, a, b, c, d] => u32::from_le_bytes([*a, *b, *c, *d]),
            _ => return DfuStatusCode::ErrTarget,
        };
        let range = u64::from(address)..u64::from(address) + 1;
        match cmd[0] {
            request::DFUSE_SET_ADDRESS => {
                if layout.segments_covering(&range).is_none() {
                    return DfuStatusCode::ErrAddress;
                }
                self.dfu.pointer = address;
                DfuStatusCode::Ok
            }
            request::DFUSE_ERASE => {
                let erasable = layout
                    .segments_covering(&range)
                    .is_some_and(|s| s.iter().all(|s| s.erasable));
                if !erasable {
                    return DfuStatusCode::ErrTarget;
                }
                if self.take_fault(|f| *f == Fault::SlowErase).is_some() {
                    self.active_faults.push(Fault::SlowErase);
                    self.dfu.stuck = true;
                    return DfuStatusCode::Ok;
                }
                let (offset, cost) = match self.dfu.alt {
                    2 => (
                        (address - EXTERNAL_FLASH_BASE) as usize,
                        self.timing.external_sector_erase,
                    ),
                    _ => (address as usize, self.timing.internal_page_erase),
                };
                let memory = if self.dfu.alt == 2 {
                    &mut self.external
                } else {
                    &mut self.internal
                };
                memory.erase_page(offset);
                self.stats.pages_erased += 1;
                self.spend(cost);
                DfuStatusCode::Ok
            }
            _ => DfuStatusCode::ErrStalledPkt,
        }
    }

    fn write_block(&mut self, block: u16, data: &[u8]) -> DfuStatusCode {
        let Some(layout) = self.layout() else {
            return DfuStatusCode::ErrTarget;
        };
        let address = u64::from(self.dfu.pointer) + u64::from(block - 2) * u64::from(TRANSFER_SIZE);
        let range = address..address + data.len() as u64;
        let writable = layout
            .segments_covering(&range)
            .is_some_and(|s| s.iter().all(|s| s.writable));
        if !writable {
            return DfuStatusCode::ErrAddress;
        }
        let hits = |f: &Fault| match f {
            Fault::WriteError(None) => true,
            Fault::WriteError(Some(a)) => range.contains(&u64::from(*a)),
            _ => false,
        };
        if self.take_fault(hits).is_some() {
            return DfuStatusCode::ErrWrite;
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
            return DfuStatusCode::ErrUnknown;
        }
        let (ok, cost) = match self.dfu.alt {
            0 => (
                self.internal.program(address as usize, data),
                self.timing.internal_write(data.len()),
            ),
            1 => (
                self.dct.overwrite(address as usize, data),
                self.timing.external_write(data.len()),
            ),
            _ => (
                self.external
                    .program((address - u64::from(EXTERNAL_FLASH_BASE)) as usize, data),
                self.timing.external_write(data.len()),
            ),
        };
        if !ok {
            return DfuStatusCode::ErrAddress;
        }
        self.stats.bytes_written += data.len() as u64;
        self.spend(cost);
        // A flipped bit in code the board CRC-checks (the system part and later), not in the
        // radio stack, which Device OS does not checksum.
        if address >= 0x30000
            && self.dfu.alt == 0
            && self.take_fault(|f| *f == Fault::Corrupt).is_some()
        {
            self.internal.flip_bit(address as usize + data.len() / 2);
        }
        DfuStatusCode::Ok
    }

    fn upload(&mut self, block: u16, length: u16) -> Result<Vec<u8>, UsbError> {
        if !matches!(self.dfu.state, DfuState::DfuIdle | DfuState::UploadIdle) {
            return Err(self.stall_request().unwrap_err());
        }
        if block == 0 {
            self.dfu.state = DfuState::DfuIdle;
            return Ok(vec![0x00, request::DFUSE_SET_ADDRESS, request::DFUSE_ERASE]);
        }
        let Some(layout) = self.layout() else {
            return Err(UsbError::Stall);
        };
        let address = u64::from(self.dfu.pointer)
            + u64::from(block.saturating_sub(2)) * u64::from(TRANSFER_SIZE);
        let len = usize::from(length.min(TRANSFER_SIZE));
        if !layout.all_readable(&(address..address + len as u64)) {
            self.dfu.status = DfuStatusCode::ErrAddress;
            return Err(self.stall_request().unwrap_err());
        }
        let bytes = match self.dfu.alt {
            0 => self.internal.read(address as usize, len),
            1 => self.dct.read(address as usize, len),
            _ => self
                .external
                .read((address - u64::from(EXTERNAL_FLASH_BASE)) as usize, len),
        }
        .unwrap_or_default();
        self.dfu.state = DfuState::UploadIdle;
        Ok(bytes)
    }
}
