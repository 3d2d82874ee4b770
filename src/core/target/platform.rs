//! Particle platform ids, as Particle numbers them. The id is stored in every module prefix; a
//! bundle names its platform by name and refuses modules built for any other.
//!
//! Sources: Device OS `hal/shared/platforms.h` and `build/platform-id.mk` @ v6.2.0 (ids, USB
//! PIDs, MCU); `bootloader/src/nRF52840/usbd_device.cpp:141-156` @ v6.2.0 (the DFU product
//! name); `@particle/device-constants` 4.2.1, which particle-usb and binary-version-reader read
//! (electron2, the quirks). Every per-platform difference is a field here, never an `if`.

use serde::Serialize;

use crate::core::module::ModuleFunction;

/// The flash layout a platform's modules follow: which MCU, so which map and where modules
/// that start with a vector table keep their prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutFamily {
    /// Gen3: Argon, Boron, the B/B5/E SoMs, Tracker — the maps of `target::flash_map`.
    Nrf52840,
    /// P2, Tracker M, M SoM: modules that grow left, extensions in the prefix.
    Rtl872x,
    /// Gen2: Photon, P1, Electron.
    Stm32f2xx,
    /// Gen1: the Core.
    Stm32f1xx,
}

impl LayoutFamily {
    pub fn name(self) -> &'static str {
        match self {
            LayoutFamily::Nrf52840 => "nRF52840",
            LayoutFamily::Rtl872x => "RTL872x",
            LayoutFamily::Stm32f2xx => "STM32F2xx",
            LayoutFamily::Stm32f1xx => "STM32F1xx",
        }
    }

    /// Where a module that starts with an ARM vector table keeps its prefix: after the table.
    /// nRF52840: 512 bytes (`platform_vector_table_flash_size`, platform_flash.ld:54 @ v6.2.0);
    /// STM32F2: 0x184 and the Core 0x10C (binary-version-reader `_findModulePrefixOffset`);
    /// RTL872x: its bootloader's prefix sits at 32 (binary-version-reader's p2 bootloaders).
    pub fn vector_table_prefix_offset(self, function: ModuleFunction) -> usize {
        use ModuleFunction::*;
        let after_vector_table = matches!(function, Bootloader | SystemPart | Monolithic);
        match (self, after_vector_table) {
            (_, false) => 0,
            (LayoutFamily::Nrf52840, true) => 0x200,
            (LayoutFamily::Stm32f2xx, true) => 0x184,
            (LayoutFamily::Stm32f1xx, true) => 0x10C,
            (LayoutFamily::Rtl872x, true) if function == Bootloader => 0x20,
            (LayoutFamily::Rtl872x, true) => 0,
        }
    }

    /// Every offset some family keeps a prefix at, most common first.
    pub const PREFIX_OFFSETS: [usize; 5] = [0, 0x200, 0x184, 0x20, 0x10C];
}

/// A network coprocessor Device OS updates itself (module function NCP firmware).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Ncp {
    pub name: &'static str,
    /// The module's MCU target byte (prefix byte 8) that names this NCP:
    /// `PLATFORM_NCP_IDENTIFIER(manufacturer, type)` in hal/shared/platform_ncp.h:37-45 @ v6.2.0.
    pub mcu_target: u8,
}

/// The Argon's (and A SoM's, Tracker's) ESP32: Espressif (1) << 5 | 1.
pub const ESP32: Ncp = Ncp {
    name: "ESP32",
    mcu_target: 0x21,
};

/// What differs between platforms beyond ids, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Quirks {
    /// particle-usb's `controlOutTransfersRequireDataStage` (device-constants 4.2.1): the
    /// RTL872x boards stall a control OUT request without a data stage.
    pub control_out_needs_data_stage: bool,
    /// The coprocessor Device OS updates from an NCP module, if any:
    /// hal/src/argon/platform_ncp_argon.cpp:25-30, hal/src/tracker/platform_ncp_quectel.cpp:64-75.
    pub updatable_ncp: Option<Ncp>,
}

