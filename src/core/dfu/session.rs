//! One DFU session with a DfuSe device: erase, write, read back, leave.
//!
//! The session decides; the `UsbDevice` port only moves bytes, and every wait is a deadline on
//! the `Clock`, so the same code runs against the simulator on a virtual clock.

use std::time::Duration;

use super::request::{self, FunctionalDescriptor};
use super::{DfuError, DfuState, DfuStatus, DfuStatusCode, DfuStep, MemoryLayout};
use crate::ports::clock::Deadline;
use crate::ports::{Clock, UsbDevice, UsbError};

#[derive(Debug, Clone)]
pub struct DfuOptions {
    /// Set the address pointer before every block, as particle-usb does (the path most proven on
    /// real Argons); otherwise once per write and let block numbers advance.
    pub address_every_block: bool,
    /// Read every written range back and compare.
    pub readback: bool,
    /// How long one operation (erase, write, command) may keep the device busy.
    pub op_deadline: Duration,
    /// Timeout of a single control transfer.
    pub transfer_timeout: Duration,
    /// Attempts for a command the device stalls (particle-usb retries DfuSe commands too).
    pub stall_attempts: u32,
}

impl Default for DfuOptions {
    fn default() -> Self {
        DfuOptions {
            address_every_block: true,
            readback: false,
            op_deadline: Duration::from_secs(10),
            transfer_timeout: Duration::from_secs(5),
            stall_attempts: 3,
        }
    }
}

/// What a write is doing, for progress bars and the OLED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePhase {
    Erase,
    Write,
    Readback,
}

pub struct DfuSession<'a> {
    device: &'a mut dyn UsbDevice,
    clock: &'a dyn Clock,
    interface: u8,
    transfer_size: usize,
    layout: MemoryLayout,
    options: DfuOptions,
}

impl<'a> DfuSession<'a> {
    /// Selects `alt` on DFU interface 0, reads its layout and transfer size, and brings the
    /// device to dfuIDLE (clearing an error left by an earlier session).
    pub fn open(
        device: &'a mut dyn UsbDevice,
        clock: &'a dyn Clock,
        alt: u8,
        options: DfuOptions,
    ) -> Result<Self, DfuError> {
        let interface = 0;
        let usb = |step| {
            move |source| DfuError::Usb {
                step,
                address: None,
                source,
            }
        };
        let names = device
            .alt_setting_names(interface)
            .map_err(usb(DfuStep::AltSettings))?;
        let name = names
            .iter()
            .find(|(a, _)| *a == alt)
            .map(|(_, n)| n.clone())
            .ok_or(DfuError::NoAltSetting(alt))?;
        let layout = MemoryLayout::parse(&name)?;
        let descriptor = device
            .dfu_functional_descriptor(interface)
            .map_err(usb(DfuStep::Descriptor))?
            .map(|raw| FunctionalDescriptor::parse(&raw).ok_or(DfuError::BadDescriptor))
            .transpose()?;
        // DFU 1.1 leaves wTransferSize optional; particle-usb assumes 1024 without it.
        let transfer_size = descriptor
            .map_or(1024, |d| usize::from(d.transfer_size))
            .max(1);
        device
            .set_alt_setting(interface, alt)
            .map_err(usb(DfuStep::SelectAlt))?;
        let mut session = DfuSession {
            device,
            clock,
            interface,
            transfer_size,
            layout,
            options,
        };
        session.ensure_idle()?;
        Ok(session)
    }

    pub fn layout(&self) -> &MemoryLayout {
        &self.layout
    }

    pub fn transfer_size(&self) -> usize {
        self.transfer_size
    }

    /// Erases every page `data` touches, then writes it in transfer-size blocks. Refuses a
    /// range the layout does not mark erasable and writable. `progress(phase, done, total)`.
    pub fn write(
        &mut self,
        address: u32,
        data: &[u8],
        progress: &mut dyn FnMut(WritePhase, u64, u64),
    ) -> Result<(), DfuError> {
        let range = u64::from(address)..u64::from(address) + data.len() as u64;
        if !self.layout.all_writable(&range) {
            return Err(DfuError::NotWritable {
                start: range.start,
                end: range.end,
                layout: self.layout.name.clone(),
            });
        }
        let pages = self.layout.pages_covering(&range);
        for (i, page) in pages.iter().enumerate() {
            self.dfuse_command(request::DFUSE_ERASE, *page, DfuStep::Erase)?;
            progress(WritePhase::Erase, i as u64 + 1, pages.len() as u64);
        }
        let total = data.len() as u64;
        for (i, block) in data.chunks(self.transfer_size).enumerate() {
            let offset = i * self.transfer_size;
            let block_address = address + offset as u32;
            let block_num = if self.options.address_every_block {
                self.dfuse_command(
                    request::DFUSE_SET_ADDRESS,
                    block_address,
                    DfuStep::SetAddress,
                )?;
                request::FIRST_DATA_BLOCK
            } else {
                if i == 0 {
                    self.dfuse_command(request::DFUSE_SET_ADDRESS, address, DfuStep::SetAddress)?;
                }
                request::FIRST_DATA_BLOCK + i as u16
            };
            self.download(block_num, block, DfuStep::Write, block_address)?;
            progress(WritePhase::Write, (offset + block.len()) as u64, total);
        }
        if self.options.readback && self.layout.all_readable(&range) {
            let back = self.read(address, data.len(), &mut |done, total| {
                progress(WritePhase::Readback, done, total)
            })?;
            if let Some(i) = back.iter().zip(data).position(|(a, b)| a != b) {
                return Err(DfuError::Readback {
                    address: address + i as u32,
                });
            }
        }
        Ok(())
    }

