//! The control-request route: modules sent by Device OS's firmware-update requests (the
//! bootloader, NCP firmware, compressed and combined files, assets), and what the board's
//! refusals mean for the operator.

use std::time::Duration;

use super::{stage, FlashError, FlashReport, Flasher, Mode, WrittenBy};
use crate::core::control::messages::kind;
use crate::core::control::{result, ControlClient, ControlError};
use crate::core::event::{Event, EventSink, Phase, Stage};
use crate::core::module::ModuleFunction;
use crate::core::plan::{FlashPlan, Item, PlanEntry, Step};

/// The OTA area Device OS receives a module into: larger ones are refused with -1351
/// (EXTERNAL_FLASH_OTA_LENGTH, platform/MCU/nRF52840/inc/flash_mal.h:105 @ v6.2.0;
/// firmware_update.cpp:129-131).
pub const OTA_AREA_LEN: usize = 1500 * 1024;

impl Flasher<'_> {
    /// Sends each entry by the firmware-update control requests. Device OS answers, keeps
    /// running a while (an NCP update: the whole transfer to the ESP32), then resets and
    /// installs it (the bootloader may take one more reset the host cannot see); the host waits
    /// for the board's next enumeration after each.
    pub(super) fn send_by_control(
        &mut self,
        entries: &[&PlanEntry<'_>],
        report: &mut FlashReport,
        events: EventSink<'_>,
    ) -> Result<Mode, FlashError> {
        for e in entries {
            self.check_cancel()?;
            let label = e.label();
            let (bytes, ncp) = match &e.item {
                Item::Module(m) => (
                    m.module.bytes().to_vec(),
                    m.module.function() == ModuleFunction::NcpFirmware,
                ),
                Item::Asset(a) => match &a.module {
                    Some(m) => (m.bytes().to_vec(), false),
                    None => (
                        super::asset_module::wrap(&a.name, &a.bytes).map_err(|e| {
                            FlashError::Region(format!("wrapping asset {}: {e}", a.name))
                        })?,
                        false,
                    ),
                },
                Item::InvalidateCompat(_) => continue,
            };
            if bytes.len() > OTA_AREA_LEN {
                return Err(FlashError::UpdateTooLarge {
                    module: label,
                    size: bytes.len(),
                });
            }
            events(stage(Stage::Bootloader, label.clone()));
            let finish = match ncp {
                true => self.options.ncp_timeout,
                false => Duration::from_secs(30),
            };
            let mut device = self.open()?;
            let before = device.info().clone();
            let mut control = ControlClient::new(device.as_mut(), self.clock);
            control
                .update_firmware_within(&bytes, finish, &mut |done, total| {
                    events(Event::Progress {
                        module: label.clone(),
                        phase: Phase::Send,
                        done,
                        total,
                    })
                })
                .map_err(|source| self.refusal(&label, source))?;
            report.wrote(label, WrittenBy::ControlRequest, bytes.len() as u64);
            drop(device);
            events(stage(Stage::Reconnect, "installing at reset".into()));
            let leave = self.options.leave_timeout;
            if ncp {
                self.options.leave_timeout = leave.max(self.options.ncp_timeout);
            }
            let back = self.wait_after_reset(&before, Some(Mode::Firmware));
            self.options.leave_timeout = leave;
            back?;
            report.resets += 1;
        }
        Ok(Mode::Firmware)
    }

    /// What a failed update means, by what Device OS answered and at which request.
    fn refusal(&self, module: &str, source: ControlError) -> FlashError {
        match source {
            e if e.is_gone() => FlashError::Unplugged {
                port: self.port.clone(),
                during: format!("sending {module}"),
            },
            ControlError::Result {
                request_type: kind::START_FIRMWARE_UPDATE,
                result: result::OTA_UPDATES_DISABLED | result::LEGACY_UPDATES_DISABLED,
            } => FlashError::UpdatesDisabled {
                module: module.into(),
            },
            ControlError::Result {
                result: result::OTA_INVALID_SIZE,
                ..
            } => FlashError::UpdateTooLarge {
                module: module.into(),
                size: 0,
            },
            ControlError::Result {
                result: result::PROTECTED,
                ..
            } => FlashError::Protected {
                module: module.into(),
            },
            ControlError::Result { result, .. } if result::is_module_refused(result) => {
                FlashError::UpdateRefused {
                    module: module.into(),
                    result,
                }
            }
            source => FlashError::Control {
                during: "firmware update",
                source,
            },
        }
    }
}

/// Whether writing the DFU modules first can get past an app that disabled updates: only if
/// the bundle's own app replaces it (the bundle's test firmware does not disable updates).
pub(super) fn dfu_first_helps(plan: &FlashPlan<'_>) -> bool {
    plan.to_write_in(Step::Dfu).iter().any(|e| {
        e.module()
            .is_some_and(|m| m.module.function() == ModuleFunction::UserPart)
    })
}

pub(super) fn dfu_first_note(control: &[&PlanEntry<'_>]) -> String {
    let labels: Vec<String> = control.iter().map(|e| e.label()).collect();
    format!(
        "the board's app disabled firmware updates: writing the DFU modules first (the \
         bundle's app allows them), then {}",
        labels.join(", ")
    )
}
