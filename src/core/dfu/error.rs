use std::fmt;

use super::{DfuState, DfuStatusCode, LayoutError};
use crate::ports::UsbError;

/// Which step of a DFU session failed: what the host knows for sure. Particle's bootloader
/// reports every flash failure as errUNKNOWN (usbd_dfu.cpp:239, 497, 547 @ v6.2.0), so the
/// status byte cannot say whether an erase or a write failed; the step can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DfuStep {
    AltSettings,
    Descriptor,
    SelectAlt,
    GetStatus,
    ClearStatus,
    Abort,
    Erase,
    SetAddress,
    Write,
    Read,
    Leave,
}

impl DfuStep {
    pub fn name(self) -> &'static str {
        match self {
            DfuStep::AltSettings => "read alt settings",
            DfuStep::Descriptor => "read functional descriptor",
            DfuStep::SelectAlt => "select alt setting",
            DfuStep::GetStatus => "get status",
            DfuStep::ClearStatus => "clear status",
            DfuStep::Abort => "abort",
            DfuStep::Erase => "erase",
            DfuStep::SetAddress => "set address",
            DfuStep::Write => "write",
            DfuStep::Read => "read",
            DfuStep::Leave => "leave",
        }
    }

    /// A word for the OLED's 21-character reason line.
    pub fn short(self) -> &'static str {
        match self {
            DfuStep::Erase => "erase",
            DfuStep::SetAddress => "addr",
            DfuStep::Write => "write",
            DfuStep::Read => "read",
            DfuStep::Leave => "leave",
            _ => "DFU",
        }
    }
}

impl fmt::Display for DfuStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// ` at 0x000d4000`, or nothing.
fn at(address: &Option<u32>) -> String {
    address.map_or(String::new(), |a| format!(" at 0x{a:08x}"))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DfuError {
    #[error("{step}{}: USB {source}", at(.address))]
    Usb {
        step: DfuStep,
        address: Option<u32>,
        source: UsbError,
    },
    #[error("{step}{}: device reports {status} in {state}", at(.address))]
    Device {
        step: DfuStep,
        address: Option<u32>,
        status: DfuStatusCode,
        state: DfuState,
    },
    #[error("{step}: unexpected state {state}")]
    UnexpectedState { step: DfuStep, state: DfuState },
    #[error("{step}{}: still {state} after {waited_ms} ms", at(.address))]
    PollTimeout {
        step: DfuStep,
        address: Option<u32>,
        state: DfuState,
        waited_ms: u64,
    },
    #[error("{step}: malformed GETSTATUS reply ({len} bytes)")]
    BadStatus { step: DfuStep, len: usize },
    #[error("0x{start:08x}..0x{end:08x} is not writable in `{layout}`")]
    NotWritable {
        start: u64,
        end: u64,
        layout: String,
    },
    #[error("0x{start:08x}..0x{end:08x} is not readable in `{layout}`")]
    NotReadable {
        start: u64,
        end: u64,
        layout: String,
    },
    #[error("no DFU interface alt setting {0}")]
    NoAltSetting(u8),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("bad DFU functional descriptor")]
    BadDescriptor,
    #[error("readback differs from what was written at 0x{address:08x}")]
    Readback { address: u32 },
}

impl DfuError {
    /// The device went away (unplugged, or reset) mid-operation.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            DfuError::Usb {
                source: UsbError::NoDevice,
                ..
            }
        )
    }

    /// The step that failed, when it is one of the session's own.
    pub fn step(&self) -> Option<DfuStep> {
        match self {
            DfuError::Usb { step, .. }
            | DfuError::Device { step, .. }
            | DfuError::UnexpectedState { step, .. }
            | DfuError::PollTimeout { step, .. }
            | DfuError::BadStatus { step, .. } => Some(*step),
            _ => None,
        }
    }
}
