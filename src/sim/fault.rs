//! Fault switches for simulated boards, named the same everywhere: `--sim=FAULT[,FAULT]`,
//! scripts, tests. Each fires once (at its moment) and is gone after the board is re-seated,
//! so a second attempt on the same board succeeds.

use std::fmt;

use crate::core::dfu::DfuState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Unplugged during the first module written by DFU.
    Unplug,
    /// Unplugged once this many data bytes were written by DFU.
    UnplugAfter(u64),
    /// Unplugged when the DFU state machine enters this state.
    UnplugIn(DfuState),
    /// Every DNLOAD is stalled into dfuERROR/errUNKNOWN, as the bootloader answers a DNLOAD in
    /// a state without a transition (usbd_dfu.cpp:202-205), from the first one until
    /// re-seated.
    Stall,
    /// The flash write of the block holding this address (or of the first block) fails: the
    /// next GETSTATUS reports errUNKNOWN in dfuERROR, as for every MAL failure
    /// (usbd_dfu.cpp:544-550).
    WriteError(Option<u32>),
    /// The first erase never finishes: the bootloader's interrupt never returns, so the next
    /// GETSTATUS is never answered and the host's transfer times out.
    SlowErase,
    /// After leaving DFU the board never comes back on USB.
    NoReenumerate,
    /// Asked to enter DFU by control request, the board never comes back on USB.
    NoDfu,
    /// Device OS refuses the enter-DFU control request (the app's control-request filter
    /// denies it, -130; the 14400-baud trick still works).
    RefuseDfuRequest,
    /// The app the board is seated with disables firmware updates (System.disableUpdates()):
    /// START answers -1380 (Device OS ≥ 3.0) or 1 (older). An app written later does not.
    UpdatesDisabled,
    /// The app disables resets (System.disableReset()): after FINISH the pending shutdown
    /// never happens and the board keeps running. Stays until re-seated with another app.
    ResetDisabled,
    /// The board is a Boron.
    WrongPlatform,
    /// One byte flips in flash after it was written.
    Corrupt,
    /// The test firmware answers the command naming this test with this value.
    Meas(String, String),
    /// The test firmware never answers the command naming this test.
    NoReply(String),
    /// The test firmware answers `ERR` to the command naming this test.
    Err(String),
    /// Random bytes instead of a reply line.
    Garbage(String),
    /// The serial port vanishes when the command naming this test is sent.
    SerialDrop(String),
    /// The board has no working bootloader (straight from assembly, or corrupted): it never
    /// shows up on USB; only a debug probe can bring it to life. Stays until SWD writes one.
    NoBootloader,
    /// The chip has APPROTECT set: SWD can only erase it whole. Stays until erased.
    SwdLocked,
    /// The probe gets no answer on the SWD pins (a pogo pin not touching).
    SwdNoTarget,
}

pub const FAULT_NAMES: &str =
    "unplug, unplug-after:BYTES, unplug-in:STATE, stall, write-error[:ADDR], \
slow-erase, no-reenumerate, no-dfu, refuse-dfu-request, updates-disabled, reset-disabled, \
wrong-platform, corrupt, meas:TEST=VALUE, no-reply:TEST, err:TEST, garbage:TEST, serial-drop:TEST, \
no-bootloader, swd-locked, swd-no-target";