const PLAIN: Quirks = Quirks {
    control_out_needs_data_stage: false,
    updatable_ncp: None,
};
const WITH_ESP32: Quirks = Quirks {
    control_out_needs_data_stage: false,
    updatable_ncp: Some(ESP32),
};
const RTL: Quirks = Quirks {
    control_out_needs_data_stage: true,
    updatable_ncp: None,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Platform {
    pub id: u16,
    pub name: &'static str,
    /// The product name Device OS puts in its USB strings ("Argon" → "Argon DFU Mode").
    pub usb_name: Option<&'static str>,
    pub family: LayoutFamily,
    /// USB product ids in normal and DFU mode (vendor 0x2b04).
    pub usb_pid_normal: Option<u16>,
    pub usb_pid_dfu: Option<u16>,
    pub quirks: Quirks,
}

pub const PARTICLE_VID: u16 = 0x2b04;

use LayoutFamily::{Nrf52840, Rtl872x, Stm32f1xx, Stm32f2xx};

/// Known platforms by id. PIDs are 0xc000/0xd000 + id for every Particle-VID platform.
const PLATFORMS: &[Platform] = &[
    p(0, "core", None, Stm32f1xx, false, PLAIN),
    p(6, "photon", None, Stm32f2xx, true, PLAIN),
    p(8, "p1", None, Stm32f2xx, true, PLAIN),
    p(10, "electron", None, Stm32f2xx, true, PLAIN),
    p(12, "argon", Some("Argon"), Nrf52840, true, WITH_ESP32),
    p(13, "boron", Some("Boron"), Nrf52840, true, PLAIN),
    p(14, "xenon", None, Nrf52840, true, PLAIN),
    p(15, "esomx", Some("E-SoM-X"), Nrf52840, true, PLAIN),
    p(22, "asom", Some("A-SoM"), Nrf52840, true, WITH_ESP32),
    p(23, "bsom", Some("B-SoM"), Nrf52840, true, PLAIN),
    p(24, "xsom", None, Nrf52840, true, PLAIN),
    p(25, "b5som", Some("B5-SoM"), Nrf52840, true, PLAIN),
    p(26, "tracker", Some("Tracker"), Nrf52840, true, WITH_ESP32),
    p(28, "trackerm", None, Rtl872x, true, RTL),
    p(32, "p2", None, Rtl872x, true, RTL),
    p(35, "msom", None, Rtl872x, true, RTL),
    // device-constants 4.2.1 (not yet in Device OS 6.2.0's platforms.h).
    p(37, "electron2", None, Nrf52840, true, PLAIN),
];

const fn p(
    id: u16,
    name: &'static str,
    usb_name: Option<&'static str>,
    family: LayoutFamily,
    particle_usb: bool,
    quirks: Quirks,
) -> Platform {
    // build/platform-id.mk: USBD_PID_CDC = 0xC000 + id, USBD_PID_DFU = 0xD000 + id.
    let (usb_pid_normal, usb_pid_dfu) = match particle_usb {
        true => (Some(0xc000 + id), Some(0xd000 + id)),
        false => (None, None),
    };
    Platform {
        id,
        name,
        usb_name,
        family,
        usb_pid_normal,
        usb_pid_dfu,
        quirks,
    }
}

impl Platform {
    /// Asset modules carry platform id 0: binary-version-reader's `createAssetModule` never sets
    /// one, and Device OS's asset store does not look at it. Such a module is for any platform.
    pub const ANY: Platform = Platform {
        id: 0,
        name: "any",
        usb_name: None,
        family: Nrf52840,
        usb_pid_normal: None,
        usb_pid_dfu: None,
        quirks: PLAIN,
    };

    pub fn all() -> &'static [Platform] {
        PLATFORMS
    }

    pub fn by_id(id: u16) -> Option<Platform> {
        PLATFORMS.iter().copied().find(|p| p.id == id)
    }

    pub fn by_name(name: &str) -> Option<Platform> {
        PLATFORMS
            .iter()
            .copied()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Which platform a Particle USB product id belongs to, and whether it is the DFU one.
    pub fn by_usb_pid(pid: u16) -> Option<(Platform, bool)> {
        PLATFORMS.iter().find_map(|p| {
            if p.usb_pid_normal == Some(pid) {
                Some((*p, false))
            } else if p.usb_pid_dfu == Some(pid) {
                Some((*p, true))
            } else {
                None
            }
        })
    }

    pub fn names() -> Vec<&'static str> {
        PLATFORMS.iter().map(|p| p.name).collect()
    }

    /// The nRF52840 boards flashline flashes (the map of `target::flash_map`).
    pub fn is_nrf52840(&self) -> bool {
        self.family == LayoutFamily::Nrf52840 && *self != Platform::ANY
    }

    /// The bootloader's DFU-mode product string, "Argon DFU Mode" (usbd_device.cpp:156).
    pub fn dfu_product(&self) -> Option<String> {
        self.usb_name.map(|n| format!("{n} DFU Mode"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon_and_boron_are_distinct_nrf52840_platforms() {
        let argon = Platform::by_name("Argon").unwrap();
        assert_eq!(argon.id, 12);
        assert!(argon.is_nrf52840());
        assert_eq!(Platform::by_usb_pid(0xd00c), Some((argon, true)));
        assert_eq!(Platform::by_usb_pid(0xc00d).unwrap().0.name, "boron");
        assert!(Platform::by_id(99).is_none());
        assert_eq!(argon.dfu_product().as_deref(), Some("Argon DFU Mode"));
    }

    /// The ids Particle gives, with the names device-constants uses for them.
    #[test]
    fn the_table_numbers_platforms_as_particle_does() {
        let named: Vec<(u16, &str)> = PLATFORMS.iter().map(|p| (p.id, p.name)).collect();
        for expected in [
            (12, "argon"),
            (13, "boron"),
            (15, "esomx"),
            (22, "asom"),
            (23, "bsom"),
            (25, "b5som"),
            (26, "tracker"),
            (28, "trackerm"),
            (32, "p2"),
            (35, "msom"),
            (37, "electron2"),
        ] {
            assert!(named.contains(&expected), "{expected:?} missing");
        }
        let mut ids: Vec<u16> = named.iter().map(|(id, _)| *id).collect();
        ids.dedup();
        assert_eq!(ids.len(), PLATFORMS.len(), "ids sorted and unique");
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        // PIDs from build/platform-id.mk @ v6.2.0, e.g. 15 esomx 0xD00F, 35 msom 0xD023.
        assert_eq!(Platform::by_usb_pid(0xd00f).unwrap().0.name, "esomx");
        assert_eq!(Platform::by_usb_pid(0xd01c).unwrap().0.name, "trackerm");
        assert_eq!(Platform::by_usb_pid(0xc023).unwrap().0.name, "msom");
        assert!(
            Platform::by_name("trackerm")
                .unwrap()
                .quirks
                .control_out_needs_data_stage
        );
        assert_eq!(
            Platform::by_name("tracker").unwrap().quirks.updatable_ncp,
            Some(ESP32)
        );
        assert_eq!(
            Platform::by_name("boron").unwrap().quirks.updatable_ncp,
            None
        );
    }
}
