//! What the board does on reset: install a staged bootloader, find the modules in flash,
//! check each (CRC, platform, dependencies) as Device OS does, and decide whether the system
//! firmware runs normally, in safe mode, or not at all (the bootloader stays in DFU).

use crate::core::module::{Dependency, Module, ModuleFunction, ModulePrefix, PREFIX_LEN};

use super::Board;

/// The SoftDevice's own info struct (Nordic): magic and firmware id, which Device OS reports
/// as the radio stack's version (S140 7.0.1 = 0xCA = 202).
const SD_INFO_MAGIC_AT: usize = 0x3004;
const SD_SIZE_AT: usize = 0x3008;
const SD_FWID_AT: usize = 0x300C;
const SD_MAGIC: u32 = 0x51B1_E5DB;
const SD_START: u32 = 0x1000;

/// Where Device OS looks for each module on a Gen3 board, and where its prefix sits.
const SLOTS: [(ModuleFunction, u32, usize); 2] = [
    (ModuleFunction::SystemPart, 0x30000, 0x200),
    (ModuleFunction::UserPart, 0xD4000, 0),
];

/// A module as the board's own checks see it; module-info requests report these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundModule {
    pub function: ModuleFunction,
    pub index: u8,
    pub version: u16,
    pub size: u32,
    pub start: u32,
    pub dependencies: Vec<Dependency>,
    pub integrity_ok: bool,
    pub dependencies_ok: bool,
    /// SHA-256 of the module file, for modules the sim can read whole (system and user parts).
    pub sha256: Option<[u8; 32]>,
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
            .find(|m| m.function == ModuleFunction::SystemPart)
    }

    /// The system firmware starts when it is there and intact.
    pub fn runs_firmware(&self) -> bool {
        self.system_part().is_some_and(|m| m.integrity_ok)
    }

    /// Any module failing its checks puts Device OS in safe mode (breathing magenta).
    pub fn safe_mode(&self) -> bool {
        self.modules.iter().any(|m| !m.valid())
    }

    /// The user part that runs, if the firmware runs it (not in safe mode).
    pub fn running_user_part(&self) -> Option<&FoundModule> {
        if !self.runs_firmware() || self.safe_mode() {
            return None;
        }
        self.modules
            .iter()
            .find(|m| m.function == ModuleFunction::UserPart)
    }
}

pub(super) fn boot(board: &mut Board) -> BootOutcome {
    if let Some(bootloader) = board.staged_bootloader.take() {
        install_bootloader(board, bootloader);
    }
    let mut modules = Vec::new();
    modules.push(match &board.bootloader {
        Some(m) => FoundModule {
            function: ModuleFunction::Bootloader,
            index: 0,
            version: m.version(),
            size: m.bytes().len() as u32,
            start: m.image_address(),
            dependencies: m.prefix.dependencies.clone(),
            integrity_ok: true,
            dependencies_ok: true,
            sha256: Some(m.file_sha256),
        },
        None => FoundModule {
            function: ModuleFunction::Bootloader,
            index: 0,
            version: board.bootloader_version,
            size: 0xA000,
            start: 0xF4000,
            dependencies: Vec::new(),
            integrity_ok: true,
            dependencies_ok: true,
            sha256: None,
        },
    });
    modules.extend(radio_stack(board));
    for (function, slot, prefix_at) in SLOTS {
        if let Some(found) = module_at(board, function, slot, prefix_at) {
            modules.push(found);
        }
    }
    let snapshot = modules.clone();
    for m in &mut modules {
        m.dependencies_ok = m.dependencies.iter().all(|d| {
            snapshot.iter().any(|o| {
                o.function == d.function
                    && o.index == d.index
                    && o.integrity_ok
                    && o.version >= d.version
            })
        });
    }
    log::debug!(
        "sim {}: booted with {:?}",
        board.port,
        modules
            .iter()
            .map(|m| (m.function, m.version, m.valid()))
            .collect::<Vec<_>>()
    );
    BootOutcome { modules }
}

/// Device OS copies a bootloader received by control request over the old one at reset.
fn install_bootloader(board: &mut Board, module: Module) {
    let image = module.image().to_vec();
    let at = module.image_address() as usize;
    let pages = image.len().div_ceil(4096);
    for p in 0..pages {
        board.internal.erase_page(at + p * 4096);
    }
    board.internal.program(at, &image);
    let cost =
        board.timing.internal_page_erase * pages as u32 + board.timing.internal_write(image.len());
    board.spend(cost);
    board.bootloader_version = module.version();
    board.bootloader = Some(module);
}

fn radio_stack(board: &Board) -> Option<FoundModule> {
    let u32_at = |at: usize| {
        board
            .internal
            .read(at, 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if u32_at(SD_INFO_MAGIC_AT)? != SD_MAGIC {
        return None;
    }
    let fwid = board
        .internal
        .read(SD_FWID_AT, 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))?;
    Some(FoundModule {
        function: ModuleFunction::RadioStack,
        index: 0,
        version: fwid,
        size: u32_at(SD_SIZE_AT)?,
        start: SD_START,
        // Device OS reports the radio stack without dependencies of its own.
        dependencies: Vec::new(),
        integrity_ok: true,
        dependencies_ok: true,
        sha256: None,
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
    let (integrity_ok, version, sha256) = match Module::parse(bytes) {
        Ok(m) => (
            m.crc_ok() && m.platform.id == board.platform.id,
            m.version(),
            Some(m.file_sha256),
        ),
        Err(_) => (false, prefix.version, None),
    };
    Some(FoundModule {
        function,
        index: prefix.index,
        version,
        size: len as u32,
        start: slot,
        dependencies: prefix.dependencies.clone(),
        integrity_ok,
        dependencies_ok: true,
        sha256,
    })
}
