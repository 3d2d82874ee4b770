use crate::core::control::ControlError;
use crate::core::dfu::{DfuError, DfuStep};
use crate::core::operator_code::OperatorCode;
use crate::core::trace::Refusal;
use crate::ports::{PortPath, SwdError, UsbError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlashError {
    /// The station's identity check refused the board (serial/device mix-up): nothing written.
    #[error("{}: nothing written", .0.detail)]
    Refused(Refusal),
    #[error("no Particle board on USB port {port} within {waited_ms} ms")]
    NoBoard { port: PortPath, waited_ms: u64 },
    #[error("board on {port} is platform {board}, the bundle is for {bundle}: nothing written")]
    WrongPlatform {
        port: PortPath,
        board: String,
        bundle: String,
    },
    #[error("board on {port} did not come back as {expected} within {waited_ms} ms after reset")]
    NoReenumerate {
        port: PortPath,
        expected: &'static str,
        waited_ms: u64,
    },
    #[error(
        "board on {port} was asked to reset but is still running (USB address {}) {waited_ms} ms \
         later: it never left USB",
        address.map_or("unknown".to_string(), |a| a.to_string())
    )]
    NoReset {
        port: PortPath,
        address: Option<u8>,
        waited_ms: u64,
    },
    #[error("board on {port} went away during {during}")]
    Unplugged { port: PortPath, during: String },
    #[error("writing {module}: {source}")]
    Dfu { module: String, source: DfuError },
    #[error("{during}: {source}")]
    Control {
        during: &'static str,
        source: ControlError,
    },
    #[error(
        "the board's app disabled firmware updates (Device OS refused {module}), and the \
         bundle's own app would not replace it"
    )]
    UpdatesDisabled { module: String },
    #[error("{module} is larger than Device OS's 1500 KiB update area ({size} bytes)")]
    UpdateTooLarge { module: String, size: usize },
    #[error("Device OS refused {module}: {}", crate::core::control::result::describe(*.result))]
    UpdateRefused { module: String, result: i32 },
    #[error(
        "the board lacks what the bundle needs it to own, nothing written: {}",
        .0.join("; ")
    )]
    DeviceDependency(Vec<String>),
    #[error("{0}; nothing written")]
    NotProtected(String),
    #[error("Device OS refused {module}: the board is a Protected Device (-1801 PROTECTED)")]
    Protected { module: String },
    #[error(
        "{module} cannot go to this board: {needs}, and it has {board}; nothing of it written"
    )]
    BoardTooOld {
        module: String,
        needs: String,
        board: String,
    },
    #[error("opening the board on {port}: {source}")]
    Open { port: PortPath, source: UsbError },
    #[error("{0}")]
    Region(String),
    #[error("after flashing, the board reports: {}", .0.join("; "))]
    Verify(Vec<String>),
    #[error("aborted by the operator")]
    Aborted,
    #[error("{during}: {reason}")]
    Serial {
        during: &'static str,
        reason: String,
    },
    #[error(
        "after SWD programming, board {device_id} did not come up on USB ({where_}) within \
         {waited_ms} ms: is the slot's USB cable connected?"
    )]
    NotOnUsbAfterSwd {
        device_id: String,
        where_: String,
        waited_ms: u64,
    },
    #[error("SWD (probe {probe}): {source}")]
    Swd { probe: String, source: SwdError },
    #[error(
        "the board on USB port {port} is {found}, but the debug probe is on {expected}: \
         the slot's USB cable and SWD pins do not reach the same board"
    )]
    WrongBoard {
        port: PortPath,
        expected: String,
        found: String,
    },
}

