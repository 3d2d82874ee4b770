//! Flashing over SWD with a debug probe (the Particle Debugger, any CMSIS-DAP, J-Link,
//! ST-Link…), with probe-rs as a library. It writes the same regions as the DFU path
//! (`core::image::image_of`) plus the bootloader, which only a probe may write; what the
//! board then reports is verified over USB by `core::flash::SwdFlasher`.
//!
//! Only in builds with `--features swd`.

use probe_rs::architecture::arm::ArmError;
use probe_rs::flashing::{DownloadOptions, FlashProgress, ProgressEvent, ProgressOperation};
use probe_rs::probe::list::{Accessibility, Lister};
use probe_rs::probe::DebugProbeInfo;
use probe_rs::{Error as ProbeRsError, MemoryInterface, Permissions, Session};
use serde::Serialize;

use crate::core::event::Phase;
use crate::core::image::Region;
use crate::ports::{FicrDeviceId, SwdError, SwdProbe, SwdProgress};

/// probe-rs's name for the Argon's SoC.
pub const TARGET: &str = "nRF52840_xxAA";

/// A debug probe on USB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeInfo {
    /// What the probe calls itself (e.g. "CMSIS-DAP").
    pub identifier: String,
    pub serial: Option<String>,
    pub vendor_id: u16,
    pub product_id: u16,
    /// False when the probe is seen but this user may not open it (udev rule missing).
    pub accessible: bool,
}

/// The debug probes on USB. Never panics: without a USB bus (or /sys) the list is empty.
pub fn list_probes() -> Vec<ProbeInfo> {
    std::panic::catch_unwind(|| Lister::new().list_all_with_access())
        .unwrap_or_else(|_| {
            log::warn!("listing debug probes failed");
            Vec::new()
        })
        .into_iter()
        .map(|item| ProbeInfo {
            identifier: item.info.identifier.clone(),
            serial: item.info.serial_number.clone(),
            vendor_id: item.info.vendor_id,
            product_id: item.info.product_id,
            accessible: item.accessibility == Accessibility::Accessible,
        })
        .collect()
}

/// FICR DEVICEID\[0\], the first of the two words Device OS builds its device ID from.
const FICR_DEVICEID: u64 = 0x1000_0060;

/// A debug probe opened with probe-rs: the probe named by its serial number, or the only one
/// attached. The session lives from `attach` to the end of `program`.
pub struct ProbeRsProbe {
    serial: Option<String>,
    allow_erase_all: bool,
    session: Option<Session>,
}

impl ProbeRsProbe {
    pub fn new(serial: Option<&str>, allow_erase_all: bool) -> Self {
        ProbeRsProbe {
            serial: serial.map(str::to_string),
            allow_erase_all,
            session: None,
        }
    }
}

impl SwdProbe for ProbeRsProbe {
    fn name(&self) -> String {
        self.serial
            .clone()
            .unwrap_or_else(|| "(the only probe)".into())
    }

    /// Opens the probe and attaches under reset. A chip with APPROTECT set is erased whole
    /// (flash and UICR) only if `allow_erase_all`; otherwise it is `SwdError::Locked` and
    /// nothing changes.
    fn attach(&mut self) -> Result<FicrDeviceId, SwdError> {
        let info = choose_probe(self.serial.as_deref())?;
        log::info!("SWD: probe {info}");
        let probe = info
            .open()
            .map_err(|e| SwdError::ProbeOpen(e.to_string()))?;
        let permissions = match self.allow_erase_all {
            true => Permissions::new().allow_erase_all(),
            false => Permissions::new(),
        };
        let mut session = probe
            .attach_under_reset(TARGET, permissions)
            .map_err(attach_error)?;
        let mut words = [0u32; 2];
        session
            .core(0)
            .and_then(|mut core| core.read_32(FICR_DEVICEID, &mut words))
            .map_err(flash_err("reading FICR DEVICEID"))?;
        self.session = Some(session);
        Ok(words)
    }

    /// Reads memory of the attached chip.
    fn read(&mut self, address: u32, len: usize) -> Result<Vec<u8>, SwdError> {
        let session = self
            .session
            .as_mut()
            .ok_or_else(|| SwdError::Flash("reading before attaching".into()))?;
        let mut bytes = vec![0u8; len];
        session
            .core(0)
            .and_then(|mut core| core.read(u64::from(address), &mut bytes))
            .map_err(flash_err("reading flash"))?;
        Ok(bytes)
    }

