use super::{DfuState, DfuStatusCode, LayoutError};
use crate::ports::UsbError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DfuError {
    #[error("{op}: USB {source}")]
    Usb { op: &'static str, source: UsbError },
    #[error("{op}: device reports {status} in {state}")]
    Device {
        op: &'static str,
        status: DfuStatusCode,
        state: DfuState,
    },
    #[error("{op}: unexpected state {state}")]
    UnexpectedState { op: &'static str, state: DfuState },
    #[error("{op}: still {state} after {waited_ms} ms")]
    PollTimeout {
        op: &'static str,
        state: DfuState,
        waited_ms: u64,
    },
    #[error("{op}: malformed GETSTATUS reply ({len} bytes)")]
    BadStatus { op: &'static str, len: usize },
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
}
