//! The 24-byte module prefix (`module_info_t`, dynalib/inc/module_info.h:58-74 @ v6.2.0) and
//! where a file keeps it.

use serde::Serialize;
use std::fmt;

use super::ModuleFunction;
use crate::core::target::platform::{LayoutFamily, Platform};

pub const PREFIX_LEN: usize = 24;

/// `module_info_flags_t` (module_info.h:44-52 @ v6.2.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Flags(pub u8);

impl Flags {
    /// The prefix (and, per platform, suffix and CRC) is not written to the target: the
    /// softdevice, assets.
    pub const DROP_MODULE_INFO: u8 = 0x01;
    /// Raw deflate after a `compressed_module_header`; Device OS inflates it on install.
    pub const COMPRESSED: u8 = 0x02;
    /// Another module follows this one in the same file.
    pub const COMBINED: u8 = 0x04;
    /// Only rtl872x Device OS decrypts (hal/src/rtl872x/ota_flash_hal.cpp:568 @ v6.2.0).
    pub const ENCRYPTED: u8 = 0x08;
    /// TLV extensions follow the prefix, ending with END.
    pub const PREFIX_EXTENSIONS: u8 = 0x10;
    const NAMES: [(u8, &'static str); 5] = [
        (Self::DROP_MODULE_INFO, "drop-module-info"),
        (Self::COMPRESSED, "compressed"),
        (Self::COMBINED, "combined"),
        (Self::ENCRYPTED, "encrypted"),
        (Self::PREFIX_EXTENSIONS, "prefix-extensions"),
    ];

    pub fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }

    pub fn drops_module_info(self) -> bool {
        self.has(Self::DROP_MODULE_INFO)
    }

    pub fn compressed(self) -> bool {
        self.has(Self::COMPRESSED)
    }

    pub fn combined(self) -> bool {
        self.has(Self::COMBINED)
    }

    pub fn encrypted(self) -> bool {
        self.has(Self::ENCRYPTED)
    }

    pub fn prefix_extensions(self) -> bool {
        self.has(Self::PREFIX_EXTENSIONS)
    }

    /// The names of the flags set, and any bit no Device OS defines as `0xNN`.
    pub fn names(self) -> Vec<String> {
        let known: u8 = Self::NAMES.iter().map(|(bit, _)| bit).fold(0, |a, b| a | b);
        let mut out: Vec<String> = Self::NAMES
            .iter()
            .filter(|(bit, _)| self.has(*bit))
            .map(|(_, name)| name.to_string())
            .collect();
        if self.0 & !known != 0 {
            out.push(format!("0x{:02x}", self.0 & !known));
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Dependency {
    pub function: ModuleFunction,
    pub index: u8,
    pub version: u16,
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{} >= {}", self.function, self.index, self.version)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModulePrefix {
    pub start_address: u32,
    pub end_address: u32,
    /// Byte 8, `reserved`: the MCU target on Gen3 (0x21 names the ESP32 NCP).
    pub mcu_target: u8,
    pub flags: u8,
    pub version: u16,
    pub platform_id: u16,
    pub function: ModuleFunction,
    pub index: u8,
    pub dependencies: Vec<Dependency>,
}

impl ModulePrefix {
    /// The prefix of a module image that starts at `bytes[0]`, at the offset its platform's
    /// layout puts it (e.g. read back from a board's flash), and that offset.
    pub fn find(bytes: &[u8]) -> Option<(ModulePrefix, usize)> {
        find_prefix(bytes).ok()
    }

    /// Reads a prefix from its 24 bytes (more are ignored). `None` when too short, or when
    /// the function or a dependency function byte is not one Device OS defines.
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b: &[u8; PREFIX_LEN] = b.get(..PREFIX_LEN)?.try_into().ok()?;
        Self::read(b)
    }

    pub(super) fn read(b: &[u8; PREFIX_LEN]) -> Option<Self> {
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let function = ModuleFunction::from_byte(b[14])?;
        let mut dependencies = Vec::new();
        for at in [16, 20] {
            let dep_function = ModuleFunction::from_byte(b[at])?;
            if dep_function != ModuleFunction::None {
                dependencies.push(Dependency {
                    function: dep_function,
                    index: b[at + 1],
                    version: u16_at(at + 2),
                });
            } else if b[at + 1] != 0 || u16_at(at + 2) != 0 {
                // An empty dependency is all zeros (binary-version-reader `_validateModulePrefix`).
                return None;
            }
        }
        Some(ModulePrefix {
            start_address: u32_at(0),
            end_address: u32_at(4),
            mcu_target: b[8],
            flags: b[9],
            version: u16_at(10),
            platform_id: u16_at(12),
            function,
            index: b[15],
            dependencies,
        })
    }

    pub fn flags(&self) -> Flags {
        Flags(self.flags)
    }

    pub fn drops_prefix(&self) -> bool {
        self.flags().drops_module_info()
    }

    /// The module's platform: a known one, or any for an asset built without one.
    pub fn platform(&self) -> Option<Platform> {
        match (self.function, self.platform_id) {
            (ModuleFunction::Asset, 0) => Some(Platform::ANY),
            (_, id) => Platform::by_id(id),
        }
    }

    /// Where this prefix belongs in its file: after the vector table for the functions that
    /// start with one, at 0 for the rest — and at 0 for any compressed or drop-module-info
    /// module, which Device OS refuses with a vector table (ota_flash_hal.cpp:515-519 @ v6.2.0).
    pub fn expected_offset(&self) -> usize {
        let flags = self.flags();
        if flags.compressed() || flags.drops_module_info() {
            return 0;
        }
        let family = self.platform().map_or(LayoutFamily::Nrf52840, |p| p.family);
        family.vector_table_prefix_offset(self.function)
    }
}

/// The module prefix of a file: the first offset (of those any layout uses) where a prefix
/// reads sensibly, names a known platform and sits where that platform keeps it. When none
/// names a known platform, the first that reads sensibly (so the error says which platform).
pub(super) fn find_prefix(bytes: &[u8]) -> Result<(ModulePrefix, usize), super::ModuleError> {
    let at = |offset: usize| -> Option<ModulePrefix> {
        let b: &[u8; PREFIX_LEN] = bytes.get(offset..offset + PREFIX_LEN)?.try_into().ok()?;
        ModulePrefix::read(b).filter(|p| {
            p.function != ModuleFunction::None
                && p.end_address > p.start_address
                && p.expected_offset() == offset
        })
    };
    let candidates: Vec<(ModulePrefix, usize)> = LayoutFamily::PREFIX_OFFSETS
        .iter()
        .filter_map(|&o| at(o).map(|p| (p, o)))
        .collect();
    let pick = candidates
        .iter()
        .position(|(p, _)| p.platform().is_some())
        .unwrap_or(0);
    candidates
        .into_iter()
        .nth(pick)
        .ok_or(super::ModuleError::NotAModule {
            at_0: bytes.get(14).copied().unwrap_or(0),
            at_200: bytes.get(0x200 + 14).copied(),
        })
}
