//! The firmware-update control requests on the simulated board: START (250), DATA (253),
//! FINISH (251), as system/src/control/storage.cpp and firmware_update.cpp have them. What
//! Device OS accepts and what it does with it (the file's modules, validated, then applied)
//! is ota.rs.

use crate::core::control::messages;
use crate::core::control::result;
use crate::core::module::Module;

use super::device_os::{dialect, OTA_AREA_LEN};
use super::usb_channel::{Completion, Handled};
use super::Board;

/// storage.cpp:99 @ v6.2.0 (:295 @ v1.5.0): the chunk size START offers.
pub const UPDATE_CHUNK: u32 = 1024;

/// A transfer in progress: the bytes written to the OTA area so far.
#[derive(Debug, Clone)]
pub(crate) struct Update {
    received: Vec<u8>,
    size: usize,
    /// The modules, validated, waiting to be applied by FINISH's completion handler (≥ 3.0.0).
    validated: Vec<Module>,
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
            validated: Vec::new(),
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
        let received = update.received.len();
        if self.ota_clobbers_assets(received) && !self.assets.is_empty() {
            log::warn!("sim {}: the update overwrote the asset store", self.port);
            self.assets.clear();
        }
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
        let modules = match self.validate_update(update.received) {
            Ok(m) => m,
            Err(code) => return Handled::fail(code),
        };
        if validate_only {
            return Handled::ok(Vec::new());
        }
        if self.reset_timing().finish_applies_before_reply {
            // 1.5.x / 2.x: applied inside the handler, the reply waits for it.
            match self.apply_update(&modules) {
                Ok(cost) => Handled::ok(Vec::new())
                    .costing(cost)
                    .then(Completion::FinishUpdate),
                Err(code) => Handled::fail(code),
            }
        } else {
            self.service.update = Some(Update {
                received: Vec::new(),
                size: 0,
                validated: modules,
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
        let validated = self
            .service
            .update
            .take()
            .map(|u| u.validated)
            .unwrap_or_default();
        if !validated.is_empty() {
            // The reply has gone: a failure now is only in the board's log, and no restart
            // follows (firmware_update.cpp:214-222, storage.cpp:73-82 @ v6.2.0).
            match self.apply_update(&validated) {
                Ok(cost) => {
                    // Counted as the board's with the rest of the wait before the reset (power.rs).
                    self.service.busy_until = self.now() + cost;
                    wait += cost;
                }
                Err(code) => {
                    log::warn!("sim {}: applying the update failed: {code}", self.port);
                    return;
                }
            }
        }
        if !self.resets_disabled {
            self.reset_later(wait + timing.pending_shutdown, false);
        }
    }
}
