//! One unit on one slot, on its own thread: flash, test, and for a two-stage bundle flash the
//! final firmware, reporting progress and the verdict to the main loop over a channel. It never
//! blocks on the main loop.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use crate::core::board_test::run_tests;
use crate::core::bundle::Bundle;
use crate::core::event::{Event, Phase};
use crate::core::flash::{
    FlashError, FlashOptions, FlashReport, Flasher, SerialFallback, SwdFlasher,
};
use crate::core::operator_code::OperatorCode;
use crate::core::station::JobUpdate;
use crate::core::unit::{Outcome, UnitCode, UnitRecord};
use crate::ports::{Clock, PortPath, SerialPorts, SwdProbe, UsbBus};

/// What the board reported at its last verification.
fn note_board(unit: &mut UnitRecord, report: &FlashReport) {
    unit.device_os = report.system_version.clone().or(unit.device_os.take());
    unit.board_modules = report.board_modules.iter().map(|m| m.label()).collect();
}

pub enum JobMsg {
    Update(usize, JobUpdate),
    /// Boxed: a finished unit is large and rare, progress updates are small and many.
    Done(usize, Box<UnitRecord>),
}

/// Whether this device, with this bundle (lock hash), already passed its tests and only its
/// final stage failed: such a board may go straight to the final stage.
pub type TestedBefore = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

pub struct Job {
    pub slot: usize,
    pub slot_name: String,
    pub bus: Box<dyn UsbBus>,
    pub serial: Box<dyn SerialPorts>,
    /// The slot's USB port; for a probe slot without one, learnt when SWD finds the board.
    pub port: Option<PortPath>,
    /// The slot's debug probe: the bundle then goes in over SWD (the final stage still over
    /// USB, as a user part).
    pub probe: Option<Box<dyn SwdProbe>>,
    pub bundle: Arc<Bundle>,
    pub clock: Arc<dyn Clock>,
    pub cancel: Arc<AtomicBool>,
    pub messages: Sender<JobMsg>,
    pub tested_before: Option<TestedBefore>,
    /// Serial ports for entering DFU by the 14400-baud trick when Device OS refuses.
    pub dfu_serial: Option<SerialFallback>,
}

impl Job {
    pub fn run(mut self) {
        let started = self.clock.now();
        let mut unit = UnitRecord::new(&self.slot_name);
        let bundle = self.bundle.clone();
        let by = if self.probe.is_some() { "swd" } else { "dfu" };
        unit.flashed_by = Some(by.into());
        let flashed = match self.flash(&bundle, "FLASH", &mut unit.device_id) {
            Ok(report) => {
                unit.device_id = report.device_id.clone().or(unit.device_id);
                note_board(&mut unit, &report);
                let skip = self.skips_tests(&report, unit.device_id.as_deref());
                let untouched = report.modules_written.is_empty();
                match bundle.tests.is_some() && !skip && untouched {
                    true => self.fresh_boot().map(|()| skip),
                    false => Ok(skip),
                }
            }
            Err(e) => Err(e),
        };
        unit.flash_ms = Some(self.ms_since(started));
        match flashed {
            Err(e) => {
                log::error!("slot {}: {}: {e}", self.slot_name, e.code());
                unit.fail(e.code(), e.short_reason());
            }
            Ok(skip_tests) => {
                if !skip_tests {
                    self.test(&mut unit);
                }
                if unit.code.is_none() {
                    self.final_stage(&mut unit);
                }
            }
        }
        if unit.code.is_none() {
            unit.outcome = Outcome::Pass;
        }
        unit.duration_ms = self.ms_since(started);
        // The verdict is the runtime's to say, once the record is committed.
        log::debug!("slot {}: finished in {} ms", unit.slot, unit.duration_ms);
        let _ = self.messages.send(JobMsg::Done(self.slot, Box::new(unit)));
    }

    fn ms_since(&self, from: Duration) -> u64 {
        (self.clock.now() - from).as_millis() as u64
    }

    fn options(&self) -> FlashOptions {
        FlashOptions {
            cancel: Some(self.cancel.clone()),
            dfu_by_serial: self.dfu_serial.clone(),
            ..FlashOptions::default()
        }
    }

    fn flash(
        &mut self,
        bundle: &Bundle,
        stage: &'static str,
        device_id: &mut Option<String>,
    ) -> Result<FlashReport, FlashError> {
        let slot = self.slot;
        let messages = self.messages.clone();
        let options = self.options();
        let mut sink = |event: Event| {
            if let Event::Board {
                device_id: Some(id),
                ..
            } = &event
            {
                *device_id = Some(id.clone());
            }
            // The main loop may be gone at shutdown; progress is best effort.
            let _ = messages.send(JobMsg::Update(slot, update_of(&event, stage)));
        };
        if let (Some(probe), "FLASH") = (self.probe.as_deref_mut(), stage) {
            let mut swd = SwdFlasher {
                probe,
                bus: self.bus.as_mut(),
                clock: self.clock.as_ref(),
                port: self.port.clone(),
                bundle,
                options,
            };
            let (report, port) = swd.run(&mut sink)?;
            self.port = Some(port);
            return Ok(report);
        }
        let port = self.port.clone().ok_or_else(|| FlashError::NoBoard {
            port: PortPath("(none configured)".into()),
            waited_ms: 0,
        })?;
        let mut flasher = Flasher {
            bus: self.bus.as_mut(),
            clock: self.clock.as_ref(),
            port,
            bundle,
            options,
        };
        flasher.run(&mut sink)
    }

