//! What Device OS finds in flash (HAL_System_Info: every module bound of *its* flash map,
//! fetch_module's checks; ota_flash_hal.cpp:174-227 @ v6.2.0, ota_module.cpp:104-150 @
//! v4.1.0). Module-info requests report this, read afresh for each request; the boot checks
//! use it too.

use sha2::Digest;

use crate::core::module::{
    AssetDependency, Dependency, Flags, Module, ModuleFunction, ModulePrefix,
};
use crate::core::target::{DeviceOs, FlashMap};

use super::bootloader::prefix_at;
use super::device_os::dialect;
use super::Board;

/// The SoftDevice's own info struct (Nordic): magic and firmware id, which Device OS reports
/// as the radio stack's version (S140 7.0.1 = 0xCA = 202).
pub(crate) const SD_INFO_MAGIC_AT: usize = 0x3004;
pub(crate) const SD_FWID_AT: usize = 0x300C;
pub(crate) const SD_MAGIC: u32 = 0x51B1_E5DB;

/// Which module store an entry is in (module_bounds_t.store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Main,
    /// The external flash's factory slot (ota_module_bounds.c:77-89 @ v6.2.0).
    Factory,
}

/// A module as the board's own checks see it; module-info requests report these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundModule {
    pub function: ModuleFunction,
    pub index: u8,
    pub version: u16,
    /// `module_end_address - module_start_address` from its prefix: the file without its CRC;
    /// 0 for modules Device OS describes without addresses (the radio stack, the NCP).
    pub size: u32,
    pub start: u32,
    pub store: Store,
    pub dependencies: Vec<Dependency>,
    pub integrity_ok: bool,
    pub dependencies_ok: bool,
    /// SHA-256 of the module file, for modules the sim can read whole (system and user parts).
    pub sha256: Option<[u8; 32]>,
    /// The SHA-256 its suffix carries, which module info reports from 5.6.0.
    pub suffix_sha: Option<[u8; 32]>,
    /// Still compressed (prefix flag 0x02) though it sits where code runs: nothing runs it.
    pub compressed: bool,
    /// The assets a user part needs (its ASSET_DEPENDENCY extensions).
    pub assets: Vec<AssetDependency>,
}

impl FoundModule {
    pub fn valid(&self) -> bool {
        self.integrity_ok && self.dependencies_ok
    }
}

/// The map of the Device OS whose system part is `version` (the bootloader's without one).
pub(crate) fn map_of(board: &Board, version: u16) -> &'static FlashMap {
    match version {
        0 => board.bootloader_map(),
        v => FlashMap::for_version(DeviceOs(v)),
    }
}

/// What the Device OS running now finds.
pub(super) fn scan(board: &Board) -> Vec<FoundModule> {
    scan_as(board, board.system_version())
}

/// What Device OS `version` (its flash map, its rules) finds in flash now.
pub(super) fn scan_as(board: &Board, version: u16) -> Vec<FoundModule> {
    let map = map_of(board, version);
    let mut modules = vec![match &board.bootloader {
        Some(m) => found(m, Store::Main),
        // A factory bootloader the sim has no file of: its version, a plausible size.
        None => FoundModule {
            size: 0xA000,
            start: map.bootloader.start,
            ..described(ModuleFunction::Bootloader, board.bootloader_version)
        },
    }];
    modules.extend(radio_stack(board, map));
    modules.extend(module_at(
        board,
        ModuleFunction::SystemPart,
        map.system_part.start,
    ));
    modules.extend(user_part(board, map, version));
    if let Some(version) = board.ncp_version {
        // platform_ncp_fetch_module_info: the ESP32's version, no addresses (size 0), no
        // dependencies (platform_ncp_update.cpp:165-198 @ v6.2.0).
        modules.push(described(ModuleFunction::NcpFirmware, version));
    }
    if let Some(m) = &board.factory_app {
        modules.push(found(m, Store::Factory));
    }
    // validate_module_dependencies (ota_flash_hal.cpp:252-287 @ v1.5.0): each dependency
    // needs a module of that function and index at that version or newer; its own validity
    // is not asked.
    let snapshot = modules.clone();
    for m in &mut modules {
        m.dependencies_ok = m.dependencies.iter().all(|d| {
            snapshot.iter().any(|o| {
                o.store == Store::Main
                    && o.function == d.function
                    && o.index == d.index
                    && o.version >= d.version
            })
        });
    }
    modules
}

