//! A debug probe on the chip's SWD pins: what the SWD flashing path needs of it. probe-rs
//! implements it on hardware (`adapters::swd`, feature `swd`), the simulator in `sim::swd`.

use crate::core::event::Phase;
use crate::core::image::Region;
use crate::core::operator_code::OperatorCode;

/// The nRF52840's factory-programmed ID: FICR DEVICEID\[0\] and \[1\] (at 0x1000_0060).
pub type FicrDeviceId = [u32; 2];

/// How far programming is: `done` of `total` bytes of the image, erasing or writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwdProgress {
    pub phase: Phase,
    pub done: u64,
    pub total: u64,
}

pub trait SwdProbe: Send {
    /// Which probe this is (its serial number), for logs and errors.
    fn name(&self) -> String;
    /// Attaches to the chip (under reset, so running firmware cannot interfere) and reads its
    /// factory ID, which names the board before anything is written.
    fn attach(&mut self) -> Result<FicrDeviceId, SwdError>;
    /// Reads flash (or any memory) of the attached chip.
    fn read(&mut self, address: u32, len: usize) -> Result<Vec<u8>, SwdError>;
    /// Writes `regions` as given — each page they touch erased and written, the page's
    /// other bytes kept — then resets the chip and lets it run. Deciding what needs writing
    /// (and whether the chip has an MBR) is the caller's: `core::flash::SwdFlasher`.
    fn program(
        &mut self,
        regions: &[Region],
        progress: &mut dyn FnMut(SwdProgress),
    ) -> Result<(), SwdError>;
    /// Lets an attached chip run again (after a check refused it, or a write failed), so the
    /// board is not left halted.
    fn release(&mut self) -> Result<(), SwdError>;
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
    #[error("no nRF52840 answers on SWD: {0} (wiring, power, reset line?)")]
    TargetNotFound(String),
    #[error(
        "the chip is locked (APPROTECT): it can only be unlocked by erasing all of its flash \
         and UICR; run again with --allow-erase-all if that is what you want"
    )]
    Locked,
    #[error("{0}")]
    Flash(String),
    #[error("this build of flashline has no SWD support (build with --features swd)")]
    NotBuilt,
}

impl SwdError {
    /// The operator code (docs/operator-codes.md) for the OLED and `--json`.
    pub fn code(&self) -> OperatorCode {
        match self {
            SwdError::NoProbe
            | SwdError::ProbeNotFound(_)
            | SwdError::SeveralProbes(_)
            | SwdError::ProbeOpen(_)
            | SwdError::NotBuilt => OperatorCode::SwdNoProbe,
            SwdError::TargetNotFound(_) => OperatorCode::SwdTarget,
            SwdError::Locked => OperatorCode::SwdLocked,
            SwdError::Flash(_) => OperatorCode::SwdFlash,
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
            SwdError::NotBuilt => "no SWD in this build".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_an_swd_operator_code_and_fits_the_oled() {
        let cases = [
            (SwdError::NoProbe, "E-SWD-NO-PROBE"),
            (SwdError::ProbeNotFound("x".into()), "E-SWD-NO-PROBE"),
            (SwdError::SeveralProbes(vec![]), "E-SWD-NO-PROBE"),
            (SwdError::ProbeOpen("x".into()), "E-SWD-NO-PROBE"),
            (SwdError::NotBuilt, "E-SWD-NO-PROBE"),
            (SwdError::TargetNotFound("x".into()), "E-SWD-TARGET"),
            (SwdError::Locked, "E-SWD-LOCKED"),
            (SwdError::Flash("x".into()), "E-SWD-FLASH"),
        ];
        for (e, code) in cases {
            assert_eq!(e.code().as_str(), code, "{e}");
            assert!(e.short_reason().len() <= 21, "{}", e.short_reason());
        }
    }
}
