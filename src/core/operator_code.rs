//! Short codes an operator reads on the OLED; the full message goes to the log.
//!
//! One table: each row is the code, what the OLED says in plain words (one 21-character line)
//! and the first thing to try (espflash's `help`: `flash` and `test` print it, the OLED shows
//! its first clause, docs/operator-codes.md lists it; a test checks all three agree).

use serde::Serialize;
use std::fmt;

/// The enum, its strings and the list of all codes from one table, so none can be missed.
macro_rules! operator_codes {
    ($($(#[$doc:meta])* $name:ident => $code:literal, $says:literal, $hint:literal,)*) => {
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

            /// What happened, in words an operator reads from a metre (≤ 21 characters).
            pub fn says(self) -> &'static str {
                match self {
                    $(OperatorCode::$name => $says,)*
                }
            }

            /// The first thing to try. Its first clause (up to `;`) is a short action for the
            /// OLED; the rest explains.
            pub fn hint(self) -> &'static str {
                match self {
                    $(OperatorCode::$name => $hint,)*
                }
            }
        }
    };
}

operator_codes! {
    /// No Particle board appeared on the slot's USB port.
    NoBoard => "E-NO-BOARD", "no board found on USB",
        "reseat the board; check the fixture's USB cable and the slot's `usb_port` in station.toml (`flashline flash --list` shows the port of a plugged board)",
    /// The board vanished mid-operation (unplugged, cable, power).
    Unplugged => "E-UNPLUGGED", "board was pulled out",
        "reseat, press START; flashing resumes from whatever the board holds",
    /// The board is of another platform than the bundle.
    WrongPlatform => "E-WRONG-PLATFORM", "wrong kind of board",
        "set the board aside; it is not the bundle's platform (e.g. a Boron on an Argon line) and nothing was written to it",
    /// The bundle failed its lock check or could not be loaded.
    Bundle => "E-BUNDLE", "bundle is not usable",
        "import a good bundle; `flashline bundle verify DIR` says which file differs",
    /// The board stalled DFU requests.
    DfuStall => "E-DFU-STALL", "board refused flash",
        "reseat and retry; if it repeats, the board's bootloader is suspect (recover it over SWD)",
    /// A DFU operation did not finish in time.
    DfuTimeout => "E-DFU-TIMEOUT", "flashing timed out",
        "reseat and retry; repeated on one board: a flash hardware fault, reject the board",
    /// A data block failed: the bootloader could not write it.
    DfuWrite => "E-DFU-WRITE", "flash write failed",
        "reseat and retry once; repeated: reject the board",
    /// An erase command failed.
    DfuErase => "E-DFU-ERASE", "flash erase failed",
        "reseat and retry once; repeated: reject the board",
    /// Setting the address pointer failed.
    DfuAddress => "E-DFU-ADDRESS", "flash address failed",
        "reseat and retry; if it repeats, send the `flashline flash --trace FILE` output with a bug report",
    /// The bootloader did not accept leaving DFU mode.
    DfuLeave => "E-DFU-LEAVE", "DFU exit refused",
        "reseat the board; it boots what it holds, and flashing resumes from there",
    /// Any other DFU status or protocol error.
    DfuProtocol => "E-DFU-PROTO", "flashing went wrong",
        "reseat and retry; if it repeats, send the `flashline flash --trace FILE` output with a bug report",
    /// Read-back differs from what was written.
    DfuReadback => "E-DFU-READBACK", "flash check differs",
        "reject the board; its flash does not hold what was written",
    /// A region the bundle does not own, or that is not writable.
    Region => "E-REGION", "bundle layout wrong",
        "call an engineer; the bundle would write outside its regions (refused before writing): re-lock it",
    /// Control requests (module info, enter DFU, bootloader update) failed.
    Control => "E-CONTROL", "board did not answer",
        "reseat and retry; the board's firmware may be crashing (it is reflashed in DFU mode)",
    /// The board's app disabled firmware updates (Device OS -1380).
    UpdatesDisabled => "E-UPDATES-OFF", "updates disabled",
        "set the board aside; its app disabled firmware updates (`System.disableUpdates()`) and the bundle's app would not replace it: flash it over SWD (`flash --swd`)",
    /// A module larger than Device OS's update area (-1351).
    UpdateTooLarge => "E-UPDATE-SIZE", "module too large",
        "call an engineer; a module is larger than Device OS's 1500 KiB update area (refused before sending): re-build the bundle",
    /// Device OS refused a module sent by control request (validation, -1300…-1370).
    UpdateRefused => "E-UPDATE-REFUSED", "board refused module",
        "reseat and retry once; Device OS refused a module (integrity, dependency, platform or format): check the bundle with `flashline bundle verify`",
    /// The board lacks a module the bundle needs it to own (its NCP firmware): nothing written.
    DeviceDependency => "E-DEVICE-DEP", "board lacks its NCP",
        "set the board aside; it lacks what the bundle needs it to own (the log names the module): update its NCP first, or use a bundle for it",
    /// A protected bootloader for an open board, or a Protected Device refusing an update.
    Protected => "E-PROTECTED", "protection mismatch",
        "set the board aside; the bundle's bootloader is protected and the board is not a Protected Device, or a Protected Device refused the update (nothing unsafe was written)",
    /// The board's Device OS or bootloader cannot install a module form the bundle uses.
    BoardTooOld => "E-BOARD-TOO-OLD", "board OS too old",
        "call an engineer; the board's Device OS cannot install one of the bundle's module forms or its assets (refused before sending it; the log says what it needs): use the uncompressed file, or a bundle of a newer Device OS",
    /// The board did not come back on USB after a reset.
    NoReenumerate => "E-REENUM", "board did not restart",
        "reseat and retry; check the USB hub's power",
    /// The board was asked to reset and kept running, never leaving USB.
    NoReset => "E-NO-RESET", "board did not reset",
        "press RESET or reseat; the board's app holds off resets (`System.disableReset()`), which the bundle's app should not do",
    /// After flashing, the board does not report the bundle's modules as present and valid.
    Verify => "E-VERIFY", "firmware check failed",
        "reseat and retry once; repeated: reject the board",
    /// The operator aborted the run from the menu.
    Aborted => "E-ABORTED", "aborted from the menu",
        "reseat, press START; when the board is ready",
    /// A peripheral test failed (the reason names it).
    Test => "E-TEST", "a test failed",
        "check the tested part; the reason names the test, its value and limits; `flashline test` re-tests",
    /// A peripheral test got no reply in time.
    TestTimeout => "E-TEST-TIMEOUT", "test got no answer",
        "check the contacts; the fixture's connection for that test, then re-test with `flashline test`",
    /// The test firmware never printed its ready line.
    TestReady => "E-TEST-READY", "test firmware silent",
        "call an engineer; the application is not the test firmware, or it crashes at boot",
    /// The board's serial port is missing or went away during the tests.
    TestSerial => "E-TEST-SERIAL", "lost the serial port",
        "reseat and retry; check the USB cable",
    /// The board found on USB is not the one the debug probe programmed (cabling).
    WrongBoard => "E-WRONG-BOARD", "USB and probe differ",
        "call an engineer; the slot's USB cable and debug probe reach different boards (`usb_port`, `probe` in station.toml)",
    /// No usable debug probe (missing, not the one configured, several, no permission).
    SwdNoProbe => "E-SWD-NO-PROBE", "debug probe missing",
        "plug the probe in; `flashline probes` lists probes, `flashline selftest` checks the slot's",
    /// The probe sees no nRF52840 on its SWD pins.
    SwdTarget => "E-SWD-TARGET", "probe finds no chip",
        "reseat the board; check the pogo pins and the 10-pin cable",
    /// The chip's APPROTECT is set.
    SwdLocked => "E-SWD-LOCKED", "chip is locked",
        "set the board aside; recovering erases the whole chip, by hand only: `flash --swd --allow-erase-all` with a bundle that carries an MBR",
    /// Writing over SWD failed.
    SwdFlash => "E-SWD-FLASH", "SWD write failed",
        "reseat and retry; docs/hil.md §6",
    /// The unit's record could not be written (disk full, read-only): held, no new unit starts.
    Records => "E-RECORDS", "record not saved",
        "keep the board seated; call an engineer to free space on the records disk (`flashline selftest` shows it) or fix the database file (read-only, moved, replaced), and the slot shows the unit's real verdict once its record is written. If the station is stopped first, the unit's record is in the log (`unit NOT recorded: {…}`) and `run` exits non-zero",
    /// The scanned serial is recorded on another device: stopped before writing until a
    /// supervisor badge confirms a rework.
    SerialDup => "E-SERIAL-DUP", "serial on other board",
        "scan supervisor badge; the serial is recorded on another board: a supervisor's badge confirms a rework (the record names them), else find which board the serial belongs to",
    /// The device is recorded under another serial: stopped the same way.
    DeviceDup => "E-DEVICE-DUP", "board has a serial",
        "scan supervisor badge; this board is recorded under another serial (a second label?): a supervisor's badge confirms a relabel",
    /// A label could not be printed: a notice, never a unit's verdict (its record is written).
    Label => "E-LABEL", "label not printed",
        "check label printer; the record is written and the verdict stands: menu, reprint label, or `flashline records reprint --serial SERIAL`",
}

