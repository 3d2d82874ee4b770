//! Device OS control requests over USB (particle-usb's service protocol): what the board is,
//! what it runs, and how to make it enter DFU, reset, or take a bootloader.

pub mod asset_info;
pub mod messages;
pub mod module_info;
pub mod proto;
pub mod result;
pub mod service;

pub use asset_info::{AssetInfo, BoardAsset, ProtectedState};
pub use module_info::{BoardModule, ModuleStore};

use std::time::Duration;

use crate::ports::{Clock, UsbDevice, UsbError};
use messages::kind;
use service::ServiceStatus;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("control {op}: USB {source}")]
    Usb { op: &'static str, source: UsbError },
    #[error("control request {request_type}: status {status:?}")]
    Status {
        request_type: u16,
        status: ServiceStatus,
    },
    #[error("control request {request_type}: Device OS result {}", result::describe(*.result))]
    Result { request_type: u16, result: i32 },
    #[error("control request {request_type}: no answer in time")]
    Timeout { request_type: u16 },
    #[error("control reply malformed ({0})")]
    Malformed(&'static str),
    #[error("control payload of {0} bytes is larger than one transfer")]
    PayloadTooLarge(usize),
    #[error(transparent)]
    Proto(#[from] proto::ProtoError),
}

impl ControlError {
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            ControlError::Usb {
                source: UsbError::NoDevice,
                ..
            }
        )
    }
}

/// Control requests to one open board running Device OS.
pub struct ControlClient<'a> {
    device: &'a mut dyn UsbDevice,
    clock: &'a dyn Clock,
    timeout: Duration,
    /// Requests left over from an earlier session are cancelled before the first request,
    /// as particle-usb does on open (src/device-base.js:160-163, 406-420): Device OS holds
    /// at most four (usb_control_request_channel.h:31) and answers BUSY to a fifth.
    stale_cancelled: bool,
}

impl<'a> ControlClient<'a> {
    pub fn new(device: &'a mut dyn UsbDevice, clock: &'a dyn Clock) -> Self {
        ControlClient {
            device,
            clock,
            timeout: Duration::from_secs(10),
            stale_cancelled: false,
        }
    }

    fn call(&mut self, kind: u16, payload: &[u8]) -> Result<Vec<u8>, ControlError> {
        if !self.stale_cancelled {
            self.stale_cancelled = true;
            // Its answer does not matter (particle-usb ignores it too); a board that went
            // away fails the request itself.
            let _ = service::cancel_all(self.device);
        }
        service::request(self.device, self.clock, kind, payload, self.timeout)
    }

    /// The serial number in the board's OTP (request 21; control/config.cpp:155-167).
    pub fn serial_number(&mut self) -> Result<String, ControlError> {
        Ok(messages::decode_string_reply(
            &self.call(kind::SERIAL_NUMBER, &[])?,
        )?)
    }

    pub fn device_id(&mut self) -> Result<String, ControlError> {
        Ok(messages::decode_string_reply(&self.call(kind::DEVICE_ID, &[])?)?.to_lowercase())
    }

    pub fn system_version(&mut self) -> Result<String, ControlError> {
        Ok(messages::decode_string_reply(
            &self.call(kind::SYSTEM_VERSION, &[])?,
        )?)
    }

    pub fn module_info(&mut self) -> Result<Vec<BoardModule>, ControlError> {
        Ok(messages::decode_module_info(
            &self.call(kind::MODULE_INFO, &[])?,
        )?)
    }

    /// What the board's asset store holds and what its application needs (request 91, Device
    /// OS ≥ 5.6.0; older ones answer NOT_SUPPORTED).
    pub fn asset_info(&mut self) -> Result<AssetInfo, ControlError> {
        Ok(asset_info::decode_asset_info(
            &self.call(kind::GET_ASSET_INFO, &[])?,
        )?)
    }

    /// Whether the board is a Protected Device (request 76, Device OS ≥ 6.0.0; older ones
    /// answer NOT_SUPPORTED, and are not).
    pub fn protected_state(&mut self) -> Result<ProtectedState, ControlError> {
        Ok(asset_info::decode_protected_state(
            &self.call(kind::GET_PROTECTED_STATE, &[])?,
        )?)
    }

    /// Asks the board to reset into DFU mode. It goes away right after answering.
    pub fn enter_dfu(&mut self) -> Result<(), ControlError> {
        self.call(kind::ENTER_DFU, &[]).map(drop)
    }

    pub fn reset(&mut self) -> Result<(), ControlError> {
        self.call(kind::RESET, &[]).map(drop)
    }

    /// Sends a module by the firmware-update trio (start, data chunks, finish). Device OS
    /// stores it and installs it at the next reset.
    pub fn update_firmware(
        &mut self,
        image: &[u8],
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), ControlError> {
        self.update_firmware_within(image, self.timeout, progress)
    }

    /// As `update_firmware`, with FINISH given `finish_timeout`: before 3.0.0 Device OS applies
    /// the update before it answers FINISH (storage.cpp:328-337 @ v1.5.0), and an NCP update
    /// takes the ESP32's whole transfer (particle-cli allows 4 minutes, flash-helper.js:17-18).
    pub fn update_firmware_within(
        &mut self,
        image: &[u8],
        finish_timeout: Duration,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), ControlError> {
        let reply = self.call(
            kind::START_FIRMWARE_UPDATE,
            &messages::encode_start_update(image.len() as u32),
        )?;
        // The data message adds a few bytes of framing around each chunk.
        let chunk =
            (messages::decode_uint_field1(&reply)? as usize).clamp(64, service::MAX_TRANSFER - 16);
        let total = image.len() as u64;
        let mut sent = 0u64;
        for piece in image.chunks(chunk) {
            if let Err(e) = self.call(
                kind::FIRMWARE_UPDATE_DATA,
                &messages::encode_update_data(piece),
            ) {
                let _ = self.call(kind::CANCEL_FIRMWARE_UPDATE, &[]);
                return Err(e);
            }
            sent += piece.len() as u64;
            progress(sent, total);
        }
        let timeout = std::mem::replace(&mut self.timeout, finish_timeout);
        let finished = self.call(
            kind::FINISH_FIRMWARE_UPDATE,
            &messages::encode_finish_update(false),
        );
        self.timeout = timeout;
        finished.map(drop)
    }
}
