//! What is checked on the board rather than in the bundle: before anything is written, that
//! the board owns what the bundle needs it to (its NCP firmware) and is what a protected
//! bootloader needs it to be; after the last write, that it reports every module of the
//! bundle present, at its version and valid, no compat application winning over the
//! bundle's user-part#2, and every asset in its store.

use std::time::Duration;

use super::{stage, FlashError, FlashReport, Flasher, Mode};
use crate::core::control::{result, ControlClient, ControlError, ProtectedState};
use crate::core::event::{EventSink, Stage};
use crate::core::module::ModuleFunction;
use crate::core::plan::needs::{unmet_device_dependencies, unmet_requirement};
use crate::core::plan::{installed_hash, BoardView, Route};

impl Flasher<'_> {
    /// The checks made before anything is written. A board found in DFU mode is first let out
    /// of it, to ask the Device OS it holds (one more reset); one that has none cannot say.
    pub(super) fn precheck(
        &mut self,
        mut mode: Mode,
        report: &mut FlashReport,
        events: EventSink<'_>,
    ) -> Result<Mode, FlashError> {
        let bundle = self.bundle;
        // A system part Device OS must unpack needs a Device OS on the board to take it.
        let system_by_control = bundle
            .module(ModuleFunction::SystemPart, 1)
            .filter(|m| Route::of(&m.module) == Route::Control);
        if bundle.device_dependencies.is_empty()
            && bundle.board_requirements.is_empty()
            && system_by_control.is_none()
        {
            return Ok(mode);
        }
        if mode == Mode::Dfu && !self.options.dry_run {
            events(stage(
                Stage::ReadBoard,
                "leaving DFU to ask the board first".into(),
            ));
            mode = self.leave_dfu_expecting(report, None)?;
        }
        if let (Mode::Dfu, Some(m), false) = (mode, system_by_control, self.options.dry_run) {
            return Err(FlashError::BoardTooOld {
                module: m.module.label(),
                needs: format!(
                    "a {} system part is installed by the Device OS running on the board ({})",
                    crate::core::bundle::form_name(&m.module),
                    crate::core::plan::needs::COMPRESSED.source
                ),
                board: "no Device OS (it stays in DFU mode)".into(),
            });
        }
        if mode == Mode::Dfu {
            if let Some(r) = bundle.board_requirements.first() {
                return Err(FlashError::NotProtected(format!(
                    "{} is a protected bootloader, and a board without Device OS cannot say \
                     whether it is a Protected Device",
                    r.file
                )));
            }
            report.plan.push(
                "note   the board runs no Device OS to ask for what the bundle needs it to own; \
                 the system part checks it at boot and verification names it"
                    .into(),
            );
            return Ok(mode);
        }
        let mut device = self.open()?;
        let mut control = ControlClient::new(device.as_mut(), self.clock);
        if !bundle.board_requirements.is_empty() {
            let state = match control.protected_state() {
                Ok(s) => s,
                // Before 6.0.0 there is no Device Protection: the board is open.
                Err(ControlError::Result {
                    result: result::NOT_SUPPORTED,
                    ..
                }) => ProtectedState::default(),
                Err(source) => {
                    return Err(FlashError::Control {
                        during: "asking whether the board is protected",
                        source,
                    })
                }
            };
            if let Some(why) = unmet_requirement(bundle, state) {
                return Err(FlashError::NotProtected(why));
            }
        }
        Ok(mode)
    }

    pub(super) fn verify(
        &mut self,
        view: BoardView,
        mut report: FlashReport,
        started: Duration,
        events: EventSink<'_>,
    ) -> Result<FlashReport, FlashError> {
        events(stage(Stage::Verify, "module info".into()));
        let BoardView::Firmware(board) = view else {
            return Err(FlashError::Verify(
                vec!["board is still in DFU mode".into()],
            ));
        };
        let reported = &board.modules;
        // Unchecked before writing when no Device OS ran to ask: the system part names it now.
        let unmet = unmet_device_dependencies(self.bundle, reported);
        if !unmet.is_empty() {
            return Err(FlashError::DeviceDependency(unmet));
        }
        let mut problems: Vec<String> = self
            .bundle
            .modules
            .iter()
            .flat_map(|m| {
                m.module
                    .combined_parts()
                    .map_or_else(|| vec![&m.module], |p| p.iter().collect())
            })
            .filter_map(|want| {
                match reported
                    .iter()
                    .find(|r| r.function == want.function() && r.index == want.index())
                {
                    None => Some(format!("{} missing", want.label())),
                    Some(r) if r.version != want.version() => {
                        Some(format!("{} is v{}", want.label(), r.version))
                    }
                    Some(r) if !r.valid() => {
                        Some(format!("{} invalid (flags 0x{:x})", want.label(), r.failed))
                    }
                    Some(r) => match (r.hash, installed_hash(want)) {
                        (Some(h), Some(w)) if h != w => Some(format!(
                            "{} is another build (SHA-256 {}, the bundle's {})",
                            want.label(),
                            hex::encode(&h[..4]),
                            hex::encode(&w[..4])
                        )),
                        _ => None,
                    },
                }
            })
            .collect();
        match self.compat_check(reported) {
            Some(Err(p)) => problems.push(p),
            Some(Ok(checked)) => report.checked.push(checked),
            None => {}
        }
        problems.extend(self.asset_problems(&board));
        if !problems.is_empty() {
            return Err(FlashError::Verify(problems));
        }
        let written: Vec<&str> = report.written.iter().map(|w| w.module.as_str()).collect();
        // The first plan's skips, then everything not written: the difference was planned
        // while the board could not say (DFU mode) and found on it once it ran.
        let planned = std::mem::take(&mut report.modules_skipped);
        report.modules_skipped = self
            .bundle
            .modules
            .iter()
            .map(|m| m.module.label())
            .chain(
                self.bundle
                    .assets
                    .iter()
                    .map(|a| format!("asset {}", a.name)),
            )
            .filter(|l| !written.contains(&l.as_str()))
            .collect();
        report.skipped_after_plan = report
            .modules_skipped
            .iter()
            .filter(|m| !planned.contains(m))
            .cloned()
            .collect();
        report.duration = self.clock.now() - started;
        Ok(report)
    }

    /// The compat slot, where the bundle puts its application in the 256 KiB slot: a compat
    /// application the board still reports would run instead (Device OS reports only the one
    /// it runs, ota_flash_hal.cpp:183-197 @ v6.2.0). `Ok` is what was checked, `Err` the
    /// problem; `None` where there is nothing to check.
    fn compat_check(
        &self,
        reported: &[crate::core::control::BoardModule],
    ) -> Option<Result<String, String>> {
        let map = self.bundle.flash_map;
        let compat = map.user_part_compat?;
        self.bundle
            .module(ModuleFunction::UserPart, map.user_part.index)?;
        let winner = reported.iter().find(|r| {
            r.runs() && r.function == ModuleFunction::UserPart && r.index == compat.index
        });
        Some(match winner {
            Some(r) => Err(format!(
                "user-part#{} v{} in the compat slot ({}) is valid and runs instead of \
                 user-part#{}",
                compat.index, r.version, compat.area, map.user_part.index
            )),
            None => Ok(format!(
                "no valid user-part#{} in the compat slot ({}): user-part#{} runs",
                compat.index, compat.area, map.user_part.index
            )),
        })
    }

    /// Every asset of the bundle in the board's store, by name and contents.
    fn asset_problems(&self, board: &crate::core::plan::FirmwareView) -> Vec<String> {
        if self.bundle.assets.is_empty() {
            return Vec::new();
        }
        let Some(info) = &board.assets else {
            return vec![
                "the board cannot list its assets (GET_ASSET_INFO, Device OS ≥ 5.6.0): \
                 assets unverified"
                    .into(),
            ];
        };
        self.bundle
            .assets
            .iter()
            .filter(|a| !info.has(&a.name, &a.content_sha256))
            .map(|a| format!("asset {} is not in the board's asset store", a.name))
            .collect()
    }
}
