//! Stand-in modules: what a simulated board that "runs Device OS X" holds in flash when the
//! simulator has no release file of X. Only what Device OS and its bootloader read of a
//! module is real: the vector table's first word, the prefix, the suffix and the CRC, at the
//! addresses of the release's flash map (core::target). The code between is blank.
//!
//! A 6.2 system part also carries the legacy entry its linker puts at 0x30000: a vector table,
//! a module info whose start is 0x30000 and a CRC over that small span
//! (modules/shared/nRF52840/linker_system_part1_common.ld `.vectors_legacy`,
//! `.module_info_legacy`, `.module_info_crc_legacy`; dynalib/inc/module_info.inc:172-190;
//! build/module.mk:205-211 @ v6.2.0), which is how a bootloader older than 6.2 still boots it.

use crate::core::module::reseal::{self, field};
use crate::core::module::{Dependency, Module, ModuleError, ModuleFunction, PREFIX_LEN};
use crate::core::target::FlashMap;

/// A Cortex-M initial stack pointer in the nRF52840's RAM: what `FLASH_ModuleInfo` recognises
/// a vector table by (platform/MCU/nRF52840/src/flash_mal.c:755-759 @ v6.1.1).
pub const STACK_POINTER: u32 = 0x2003_FC00;
/// `(first word & APP_START_MASK) == 0x20000000` (bootloader/src/nRF52840/dfu_usb.c:6-8).
pub const APP_START_MASK: u32 = 0x2FFC_0000;

/// Whether a module's first word is a stack pointer, so a vector table comes first.
pub fn starts_with_vector_table(first_word: u32) -> bool {
    first_word & APP_START_MASK == 0x2000_0000
}
/// The nRF52840 vector table the module info follows (`platform_vector_table_flash_size`).
pub const VECTOR_TABLE: usize = 0x200;
const SUFFIX_LEN: usize = 36;
const CRC_LEN: usize = 4;

/// A 24-byte module prefix.
fn prefix(
    start: u32,
    end: u32,
    version: u16,
    platform: u16,
    function: ModuleFunction,
    index: u8,
    deps: &[Dependency],
) -> [u8; PREFIX_LEN] {
    let mut p = [0u8; PREFIX_LEN];
    p[field::START..field::START + 4].copy_from_slice(&start.to_le_bytes());
    p[field::END..field::END + 4].copy_from_slice(&end.to_le_bytes());
    p[field::VERSION..field::VERSION + 2].copy_from_slice(&version.to_le_bytes());
    p[field::PLATFORM..field::PLATFORM + 2].copy_from_slice(&platform.to_le_bytes());
    p[field::FUNCTION] = function.as_byte();
    p[field::INDEX] = index;
    for (d, at) in deps.iter().zip([field::DEP1, field::DEP2]) {
        p[at] = d.function.as_byte();
        p[at + 1] = d.index;
        p[at + 2..at + 4].copy_from_slice(&d.version.to_le_bytes());
    }
    p
}

/// The system part a board running `version` holds: at the map's system-part address, with
/// the legacy entry when that is not the first row's (0x30000).
pub fn system_part(
    platform: u16,
    version: u16,
    dependencies: &[Dependency],
    map: &FlashMap,
) -> Result<Module, ModuleError> {
    let start = map.system_part.start;
    let legacy = legacy_system_part_start(map);
    let body = match legacy {
        Some(at) => (at - start) as usize + legacy_span() + CRC_LEN,
        None => VECTOR_TABLE + PREFIX_LEN,
    };
    let len = body + 64 + SUFFIX_LEN + CRC_LEN;
    let mut bytes = vec![0u8; len];
    bytes[..4].copy_from_slice(&STACK_POINTER.to_le_bytes());
    let end = start + (len - CRC_LEN) as u32;
    let p = prefix(
        start,
        end,
        version,
        platform,
        ModuleFunction::SystemPart,
        1,
        dependencies,
    );
    bytes[VECTOR_TABLE..VECTOR_TABLE + PREFIX_LEN].copy_from_slice(&p);
    let suffix_size_at = len - CRC_LEN - 2;
    bytes[suffix_size_at..suffix_size_at + 2].copy_from_slice(&(SUFFIX_LEN as u16).to_le_bytes());
    if let Some(at) = legacy {
        add_legacy_entry(&mut bytes, start, at)?;
    }
    reseal::reseal(&mut bytes)?;
    Module::parse(bytes)
}

pub use crate::core::plan::needs::legacy_system_part_start;

/// The legacy entry's span: vector table and module info; its CRC follows.
fn legacy_span() -> usize {
    VECTOR_TABLE + PREFIX_LEN
}

/// Writes the legacy entry of a system part linked at `start` into its bytes at `legacy`:
/// a vector table, a module info (start `legacy`, the same version, platform and function)
/// and the big-endian CRC-32 of that span right after it. Re-seal the file afterwards.
pub fn add_legacy_entry(bytes: &mut [u8], start: u32, legacy: u32) -> Result<(), ModuleError> {
    let (main, _) =
        crate::core::module::ModulePrefix::find(bytes).ok_or(ModuleError::Truncated {
            len: bytes.len(),
            need: VECTOR_TABLE + PREFIX_LEN,
        })?;
    let at = (legacy - start) as usize;
    let need = at + legacy_span() + CRC_LEN;
    if bytes.len() < need + SUFFIX_LEN + CRC_LEN {
        return Err(ModuleError::Truncated {
            len: bytes.len(),
            need,
        });
    }
    let end = legacy + legacy_span() as u32;
    let p = prefix(
        legacy,
        end,
        main.version,
        main.platform_id,
        main.function,
        main.index,
        &main.dependencies,
    );
    bytes[at..at + VECTOR_TABLE].fill(0);
    bytes[at..at + 4].copy_from_slice(&STACK_POINTER.to_le_bytes());
    bytes[at + VECTOR_TABLE..at + VECTOR_TABLE + PREFIX_LEN].copy_from_slice(&p);
    let crc = crc32fast::hash(&bytes[at..at + legacy_span()]);
    bytes[at + legacy_span()..need].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::target::DeviceOs;

    #[test]
    fn a_stand_in_system_part_is_a_valid_module_where_the_map_puts_it() {
        let deps = [Dependency {
            function: ModuleFunction::Bootloader,
            index: 0,
            version: 1200,
        }];
        let m = system_part(12, 4100, &deps, FlashMap::for_version(DeviceOs(4100))).unwrap();
        assert!(m.crc_ok() && m.sha_ok());
        assert_eq!((m.image_address(), m.prefix_offset), (0x30000, 0x200));
        assert_eq!(m.prefix.dependencies, deps);

        let m = system_part(12, 6200, &deps, FlashMap::for_version(DeviceOs(6200))).unwrap();
        assert!(m.crc_ok());
        assert_eq!(m.image_address(), 0x28000);
        // The legacy entry at 0x30000: its own module info and CRC.
        let at = 0x8000;
        let legacy = crate::core::module::ModulePrefix::parse(&m.bytes()[at + 0x200..]).unwrap();
        assert_eq!((legacy.start_address, legacy.version), (0x30000, 6200));
        let span = (legacy.end_address - legacy.start_address) as usize;
        let stored = u32::from_be_bytes(m.bytes()[at + span..at + span + 4].try_into().unwrap());
        assert_eq!(stored, crc32fast::hash(&m.bytes()[at..at + span]));
    }
}
