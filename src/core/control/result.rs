//! Device OS's result codes (`system_error_t`), as a control request's `result` carries them:
//! the ones flashline meets, by Device OS's own numbers (services/inc/system_error.h:26-99 @
//! v6.2.0; the generic ones unchanged since v1.5.0).

/// (value, Device OS's name, its message)
pub const RESULTS: &[(i32, &str, &str)] = &[
    (0, "NONE", ""),
    (-100, "UNKNOWN", "Unknown error"),
    (-110, "BUSY", "Resource busy"),
    (-120, "NOT_SUPPORTED", "Not supported"),
    (-130, "NOT_ALLOWED", "Not allowed"),
    (-140, "CANCELLED", "Operation cancelled"),
    (-150, "ABORTED", "Operation aborted"),
    (-160, "TIMEOUT", "Timeout error"),
    (-170, "NOT_FOUND", "Not found"),
    (-190, "TOO_LARGE", "Too large data"),
    (-210, "INVALID_STATE", "Invalid state"),
    (-219, "FLASH_IO", "Flash IO error"),
    (-250, "INTERNAL", "Internal error"),
    (-260, "NO_MEMORY", "Memory allocation error"),
    (-270, "INVALID_ARGUMENT", "Invalid argument"),
    (-280, "BAD_DATA", "Invalid data format"),
    (-290, "OUT_OF_RANGE", "Out of range"),
    (-1300, "OTA_MODULE_NOT_FOUND", "Module not found"),
    (-1310, "OTA_UNSUPPORTED_MODULE", "Unsupported module"),
    (-1320, "OTA_VALIDATION_FAILED", "Module validation failed"),
    (
        -1330,
        "OTA_INTEGRITY_CHECK_FAILED",
        "Module integrity check failed",
    ),
    (
        -1340,
        "OTA_DEPENDENCY_CHECK_FAILED",
        "Module dependency check failed",
    ),
    (-1350, "OTA_INVALID_ADDRESS", "Invalid module address"),
    (-1351, "OTA_INVALID_SIZE", "Invalid module size"),
    (-1360, "OTA_INVALID_PLATFORM", "Invalid module platform"),
    (-1370, "OTA_INVALID_FORMAT", "Invalid module format"),
    (
        -1380,
        "OTA_UPDATES_DISABLED",
        "Firmware updates are disabled",
    ),
    (
        -1801,
        "PROTECTED",
        "Device is in a protected state, action prohibited",
    ),
];

pub const NOT_SUPPORTED: i32 = -120;
pub const CANCELLED: i32 = -140;
pub const INVALID_STATE: i32 = -210;
pub const INVALID_ARGUMENT: i32 = -270;
pub const BAD_DATA: i32 = -280;
pub const OUT_OF_RANGE: i32 = -290;
pub const OTA_MODULE_NOT_FOUND: i32 = -1300;
pub const OTA_UNSUPPORTED_MODULE: i32 = -1310;
pub const OTA_INTEGRITY_CHECK_FAILED: i32 = -1330;
pub const OTA_DEPENDENCY_CHECK_FAILED: i32 = -1340;
pub const OTA_INVALID_SIZE: i32 = -1351;
pub const OTA_INVALID_PLATFORM: i32 = -1360;
pub const OTA_INVALID_FORMAT: i32 = -1370;
pub const OTA_UPDATES_DISABLED: i32 = -1380;
/// The board is a Protected Device and refuses the action (a local update of an unprotected
/// bootloader, a system part before 6.0.0: validateModules, ota_flash_hal.cpp:557-571 @ v6.2.0).
pub const PROTECTED: i32 = -1801;
/// Before 3.0.0, START answers a positive 1 when the app disabled updates
/// (Spark_Prepare_For_Firmware_Update, system/src/system_update.cpp:302-320 @ v1.5.0).
pub const LEGACY_UPDATES_DISABLED: i32 = 1;

/// `-1380 OTA_UPDATES_DISABLED (Firmware updates are disabled)`, or the bare number.
pub fn describe(result: i32) -> String {
    match RESULTS.iter().find(|(v, _, _)| *v == result) {
        Some((v, name, message)) => format!("{v} {name} ({message})"),
        None => format!("{result}"),
    }
}

/// Device OS's validation failures of a module sent by the firmware-update requests: the
/// board refused that module (-1300 … -1370).
pub fn is_module_refused(result: i32) -> bool {
    (-1370..=-1300).contains(&result) && result != OTA_INVALID_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_unique_and_names_the_codes_flashline_keys_on() {
        assert!(RESULTS.windows(2).all(|w| w[0].0 > w[1].0));
        for (value, name) in [
            (INVALID_ARGUMENT, "INVALID_ARGUMENT"),
            (OTA_INVALID_SIZE, "OTA_INVALID_SIZE"),
            (OTA_UPDATES_DISABLED, "OTA_UPDATES_DISABLED"),
            (INVALID_STATE, "INVALID_STATE"),
        ] {
            assert!(RESULTS.iter().any(|(v, n, _)| *v == value && *n == name));
        }
        assert_eq!(
            describe(-1380),
            "-1380 OTA_UPDATES_DISABLED (Firmware updates are disabled)"
        );
        assert_eq!(describe(-9999), "-9999");
        assert!(is_module_refused(-1330) && !is_module_refused(-1351) && !is_module_refused(-1380));
    }
}