    /// Resets a board that needed nothing written, so its tests start from a fresh boot as
    /// after a flash (the test firmware announces itself at boot). Not for a board that skips
    /// its tests: the final stage resets it anyway.
    fn fresh_boot(&mut self) -> Result<(), FlashError> {
        let Some(port) = self.port.clone() else {
            return Ok(());
        };
        let update = JobUpdate {
            stage: "FLASH".into(),
            detail: "reset for tests".into(),
            percent: 100,
        };
        let _ = self.messages.send(JobMsg::Update(self.slot, update));
        let options = self.options();
        Flasher {
            bus: self.bus.as_mut(),
            clock: self.clock.as_ref(),
            port,
            bundle: &self.bundle,
            options,
        }
        .reset_board()
    }

    /// A board of a two-stage bundle that needed nothing written, and whose tests passed on an
    /// earlier seating, skips straight to the final stage (only its final stage failed then).
    fn skips_tests(&self, report: &FlashReport, device_id: Option<&str>) -> bool {
        let (Some(_), Some(id), Some(tested)) =
            (&self.bundle.final_firmware, device_id, &self.tested_before)
        else {
            return false;
        };
        let skip = report.modules_written.is_empty() && tested(id, &self.bundle.lock_hash);
        if skip {
            log::info!(
                "slot {}: {id} passed its tests before; straight to the final stage",
                self.slot_name
            );
        }
        skip
    }

    fn test(&mut self, unit: &mut UnitRecord) {
        let Some(tests) = &self.bundle.tests else {
            return;
        };
        let started = self.clock.now();
        let (slot, messages) = (self.slot, self.messages.clone());
        let mut progress = |i: usize, n: usize, name: &str| {
            let percent = (i * 100 / n.max(1)) as u8;
            let update = JobUpdate {
                stage: format!("TEST {}/{n}", i + 1),
                detail: name.to_string(),
                percent,
            };
            let _ = messages.send(JobMsg::Update(slot, update));
        };
        // Flashing succeeded, so the port is known (configured, or found after SWD); a unit is
        // never passed untested all the same.
        let Some(port) = self.port.clone() else {
            unit.fail(OperatorCode::NoBoard, "no USB port for tests".into());
            return;
        };
        let report = run_tests(
            &tests.plan,
            self.serial.as_mut(),
            &port,
            self.clock.as_ref(),
            &mut progress,
        );
        unit.test_ms = Some(self.ms_since(started));
        unit.measurements = report.measurements;
        if let Some(f) = report.failure {
            unit.fail(f.code, f.reason);
        }
    }

    /// Flashes the final firmware over the test firmware (enter DFU by control request, one
    /// module, leave, verify by module info). Its failures carry their own `E-FINAL-` codes.
    fn final_stage(&mut self, unit: &mut UnitRecord) {
        let Some(final_bundle) = self.bundle.final_stage() else {
            return;
        };
        let started = self.clock.now();
        let mut ignored = None;
        let result = self.flash(&final_bundle, "FINAL", &mut ignored);
        unit.final_ms = Some(self.ms_since(started));
        if let Ok(report) = &result {
            note_board(unit, report);
        }
        if let Err(e) = result {
            let code = UnitCode::final_stage(e.code());
            log::error!("slot {}: {code}: {e}", self.slot_name);
            unit.fail(code, format!("final: {}", e.short_reason()));
        }
    }
}

fn update_of(event: &Event, stage: &str) -> JobUpdate {
    match event {
        Event::Board { device_id, .. } => JobUpdate {
            stage: stage.into(),
            detail: device_id.as_deref().map_or("board found".into(), |id| {
                format!("board ..{}", &id[id.len().saturating_sub(8)..])
            }),
            percent: 0,
        },
        Event::Stage { stage: s, detail } => JobUpdate {
            stage: stage.into(),
            detail: format!(
                "{} {}",
                stage_word(*s),
                detail.lines().next().unwrap_or_default()
            )
            .trim()
            .into(),
            percent: 0,
        },
        Event::Progress {
            module,
            phase,
            done,
            total,
        } => {
            let label = module.split(' ').next().unwrap_or(module);
            let detail = if *phase == Phase::Erase {
                format!("erase {label}")
            } else {
                label.to_string()
            };
            let percent = (done.saturating_mul(100) / (*total).max(1)).min(100) as u8;
            JobUpdate {
                stage: stage.into(),
                detail,
                percent,
            }
        }
    }
}

fn stage_word(stage: crate::core::event::Stage) -> &'static str {
    use crate::core::event::Stage::*;
    match stage {
        FindBoard => "finding",
        ReadBoard => "reading",
        Plan => "plan",
        Bootloader => "bootloader",
        EnterDfu => "enter DFU",
        Dfu => "",
        Leave => "reset",
        Reconnect => "reconnect",
        Verify => "verify",
        Swd => "SWD",
    }
}
