//! GetModuleInfoReply (request 90) in both of Device OS's forms, encoded and decoded by the
//! same code (the simulated board encodes what the host decodes):
//! - field 1 `modules_deprecated` before 5.6.0: ctrl module-type numbers, MAIN store only,
//!   size = end − start, validity failure bits, dependencies in field 6
//!   (system/src/control/storage.cpp:615-690 @ v1.5.0);
//! - field 2 `modules` from 5.6.0: `particle.cloud.FirmwareModule` with module-function
//!   numbers, store, max size, checked/passed flags (fixed32), hash, dependencies in field 9,
//!   size including the CRC and 0 for modules without addresses, FACTORY entries included
//!   (system/src/system_info_encoding.cpp:104-186 @ v6.2.0; field numbers
//!   proto_defs/src/cloud/describe.pb.h:154-165).

use serde::Serialize;

use super::proto::{self, Encoder, ProtoError};
use crate::core::module::{Dependency, ModuleFunction};

/// Module-info validity bits (old form): failures, 0 = valid.
pub const INTEGRITY_CHECK_FAILED: u32 = 0x01;
pub const DEPENDENCY_CHECK_FAILED: u32 = 0x02;

/// fetch_module's checks (hal/inc/ota_flash_hal.h:67-72 @ v6.2.0): integrity, dependencies,
/// range, platform — what the new form's `checked_flags` holds (ota_module.cpp:65 @ v1.5.0).
pub const VALIDATION_INTEGRITY: u32 = 1 << 1;
pub const VALIDATION_DEPENDENCIES: u32 = 1 << 2;
pub const VALIDATION_RANGE: u32 = 1 << 3;
pub const VALIDATION_PLATFORM: u32 = 1 << 4;
pub const VALIDATION_CHECKED: u32 =
    VALIDATION_INTEGRITY | VALIDATION_DEPENDENCIES | VALIDATION_RANGE | VALIDATION_PLATFORM;

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

/// Where Device OS found a module (`particle.cloud.FirmwareModuleStore`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModuleStore {
    /// The modules the board runs.
    #[default]
    Main,
    /// The external flash's factory slot: a copy for a factory reset, not what runs.
    Factory,
    Backup,
    Scratchpad,
}

impl ModuleStore {
    fn from_pb(v: u64) -> Self {
        match v {
            1 => ModuleStore::Factory,
            2 => ModuleStore::Backup,
            3 => ModuleStore::Scratchpad,
            _ => ModuleStore::Main,
        }
    }

    fn to_pb(self) -> u64 {
        match self {
            ModuleStore::Main => 0,
            ModuleStore::Factory => 1,
            ModuleStore::Backup => 2,
            ModuleStore::Scratchpad => 3,
        }
    }

    pub fn is_main(&self) -> bool {
        *self == ModuleStore::Main
    }
}

/// One module as the board reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardModule {
    pub function: ModuleFunction,
    pub index: u8,
    pub version: u16,
    /// As the board's Device OS counts it: without the CRC before 5.6.0, with it from 5.6.0;
    /// 0 for the radio stack and the NCP in both.
    pub size: u32,
    /// INTEGRITY_CHECK_FAILED | DEPENDENCY_CHECK_FAILED; 0 when valid.
    pub failed: u32,
    #[serde(skip_serializing_if = "ModuleStore::is_main")]
    pub store: ModuleStore,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// The SHA-256 its suffix carries, which the new form reports (field 8, from 5.6.0):
    /// what tells two builds of one version apart. `None` in the old form.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "hex_hash")]
    pub hash: Option<[u8; 32]>,
}

fn hex_hash<S: serde::Serializer>(h: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
    match h {
        Some(h) => s.serialize_str(&hex::encode(h)),
        None => s.serialize_none(),
    }
}

impl BoardModule {
    pub fn valid(&self) -> bool {
        self.failed == 0
    }

    /// A module of the running set (not a factory or backup copy).
    pub fn runs(&self) -> bool {
        self.store == ModuleStore::Main
    }

