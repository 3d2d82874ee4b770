//! Module functions (`module_function_t`, dynalib/inc/module_info.h:92-140 @ v6.2.0).

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModuleFunction {
    None = 0,
    Resource = 1,
    Bootloader = 2,
    Monolithic = 3,
    SystemPart = 4,
    UserPart = 5,
    Settings = 6,
    NcpFirmware = 7,
    RadioStack = 8,
    /// Data an application needs, kept in the asset store (Device OS ≥ 5.5).
    Asset = 9,
}

impl ModuleFunction {
    pub fn from_byte(b: u8) -> Option<Self> {
        use ModuleFunction::*;
        Some(match b {
            0 => None,
            1 => Resource,
            2 => Bootloader,
            3 => Monolithic,
            4 => SystemPart,
            5 => UserPart,
            6 => Settings,
            7 => NcpFirmware,
            8 => RadioStack,
            9 => Asset,
            _ => return Option::None,
        })
    }

    pub fn as_byte(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        use ModuleFunction::*;
        match self {
            None => "none",
            Resource => "resource",
            Bootloader => "bootloader",
            Monolithic => "monolithic",
            SystemPart => "system-part",
            UserPart => "user-part",
            Settings => "settings",
            NcpFirmware => "ncp-firmware",
            RadioStack => "radio-stack",
            Asset => "asset",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        (0..=9)
            .filter_map(Self::from_byte)
            .find(|f| f.name() == name)
    }
}

impl fmt::Display for ModuleFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
