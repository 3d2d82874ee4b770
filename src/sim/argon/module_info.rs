//! Module info (request 90) in the form of the board's Device OS: the modules it finds in
//! flash now (boot.rs `scan`), encoded as field 1 before 5.6.0 and field 2 from it
//! (core::control::module_info has both forms and the sources).

use crate::core::control::messages::{
    encode_module_info, encode_module_info_v2, failure_flags, BoardModule, ModuleDetail,
    ModuleStore,
};
use crate::core::module::ModuleFunction;

use super::boot::{self, FoundModule, Store};
use super::device_os::dialect;
use super::Board;

/// The new form's `max_size` per module bound (hal/src/nRF52840/ota_module_bounds.c:9-160 @
/// v6.2.0). A 5.6–6.1 board reports these too; the per-version map is core::target's.
fn max_size(m: &FoundModule) -> u32 {
    match (m.function, m.store, m.index) {
        (ModuleFunction::Bootloader, _, _) => 0xC000,
        (ModuleFunction::SystemPart, _, _) => 0x8C000,
        (ModuleFunction::UserPart, Store::Factory, _) => 0x20000,
        (ModuleFunction::UserPart, _, 2) => 0x40000,
        (ModuleFunction::UserPart, _, _) => 0x20000,
        (ModuleFunction::NcpFirmware, _, _) => 1500 * 1024,
        (ModuleFunction::RadioStack, _, _) => 0x27000 - 0x1000,
        _ => 0,
    }
}

fn board_module(m: &FoundModule, with_crc: bool) -> BoardModule {
    BoardModule {
        function: m.function,
        index: m.index,
        version: m.version,
        // system_info_encoding.cpp:132-135 @ v6.2.0: the CRC is counted from 5.6.0, and a
        // module without addresses stays 0.
        size: if with_crc && m.size > 0 {
            m.size + 4
        } else {
            m.size
        },
        failed: failure_flags(m.integrity_ok, m.dependencies_ok),
        store: match m.store {
            Store::Main => ModuleStore::Main,
            Store::Factory => ModuleStore::Factory,
        },
        dependencies: m.dependencies.clone(),
    }
}

impl Board {
    pub(super) fn module_info_reply(&self) -> Vec<u8> {
        let found = boot::scan(self);
        if dialect(self.system_version()).module_info_v2 {
            let entries: Vec<_> = found
                .iter()
                .map(|m| {
                    let detail = ModuleDetail {
                        max_size: max_size(m),
                        hash: m.suffix_sha,
                    };
                    (board_module(m, true), detail)
                })
                .collect();
            encode_module_info_v2(&entries)
        } else {
            let modules: Vec<_> = found.iter().map(|m| board_module(m, false)).collect();
            encode_module_info(&modules)
        }
    }

    /// What module info reports now, decoded (for tests).
    pub(crate) fn reported_modules(&self) -> Vec<BoardModule> {
        boot::scan(self)
            .iter()
            .map(|m| board_module(m, dialect(self.system_version()).module_info_v2))
            .collect()
    }
}
