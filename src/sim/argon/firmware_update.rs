//! The firmware-update control requests on the simulated board: START (250), DATA (253),
//! FINISH (251), as system/src/control/storage.cpp and firmware_update.cpp have them, and
//! what HAL_FLASH_End does with the module (hal/src/nRF52840/ota_flash_hal.cpp:597-676 @
//! v6.2.0; :396-451 @ v1.5.0): a bootloader written by Device OS itself or staged for the
//! MBR, an NCP module sent to the coprocessor, anything else left in a module slot for the
//! bootloader to copy at the next boot.
//!
//! Plain modules only: compressed, combined and asset modules are accepted by Device OS too
//! and modelled by a later lane (#17b); here they are refused as unsupported.

use crate::core::control::messages;
use crate::core::control::result;
use crate::core::module::{Module, ModuleForm, ModuleFunction};

use super::boot::{self, ModuleSlot, STAGED_BOOTLOADER_AT};
use super::device_os::{dialect, BOOTLOADER_MBR_UPDATE_MIN_VERSION, OTA_AREA_LEN};
use super::usb_channel::{Completion, Handled};
use super::Board;

/// storage.cpp:99 @ v6.2.0 (:295 @ v1.5.0): the chunk size START offers.
pub const UPDATE_CHUNK: u32 = 1024;

/// A transfer in progress: the bytes written to the OTA area so far.
#[derive(Debug, Clone)]
pub(crate) struct Update {
    received: Vec<u8>,
    size: usize,
    /// The module, validated, waiting to be applied by FINISH's completion handler (≥ 3.0.0).
    validated: Option<Module>,
}

impl Board {
    /// Whether the app running now disabled updates (System.disableUpdates()).
    fn updates_disabled(&self) -> bool {
        let running = self.running_app();
        running.is_some() && running == self.updates_disabled_by
    }

    pub(super) fn start_update(&mut self, payload: &[u8]) -> Handled {
        let Ok((size, format)) = messages::decode_start_update(payload) else {
            return Handled::fail(result::BAD_DATA);
        };
        // The previous transfer is cancelled first (storage.cpp:89).
        self.service.update = None;
        if format != 0 {
            // MINIZ-compressed transfers (format 1) exist up to 2.x; modelled by #17b.
            return Handled::fail(result::NOT_SUPPORTED);
        }
        let checks = dialect(self.system_version()).start_checks;
        if self.updates_disabled() {
            return Handled::fail(if checks {
                result::OTA_UPDATES_DISABLED
            } else {
                result::LEGACY_UPDATES_DISABLED
            });
        }
        let size = size as usize;
        if checks && (size == 0 || size > OTA_AREA_LEN) {
            return Handled::fail(result::OTA_INVALID_SIZE);
        }
        self.service.update = Some(Update {
            received: Vec::with_capacity(size.min(OTA_AREA_LEN)),
            size,
            validated: None,
        });
        // HAL_FLASH_Begin erases the OTA area the file will take (firmware_update.cpp:157).
        let erase = self.timing.external_sector_erase * size.div_ceil(4096) as u32;
        Handled::ok(messages::encode_chunk_size_reply(UPDATE_CHUNK)).costing(erase)
    }

    /// storage.cpp:149-173 @ v6.2.0: any failure cancels the whole transfer.
    pub(super) fn update_data(&mut self, payload: &[u8]) -> Handled {
        let Ok(data) = messages::decode_update_data(payload) else {
            self.service.update = None;
            return Handled::fail(result::BAD_DATA);
        };
        let Some(update) = self.service.update.as_mut() else {
            return Handled::fail(result::INVALID_STATE);
        };
        let left = update.size.saturating_sub(update.received.len());
        if data.is_empty() || data.len() > left {
            self.service.update = None;
            return Handled::fail(result::OUT_OF_RANGE);
        }
        update.received.extend_from_slice(&data);
        let cost = self.timing.external_write(data.len());
        Handled::ok(Vec::new()).costing(cost)
    }

    /// storage.cpp:121-142 @ v6.2.0 (:317-344 @ v1.5.0): validate, reply, apply.
    pub(super) fn finish_update(&mut self, payload: &[u8]) -> Handled {
        let validate_only = match messages::decode_uint_field1(payload) {
            Ok(v) => v != 0,
            Err(_) => {
                self.service.update = None;
                return Handled::fail(result::BAD_DATA);
            }
        };
        let Some(update) = self.service.update.take() else {
            return Handled::fail(result::INVALID_STATE);
        };
        if update.received.len() < update.size {
            return Handled::fail(result::INVALID_STATE);
        }
        let module = match self.validate_update(update.received) {
            Ok(m) => m,
            Err(code) => return Handled::fail(code),
        };
        if validate_only {
            return Handled::ok(Vec::new());
        }
        if self.reset_timing().finish_applies_before_reply {
            // 1.5.x / 2.x: applied inside the handler, the reply waits for it.
            let cost = self.apply_update(&module);
            Handled::ok(Vec::new())
                .costing(cost)
                .then(Completion::FinishUpdate)
        } else {
            self.service.update = Some(Update {
                received: Vec::new(),
                size: 0,
                validated: Some(module),
            });
            Handled::ok(Vec::new()).then(Completion::FinishUpdate)
        }
    }

