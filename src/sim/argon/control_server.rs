//! Device OS's control-request handlers on the simulated board (system/src/
//! system_control_internal.cpp:141-300 @ v6.2.0): what it is, what it runs (from what is in
//! its flash now, which assets it holds, whether it is protected), reset and enter DFU (a
//! second later), and the firmware-update requests (firmware_update.rs). The channel that
//! carries them is usb_channel.rs.

use crate::core::control::asset_info::{encode_protected_state, ProtectedState};
use crate::core::control::messages::{self, kind};
use crate::core::control::result;
use crate::sim::fault::Fault;

use super::device_os::dialect;
use super::timing::{row, ResetTiming, RESET_TIMINGS};
use super::usb_channel::{Completion, Handled};
use super::Board;

/// CTRL_REQUEST_GET_DEVICE_MODE's answer in normal mode is an empty message
/// (control/config.cpp getDeviceMode: NORMAL = 0, the proto3 default).
const DEVICE_MODE_NORMAL: Vec<u8> = Vec::new();
/// SYSTEM_ERROR_NOT_ALLOWED: the app's control-request filter denied the request
/// (system_control_internal.cpp:134-139 @ v6.2.0).
const NOT_ALLOWED: i32 = -130;

impl Board {
    /// The running Device OS's reset timing.
    pub(super) fn reset_timing(&self) -> ResetTiming {
        row(RESET_TIMINGS, self.system_version())
    }

    pub(super) fn handle(&mut self, request: u16, payload: &[u8]) -> Handled {
        match request {
            // control/config.cpp:139-153: the ID in lower-case hex.
            kind::DEVICE_ID => Handled::ok(messages::encode_string_reply(&self.device_id)),
            // control/config.cpp:155-167: the OTP serial number.
            kind::SERIAL_NUMBER => Handled::ok(messages::encode_string_reply(&self.serial_number)),
            kind::SYSTEM_VERSION => Handled::ok(messages::encode_string_reply(
                &super::device_os::version_string(self.system_version()),
            )),
            kind::DEVICE_MODE => Handled::ok(DEVICE_MODE_NORMAL),
            kind::MODULE_INFO => Handled::ok(self.module_info_reply()),
            // control/storage.cpp:183-192 @ v6.2.0, from 5.6.0.
            kind::GET_ASSET_INFO if dialect(self.system_version()).asset_info => {
                Handled::ok(self.asset_info_reply())
            }
            // control/config.cpp:281-287 @ v6.2.0, from 6.0.0.
            kind::GET_PROTECTED_STATE if dialect(self.system_version()).protected_state => {
                Handled::ok(encode_protected_state(ProtectedState {
                    protected: self.protected,
                    overridden: self.service_mode,
                }))
            }
            kind::RESET => Handled::ok(Vec::new()).then(Completion::Reset { into_dfu: false }),
            kind::ENTER_DFU if self.take_fault(|f| *f == Fault::RefuseDfuRequest).is_some() => {
                Handled::fail(NOT_ALLOWED)
            }
            kind::ENTER_DFU => Handled::ok(Vec::new()).then(Completion::Reset { into_dfu: true }),
            kind::START_FIRMWARE_UPDATE => self.start_update(payload),
            kind::FIRMWARE_UPDATE_DATA => self.update_data(payload),
            kind::FINISH_FIRMWARE_UPDATE => self.finish_update(payload),
            kind::CANCEL_FIRMWARE_UPDATE => {
                self.service.update = None;
                Handled::ok(Vec::new())
            }
            _ => Handled::fail(result::NOT_SUPPORTED),
        }
    }
}
