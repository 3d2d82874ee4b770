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
    /// Knows the COMPRESSED and COMBINED module flags (commit 56f6e24f5, first in
    /// v2.0.0-alpha.1 = 2000): fetchModules walks combined parts, slots are flagged
    /// MODULE_COMPRESSED (ota_flash_hal.cpp:430-445, 470-480 @ v2.3.0). Before, byte 9 is
    /// `reserved2` and a compressed file is copied as it is.
    pub compressed_ota: bool,
    /// From 3.2.0 a user part that fails its integrity check is left out of module info, and
    /// the compat application wins on integrity alone (commit ed1ad6235, first in
    /// v3.2.0-rc.1 = 3200; ota_flash_hal.cpp:185-211 @ v6.2.0).
    pub hides_invalid_user_parts: bool,
    /// The asset store and asset modules (function 9) by firmware update: HAL_PLATFORM_ASSETS
    /// (hal_platform_nrf52840_config.h:117 @ v5.5.0; AssetManager::storeAsset from
    /// HAL_FLASH_End, ota_flash_hal.cpp:622-626 @ v6.2.0). Before, no module bounds has
    /// function 9 and fetch_module fails (-1300).
    pub assets: bool,
    /// CTRL_REQUEST_GET_ASSET_INFO = 91 (commit b958096b4, first in v5.6.0; control/storage.cpp:
    /// 183-192 @ v6.2.0).
    pub asset_info: bool,
    /// CTRL_REQUEST_GET_PROTECTED_STATE = 76 (first in v6.0.0; control/config.cpp:281-287 @
    /// v6.2.0).
    pub protected_state: bool,
    /// The system part moves the MBR parameter page to its map's (0x27000) at start, as the
    /// 6.2 bootloader does (commit 42818a967, first in v6.2.0 = 6200; hw_config.c:92-112).
    pub moves_mbr_params: bool,
}

const DOS_1: SystemDialect = SystemDialect {
    module_info_v2: false,
    stages_bootloader: false,
    start_checks: false,
    raw_reset: false,
    compressed_ota: false,
    hides_invalid_user_parts: false,
    assets: false,
    asset_info: false,
    protected_state: false,
    moves_mbr_params: false,
};
const DOS_2000: SystemDialect = SystemDialect {
    compressed_ota: true,
    ..DOS_1
};
const DOS_2002: SystemDialect = SystemDialect {
    raw_reset: true,
    ..DOS_2000
};
const DOS_2004: SystemDialect = SystemDialect {
    stages_bootloader: true,
    ..DOS_2002
};
const DOS_3000: SystemDialect = SystemDialect {
    start_checks: true,
    ..DOS_2004
};
const DOS_3200: SystemDialect = SystemDialect {
    hides_invalid_user_parts: true,
    ..DOS_3000
};
const DOS_5500: SystemDialect = SystemDialect {
    assets: true,
    ..DOS_3200
};
const DOS_5600: SystemDialect = SystemDialect {
    module_info_v2: true,
    asset_info: true,
    ..DOS_5500
};
const DOS_6000: SystemDialect = SystemDialect {
    protected_state: true,
    ..DOS_5600
};
const DOS_6200: SystemDialect = SystemDialect {
    moves_mbr_params: true,
    ..DOS_6000
};

pub const SYSTEM_DIALECTS: &[(u16, SystemDialect)] = &[
    (0, DOS_1),
    (2000, DOS_2000),
    (2002, DOS_2002),
    (2004, DOS_2004),
    (3000, DOS_3000),
    (3200, DOS_3200),
    (5500, DOS_5500),
    (5600, DOS_5600),
    (6000, DOS_6000),
    (6200, DOS_6200),
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
        assert!(!dialect(1502).compressed_ota && dialect(2202).compressed_ota);
        assert!(!dialect(3103).hides_invalid_user_parts && dialect(4100).hides_invalid_user_parts);
        assert!(!dialect(4100).assets && dialect(5501).assets && !dialect(5501).asset_info);
        assert!(!dialect(5901).protected_state && dialect(6101).protected_state);
        assert!(!dialect(6101).moves_mbr_params && dialect(6200).moves_mbr_params);
    }

    /// The host plans by its own copy of these facts (core::plan::needs): they must agree.
    #[test]
    fn the_host_and_the_board_agree_on_what_each_form_needs() {
        use crate::core::plan::needs::{ASSETS, BOOTLOADER_INVALIDATES_COMPAT, COMPRESSED};
        use crate::sim::argon::bootloader::BOOTLOADER_BOOT;
        let first = |f: fn(&SystemDialect) -> bool| {
            SYSTEM_DIALECTS.iter().find(|(_, d)| f(d)).map(|(v, _)| *v)
        };
        assert_eq!(first(|d| d.compressed_ota), Some(COMPRESSED.system.0));
        assert_eq!(first(|d| d.asset_info), Some(ASSETS.system.0));
        let inflates = BOOTLOADER_BOOT
            .iter()
            .find(|(_, b)| b.inflates)
            .map(|(v, _)| *v);
        assert_eq!(inflates, Some(COMPRESSED.bootloader));
        // The board erases the compat slot from the bootloader whose map has one.
        let with_compat = crate::core::target::RELEASES
            .iter()
            .find(|r| {
                crate::core::target::FlashMap::for_version(crate::core::target::DeviceOs(
                    r.system_part,
                ))
                .user_part_compat
                .is_some()
            })
            .map(|r| r.bootloader);
        assert_eq!(with_compat, Some(BOOTLOADER_INVALIDATES_COMPAT));
    }
}