    /// After FINISH's reply: ≥ 3.0.0 applies now (the system thread is busy meanwhile), then
    /// the pending shutdown; 1.5.x / 2.x wait a second first. An app that disabled resets
    /// keeps the board running (system_update.cpp:271-274 canShutdown).
    pub(super) fn finish_update_completion(&mut self) {
        let timing = self.reset_timing();
        let mut wait = timing.after_finish;
        if let Some(module) = self.service.update.take().and_then(|u| u.validated) {
            let cost = self.apply_update(&module);
            self.service.busy_until = self.now() + cost;
            self.stats.device_busy += cost;
            wait += cost;
        }
        if !self.resets_disabled {
            self.reset_later(wait + timing.pending_shutdown, false);
        }
    }

    /// HAL_FLASH_OTA_Validate's checks (fetch_module, validateModules) with the sim's
    /// knowledge of the module; the numbers are Device OS's (validityResultToSystemError,
    /// ota_flash_hal.cpp:443-463 @ v6.2.0).
    fn validate_update(&self, bytes: Vec<u8>) -> Result<Module, i32> {
        let module = Module::parse(bytes).map_err(|_| result::OTA_MODULE_NOT_FOUND)?;
        if module.platform.id != self.platform.id {
            return Err(result::OTA_INVALID_PLATFORM);
        }
        if !module.crc_ok() {
            return Err(result::OTA_INTEGRITY_CHECK_FAILED);
        }
        if module.form() != ModuleForm::Plain {
            return Err(result::OTA_UNSUPPORTED_MODULE);
        }
        match module.function() {
            // validateModules (ota_flash_hal.cpp:527-555 @ v6.2.0): an NCP module for this
            // board's updatable coprocessor only.
            ModuleFunction::NcpFirmware => match self.platform.quirks.updatable_ncp {
                Some(ncp) if ncp.mcu_target == module.prefix.mcu_target => {}
                Some(_) => return Err(result::OTA_INVALID_PLATFORM),
                None => return Err(result::OTA_UNSUPPORTED_MODULE),
            },
            ModuleFunction::Bootloader
            | ModuleFunction::SystemPart
            | ModuleFunction::UserPart
            | ModuleFunction::RadioStack => {}
            _ => return Err(result::OTA_UNSUPPORTED_MODULE),
        }
        // validate_module_dependencies with userDepsOptional (ota_flash_hal.cpp:252-287 @
        // v1.5.0): a user part's are not checked, nor a bootloader dependency of the second.
        if module.function() != ModuleFunction::UserPart {
            let present = boot::scan(self);
            let met = module
                .prefix
                .dependencies
                .iter()
                .enumerate()
                .filter(|(i, d)| !(*i == 1 && d.function == ModuleFunction::Bootloader))
                .all(|(_, d)| {
                    present.iter().any(|m| {
                        m.store == boot::Store::Main
                            && m.function == d.function
                            && m.index == d.index
                            && m.version >= d.version
                    })
                });
            if !met {
                return Err(result::OTA_DEPENDENCY_CHECK_FAILED);
            }
        }
        Ok(module)
    }

    /// HAL_FLASH_End's switch on the module function; returns the time it takes Device OS.
    fn apply_update(&mut self, module: &Module) -> std::time::Duration {
        let bytes = module.bytes().to_vec();
        match module.function() {
            ModuleFunction::Bootloader
                if dialect(self.system_version()).stages_bootloader
                    && self.bootloader_version >= BOOTLOADER_MBR_UPDATE_MIN_VERSION =>
            {
                // Staged in place of the compat application; the bootloader and the MBR take
                // it from there at the next boot (ota_flash_hal.cpp:638-663 @ v6.2.0).
                self.slots.push(ModuleSlot {
                    bytes,
                    dest: STAGED_BOOTLOADER_AT,
                    function: ModuleFunction::Bootloader,
                    drop_prefix: false,
                });
                std::time::Duration::ZERO
            }
            ModuleFunction::Bootloader => {
                // flash_bootloader: Device OS writes it over the running bootloader itself
                // (ota_flash_hal.cpp:400-439 @ v6.2.0, :344-380 @ v1.5.0).
                let cost = self.timing.internal_copy(bytes.len());
                boot::write_bootloader(self, &bytes);
                cost
            }
            ModuleFunction::NcpFirmware => {
                // platform_ncp_update_module sends it to the ESP32 at once; how long that
                // takes is modelled by #17b.
                self.ncp_version = Some(module.version());
                std::time::Duration::ZERO
            }
            _ => {
                self.slots.push(ModuleSlot {
                    drop_prefix: module.prefix.drops_prefix(),
                    bytes,
                    dest: module.image_address(),
                    function: module.function(),
                });
                std::time::Duration::ZERO
            }
        }
    }
}