impl Fault {
    pub fn parse(word: &str) -> Result<Fault, String> {
        let (name, arg) = match word.split_once(':') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (word.trim(), None),
        };
        let number = |a: &str| -> Result<u64, String> {
            let parsed = match a.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => a.parse(),
            };
            parsed.map_err(|_| format!("`{word}`: `{a}` is not a number"))
        };
        let fault = match (name, arg) {
            ("unplug", None) => Fault::Unplug,
            ("unplug-after", Some(a)) => Fault::UnplugAfter(number(a)?),
            ("unplug-in", Some(a)) => Fault::UnplugIn(
                DfuState::from_name(a)
                    .ok_or_else(|| format!("`{word}`: unknown DFU state (e.g. dfuDNBUSY)"))?,
            ),
            ("stall", None) => Fault::Stall,
            ("write-error", None) => Fault::WriteError(None),
            ("write-error", Some(a)) => Fault::WriteError(Some(
                u32::try_from(number(a)?).map_err(|_| format!("`{word}`: address too large"))?,
            )),
            ("slow-erase", None) => Fault::SlowErase,
            ("no-reenumerate", None) => Fault::NoReenumerate,
            ("no-dfu", None) => Fault::NoDfu,
            ("refuse-dfu-request", None) => Fault::RefuseDfuRequest,
            ("updates-disabled", None) => Fault::UpdatesDisabled,
            ("reset-disabled", None) => Fault::ResetDisabled,
            ("wrong-platform", None) => Fault::WrongPlatform,
            ("corrupt", None) => Fault::Corrupt,
            ("no-bootloader", None) => Fault::NoBootloader,
            ("swd-locked", None) => Fault::SwdLocked,
            ("swd-no-target", None) => Fault::SwdNoTarget,
            ("meas", Some(a)) => match a.split_once('=') {
                Some((test, value)) if !test.is_empty() => Fault::Meas(test.into(), value.into()),
                _ => return Err(format!("`{word}`: expected meas:TEST=VALUE")),
            },
            ("no-reply", Some(t)) if !t.is_empty() => Fault::NoReply(t.into()),
            ("err", Some(t)) if !t.is_empty() => Fault::Err(t.into()),
            ("garbage", Some(t)) if !t.is_empty() => Fault::Garbage(t.into()),
            ("serial-drop", Some(t)) if !t.is_empty() => Fault::SerialDrop(t.into()),
            _ => return Err(format!("unknown sim fault `{word}` (known: {FAULT_NAMES})")),
        };
        Ok(fault)
    }

    /// `unplug,write-error:0x30000` → faults; empty → none.
    pub fn parse_list(list: &str) -> Result<Vec<Fault>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(Fault::parse)
            .collect()
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Unplug => write!(f, "unplug"),
            Fault::UnplugAfter(n) => write!(f, "unplug-after:{n}"),
            Fault::UnplugIn(s) => write!(f, "unplug-in:{s}"),
            Fault::Stall => write!(f, "stall"),
            Fault::WriteError(None) => write!(f, "write-error"),
            Fault::WriteError(Some(a)) => write!(f, "write-error:0x{a:x}"),
            Fault::SlowErase => write!(f, "slow-erase"),
            Fault::NoReenumerate => write!(f, "no-reenumerate"),
            Fault::NoDfu => write!(f, "no-dfu"),
            Fault::RefuseDfuRequest => write!(f, "refuse-dfu-request"),
            Fault::UpdatesDisabled => write!(f, "updates-disabled"),
            Fault::ResetDisabled => write!(f, "reset-disabled"),
            Fault::WrongPlatform => write!(f, "wrong-platform"),
            Fault::Corrupt => write!(f, "corrupt"),
            Fault::Meas(t, v) => write!(f, "meas:{t}={v}"),
            Fault::NoReply(t) => write!(f, "no-reply:{t}"),
            Fault::Err(t) => write!(f, "err:{t}"),
            Fault::Garbage(t) => write!(f, "garbage:{t}"),
            Fault::SerialDrop(t) => write!(f, "serial-drop:{t}"),
            Fault::NoBootloader => write!(f, "no-bootloader"),
            Fault::SwdLocked => write!(f, "swd-locked"),
            Fault::SwdNoTarget => write!(f, "swd-no-target"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_round_trips_through_its_name() {
        let all =
            "unplug,unplug-after:200000,unplug-in:dfuDNBUSY,stall,write-error,write-error:0x30000,\
                   slow-erase,no-reenumerate,wrong-platform,corrupt,meas:vin=10.2,no-reply:vin,err:imu,\
                   garbage:vin,serial-drop:gpio_loop,no-bootloader,swd-locked,swd-no-target,\
                   updates-disabled,reset-disabled,no-dfu,refuse-dfu-request";
        let faults = Fault::parse_list(all).unwrap();
        assert_eq!(faults.len(), 22);
        let again: Vec<String> = faults.iter().map(|f| f.to_string()).collect();
        assert_eq!(Fault::parse_list(&again.join(",")).unwrap(), faults);
    }

    #[test]
    fn unknown_words_are_refused_with_the_list() {
        let e = Fault::parse("unplugg").unwrap_err();
        assert!(e.contains("unplugg") && e.contains("no-reenumerate"), "{e}");
        assert!(Fault::parse("unplug-after:lots").is_err());
        assert!(Fault::parse("unplug-in:dfuNOPE").is_err());
        assert!(Fault::parse("meas:vin").is_err());
    }
}
