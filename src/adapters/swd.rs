//! Flashing over SWD with a debug probe (the Particle Debugger, any CMSIS-DAP, J-Link,
//! ST-Link…), with probe-rs as a library. It writes the same regions as the DFU path
//! (`core::image::image_of`) plus the bootloader, which only a probe may write; what the
//! board then reports is verified over USB by the ordinary `Flasher` (see `cli::flash_cmd`).
//!
//! Only in builds with `--features swd`.

use probe_rs::architecture::arm::ArmError;
use probe_rs::flashing::DownloadOptions;
use probe_rs::probe::list::{Accessibility, Lister};
use probe_rs::probe::DebugProbeInfo;
use probe_rs::{Error as ProbeRsError, MemoryInterface, Permissions};
use serde::Serialize;

use crate::core::image::Region;

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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwdError {
    #[error("no debug probe found on USB")]
    NoProbe,
    #[error("no debug probe with serial {0}")]
    ProbeNotFound(String),
    #[error("{} debug probes attached ({}): choose one with --probe SERIAL", .0.len(), .0.join(", "))]
    SeveralProbes(Vec<String>),
    #[error("opening the debug probe: {0} (permissions? see docs/hil.md)")]
    ProbeOpen(String),
    #[error("no {TARGET} answers on SWD: {0} (wiring, power, reset line?)")]
    TargetNotFound(String),
    #[error(
        "the chip is locked (APPROTECT): it can only be unlocked by erasing all of its flash \
         and UICR; run again with --allow-erase-all if that is what you want"
    )]
    Locked,
    #[error("{0}")]
    Flash(String),
}

impl SwdError {
    /// The operator code (docs/operator-codes.md) for the OLED and `--json`.
    pub fn code(&self) -> &'static str {
        match self {
            SwdError::NoProbe
            | SwdError::ProbeNotFound(_)
            | SwdError::SeveralProbes(_)
            | SwdError::ProbeOpen(_) => "E-SWD-NO-PROBE",
            SwdError::TargetNotFound(_) => "E-SWD-TARGET",
            SwdError::Locked => "E-SWD-LOCKED",
            SwdError::Flash(_) => "E-SWD-FLASH",
        }
    }

    /// One line for the OLED.
    pub fn short_reason(&self) -> String {
        match self {
            SwdError::NoProbe => "no debug probe".into(),
            SwdError::ProbeNotFound(_) => "probe not found".into(),
            SwdError::SeveralProbes(_) => "several probes".into(),
            SwdError::ProbeOpen(_) => "cannot open probe".into(),
            SwdError::TargetNotFound(_) => "no target on SWD".into(),
            SwdError::Locked => "chip locked".into(),
            SwdError::Flash(_) => "SWD write failed".into(),
        }
    }
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

/// Writes `regions` into the nRF52840's flash over SWD, then resets the chip and lets it run.
///
/// Opens the probe with `probe_serial`, or the only one attached; attaches under reset. A chip
/// with APPROTECT set is erased whole (flash and UICR) only if `allow_erase_all`; otherwise it
/// is `SwdError::Locked` and nothing changes. Sectors the regions do not touch are kept, so the
/// MBR (0x0–0x1000), which no bundle carries, must already be there: a board without one is
/// refused before anything is written, as it could never boot.
pub fn program(
    regions: &[Region],
    probe_serial: Option<&str>,
    allow_erase_all: bool,
) -> Result<(), SwdError> {
    let info = choose_probe(probe_serial)?;
    log::info!("SWD: probe {info}");
    let probe = info
        .open()
        .map_err(|e| SwdError::ProbeOpen(e.to_string()))?;
    let permissions = match allow_erase_all {
        true => Permissions::new().allow_erase_all(),
        false => Permissions::new(),
    };
    let mut session = probe
        .attach_under_reset(TARGET, permissions)
        .map_err(attach_error)?;
    let flash_err = |what: &str| {
        let what = what.to_string();
        move |e: ProbeRsError| SwdError::Flash(format!("{what}: {e}"))
    };

    let mbr = session
        .core(0)
        .and_then(|mut core| core.read_word_32(0))
        .map_err(flash_err("reading the MBR"))?;
    if mbr == 0xFFFF_FFFF {
        return Err(SwdError::Flash(
            "flash is blank at 0x0: no MBR (a new or erased chip); the bundle does not carry \
             Nordic's MBR, so the board could not boot — restore MBR and UICR first \
             (docs/hil.md)"
                .into(),
        ));
    }

    let mut loader = session.target().flash_loader();
    for r in regions {
        log::info!(
            "SWD: {} at {:#07x}, {} bytes",
            r.label,
            r.address,
            r.bytes.len()
        );
        loader
            .add_data(u64::from(r.address), &r.bytes)
            .map_err(|e| SwdError::Flash(format!("{} at {:#x}: {e}", r.label, r.address)))?;
    }
    loader
        .commit(&mut session, DownloadOptions::default())
        .map_err(|e| SwdError::Flash(format!("programming: {e}")))?;

    session
        .core(0)
        .and_then(|mut core| core.reset())
        .map_err(flash_err("reset after programming"))
}

fn choose_probe(serial: Option<&str>) -> Result<DebugProbeInfo, SwdError> {
    let probes = std::panic::catch_unwind(|| Lister::new().list_all()).unwrap_or_default();
    match serial {
        Some(want) => probes
            .into_iter()
            .find(|p| {
                p.serial_number
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(want))
            })
            .ok_or_else(|| SwdError::ProbeNotFound(want.to_string())),
        None => match probes.len() {
            0 => Err(SwdError::NoProbe),
            1 => Ok(probes.into_iter().next().unwrap()),
            _ => Err(SwdError::SeveralProbes(
                probes
                    .iter()
                    .map(|p| p.serial_number.clone().unwrap_or_else(|| "?".into()))
                    .collect(),
            )),
        },
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
    fn every_error_has_an_swd_operator_code() {
        let cases = [
            (SwdError::NoProbe, "E-SWD-NO-PROBE"),
            (SwdError::ProbeNotFound("x".into()), "E-SWD-NO-PROBE"),
            (SwdError::SeveralProbes(vec![]), "E-SWD-NO-PROBE"),
            (SwdError::ProbeOpen("x".into()), "E-SWD-NO-PROBE"),
            (SwdError::TargetNotFound("x".into()), "E-SWD-TARGET"),
            (SwdError::Locked, "E-SWD-LOCKED"),
            (SwdError::Flash("x".into()), "E-SWD-FLASH"),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code, "{e}");
            assert!(e.short_reason().len() <= 21, "{}", e.short_reason());
        }
    }

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
        let _ = list_probes();
        if list_probes().is_empty() {
            assert_eq!(program(&[], None, false), Err(SwdError::NoProbe));
            assert_eq!(
                program(&[], Some("nope"), false),
                Err(SwdError::ProbeNotFound("nope".into()))
            );
        }
    }
}