    /// Reads `len` bytes at `address` by DfuSe UPLOAD (pointer, ABORT to idle, blocks 2, 3, …).
    pub fn read(
        &mut self,
        address: u32,
        len: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<u8>, DfuError> {
        let range = u64::from(address)..u64::from(address) + len as u64;
        if !self.layout.all_readable(&range) {
            return Err(DfuError::NotReadable {
                start: range.start,
                end: range.end,
                layout: self.layout.name.clone(),
            });
        }
        self.dfuse_command(request::DFUSE_SET_ADDRESS, address, DfuStep::SetAddress)?;
        self.abort_ensure_idle()?;
        let mut out = Vec::with_capacity(len);
        let mut block = request::FIRST_DATA_BLOCK;
        while out.len() < len {
            let want = (len - out.len()).min(self.transfer_size) as u16;
            let setup = request::input(request::UPLOAD, block, self.interface, want);
            let chunk = self
                .device
                .control_in(setup, self.options.transfer_timeout)
                .map_err(|source| DfuError::Usb {
                    step: DfuStep::Read,
                    address: Some(address + out.len() as u32),
                    source,
                })?;
            if chunk.is_empty() {
                break;
            }
            out.extend_from_slice(&chunk[..chunk.len().min(usize::from(want))]);
            progress(out.len() as u64, len as u64);
            block = block.wrapping_add(1);
        }
        self.abort_ensure_idle()?;
        Ok(out)
    }

    /// Leaves DFU: zero-length DNLOAD, then one GETSTATUS, which reports dfuMANIFEST. The
    /// bootloader resets 500 ms after that report, unless another DFU request arrives first:
    /// any further request puts it in dfuERROR and cancels the reset (usbd_dfu.cpp:326-330,
    /// 562-567, 613-620 @ v6.2.0). So nothing more is asked; the caller waits for the board's
    /// next enumeration. A board already gone is the expected end, not an error.
    pub fn leave(mut self) -> Result<(), DfuError> {
        self.ensure_idle()?;
        let setup = request::out(
            request::DNLOAD,
            request::FIRST_DATA_BLOCK,
            self.interface,
            0,
        );
        match self
            .device
            .control_out(setup, &[], self.options.transfer_timeout)
        {
            Ok(()) => {}
            Err(UsbError::NoDevice) => return Ok(()),
            Err(source) => {
                return Err(DfuError::Usb {
                    step: DfuStep::Leave,
                    address: None,
                    source,
                })
            }
        }
        match self.get_status(DfuStep::Leave) {
            Ok(s) if s.status != DfuStatusCode::Ok || s.state == DfuState::Error => {
                Err(DfuError::Device {
                    step: DfuStep::Leave,
                    address: None,
                    status: s.status,
                    state: s.state,
                })
            }
            Ok(s) if s.state != DfuState::Manifest => Err(DfuError::UnexpectedState {
                step: DfuStep::Leave,
                state: s.state,
            }),
            Err(e) if !e.is_gone() => Err(e),
            _ => Ok(()),
        }
    }

    /// A DfuSe command (DNLOAD block 0), retried when the device stalls it.
    fn dfuse_command(&mut self, command: u8, address: u32, step: DfuStep) -> Result<(), DfuError> {
        let payload = request::dfuse_command(command, address);
        let mut attempt = 1;
        loop {
            match self.download(0, &payload, step, address) {
                Err(DfuError::Usb {
                    source: UsbError::Stall,
                    ..
                }) if attempt < self.options.stall_attempts => {
                    attempt += 1;
                    log::warn!("{step} 0x{address:08x} stalled; recovering (attempt {attempt})");
                    self.ensure_idle()?;
                }
                other => return other,
            }
        }
    }

    /// DNLOAD one block, then GETSTATUS until the device is back in dfuDNLOAD-IDLE. Particle's
    /// bootloader reports dfuDNBUSY once with bwPollTimeout 0, does the work after that reply
    /// and holds the next GETSTATUS until it is done (usbd_dfu.cpp:264-289, 467-561), so the
    /// second GETSTATUS normally has the answer; a hung erase shows as that transfer's timeout.
    fn download(
        &mut self,
        block: u16,
        data: &[u8],
        step: DfuStep,
        address: u32,
    ) -> Result<(), DfuError> {
        let setup = request::out(request::DNLOAD, block, self.interface, data.len());
        let usb = |source| DfuError::Usb {
            step,
            address: Some(address),
            source,
        };
        self.device
            .control_out(setup, data, self.options.transfer_timeout)
            .map_err(usb)?;
        let deadline = Deadline::after(self.clock, self.options.op_deadline);
        let started = self.clock.now();
        let mut polls = 0u32;
        loop {
            let s = self.get_status(step).map_err(|e| match e {
                DfuError::Usb { source, .. } => usb(source),
                other => other,
            })?;
            if s.status != DfuStatusCode::Ok || s.state == DfuState::Error {
                return Err(DfuError::Device {
                    step,
                    address: Some(address),
                    status: s.status,
                    state: s.state,
                });
            }
            match s.state {
                DfuState::DnloadIdle => return Ok(()),
                DfuState::DnBusy | DfuState::DnloadSync => {
                    if deadline.passed(self.clock) {
                        let waited_ms = (self.clock.now() - started).as_millis() as u64;
                        return Err(DfuError::PollTimeout {
                            step,
                            address: Some(address),
                            state: s.state,
                            waited_ms,
                        });
                    }
                    // Honour bwPollTimeout. A device that says 0 and does the work before it
                    // answers again (Particle's bootloader, usbd-dfu) is asked again at once;
                    // after that, at most once a millisecond.
                    let floor = if polls == 0 { 0 } else { 1 };
                    self.clock.sleep(Duration::from_millis(u64::from(
                        s.poll_timeout_ms.max(floor),
                    )));
                    polls += 1;
                }
                state => return Err(DfuError::UnexpectedState { step, state }),
            }
        }
    }

    fn get_status(&mut self, step: DfuStep) -> Result<DfuStatus, DfuError> {
        let setup = request::input(request::GETSTATUS, 0, self.interface, DfuStatus::LEN as u16);
        let reply = self
            .device
            .control_in(setup, self.options.transfer_timeout)
            .map_err(|source| DfuError::Usb {
                step,
                address: None,
                source,
            })?;
        DfuStatus::parse(&reply).ok_or(DfuError::BadStatus {
            step,
            len: reply.len(),
        })
    }

    fn control_out_no_data(&mut self, request: u8, step: DfuStep) -> Result<(), DfuError> {
        let setup = request::out(request, 0, self.interface, 0);
        self.device
            .control_out(setup, &[], self.options.transfer_timeout)
            .map_err(|source| DfuError::Usb {
                step,
                address: None,
                source,
            })
    }

    /// Brings the device to dfuIDLE or dfuDNLOAD-IDLE: CLRSTATUS from dfuERROR, ABORT from
    /// the upload/download idle states.
    fn ensure_idle(&mut self) -> Result<(), DfuError> {
        for _ in 0..3 {
            let s = self.get_status(DfuStep::GetStatus)?;
            match s.state {
                DfuState::DfuIdle | DfuState::DnloadIdle => return Ok(()),
                DfuState::Error => {
                    self.control_out_no_data(request::CLRSTATUS, DfuStep::ClearStatus)?
                }
                _ => self.control_out_no_data(request::ABORT, DfuStep::Abort)?,
            }
        }
        let s = self.get_status(DfuStep::GetStatus)?;
        match s.state {
            DfuState::DfuIdle | DfuState::DnloadIdle => Ok(()),
            state => Err(DfuError::UnexpectedState {
                step: DfuStep::GetStatus,
                state,
            }),
        }
    }

    fn abort_ensure_idle(&mut self) -> Result<(), DfuError> {
        self.control_out_no_data(request::ABORT, DfuStep::Abort)?;
        let s = self.get_status(DfuStep::Abort)?;
        match s.state {
            DfuState::DfuIdle => Ok(()),
            DfuState::Error => {
                self.control_out_no_data(request::CLRSTATUS, DfuStep::ClearStatus)?;
                Err(DfuError::Device {
                    step: DfuStep::Abort,
                    address: None,
                    status: s.status,
                    state: s.state,
                })
            }
            state => Err(DfuError::UnexpectedState {
                step: DfuStep::Abort,
                state,
            }),
        }
    }
}