    pub fn label(&self) -> String {
        match self.store {
            ModuleStore::Main => format!("{}#{} v{}", self.function, self.index, self.version),
            store => format!(
                "{}#{} v{} ({store:?} store)",
                self.function, self.index, self.version
            ),
        }
    }
}

/// What the new form adds per module; the sim fills it in, the host does not need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleDetail {
    pub max_size: u32,
    pub hash: Option<[u8; 32]>,
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

fn encode_dependencies(
    e: Encoder,
    field: u32,
    deps: &[Dependency],
    ty: fn(ModuleFunction) -> u64,
) -> Encoder {
    deps.iter().fold(e, |e, d| {
        let dep = Encoder::new()
            .uint(1, ty(d.function))
            .uint(2, u64::from(d.index))
            .uint(3, u64::from(d.version))
            .finish();
        e.bytes(field, &dep)
    })
}

fn decode_dependencies(
    fields: &[(u32, proto::Value<'_>)],
    field: u32,
    function_of: fn(u64) -> Option<ModuleFunction>,
) -> Result<Vec<Dependency>, ProtoError> {
    let mut out = Vec::new();
    for raw in proto::repeated(fields, field) {
        let f = proto::decode(raw)?;
        if let Some(function) = function_of(proto::uint(&f, 1)) {
            out.push(Dependency {
                function,
                index: proto::uint(&f, 2) as u8,
                version: proto::uint(&f, 3) as u16,
            });
        }
    }
    Ok(out)
}

fn function_of_number(v: u64) -> Option<ModuleFunction> {
    u8::try_from(v).ok().and_then(ModuleFunction::from_byte)
}

/// GetModuleInfoReply, old form (field 1): MAIN store modules only.
pub fn encode_module_info(modules: &[BoardModule]) -> Vec<u8> {
    modules
        .iter()
        .filter(|m| m.runs())
        .fold(Encoder::new(), |e, m| {
            let module = Encoder::new()
                .uint(1, ctrl_type_of(m.function))
                .uint(2, u64::from(m.index))
                .uint(3, u64::from(m.version))
                .uint(4, u64::from(m.size))
                .uint(5, u64::from(m.failed));
            let module = encode_dependencies(module, 6, &m.dependencies, ctrl_type_of).finish();
            e.bytes(1, &module)
        })
        .finish()
}

/// GetModuleInfoReply, new form (field 2, Device OS ≥ 5.6.0).
pub fn encode_module_info_v2(modules: &[(BoardModule, ModuleDetail)]) -> Vec<u8> {
    modules
        .iter()
        .fold(Encoder::new(), |e, (m, detail)| {
            let mut passed = VALIDATION_CHECKED;
            if m.failed & INTEGRITY_CHECK_FAILED != 0 {
                passed &= !VALIDATION_INTEGRITY;
            }
            if m.failed & DEPENDENCY_CHECK_FAILED != 0 {
                passed &= !VALIDATION_DEPENDENCIES;
            }
            let module = Encoder::new()
                .uint(1, u64::from(m.function.as_byte()))
                .uint(2, u64::from(m.index))
                .uint(3, u64::from(m.version))
                .uint(4, m.store.to_pb())
                .uint(5, u64::from(detail.max_size))
                .fixed32(6, VALIDATION_CHECKED)
                .fixed32(7, passed);
            let module = match detail.hash.or(m.hash) {
                Some(h) => module.bytes(8, &h),
                None => module,
            };
            let module =
                encode_dependencies(module, 9, &m.dependencies, |f| u64::from(f.as_byte()))
                    .uint(11, u64::from(m.size))
                    .finish();
            e.bytes(2, &module)
        })
        .finish()
}

/// Decodes GetModuleInfoReply in either form.
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
            store: ModuleStore::Main,
            dependencies: decode_dependencies(&f, 6, function_of_ctrl_type)?,
            hash: None,
        });
    }
    if out.is_empty() {
        for raw in proto::repeated(&fields, 2) {
            let f = proto::decode(raw)?;
            let Some(function) = function_of_number(proto::uint(&f, 1)) else {
                continue;
            };
            // failed = checked ^ passed: integrity, or any other check (dependencies, range,
            // platform), which the old form's two bits fold into "dependencies".
            let failed_bits = (proto::uint(&f, 6) ^ proto::uint(&f, 7)) as u32;
            let failed = failure_flags(
                failed_bits & VALIDATION_INTEGRITY == 0,
                failed_bits & !VALIDATION_INTEGRITY == 0,
            );
            out.push(BoardModule {
                function,
                index: proto::uint(&f, 2) as u8,
                version: proto::uint(&f, 3) as u16,
                size: proto::uint(&f, 11) as u32,
                failed,
                store: ModuleStore::from_pb(proto::uint(&f, 4)),
                dependencies: decode_dependencies(&f, 9, function_of_number)?,
                hash: proto::bytes(&f, 8).try_into().ok(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(function: ModuleFunction, version: u16, failed: u32) -> BoardModule {
        BoardModule {
            function,
            index: if function == ModuleFunction::SystemPart {
                1
            } else {
                0
            },
            version,
            size: 1000,
            failed,
            store: ModuleStore::Main,
            dependencies: vec![Dependency {
                function: ModuleFunction::Bootloader,
                index: 0,
                version: 501,
            }],
            hash: None,
        }
    }

    #[test]
    fn the_old_form_round_trips_with_ctrl_type_numbers_and_dependencies() {
        let modules = vec![
            module(ModuleFunction::Bootloader, 501, 0),
            module(ModuleFunction::RadioStack, 202, 0),
            module(ModuleFunction::SystemPart, 1502, DEPENDENCY_CHECK_FAILED),
        ];
        let bytes = encode_module_info(&modules);
        // The first module's type byte is the ctrl enum's BOOTLOADER = 1, not function 2
        // (proto_defs/src/control/storage.pb.h:30-36 @ v6.2.0).
        assert_eq!(&bytes[2..4], &[0x08, 0x01]);
        assert_eq!(decode_module_info(&bytes).unwrap(), modules);
    }

    #[test]
    fn the_old_form_leaves_factory_copies_out() {
        let mut factory = module(ModuleFunction::UserPart, 5, 0);
        factory.store = ModuleStore::Factory;
        let bytes = encode_module_info(&[module(ModuleFunction::Bootloader, 501, 0), factory]);
        assert_eq!(decode_module_info(&bytes).unwrap().len(), 1);
    }

    #[test]
    fn the_new_form_round_trips_with_store_flags_and_dependencies() {
        let mut factory = module(ModuleFunction::UserPart, 5, INTEGRITY_CHECK_FAILED);
        factory.store = ModuleStore::Factory;
        let mut modules = vec![
            module(ModuleFunction::SystemPart, 5600, DEPENDENCY_CHECK_FAILED),
            factory,
        ];
        modules[0].hash = Some([7; 32]);
        let entries: Vec<_> = modules
            .iter()
            .map(|m| (m.clone(), ModuleDetail::default()))
            .collect();
        let bytes = encode_module_info_v2(&entries);
        assert_eq!(bytes[0], (2 << 3) | 2, "field 2, length-delimited");
        assert_eq!(decode_module_info(&bytes).unwrap(), modules);
    }

    #[test]
    fn decodes_a_hand_made_new_form_reply() {
        let m = Encoder::new()
            .uint(1, 4)
            .uint(2, 1)
            .uint(3, 5600)
            .fixed32(6, 0x1E)
            .fixed32(7, 0x1A)
            .uint(11, 1000)
            .finish();
        let reply = Encoder::new().bytes(2, &m).finish();
        let got = decode_module_info(&reply).unwrap();
        assert_eq!(got[0].function, ModuleFunction::SystemPart);
        assert_eq!(got[0].version, 5600);
        assert_eq!(got[0].failed, DEPENDENCY_CHECK_FAILED);
    }
}
