//! The Device OS control messages flashline sends and reads, in both directions (the
//! simulated board encodes what the host decodes, with the same code).

use super::proto::{self, Encoder, ProtoError};

/// Control request types (`type_id` in device-os-protobuf).
pub mod kind {
    pub const DEVICE_ID: u16 = 20;
    pub const SERIAL_NUMBER: u16 = 21;
    pub const SYSTEM_VERSION: u16 = 30;
    pub const RESET: u16 = 40;
    pub const ENTER_DFU: u16 = 50;
    pub const DEVICE_MODE: u16 = 72;
    pub const GET_PROTECTED_STATE: u16 = 76;
    pub const MODULE_INFO: u16 = 90;
    pub const GET_ASSET_INFO: u16 = 91;
    pub const START_FIRMWARE_UPDATE: u16 = 250;
    pub const FINISH_FIRMWARE_UPDATE: u16 = 251;
    pub const CANCEL_FIRMWARE_UPDATE: u16 = 252;
    pub const FIRMWARE_UPDATE_DATA: u16 = 253;
}

pub use super::module_info::{
    decode_module_info, encode_module_info, encode_module_info_v2, failure_flags, BoardModule,
    ModuleDetail, ModuleStore, DEPENDENCY_CHECK_FAILED, INTEGRITY_CHECK_FAILED,
};

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

/// StartFirmwareUpdateRequest {1: size, 2: format (0 BIN, 1 MINIZ)}.
pub fn decode_start_update(payload: &[u8]) -> Result<(u64, u64), ProtoError> {
    let f = proto::decode(payload)?;
    Ok((proto::uint(&f, 1), proto::uint(&f, 2)))
}