/// The prefix of the final-firmware stage's codes: `E-FINAL-` + the code without `E-`.
pub const FINAL_PREFIX: &str = "E-FINAL-";

impl OperatorCode {
    /// The code a unit's record holds, final-stage codes included (`E-FINAL-DFU-WRITE` is
    /// `DfuWrite`).
    pub fn parse(code: &str) -> Option<OperatorCode> {
        let plain = match code.strip_prefix(FINAL_PREFIX) {
            Some(rest) => format!("E-{rest}"),
            None => code.to_string(),
        };
        Self::ALL.iter().copied().find(|c| c.as_str() == plain)
    }

    /// The hint's first clause: what the OLED tells the operator to do.
    pub fn action(self) -> &'static str {
        self.hint().split(';').next().unwrap_or_default()
    }

    /// Whether the unit's own reason is for the operator too (a test names what it measured),
    /// rather than for the log.
    pub fn reason_is_plain(self) -> bool {
        use OperatorCode::*;
        matches!(self, Test | TestTimeout | TestReady | WrongPlatform)
    }
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

    /// The OLED's text line holds 21 characters of the 6×10 font.
    const OLED_LINE: usize = 21;

    #[test]
    fn every_code_is_explained_to_operators_with_its_hint_and_fits_the_oled() {
        let doc = include_str!("../../docs/operator-codes.md");
        for code in OperatorCode::ALL {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{code}` |")))
                .unwrap_or_else(|| panic!("{code} is not in docs/operator-codes.md"));
            assert!(
                row.trim_end()
                    .ends_with(&format!("| {} | {} |", code.says(), code.hint())),
                "docs/operator-codes.md: what the OLED says or the hint of {code} differs from \
                 the table:\n{row}\n{} | {}",
                code.says(),
                code.hint()
            );
            assert!(code.as_str().len() <= OLED_LINE, "{code}");
            assert!(code.says().len() <= OLED_LINE, "{code}: {}", code.says());
            assert!(
                code.action().len() <= OLED_LINE,
                "{code}: {}",
                code.action()
            );
        }
    }

    #[test]
    fn final_stage_codes_parse_to_their_row() {
        assert_eq!(
            OperatorCode::parse("E-FINAL-DFU-WRITE"),
            Some(OperatorCode::DfuWrite)
        );
        assert_eq!(OperatorCode::parse("E-TEST"), Some(OperatorCode::Test));
        assert_eq!(OperatorCode::parse("E-NOPE"), None);
        assert_eq!(OperatorCode::DfuWrite.action(), "reseat and retry once");
    }
}