    /// Writes the regions (the pages that differ, `SwdFlasher` decides), then resets the chip
    /// and lets it run. Bytes of a touched sector outside the regions are restored, not left
    /// erased, and what is written is read back.
    fn program(
        &mut self,
        regions: &[Region],
        progress: &mut dyn FnMut(SwdProgress),
    ) -> Result<(), SwdError> {
        // The session stays in `self` until the chip runs again: on an error the caller
        // releases it (a reset), so a failed write never leaves the chip halted.
        let session = self
            .session
            .as_mut()
            .ok_or_else(|| SwdError::Flash("programming before attaching".into()))?;
        let mut loader = session.target().flash_loader();
        for r in regions {
            loader
                .add_data(u64::from(r.address), &r.bytes)
                .map_err(|e| SwdError::Flash(format!("{} at {:#x}: {e}", r.label, r.address)))?;
        }
        let total: u64 = regions.iter().map(|r| r.bytes.len() as u64).sum();
        let mut written = 0u64;
        let mut options = DownloadOptions::default();
        options.keep_unwritten_bytes = true;
        options.verify = true;
        options.progress = FlashProgress::new(|event| {
            if let ProgressEvent::Progress {
                operation: ProgressOperation::Program,
                size,
                ..
            } = event
            {
                written += size;
                progress(SwdProgress {
                    phase: Phase::Write,
                    done: written.min(total),
                    total,
                });
            }
        });
        loader
            .commit(session, options)
            .map_err(|e| SwdError::Flash(format!("programming: {e}")))?;
        session
            .core(0)
            .and_then(|mut core| core.reset())
            .map_err(flash_err("reset after programming"))?;
        self.session = None;
        Ok(())
    }

    fn release(&mut self) -> Result<(), SwdError> {
        match self.session.take() {
            Some(mut session) => session
                .core(0)
                .and_then(|mut core| core.reset())
                .map_err(flash_err("reset to release the chip")),
            None => Ok(()),
        }
    }
}

fn flash_err(what: &'static str) -> impl Fn(ProbeRsError) -> SwdError {
    move |e| SwdError::Flash(format!("{what}: {e}"))
}

fn choose_probe(serial: Option<&str>) -> Result<DebugProbeInfo, SwdError> {
    let mut probes = std::panic::catch_unwind(|| Lister::new().list_all()).unwrap_or_default();
    if let Some(want) = serial {
        return probes
            .into_iter()
            .find(|p| {
                p.serial_number
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(want))
            })
            .ok_or_else(|| SwdError::ProbeNotFound(want.to_string()));
    }
    match probes.len() {
        0 => Err(SwdError::NoProbe),
        1 => Ok(probes.remove(0)),
        _ => Err(SwdError::SeveralProbes(
            probes
                .iter()
                .map(|p| p.serial_number.clone().unwrap_or_else(|| "?".into()))
                .collect(),
        )),
    }
}

/// What went wrong while attaching: a locked chip, or no chip answering.
fn attach_error(e: ProbeRsError) -> SwdError {
    match e {
        ProbeRsError::MissingPermissions(_)
        | ProbeRsError::Arm(ArmError::MissingPermissions(_)) => SwdError::Locked,
        ProbeRsError::ChipNotFound(e) => SwdError::Flash(format!("probe-rs has no {TARGET}: {e}")),
        e => SwdError::TargetNotFound(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_chip_is_locked_and_a_silent_one_is_not_found() {
        let locked = ProbeRsError::Arm(ArmError::MissingPermissions("erase_all".into()));
        assert_eq!(attach_error(locked), SwdError::Locked);
        assert_eq!(
            attach_error(ProbeRsError::MissingPermissions("erase_all".into())),
            SwdError::Locked
        );
        assert!(matches!(
            attach_error(ProbeRsError::Timeout),
            SwdError::TargetNotFound(_)
        ));
    }

    #[test]
    fn listing_without_probes_does_not_panic() {
        if list_probes().is_empty() {
            let mut probe = ProbeRsProbe::new(None, false);
            assert_eq!(probe.attach(), Err(SwdError::NoProbe));
            let mut named = ProbeRsProbe::new(Some("nope"), false);
            assert_eq!(named.attach(), Err(SwdError::ProbeNotFound("nope".into())));
            assert!(named.program(&[], &mut |_| {}).is_err(), "not attached");
        }
    }
}
