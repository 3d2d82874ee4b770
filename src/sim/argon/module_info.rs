//! Module info (request 90) in the form of the board's Device OS: the modules it finds in
//! flash now (scan.rs), encoded as field 1 before 5.6.0 and field 2 from it
//! (core::control::module_info has both forms and the sources).

use crate::core::control::messages::{
    encode_module_info, encode_module_info_v2, failure_flags, BoardModule, ModuleDetail,
    ModuleStore,
};
use crate::core::module::ModuleFunction;
use crate::core::target::FlashMap;

use super::device_os::dialect;
use super::scan::{self, map_of, FoundModule, Store};
use super::Board;

/// The new form's `max_size`: the module bound's size in the running Device OS's map
/// (hal/src/nRF52840/ota_module_bounds.c @ v6.2.0, whose internal-flash bounds are
/// core::target's maps); the factory slot and the NCP live outside internal flash
/// (EXTERNAL_FLASH_FAC_LENGTH 256 KiB, platform/MCU/nRF52840/inc/flash_mal.h:97;
/// module_ncp_mono 1500 KiB, ota_module_bounds.c).
fn max_size(m: &FoundModule, map: &FlashMap) -> u32 {
    match (m.function, m.store) {
        (ModuleFunction::UserPart, Store::Factory) => 256 * 1024,
        (ModuleFunction::NcpFirmware, _) => 1500 * 1024,
        (f, _) => map.area_of(f, m.index).map_or(0, |a| a.end - a.start),
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
        hash: with_crc.then_some(m.suffix_sha).flatten(),
    }
}

impl Board {
    pub(super) fn module_info_reply(&self) -> Vec<u8> {
        let found = scan::scan(self);
        let version = self.system_version();
        if dialect(version).module_info_v2 {
            let map = map_of(self, version);
            let entries: Vec<_> = found
                .iter()
                .map(|m| {
                    let detail = ModuleDetail {
                        max_size: max_size(m, map),
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
        scan::scan(self)
            .iter()
            .map(|m| board_module(m, dialect(self.system_version()).module_info_v2))
            .collect()
    }
}
