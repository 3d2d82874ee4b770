//! What the board does on reset: the bootloader applies the module slots Device OS left in the
//! DCT (a staged bootloader through Nordic's MBR, with its own reset), then the modules in
//! flash are found and checked (CRC, platform, dependencies) as Device OS does, which decides
//! whether the system firmware runs normally, in safe mode, or not at all (DFU mode).

use std::time::Duration;

use crate::core::module::{Dependency, Module, ModuleFunction, ModulePrefix, PREFIX_LEN};

use super::Board;

/// The SoftDevice's own info struct (Nordic): magic and firmware id, which Device OS reports
/// as the radio stack's version (S140 7.0.1 = 0xCA = 202).
const SD_INFO_MAGIC_AT: usize = 0x3004;
const SD_FWID_AT: usize = 0x300C;
const SD_MAGIC: u32 = 0x51B1_E5DB;
const SD_START: u32 = 0x1000;
/// Where the bootloader lives and where a staged one is put first: the 128 KiB compat
/// application area (ota_flash_hal.cpp:638-645 @ v6.2.0, module_user_compat).
pub const BOOTLOADER_AT: u32 = 0xF4000;
pub const STAGED_BOOTLOADER_AT: u32 = 0xD4000;

/// Where Device OS looks for each module on a Gen3 board, and where its prefix sits.
const SLOTS: [(ModuleFunction, u32, usize); 2] = [
    (ModuleFunction::SystemPart, 0x30000, 0x200),
    (ModuleFunction::UserPart, 0xD4000, 0),
];

/// Which module store an entry is in (module_bounds_t.store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Main,
    /// The external flash's factory slot (ota_module_bounds.c:77-89 @ v6.2.0).
    Factory,
}

/// A copy Device OS left for the bootloader in a DCT module slot (flash_mal.c
/// FLASH_AddToNextAvailableModulesSlot), applied at the next boot that is not into DFU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSlot {
    /// The bytes in external flash: a module file as received, or a backup.
    pub bytes: Vec<u8>,
    pub dest: u32,
    pub function: ModuleFunction,
    /// MODULE_DROP_MODULE_INFO: the 24-byte prefix is not copied (the radio stack).
    pub drop_prefix: bool,
}

impl ModuleSlot {
    /// What lands in internal flash.
    fn image(&self) -> &[u8] {
        if self.drop_prefix {
            self.bytes.get(PREFIX_LEN..).unwrap_or_default()
        } else {
            &self.bytes
        }
    }
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
}