/// The one user part Device OS reports and runs: the 128 KiB compat application when it is
/// intact ("it takes precedence", ota_flash_hal.cpp:183-197 @ v6.2.0), else the map's own
/// slot. From 3.2.0 a user part that fails its integrity check is not reported at all
/// (commit ed1ad6235, ota_flash_hal.cpp:199-211 @ v6.2.0).
fn user_part(board: &Board, map: &FlashMap, version: u16) -> Option<FoundModule> {
    let slots = [map.user_part_compat, Some(map.user_part)];
    let mut broken = None;
    for slot in slots.into_iter().flatten() {
        match module_at(board, ModuleFunction::UserPart, slot.area.start) {
            Some(m) if m.integrity_ok => return Some(m),
            Some(m) => {
                broken.get_or_insert(m);
            }
            None => {}
        }
    }
    broken.filter(|_| !dialect(version).hides_invalid_user_parts)
}

/// A module the sim holds whole (the bootloader, the factory app).
fn found(m: &Module, store: Store) -> FoundModule {
    FoundModule {
        function: m.function(),
        index: m.index(),
        version: m.version(),
        size: m.prefix.end_address.saturating_sub(m.prefix.start_address),
        start: m.image_address(),
        store,
        dependencies: m.prefix.dependencies.clone(),
        integrity_ok: m.crc_ok(),
        dependencies_ok: true,
        sha256: Some(m.file_sha256),
        suffix_sha: Some(m.stored_sha()),
        compressed: m.flags().compressed(),
        assets: m.asset_dependencies().into_iter().cloned().collect(),
    }
}

/// A module Device OS describes from elsewhere than a prefix in flash: version only.
fn described(function: ModuleFunction, version: u16) -> FoundModule {
    FoundModule {
        function,
        index: 0,
        version,
        size: 0,
        start: 0,
        store: Store::Main,
        // platform_radio_stack_fetch_module_info "assumes all checks passed"
        // (platform_radio_stack.cpp:40-41 @ v1.5.0).
        dependencies: Vec::new(),
        integrity_ok: true,
        dependencies_ok: true,
        sha256: None,
        suffix_sha: None,
        compressed: false,
        assets: Vec::new(),
    }
}

/// platform_radio_stack_fetch_module_info (platform_radio_stack.cpp:25-67 @ v1.5.0): the
/// SoftDevice's firmware id as the version, and no start or end address, so size 0.
fn radio_stack(board: &Board, map: &FlashMap) -> Option<FoundModule> {
    let magic = board
        .internal
        .read(SD_INFO_MAGIC_AT, 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))?;
    if magic != SD_MAGIC {
        return None;
    }
    let fwid = board
        .internal
        .read(SD_FWID_AT, 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))?;
    Some(FoundModule {
        start: map.softdevice.start,
        ..described(ModuleFunction::RadioStack, fwid)
    })
}

/// A module as it sits in flash. One installed from a combined file keeps the COMBINED flag
/// in its prefix — Device OS copies each part as it came (ota_flash_hal.cpp:647-663 @ v6.2.0)
/// and no check reads that flag again — so it is read as the module it is. Returns the
/// module and whether its CRC matches.
pub(crate) fn parse_installed(bytes: Vec<u8>) -> Option<(Module, bool)> {
    let n = bytes.len().checked_sub(4)?;
    let stored = u32::from_be_bytes([bytes[n], bytes[n + 1], bytes[n + 2], bytes[n + 3]]);
    let crc_ok = crc32fast::hash(&bytes[..n]) == stored;
    let (p, offset) = ModulePrefix::find(&bytes)?;
    if !p.flags().combined() {
        return Module::parse(bytes).ok().map(|m| (m, crc_ok));
    }
    let mut single = bytes;
    single[offset + 9] &= !Flags::COMBINED;
    crate::core::module::reseal::reseal(&mut single).ok()?;
    Module::parse(single).ok().map(|m| (m, crc_ok))
}

/// The module of `function` whose module info says it starts at `slot`, as fetch_module
/// reads it: integrity is its CRC and platform.
pub(crate) fn module_at(board: &Board, function: ModuleFunction, slot: u32) -> Option<FoundModule> {
    let (prefix, _) = prefix_at(board, slot)?;
    if prefix.function != function || prefix.start_address != slot || prefix.end_address <= slot {
        return None;
    }
    let len = (prefix.end_address - slot + 4) as usize;
    let bytes = board.internal.read(slot as usize, len)?;
    let file_sha256: [u8; 32] = sha2::Sha256::digest(&bytes).into();
    let parsed = parse_installed(bytes);
    let integrity_ok = parsed
        .as_ref()
        .is_some_and(|(m, crc_ok)| *crc_ok && m.platform.id == board.platform.id);
    let parsed = parsed.map(|(m, _)| m);
    Some(FoundModule {
        size: prefix.end_address - slot,
        start: slot,
        store: Store::Main,
        integrity_ok,
        ..match &parsed {
            Some(m) => FoundModule {
                sha256: Some(file_sha256),
                ..found(m, Store::Main)
            },
            None => FoundModule {
                index: prefix.index,
                dependencies: prefix.dependencies.clone(),
                compressed: prefix.flags().compressed(),
                ..described(function, prefix.version)
            },
        }
    })
}
