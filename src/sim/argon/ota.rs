//! What Device OS does with a file received by firmware update (hal/src/nRF52840/
//! ota_flash_hal.cpp @ v6.2.0): fetchModules walks a combined file's modules (:468-495),
//! fetch_module checks each against the module bounds of the running Device OS's flash map
//! (ota_module.cpp:104-150 @ v4.1.0), validateModules applies the rules of forms and
//! protection (:497-575), and HAL_FLASH_End applies at most two of them (:577-676): an NCP
//! module to the coprocessor, an asset to the asset store, a bootloader written by Device OS
//! itself or staged for the MBR, anything else — plain or compressed — left in a module slot
//! for the bootloader to copy (and inflate) at the next boot.

use std::time::Duration;

use crate::core::control::result;
use crate::core::module::{Module, ModuleFunction, MAX_COMBINED_APPLIED};

use super::device_os::{dialect, BOOTLOADER_MBR_UPDATE_MIN_VERSION, OTA_AREA_LEN};
use super::scan::{map_of, scan, Store};
use super::slots::{write_bootloader, ModuleSlot};
use super::Board;

/// A protected device refuses a local update of a system part older than 6.0.0
/// (validateModules, ota_flash_hal.cpp:566-571 @ v6.2.0).
const PROTECTED_MIN_SYSTEM: u16 = 6000;

impl Board {
    /// HAL_FLASH_OTA_Validate: the modules of the file Device OS will apply, or its refusal
    /// as Device OS numbers it (validityResultToSystemError, ota_flash_hal.cpp:443-463).
    pub(super) fn validate_update(&self, bytes: Vec<u8>) -> Result<Vec<Module>, i32> {
        let file = Module::parse(bytes).map_err(|_| result::OTA_MODULE_NOT_FOUND)?;
        let d = dialect(self.system_version());
        // Before 2.0 byte 9 is `reserved2`: a combined file is its first module, a compressed
        // one a module like any other (the flags were defined in 2.0.0-alpha.1).
        let parts: Vec<Module> = match (d.compressed_ota, file.combined_parts()) {
            (true, Some(parts)) => parts.to_vec(),
            (false, Some(parts)) => parts[..1].to_vec(),
            (_, None) => vec![file],
        };
        for part in &parts {
            self.fetch(part)?;
        }
        // "Got more than 2 combined modules": the rest is ignored (ota_flash_hal.cpp:588-590).
        let applied: Vec<Module> = parts.into_iter().take(MAX_COMBINED_APPLIED).collect();
        for m in &applied {
            self.validate(m, d.compressed_ota)?;
        }
        Ok(applied)
    }

    /// fetch_module's checks of one module in the OTA area: a module bound of its function
    /// and index in the running Device OS's map that its end falls in, then platform,
    /// integrity and (but for a user part: userDepsOptional) dependencies.
    fn fetch(&self, m: &Module) -> Result<(), i32> {
        let d = dialect(self.system_version());
        let end = u64::from(m.prefix.end_address);
        let bound = match m.function() {
            ModuleFunction::NcpFirmware => self
                .platform
                .quirks
                .updatable_ncp
                .is_some()
                .then_some(0..OTA_AREA_LEN as u64 + 1),
            ModuleFunction::Asset => d.assets.then_some(0..OTA_AREA_LEN as u64 + 1),
            f => map_of(self, self.system_version())
                .area_of(f, m.index())
                .map(|a| a.start.into()..u64::from(a.end) + 1),
        };
        if !bound.is_some_and(|b| b.contains(&end)) {
            return Err(result::OTA_MODULE_NOT_FOUND);
        }
        if m.platform.id != self.platform.id && m.function() != ModuleFunction::Asset {
            return Err(result::OTA_INVALID_PLATFORM);
        }
        if !m.crc_ok() {
            return Err(result::OTA_INTEGRITY_CHECK_FAILED);
        }
        if m.function() != ModuleFunction::UserPart && !self.dependencies_met(m) {
            return Err(result::OTA_DEPENDENCY_CHECK_FAILED);
        }
        Ok(())
    }

    /// validate_module_dependencies with userDepsOptional (ota_flash_hal.cpp:252-287 @
    /// v1.5.0): a bootloader dependency in second place is not checked.
    fn dependencies_met(&self, m: &Module) -> bool {
        let present = scan(self);
        m.prefix
            .dependencies
            .iter()
            .enumerate()
            .filter(|(i, d)| !(*i == 1 && d.function == ModuleFunction::Bootloader))
            .all(|(_, d)| {
                present.iter().any(|p| {
                    p.store == Store::Main
                        && p.function == d.function
                        && p.index == d.index
                        && p.version >= d.version
                })
            })
    }

