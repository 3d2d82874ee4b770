//! Short codes an operator reads on the OLED; the full message goes to the log.
//! The table with what each means and what to do is docs/operator-codes.md.

use serde::Serialize;
use std::fmt;

/// The enum, its strings and the list of all codes from one table, so none can be missed.
macro_rules! operator_codes {
    ($($(#[$doc:meta])* $name:ident => $code:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum OperatorCode {
            $($(#[$doc])* $name,)*
        }

        impl OperatorCode {
            /// Every code, in the order of the table.
            pub const ALL: &'static [OperatorCode] = &[$(OperatorCode::$name,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(OperatorCode::$name => $code,)*
                }
            }
        }
    };
}

operator_codes! {
    /// No Particle board appeared on the slot's USB port.
    NoBoard => "E-NO-BOARD",
    /// The board vanished mid-operation (unplugged, cable, power).
    Unplugged => "E-UNPLUGGED",
    /// The board is of another platform than the bundle.
    WrongPlatform => "E-WRONG-PLATFORM",
    /// The bundle failed its lock check or could not be loaded.
    Bundle => "E-BUNDLE",
    /// The board stalled DFU requests.
    DfuStall => "E-DFU-STALL",
    /// A DFU operation did not finish in time.
    DfuTimeout => "E-DFU-TIMEOUT",
    /// A data block failed: the bootloader could not write it.
    DfuWrite => "E-DFU-WRITE",
    /// An erase command failed.
    DfuErase => "E-DFU-ERASE",
    /// Setting the address pointer failed.
    DfuAddress => "E-DFU-ADDRESS",
    /// The bootloader did not accept leaving DFU mode.
    DfuLeave => "E-DFU-LEAVE",
    /// Any other DFU status or protocol error.
    DfuProtocol => "E-DFU-PROTO",
    /// Read-back differs from what was written.
    DfuReadback => "E-DFU-READBACK",
    /// A region the bundle does not own, or that is not writable.
    Region => "E-REGION",
    /// Control requests (module info, enter DFU, bootloader update) failed.
    Control => "E-CONTROL",
    /// The board's app disabled firmware updates (Device OS -1380).
    UpdatesDisabled => "E-UPDATES-OFF",
    /// A module larger than Device OS's update area (-1351).
    UpdateTooLarge => "E-UPDATE-SIZE",
    /// Device OS refused a module sent by control request (validation, -1300…-1370).
    UpdateRefused => "E-UPDATE-REFUSED",
    /// The board did not come back on USB after a reset.
    NoReenumerate => "E-REENUM",
    /// The board was asked to reset and kept running, never leaving USB.
    NoReset => "E-NO-RESET",
    /// After flashing, the board does not report the bundle's modules as present and valid.
    Verify => "E-VERIFY",
    /// The operator aborted the run from the menu.
    Aborted => "E-ABORTED",
    /// A peripheral test failed (the reason names it).
    Test => "E-TEST",
    /// A peripheral test got no reply in time.
    TestTimeout => "E-TEST-TIMEOUT",
    /// The test firmware never printed its ready line.
    TestReady => "E-TEST-READY",
    /// The board's serial port is missing or went away during the tests.
    TestSerial => "E-TEST-SERIAL",
    /// The board found on USB is not the one the debug probe programmed (cabling).
    WrongBoard => "E-WRONG-BOARD",
    /// No usable debug probe (missing, not the one configured, several, no permission).
    SwdNoProbe => "E-SWD-NO-PROBE",
    /// The probe sees no nRF52840 on its SWD pins.
    SwdTarget => "E-SWD-TARGET",
    /// The chip's APPROTECT is set.
    SwdLocked => "E-SWD-LOCKED",
    /// Writing over SWD failed.
    SwdFlash => "E-SWD-FLASH",
    /// The unit's record could not be written (disk full, read-only): held, no new unit starts.
    Records => "E-RECORDS",
}

/// As the OLED shows it (`"E-TEST"`), in `--json` and the records alike.
impl Serialize for OperatorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for OperatorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::OperatorCode;

    #[test]
    fn every_code_is_explained_to_operators_and_fits_the_oled() {
        let doc = include_str!("../../docs/operator-codes.md");
        for code in OperatorCode::ALL {
            assert!(
                doc.contains(&format!("| `{code}` |")),
                "{code} is not in docs/operator-codes.md"
            );
            assert!(code.as_str().len() <= 21, "{code}");
        }
    }
}
