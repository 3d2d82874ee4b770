//! Device OS's side of the USB service protocol on the simulated board: it answers the
//! control requests from what is really in its flash, and takes a bootloader by the
//! firmware-update requests, staging it for the next reset.

use std::collections::HashMap;

use crate::core::control::messages::{self, kind, BoardModule};
use crate::core::control::service::{self, ServiceReply, ServiceStatus};
use crate::core::module::{Module, ModuleFunction};
use crate::ports::{ControlSetup, UsbError};
use crate::sim::fault::Fault;

use super::{Board, BootOutcome};

/// Device OS `system_error_t` values the sim returns.
const SYSTEM_ERROR_NOT_SUPPORTED: i32 = -120;
const SYSTEM_ERROR_INVALID_ARGUMENT: i32 = -160;
const SYSTEM_ERROR_INVALID_STATE: i32 = -210;
/// Chunk size Device OS offers for firmware-update data.
const UPDATE_CHUNK: u32 = 4000;

#[derive(Debug, Default, Clone)]
pub(crate) struct ServiceState {
    next_id: u16,
    requests: HashMap<u16, Request>,
    update: Option<Vec<u8>>,
    update_size: usize,
}

#[derive(Debug, Clone)]
struct Request {
    kind: u16,
    expected: usize,
    payload: Option<Vec<u8>>,
    done: Option<(i32, Vec<u8>)>,
}

enum After {
    Nothing,
    Reset { into_dfu: bool },
}

impl Board {
    pub(crate) fn control_in(&mut self, setup: ControlSetup) -> Result<Vec<u8>, UsbError> {
        if setup.request_type != service::VENDOR_IN {
            return Err(UsbError::Stall);
        }
        let reply = |status, id: Option<u16>, size: Option<u32>, result: Option<i32>| {
            ServiceReply {
                status,
                id,
                size,
                result,
            }
            .to_bytes()
        };
        match setup.request {
            service::INIT => {
                self.service.next_id = self.service.next_id.wrapping_add(1).max(1);
                let id = self.service.next_id;
                let expected = usize::from(setup.value);
                let request = Request {
                    kind: setup.index,
                    expected,
                    payload: None,
                    done: None,
                };
                self.service.requests.insert(id, request);
                Ok(reply(ServiceStatus::Ok, Some(id), None, None))
            }
            service::CHECK => {
                let id = setup.index;
                let Some(request) = self.service.requests.get(&id).cloned() else {
                    return Ok(reply(ServiceStatus::NotFound, None, None, None));
                };
                if request.expected > 0 && request.payload.is_none() {
                    return Ok(reply(ServiceStatus::Pending, None, None, None));
                }
                let (result, data, after) = match request.done {
                    Some((r, d)) => (r, d, After::Nothing),
                    None => {
                        let cost = self.timing.control_request;
                        self.spend(cost);
                        self.handle(request.kind, request.payload.as_deref().unwrap_or_default())
                    }
                };
                if let Some(r) = self.service.requests.get_mut(&id) {
                    r.done = Some((result, data.clone()));
                }
                let bytes = reply(
                    ServiceStatus::Ok,
                    None,
                    Some(data.len() as u32),
                    Some(result),
                );
                if data.is_empty() {
                    self.service.requests.remove(&id);
                }
                if let After::Reset { into_dfu } = after {
                    self.reset(into_dfu);
                }
                Ok(bytes)
            }
            service::RECV => {
                let request = self
                    .service
                    .requests
                    .remove(&setup.index)
                    .ok_or(UsbError::Stall)?;
                let (_, data) = request.done.ok_or(UsbError::Stall)?;
                Ok(data[..data.len().min(usize::from(setup.length))].to_vec())
            }
            service::RESET => {
                if setup.index == 0 {
                    self.service.requests.clear();
                } else {
                    self.service.requests.remove(&setup.index);
                }
                Ok(reply(ServiceStatus::Ok, None, None, None))
            }
            _ => Err(UsbError::Stall),
        }
    }

    pub(crate) fn control_out(&mut self, setup: ControlSetup, data: &[u8]) -> Result<(), UsbError> {
        if setup.request_type != service::VENDOR_OUT || setup.request != service::SEND {
            return Err(UsbError::Stall);
        }
        let request = self
            .service
            .requests
            .get_mut(&setup.index)
            .ok_or(UsbError::Stall)?;
        if data.len() != request.expected {
            return Err(UsbError::Stall);
        }
        request.payload = Some(data.to_vec());
        Ok(())
    }

