//! The Device OS control messages flashline sends and reads, in both directions (the
//! simulated board encodes what the host decodes, with the same code).

use super::proto::{self, Encoder, ProtoError};
use crate::core::module::ModuleFunction;
use serde::Serialize;

/// Control request types (`type_id` in device-os-protobuf).
pub mod kind {
    pub const DEVICE_ID: u16 = 20;
    pub const SYSTEM_VERSION: u16 = 30;
    pub const RESET: u16 = 40;
    pub const ENTER_DFU: u16 = 50;
    pub const DEVICE_MODE: u16 = 72;
    pub const MODULE_INFO: u16 = 90;
    pub const START_FIRMWARE_UPDATE: u16 = 250;
    pub const FINISH_FIRMWARE_UPDATE: u16 = 251;
    pub const CANCEL_FIRMWARE_UPDATE: u16 = 252;
    pub const FIRMWARE_UPDATE_DATA: u16 = 253;
}

/// Module-info validity bits (old form): failures, 0 = valid.
pub const INTEGRITY_CHECK_FAILED: u32 = 0x01;
pub const DEPENDENCY_CHECK_FAILED: u32 = 0x02;

/// The old form's failure bits from the two checks.
pub fn failure_flags(integrity_ok: bool, dependencies_ok: bool) -> u32 {
    let mut failed = 0;
    if !integrity_ok {
        failed |= INTEGRITY_CHECK_FAILED;
    }
    if !dependencies_ok {
        failed |= DEPENDENCY_CHECK_FAILED;
    }
    failed
}

/// One module as the board reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardModule {
    pub function: ModuleFunction,
    pub index: u8,
    pub version: u16,
    pub size: u32,
    /// INTEGRITY_CHECK_FAILED | DEPENDENCY_CHECK_FAILED; 0 when valid.
    pub failed: u32,
}

impl BoardModule {
    pub fn valid(&self) -> bool {
        self.failed == 0
    }

    pub fn label(&self) -> String {
        format!("{}#{} v{}", self.function, self.index, self.version)
    }
}

/// The old `particle.ctrl.FirmwareModuleType` numbers differ from module functions.
fn ctrl_type_of(f: ModuleFunction) -> u64 {
    match f {
        ModuleFunction::Bootloader => 1,
        ModuleFunction::SystemPart => 2,
        ModuleFunction::UserPart => 3,
        ModuleFunction::Monolithic => 4,
        ModuleFunction::NcpFirmware => 5,
        ModuleFunction::RadioStack => 6,
        _ => 0,
    }
}

fn function_of_ctrl_type(t: u64) -> Option<ModuleFunction> {
    Some(match t {
        1 => ModuleFunction::Bootloader,
        2 => ModuleFunction::SystemPart,
        3 => ModuleFunction::UserPart,
        4 => ModuleFunction::Monolithic,
        5 => ModuleFunction::NcpFirmware,
        6 => ModuleFunction::RadioStack,
        _ => return None,
    })
}

/// GetModuleInfoReply, old form (field 1), which Device OS before 5.6 sends.
pub fn encode_module_info(modules: &[BoardModule]) -> Vec<u8> {
    modules
        .iter()
        .fold(Encoder::new(), |e, m| {
            let module = Encoder::new()
                .uint(1, ctrl_type_of(m.function))
                .uint(2, u64::from(m.index))
                .uint(3, u64::from(m.version))
                .uint(4, u64::from(m.size))
                .uint(5, u64::from(m.failed))
                .finish();
            e.bytes(1, &module)
        })
        .finish()
}