impl FoundModule {
    pub fn valid(&self) -> bool {
        self.integrity_ok && self.dependencies_ok
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootOutcome {
    pub modules: Vec<FoundModule>,
}

impl BootOutcome {
    fn system_part(&self) -> Option<&FoundModule> {
        self.modules
            .iter()
            .find(|m| m.function == ModuleFunction::SystemPart && m.store == Store::Main)
    }

    /// The system firmware starts when it is there and intact.
    pub fn runs_firmware(&self) -> bool {
        self.system_part().is_some_and(|m| m.integrity_ok)
    }

    /// Any module failing its checks puts Device OS in safe mode (breathing magenta).
    pub fn safe_mode(&self) -> bool {
        self.modules
            .iter()
            .any(|m| m.store == Store::Main && !m.valid())
    }

    /// The user part that runs, if the firmware runs it (not in safe mode).
    pub fn running_user_part(&self) -> Option<&FoundModule> {
        if !self.runs_firmware() || self.safe_mode() {
            return None;
        }
        self.modules
            .iter()
            .find(|m| m.function == ModuleFunction::UserPart && m.store == Store::Main)
    }
}

/// The boot after a reset: slots first (unless the board stays in DFU: the bootloader only
/// applies them on its way to the firmware, main.c:413-424 @ v6.2.0), then the checks.
pub(super) fn boot(board: &mut Board, into_dfu: bool) -> BootOutcome {
    if !into_dfu {
        apply_slots(board);
    }
    let outcome = BootOutcome {
        modules: scan(board),
    };
    log::debug!(
        "sim {}: booted with {:?}",
        board.port,
        outcome
            .modules
            .iter()
            .map(|m| (m.function, m.version, m.valid()))
            .collect::<Vec<_>>()
    );
    outcome
}

/// The time the bootloader spends on its slots before it starts the firmware.
pub(super) fn slot_work(board: &Board) -> Duration {
    let t = &board.timing;
    board
        .slots
        .iter()
        .map(|s| match s.function {
            ModuleFunction::Bootloader => {
                let area = s.bytes.len().div_ceil(4096) * 4096;
                // Back the application area up to external flash, put the bootloader there,
                // the MBR copies it over the old one and resets, the new one restores the area.
                t.external_copy(area)
                    + t.internal_copy(s.bytes.len())
                    + t.internal_copy(s.bytes.len())
                    + t.bootloader_restart
                    + t.internal_copy(area)
            }
            _ => t.internal_copy(s.image().len()),
        })
        .sum()
}

/// FLASH_UpdateModules (flash_mal.c:675-747 @ v6.2.0): every slot is copied and cleared,
/// the bootloader last because it resets the chip.
fn apply_slots(board: &mut Board) {
    let slots = std::mem::take(&mut board.slots);
    let (bootloaders, others): (Vec<_>, Vec<_>) = slots
        .into_iter()
        .partition(|s| s.function == ModuleFunction::Bootloader);
    for slot in others {
        copy_slot(board, &slot);
    }
    for slot in bootloaders {
        install_staged_bootloader(board, &slot);
    }
}

fn copy_slot(board: &mut Board, slot: &ModuleSlot) {
    let image = slot.image().to_vec();
    let at = slot.dest as usize;
    for page in (at..at + image.len()).step_by(4096) {
        board.internal.erase_page(page);
    }
    board.internal.program(at, &image);
}

/// The staged path, when the running bootloader is ≥ 1001 (flash_mal.c:376-391, 466-484 @
/// v6.2.0): the old bootloader backs up the application area the new one is copied into
/// and leaves a slot to restore it, SD_MBR_COMMAND_COPY_BL has the MBR copy it over the old
/// bootloader and reset the chip, and the new bootloader restores the area at its first boot.
fn install_staged_bootloader(board: &mut Board, slot: &ModuleSlot) {
    let area = slot.bytes.len().div_ceil(4096) * 4096;
    let staged = STAGED_BOOTLOADER_AT as usize;
    let backup = board
        .internal
        .read(staged, area)
        .unwrap_or_else(|| vec![0xFF; area]);
    copy_slot(
        board,
        &ModuleSlot {
            dest: STAGED_BOOTLOADER_AT,
            ..slot.clone()
        },
    );
    // The MBR copies from the staging area, not from the file.
    let staged_image = board
        .internal
        .read(staged, slot.bytes.len())
        .unwrap_or_default();
    write_bootloader(board, &staged_image);
    board.stats.resets += 1;
    copy_slot(
        board,
        &ModuleSlot {
            bytes: backup,
            dest: STAGED_BOOTLOADER_AT,
            function: ModuleFunction::None,
            drop_prefix: false,
        },
    );
}

/// Erases the bootloader region and writes `image` there; the board then runs it.
pub(super) fn write_bootloader(board: &mut Board, image: &[u8]) {
    copy_slot(
        board,
        &ModuleSlot {
            bytes: image.to_vec(),
            dest: BOOTLOADER_AT,
            function: ModuleFunction::Bootloader,
            drop_prefix: false,
        },
    );
    board.install_bootloader_from_flash();
}

/// What Device OS finds in flash now (HAL_System_Info: every module bound, fetch_module's
/// checks, ota_module.cpp:58-85 @ v1.5.0); module-info requests report this, not the state
/// at boot, as Device OS reads it afresh for each request.
pub(super) fn scan(board: &Board) -> Vec<FoundModule> {
    let mut modules = vec![match &board.bootloader {
        Some(m) => found(m, Store::Main),
        // A factory bootloader the sim has no file of: its version, a plausible size.
        None => FoundModule {
            size: 0xA000,
            start: BOOTLOADER_AT,
            ..described(ModuleFunction::Bootloader, board.bootloader_version)
        },
    }];
    modules.extend(radio_stack(board));
    for (function, slot, prefix_at) in SLOTS {
        if let Some(found) = module_at(board, function, slot, prefix_at) {
            modules.push(found);
        }
    }
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
    }
}

/// platform_radio_stack_fetch_module_info (platform_radio_stack.cpp:25-67 @ v1.5.0): the
/// SoftDevice's firmware id as the version, and no start or end address, so size 0.
fn radio_stack(board: &Board) -> Option<FoundModule> {
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
        start: SD_START,
        ..described(ModuleFunction::RadioStack, fwid)
    })
}

fn module_at(
    board: &Board,
    function: ModuleFunction,
    slot: u32,
    prefix_at: usize,
) -> Option<FoundModule> {
    let prefix_bytes = board.internal.read(slot as usize + prefix_at, PREFIX_LEN)?;
    let prefix = ModulePrefix::parse(&prefix_bytes)?;
    if prefix.function != function || prefix.start_address != slot || prefix.end_address <= slot {
        return None;
    }
    let len = (prefix.end_address - slot + 4) as usize;
    let bytes = board.internal.read(slot as usize, len)?;
    let (integrity_ok, version, sha256, suffix_sha) = match Module::parse(bytes) {
        Ok(m) => (
            m.crc_ok() && m.platform.id == board.platform.id,
            m.version(),
            Some(m.file_sha256),
            Some(m.stored_sha()),
        ),
        Err(_) => (false, prefix.version, None, None),
    };
    Some(FoundModule {
        function,
        index: prefix.index,
        version,
        size: prefix.end_address - slot,
        start: slot,
        store: Store::Main,
        dependencies: prefix.dependencies.clone(),
        integrity_ok,
        dependencies_ok: true,
        sha256,
        suffix_sha,
    })
}