    fn handle(&mut self, kind: u16, payload: &[u8]) -> (i32, Vec<u8>, After) {
        let ok = |data: Vec<u8>| (0, data, After::Nothing);
        match kind {
            kind::DEVICE_ID => ok(messages::encode_string_reply(&self.device_id)),
            kind::SYSTEM_VERSION => ok(messages::encode_string_reply(&self.system_version())),
            kind::DEVICE_MODE => ok(Vec::new()),
            kind::MODULE_INFO => ok(messages::encode_module_info(&self.reported_modules())),
            kind::RESET => (0, Vec::new(), After::Reset { into_dfu: false }),
            kind::ENTER_DFU if self.take_fault(|f| *f == Fault::RefuseDfuRequest).is_some() => {
                (SYSTEM_ERROR_NOT_SUPPORTED, Vec::new(), After::Nothing)
            }
            kind::ENTER_DFU => (0, Vec::new(), After::Reset { into_dfu: true }),
            kind::START_FIRMWARE_UPDATE => match messages::decode_uint_field1(payload) {
                Ok(size) if size > 0 && size <= 1024 * 1024 => {
                    self.service.update = Some(Vec::with_capacity(size as usize));
                    self.service.update_size = size as usize;
                    ok(messages::encode_chunk_size_reply(UPDATE_CHUNK))
                }
                _ => (SYSTEM_ERROR_INVALID_ARGUMENT, Vec::new(), After::Nothing),
            },
            kind::FIRMWARE_UPDATE_DATA => self.update_data(payload),
            kind::FINISH_FIRMWARE_UPDATE => self.finish_update(),
            kind::CANCEL_FIRMWARE_UPDATE => {
                self.service.update = None;
                ok(Vec::new())
            }
            _ => (SYSTEM_ERROR_NOT_SUPPORTED, Vec::new(), After::Nothing),
        }
    }

    fn update_data(&mut self, payload: &[u8]) -> (i32, Vec<u8>, After) {
        let Ok(data) = messages::decode_update_data(payload) else {
            return (SYSTEM_ERROR_INVALID_ARGUMENT, Vec::new(), After::Nothing);
        };
        // Device OS stages an update in external flash.
        let cost = self.timing.external_write(data.len());
        self.spend(cost);
        let limit = self.service.update_size;
        match self.service.update.as_mut() {
            Some(buf) if buf.len() + data.len() <= limit => {
                buf.extend_from_slice(&data);
                (0, Vec::new(), After::Nothing)
            }
            _ => (SYSTEM_ERROR_INVALID_STATE, Vec::new(), After::Nothing),
        }
    }

    fn finish_update(&mut self) -> (i32, Vec<u8>, After) {
        let Some(buf) = self.service.update.take() else {
            return (SYSTEM_ERROR_INVALID_STATE, Vec::new(), After::Nothing);
        };
        let module = match Module::parse(buf) {
            Ok(m) if m.crc_ok() && m.platform.id == self.platform.id => m,
            _ => return (SYSTEM_ERROR_INVALID_ARGUMENT, Vec::new(), After::Nothing),
        };
        if module.function() != ModuleFunction::Bootloader {
            // Only the bootloader travels this way in flashline; anything else is refused.
            return (SYSTEM_ERROR_NOT_SUPPORTED, Vec::new(), After::Nothing);
        }
        self.staged_bootloader = Some(module);
        // Like an OTA update, the board resets to apply it.
        (0, Vec::new(), After::Reset { into_dfu: false })
    }

    fn system_version(&self) -> String {
        let version = self
            .last_boot
            .as_ref()
            .and_then(|b| {
                b.modules
                    .iter()
                    .find(|m| m.function == ModuleFunction::SystemPart)
            })
            .map(|m| m.version);
        match version {
            Some(1502) => "1.5.0".into(),
            Some(2202) => "2.2.0".into(),
            Some(v) => format!("module-{v}"),
            None => "unknown".into(),
        }
    }

    pub(crate) fn reported_modules(&self) -> Vec<BoardModule> {
        self.last_boot
            .as_ref()
            .map(BootOutcome::board_modules)
            .unwrap_or_default()
    }
}

impl BootOutcome {
    pub fn board_modules(&self) -> Vec<BoardModule> {
        self.modules
            .iter()
            .map(|m| BoardModule {
                function: m.function,
                index: m.index,
                version: m.version,
                size: m.size,
                failed: messages::failure_flags(m.integrity_ok, m.dependencies_ok),
            })
            .collect()
    }
}
