//! How each module reaches a board, by its function and form, and why (docs/module-forms.md).

use serde::Serialize;

use crate::core::module::{Module, ModuleForm, ModuleFunction, Platform, MAX_COMBINED_APPLIED};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// Firmware-update control requests; Device OS installs it at the next reset.
    Control,
    /// DFU alt 0 at the module's own address.
    Dfu,
}

impl Route {
    /// How a module reaches the board, by its function and form. DFU writes bytes as they
    /// are, so only a plain module of internal flash goes that way; everything else — the
    /// bootloader, NCP firmware, assets, compressed and combined files — goes by control
    /// request, which Device OS unpacks (ota_flash_hal.cpp:468-676 @ v6.2.0). A module no
    /// route can write is refused at lock (`Route::check`) and never gets here.
    pub fn of(m: &Module) -> Route {
        use ModuleFunction as F;
        match (m.form(), m.function()) {
            (ModuleForm::Plain, F::SystemPart | F::UserPart | F::RadioStack | F::Monolithic) => {
                Route::Dfu
            }
            _ => Route::Control,
        }
    }

    /// The route a module will take on a board of `platform`, or why none can write it,
    /// naming what to use instead.
    pub fn check(m: &Module, platform: &Platform) -> Result<Route, String> {
        use ModuleFunction as F;
        let flags = m.flags();
        if m.form() == ModuleForm::Encrypted {
            return Err(format!(
                "is encrypted (prefix flag 0x08): only rtl872x Device OS decrypts modules \
                 (hal/src/rtl872x/ota_flash_hal.cpp:568); use the unencrypted build for {}",
                platform.name
            ));
        }
        if flags.prefix_extensions() && m.function() != F::Asset {
            return Err(format!(
                "keeps extensions in its prefix (flag 0x10), which only rtl872x Device OS reads \
                 (platform/MCU/rtl872x/src/flash_mal.c:142); a {} module keeps them in its suffix: \
                 use the build for {}",
                platform.family.name(),
                platform.name
            ));
        }
        if let Some(parts) = m.combined_parts() {
            if parts.len() > MAX_COMBINED_APPLIED {
                return Err(format!(
                    "combines {} modules, and Device OS applies only the first {MAX_COMBINED_APPLIED} of \
                     a combined file (MAX_COMBINED_MODULE_COUNT, ota_flash_hal.cpp:578): list its \
                     modules ({}) as separate files",
                    parts.len(),
                    parts.iter().map(Module::label).collect::<Vec<_>>().join(", ")
                ));
            }
            for part in parts {
                Route::check(part, platform).map_err(|e| format!("its {}: {e}", part.label()))?;
            }
            return Ok(Route::Control);
        }
        if flags.compressed() && !matches!(m.function(), F::SystemPart | F::UserPart | F::Asset) {
            return Err(format!(
                "is a compressed {}: Device OS takes compressed modules only for the system part, \
                 user part and assets (ota_flash_hal.cpp:520-526); use the uncompressed file",
                m.function()
            ));
        }
        match m.function() {
            F::NcpFirmware => match platform.quirks.updatable_ncp {
                Some(ncp) if ncp.mcu_target == m.prefix.mcu_target => Ok(Route::Control),
                Some(ncp) => Err(format!(
                    "is NCP firmware for MCU target 0x{:02x}; the {}'s {} is 0x{:02x} \
                     (hal/shared/platform_ncp.h): use the {} NCP firmware",
                    m.prefix.mcu_target, platform.name, ncp.name, ncp.mcu_target, ncp.name
                )),
                None => Err(format!(
                    "is NCP firmware, and Device OS on a {} updates no coprocessor \
                     (ota_flash_hal.cpp:553-556): leave it out",
                    platform.name
                )),
            },
            F::None | F::Resource | F::Settings => Err(format!(
                "is a {} module, which no Device OS route installs",
                m.function()
            )),
            _ => Ok(Route::of(m)),
        }
    }
}

/// Why a module takes its route, in a few words for the plan.
pub fn why(m: &Module) -> &'static str {
    use ModuleFunction as F;
    match (m.form(), m.function()) {
        (ModuleForm::Compressed, _) => {
            "compressed: Device OS inflates it as it installs it; DFU would write the deflate \
             data as it is"
        }
        (ModuleForm::Combined, _) => {
            "combined: Device OS takes the file apart (2 modules at most); DFU cannot"
        }
        (_, F::Bootloader) => "DFU cannot replace the running bootloader: Device OS installs it",
        (_, F::NcpFirmware) => "it runs on the ESP32: Device OS sends it over its UART",
        (_, F::Asset) => "it lives in the asset store: Device OS stores it",
        (_, F::RadioStack) => "plain: placed without its prefix, as particle-cli does",
        _ => "plain: the bootloader writes it as it is",
    }
}