    /// validateModules: the forms Device OS installs, the NCP of this board, and what a
    /// Protected Device refuses from a local update.
    fn validate(&self, m: &Module, knows_flags: bool) -> Result<(), i32> {
        let flags = m.flags();
        if knows_flags {
            if m.prefix_offset > 0 && (flags.drops_module_info() || flags.compressed()) {
                return Err(result::OTA_INVALID_FORMAT);
            }
            if flags.compressed()
                && !matches!(
                    m.function(),
                    ModuleFunction::UserPart | ModuleFunction::SystemPart | ModuleFunction::Asset
                )
            {
                return Err(result::OTA_UNSUPPORTED_MODULE);
            }
        }
        let protected = self.protected || self.service_mode;
        match m.function() {
            ModuleFunction::NcpFirmware => match self.platform.quirks.updatable_ncp {
                Some(ncp) if ncp.mcu_target == m.prefix.mcu_target => Ok(()),
                Some(_) => Err(result::OTA_INVALID_PLATFORM),
                None => Err(result::OTA_UNSUPPORTED_MODULE),
            },
            ModuleFunction::Bootloader if protected && !m.is_protected() => Err(result::PROTECTED),
            ModuleFunction::SystemPart if protected && m.version() < PROTECTED_MIN_SYSTEM => {
                Err(result::PROTECTED)
            }
            ModuleFunction::Bootloader
            | ModuleFunction::SystemPart
            | ModuleFunction::UserPart
            | ModuleFunction::RadioStack
            | ModuleFunction::Asset => Ok(()),
            _ => Err(result::OTA_UNSUPPORTED_MODULE),
        }
    }

    /// HAL_FLASH_End's switch on each module's function; returns the time it takes Device OS,
    /// or the first failure.
    pub(super) fn apply_update(&mut self, modules: &[Module]) -> Result<Duration, i32> {
        let mut cost = Duration::ZERO;
        for m in modules {
            cost += self.apply_one(m)?;
        }
        Ok(cost)
    }

    fn apply_one(&mut self, module: &Module) -> Result<Duration, i32> {
        let bytes = module.bytes().to_vec();
        let d = dialect(self.system_version());
        match module.function() {
            ModuleFunction::Bootloader
                if d.stages_bootloader
                    && self.bootloader_version >= BOOTLOADER_MBR_UPDATE_MIN_VERSION =>
            {
                // Staged in place of the compat application; the bootloader and the MBR take
                // it from there at the next boot (ota_flash_hal.cpp:638-663 @ v6.2.0).
                let map = map_of(self, self.system_version());
                let staged = map.user_part_compat.unwrap_or(map.user_part).area.start;
                self.slots
                    .push(ModuleSlot::of(bytes, staged, ModuleFunction::Bootloader));
                Ok(Duration::ZERO)
            }
            ModuleFunction::Bootloader => {
                // flash_bootloader: Device OS writes it over the running bootloader itself
                // (ota_flash_hal.cpp:400-439 @ v6.2.0, :344-380 @ v1.5.0).
                let cost = self.timing.internal_copy(bytes.len());
                write_bootloader(self, &bytes);
                Ok(cost)
            }
            ModuleFunction::NcpFirmware => {
                // platform_ncp_update_module: end − start bytes after the prefix, to the ESP32,
                // synchronously (platform_ncp_update.cpp:141-149 @ v6.2.0; ncp.rs).
                if super::ncp::updates_disabled(self.platform, self.system_version()) {
                    return Err(result::NOT_SUPPORTED);
                }
                let length = module.prefix.end_address - module.prefix.start_address;
                self.ncp_version = Some(module.version());
                Ok(super::ncp::ncp_update_time(length as usize))
            }
            ModuleFunction::Asset => {
                self.store_asset(module)?;
                Ok(self.timing.external_copy(bytes.len()))
            }
            _ => {
                let flags = module.flags();
                self.slots.push(ModuleSlot {
                    drop_prefix: flags.drops_module_info(),
                    compressed: d.compressed_ota && flags.compressed(),
                    bytes,
                    dest: module.image_address(),
                    function: module.function(),
                });
                Ok(Duration::ZERO)
            }
        }
    }
}