/// Decodes GetModuleInfoReply in either form: old `modules_deprecated` (field 1) or the newer
/// `FirmwareModule` list (field 2, module-function numbers, checked/passed flag pairs).
pub fn decode_module_info(payload: &[u8]) -> Result<Vec<BoardModule>, ProtoError> {
    let fields = proto::decode(payload)?;
    let mut out = Vec::new();
    for raw in proto::repeated(&fields, 1) {
        let f = proto::decode(raw)?;
        let Some(function) = function_of_ctrl_type(proto::uint(&f, 1)) else {
            continue;
        };
        out.push(BoardModule {
            function,
            index: proto::uint(&f, 2) as u8,
            version: proto::uint(&f, 3) as u16,
            size: proto::uint(&f, 4) as u32,
            failed: proto::uint(&f, 5) as u32 & (INTEGRITY_CHECK_FAILED | DEPENDENCY_CHECK_FAILED),
        });
    }
    if out.is_empty() {
        for raw in proto::repeated(&fields, 2) {
            let f = proto::decode(raw)?;
            let Some(function) = ModuleFunction::from_byte(proto::uint(&f, 1) as u8) else {
                continue;
            };
            // New form: "valid" bits 0x02 integrity, 0x04 dependencies; failed = checked ^ passed.
            let failed_bits = (proto::uint(&f, 6) ^ proto::uint(&f, 7)) as u32;
            let failed = failure_flags(failed_bits & 0x02 == 0, failed_bits & !0x02 == 0);
            out.push(BoardModule {
                function,
                index: proto::uint(&f, 2) as u8,
                version: proto::uint(&f, 3) as u16,
                size: proto::uint(&f, 11) as u32,
                failed,
            });
        }
    }
    Ok(out)
}

pub fn encode_string_reply(s: &str) -> Vec<u8> {
    Encoder::new().bytes(1, s.as_bytes()).finish()
}

pub fn decode_string_reply(payload: &[u8]) -> Result<String, ProtoError> {
    proto::string(&proto::decode(payload)?, 1)
}

pub fn encode_start_update(size: u32) -> Vec<u8> {
    // format BIN = 0 is the proto3 default and so not encoded.
    Encoder::new().uint(1, u64::from(size)).finish()
}

pub fn encode_chunk_size_reply(chunk: u32) -> Vec<u8> {
    Encoder::new().uint(1, u64::from(chunk)).finish()
}

pub fn decode_uint_field1(payload: &[u8]) -> Result<u64, ProtoError> {
    Ok(proto::uint(&proto::decode(payload)?, 1))
}

pub fn encode_update_data(data: &[u8]) -> Vec<u8> {
    Encoder::new().bytes(1, data).finish()
}

pub fn decode_update_data(payload: &[u8]) -> Result<Vec<u8>, ProtoError> {
    Ok(proto::bytes(&proto::decode(payload)?, 1).to_vec())
}

pub fn encode_finish_update(validate_only: bool) -> Vec<u8> {
    Encoder::new().uint(1, u64::from(validate_only)).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_info_round_trips_with_ctrl_type_numbers() {
        let modules = vec![
            BoardModule {
                function: ModuleFunction::Bootloader,
                index: 0,
                version: 501,
                size: 41948,
                failed: 0,
            },
            BoardModule {
                function: ModuleFunction::RadioStack,
                index: 0,
                version: 202,
                size: 1,
                failed: 0,
            },
            BoardModule {
                function: ModuleFunction::SystemPart,
                index: 1,
                version: 1502,
                size: 634692,
                failed: DEPENDENCY_CHECK_FAILED,
            },
        ];
        let bytes = encode_module_info(&modules);
        // The first module's type byte is the ctrl enum's BOOTLOADER = 1, not function 2.
        assert_eq!(&bytes[2..4], &[0x08, 0x01]);
        assert_eq!(decode_module_info(&bytes).unwrap(), modules);
    }

    #[test]
    fn decodes_the_newer_firmware_module_form() {
        let m = Encoder::new()
            .uint(1, 4)
            .uint(2, 1)
            .uint(3, 5600)
            .uint(6, 0x06)
            .uint(7, 0x02)
            .uint(11, 1000)
            .finish();
        let reply = Encoder::new().bytes(2, &m).finish();
        let got = decode_module_info(&reply).unwrap();
        assert_eq!(got[0].function, ModuleFunction::SystemPart);
        assert_eq!(got[0].version, 5600);
        assert_eq!(got[0].failed, DEPENDENCY_CHECK_FAILED);
    }
}