impl FlashError {
    pub fn code(&self) -> OperatorCode {
        use OperatorCode as C;
        match self {
            FlashError::Refused(r) => r.code,
            FlashError::NoBoard { .. } => C::NoBoard,
            FlashError::WrongPlatform { .. } => C::WrongPlatform,
            FlashError::NoReenumerate { .. } => C::NoReenumerate,
            FlashError::NoReset { .. } => C::NoReset,
            FlashError::Unplugged { .. } => C::Unplugged,
            FlashError::Open {
                source: UsbError::NoDevice,
                ..
            } => C::Unplugged,
            FlashError::Open { .. } => C::NoBoard,
            FlashError::Region(_) => C::Region,
            FlashError::Verify(_) => C::Verify,
            FlashError::Aborted => C::Aborted,
            FlashError::Serial { .. } => C::Control,
            FlashError::Control { source, .. } if source.is_gone() => C::Unplugged,
            FlashError::Control { .. } => C::Control,
            FlashError::UpdatesDisabled { .. } => C::UpdatesDisabled,
            FlashError::UpdateTooLarge { .. } => C::UpdateTooLarge,
            FlashError::UpdateRefused { .. } => C::UpdateRefused,
            FlashError::DeviceDependency(_) => C::DeviceDependency,
            FlashError::NotProtected(_) | FlashError::Protected { .. } => C::Protected,
            FlashError::BoardTooOld { .. } => C::BoardTooOld,
            FlashError::Dfu { source, .. } => dfu_code(source),
            FlashError::Swd { source, .. } => source.code(),
            FlashError::WrongBoard { .. } => C::WrongBoard,
            FlashError::NotOnUsbAfterSwd { .. } => C::NoReenumerate,
        }
    }

    /// One line for the OLED: short, without the port.
    pub fn short_reason(&self) -> String {
        match self {
            FlashError::Refused(r) => r.short.clone(),
            FlashError::NoBoard { .. } => "no board on USB".into(),
            FlashError::WrongPlatform { board, .. } => format!("board is {board}"),
            FlashError::NoReenumerate { .. } => "no USB after reset".into(),
            FlashError::NoReset { .. } => "board did not reset".into(),
            FlashError::Unplugged { .. } => "board unplugged".into(),
            FlashError::Dfu { module, source } => {
                // `system-part#1 v1502` → `system-part`: the reason line has 21 characters.
                let what = module.split('#').next().unwrap_or(module);
                match source {
                    DfuError::Device { step, .. } => format!("{} err {what}", step.short()),
                    DfuError::PollTimeout { .. } => format!("timeout {what}"),
                    DfuError::Usb { source, .. } if *source == UsbError::Timeout => {
                        format!("timeout {what}")
                    }
                    _ => format!("DFU error {what}"),
                }
            }
            FlashError::Control { during, .. } => format!("{during} failed"),
            FlashError::UpdatesDisabled { .. } => "app disabled updates".into(),
            FlashError::UpdateTooLarge { .. } => "update too large".into(),
            FlashError::UpdateRefused { result, .. } => format!("update refused {result}"),
            FlashError::DeviceDependency(_) => "board lacks NCP/module".into(),
            FlashError::NotProtected(_) => "board not protected".into(),
            FlashError::Protected { .. } => "board is protected".into(),
            FlashError::BoardTooOld { board, .. } => format!("board has {board}"),
            FlashError::Open { .. } => "cannot open USB".into(),
            FlashError::Region(_) => "region not owned".into(),
            FlashError::Verify(list) => list.first().cloned().unwrap_or_default(),
            FlashError::Aborted => "aborted".into(),
            FlashError::Serial { .. } => "cannot enter DFU".into(),
            FlashError::Swd { source, .. } => source.short_reason(),
            FlashError::WrongBoard { .. } => "other board on USB".into(),
            FlashError::NotOnUsbAfterSwd { .. } => "no USB after SWD".into(),
        }
    }
}

/// What the host knows when DFU fails: the transport's answer, or which step the bootloader
/// failed — never which error status, since Particle's bootloader says errUNKNOWN for every
/// flash failure (usbd_dfu.cpp:239, 497, 547 @ v6.2.0).
fn dfu_code(e: &DfuError) -> OperatorCode {
    use OperatorCode as C;
    match e {
        DfuError::Usb {
            source: UsbError::NoDevice,
            ..
        } => C::Unplugged,
        DfuError::Usb {
            source: UsbError::Stall,
            ..
        } => C::DfuStall,
        DfuError::Usb {
            source: UsbError::Timeout,
            ..
        }
        | DfuError::PollTimeout { .. } => C::DfuTimeout,
        DfuError::Device { step, .. } => match step {
            DfuStep::Erase => C::DfuErase,
            DfuStep::Write => C::DfuWrite,
            DfuStep::SetAddress => C::DfuAddress,
            DfuStep::Leave => C::DfuLeave,
            _ => C::DfuProtocol,
        },
        DfuError::NotWritable { .. } | DfuError::NotReadable { .. } => C::Region,
        DfuError::Readback { .. } => C::DfuReadback,
        _ => C::DfuProtocol,
    }
}
