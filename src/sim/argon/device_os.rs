//! How Device OS answers the host, per version: rows keyed by the system part's module version
//! they start at (the version the board runs, read once at boot), each citing the source.
//! Timing is in timing.rs; the bootloader's own dialect in dfu_device.rs.

use super::timing::row;
use crate::core::target::DeviceOs;

/// What one Device OS version does with the requests flashline and Particle's tools send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemDialect {
    /// Module info answers in `modules` (field 2, `particle.cloud.FirmwareModule`) instead of
    /// `modules_deprecated` (field 1) (storage.cpp:175-181 @ v5.6.0; field 1 at v5.5.0).
    pub module_info_v2: bool,
    /// A bootloader update is staged for the MBR when the running bootloader is ≥ 1001
    /// (BOOTLOADER_MBR_UPDATE_MIN_VERSION, ota_flash_hal.cpp:58 @ v2.3.0, first in
    /// v2.0.0-rc.1 = 2004); before, Device OS always writes it itself (ota_flash_hal.cpp:412-413
    /// @ v1.5.0).
    pub stages_bootloader: bool,
    /// START refuses with -1380 when the app disabled updates and -1351 on a size of 0 or over
    /// the OTA area (firmware_update.cpp:126-131 @ v3.0.0); before, a disabled update makes
    /// START answer result 1 (system_update.cpp:302-320 @ v1.5.0) and the size is not checked.
    pub start_checks: bool,
    /// The raw OUT vendor request 0x50 / wIndex 40 resets at once (commit 44e69f92e, first in
    /// v2.0.0-alpha.3 = 2002, usb_control_request_channel.cpp:542-546 @ v6.2.0); before it
    /// stalls.
    pub raw_reset: bool,
}

pub const SYSTEM_DIALECTS: &[(u16, SystemDialect)] = &[
    (
        0,
        SystemDialect {
            module_info_v2: false,
            stages_bootloader: false,
            start_checks: false,
            raw_reset: false,
        },
    ),
    (
        2002,
        SystemDialect {
            module_info_v2: false,
            stages_bootloader: false,
            start_checks: false,
            raw_reset: true,
        },
    ),
    (
        2004,
        SystemDialect {
            module_info_v2: false,
            stages_bootloader: true,
            start_checks: false,
            raw_reset: true,
        },
    ),
    (
        3000,
        SystemDialect {
            module_info_v2: false,
            stages_bootloader: true,
            start_checks: true,
            raw_reset: true,
        },
    ),
    (
        5600,
        SystemDialect {
            module_info_v2: true,
            stages_bootloader: true,
            start_checks: true,
            raw_reset: true,
        },
    ),
];

/// The running bootloader must be at least this for Device OS to stage a new one for the
/// MBR (ota_flash_hal.cpp:68, 634-636 @ v6.2.0).
pub const BOOTLOADER_MBR_UPDATE_MIN_VERSION: u16 = 1001;

/// The OTA area in external flash, the largest module START accepts
/// (EXTERNAL_FLASH_OTA_LENGTH, platform/MCU/nRF52840/inc/flash_mal.h:105 @ v6.2.0; :93 @ v1.5.0).
pub const OTA_AREA_LEN: usize = 1500 * 1024;

/// The dialect of the Device OS whose system part is `version`.
pub fn dialect(version: u16) -> SystemDialect {
    row(SYSTEM_DIALECTS, version)
}

/// The version string Device OS reports (SYSTEM_VERSION_STRING), from the release table;
/// a version no release shipped (an edited test module) as `module-N`.
pub fn version_string(version: u16) -> String {
    match DeviceOs(version).semver() {
        _ if version == 0 => "unknown".into(),
        Some(semver) => semver.into(),
        None => format!("module-{version}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_each_fact_starts_where_the_source_says() {
        assert_eq!(SYSTEM_DIALECTS[0].0, 0);
        assert!(SYSTEM_DIALECTS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(!dialect(1502).stages_bootloader && !dialect(1502).raw_reset);
        assert!(dialect(2301).stages_bootloader && !dialect(2301).start_checks);
        assert!(dialect(4100).start_checks && !dialect(4100).module_info_v2);
        assert!(!dialect(5500).module_info_v2 && dialect(5600).module_info_v2);
    }
}
