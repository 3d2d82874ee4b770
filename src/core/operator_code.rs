//! Short codes an operator reads on the OLED; the full message goes to the log.
//! The table with what each means and what to do is docs/operator-codes.md.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum OperatorCode {
    /// No Particle board appeared on the slot's USB port.
    NoBoard,
    /// The board vanished mid-operation (unplugged, cable, power).
    Unplugged,
    /// The board is of another platform than the bundle.
    WrongPlatform,
    /// The bundle failed its lock check or could not be loaded.
    Bundle,
    /// The board stalled DFU requests.
    DfuStall,
    /// A DFU operation did not finish in time.
    DfuTimeout,
    /// The board reported a write error.
    DfuWrite,
    /// The board reported an erase error.
    DfuErase,
    /// Any other DFU status or protocol error.
    DfuProtocol,
    /// Read-back differs from what was written.
    DfuReadback,
    /// A region the bundle does not own, or that is not writable.
    Region,
    /// Control requests (module info, enter DFU, bootloader update) failed.
    Control,
    /// The board did not come back on USB after a reset.
    NoReenumerate,
    /// After flashing, the board does not report the bundle's modules as present and valid.
    Verify,
    /// The operator aborted the run from the menu.
    Aborted,
    /// A peripheral test failed (the reason names it).
    Test,
    /// A peripheral test got no reply in time.
    TestTimeout,
    /// The test firmware never printed its ready line.
    TestReady,
    /// The board's serial port is missing or went away during the tests.
    TestSerial,
    /// The board found on USB is not the one the debug probe programmed (cabling).
    WrongBoard,
    /// No usable debug probe (missing, not the one configured, several, no permission).
    SwdNoProbe,
    /// The probe sees no nRF52840 on its SWD pins.
    SwdTarget,
    /// The chip's APPROTECT is set.
    SwdLocked,
    /// Writing over SWD failed.
    SwdFlash,
}

impl OperatorCode {
    pub fn as_str(self) -> &'static str {
        use OperatorCode::*;
        match self {
            NoBoard => "E-NO-BOARD",
            Unplugged => "E-UNPLUGGED",
            WrongPlatform => "E-WRONG-PLATFORM",
            Bundle => "E-BUNDLE",
            DfuStall => "E-DFU-STALL",
            DfuTimeout => "E-DFU-TIMEOUT",
            DfuWrite => "E-DFU-WRITE",
            DfuErase => "E-DFU-ERASE",
            DfuProtocol => "E-DFU-PROTO",
            DfuReadback => "E-DFU-READBACK",
            Region => "E-REGION",
            Control => "E-CONTROL",
            NoReenumerate => "E-REENUM",
            Verify => "E-VERIFY",
            Aborted => "E-ABORTED",
            Test => "E-TEST",
            TestTimeout => "E-TEST-TIMEOUT",
            TestReady => "E-TEST-READY",
            TestSerial => "E-TEST-SERIAL",
            WrongBoard => "E-WRONG-BOARD",
            SwdNoProbe => "E-SWD-NO-PROBE",
            SwdTarget => "E-SWD-TARGET",
            SwdLocked => "E-SWD-LOCKED",
            SwdFlash => "E-SWD-FLASH",
        }
    }
}

impl fmt::Display for OperatorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::OperatorCode::{self, *};

    /// Every code (keep in step with the enum).
    const ALL: &[OperatorCode] = &[
        NoBoard,
        Unplugged,
        WrongPlatform,
        Bundle,
        DfuStall,
        DfuTimeout,
        DfuWrite,
        DfuErase,
        DfuProtocol,
        DfuReadback,
        Region,
        Control,
        NoReenumerate,
        Verify,
        Aborted,
        Test,
        TestTimeout,
        TestReady,
        TestSerial,
        WrongBoard,
        SwdNoProbe,
        SwdTarget,
        SwdLocked,
        SwdFlash,
    ];

    #[test]
    fn every_code_is_explained_to_operators_and_fits_the_oled() {
        let doc = include_str!("../../docs/operator-codes.md");
        for code in ALL {
            assert!(
                doc.contains(&format!("| `{code}` |")),
                "{code} is not in docs/operator-codes.md"
            );
            assert!(code.as_str().len() <= 21, "{code}");
        }
    }
}
