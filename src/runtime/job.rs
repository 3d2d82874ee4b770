//! One unit on one slot, on its own thread: flash, test, and for a two-stage bundle flash the
//! final firmware, reporting progress and the verdict to the main loop over a channel. It never
//! blocks on the main loop.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use crate::core::board_test::run_tests;
use crate::core::bundle::Bundle;
use crate::core::event::Event;
use crate::core::flash::{
    FlashError, FlashOptions, FlashReport, Flasher, IdentityCheck, SerialFallback, SwdFlasher,
};
use crate::core::operator_code::OperatorCode;
use crate::core::progress::{UnitProgress, UnitStage, UnitWork, ARGON};
use crate::core::station::{JobUpdate, SlotStart};
use crate::core::unit::{FlashedModule, Outcome, UnitCode, UnitRecord};
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
    /// The unit's serial, work order and operator, from the station when it started.
    pub start: SlotStart,
    /// Checks the board's device ID against its serial before anything is written.
    pub identity: Option<IdentityCheck>,
}

/// The bundle's modules as they went on the board, with the lock's SHA-256: all of them
/// once the board holds the bundle, only those written when it failed on the way.
fn as_flashed(bundle: &Bundle, written: &[String], complete: bool) -> Vec<FlashedModule> {
    bundle
        .modules
        .iter()
        .map(|m| FlashedModule {
            module: format!("{}#{}", m.module.function(), m.module.index()),
            version: m.module.version(),
            sha256: hex::encode(m.module.file_sha256),
            file: m.file.clone(),
            written: written.contains(&m.module.label()),
        })
        .filter(|m| complete || m.written)
        .collect()
}

impl Job {
    pub fn run(mut self) {
        let started = self.clock.now();
        let mut unit = UnitRecord::new(&self.slot_name);
        unit.trace = self.start.trace.clone();
        let bundle = self.bundle.clone();
        let by = if self.probe.is_some() { "swd" } else { "dfu" };
        unit.flashed_by = Some(by.into());
        let mut progress = UnitProgress::new(UnitWork::of(&bundle), ARGON, started);
        self.report(&progress);
        let mut written = Vec::new();
        let flashed = match self.flash(&bundle, UnitStage::Flash, &mut progress) {
            Ok(report) => {
                written.clone_from(&report.modules_written);
                unit.device_id = report.device_id.clone().or(unit.device_id);
                note_board(&mut unit, &report);
                let skip = self.skips_tests(&report, unit.device_id.as_deref());
                let untouched = report.modules_written.is_empty();
                match bundle.tests.is_some() && !skip && untouched {
                    true => self.fresh_boot(&mut progress).map(|()| skip),
                    false => Ok(skip),
                }
            }
            Err(e) => Err(e),
        };
        // The ID seen before a failure is kept: records name the board even when it failed.
        unit.device_id = unit
            .device_id
            .take()
            .or(progress.device_id().map(str::to_string));
        unit.flash_ms = Some(self.ms_since(started));
        match flashed {
            Err(e) => {
                log::error!("slot {}: {}: {e}", self.slot_name, e.code());
                unit.fail(e.code(), e.short_reason());
                if let FlashError::Refused(_) = e {
                    // Nothing ran: the confirmation was for another board, if any.
                    unit.trace.rework_by = None;
                }
                unit.modules = as_flashed(&bundle, &written, false);
            }
            Ok(skip_tests) => {
                if !skip_tests {
                    self.test(&mut unit, &mut progress);
                }
                unit.modules = as_flashed(&bundle, &written, true);
                if unit.code.is_none() {
                    self.final_stage(&mut unit, &mut progress, &mut written);
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

    /// Tells the main loop how far the unit is (best effort: it may be gone at shutdown).
    fn report(&self, progress: &UnitProgress) {
        let _ = self
            .messages
            .send(JobMsg::Update(self.slot, JobUpdate::of(progress)));
    }

    /// The first stage's options: the board's identity is checked before writing.
    fn first_stage_options(&self, stage: UnitStage) -> FlashOptions {
        FlashOptions {
            identity: self.identity.clone().filter(|_| stage == UnitStage::Flash),
            ..self.options()
        }
    }

    fn flash(
        &mut self,
        bundle: &Bundle,
        stage: UnitStage,
        progress: &mut UnitProgress,
    ) -> Result<FlashReport, FlashError> {
        let (slot, messages, clock) = (self.slot, self.messages.clone(), self.clock.clone());
        let options = self.first_stage_options(stage);
        if stage != UnitStage::Flash {
            progress.begin(stage, clock.now());
        }
        let mut sink = |event: Event| {
            progress.on_event(&event, clock.now());
            let _ = messages.send(JobMsg::Update(slot, JobUpdate::of(progress)));
        };
        if let (Some(probe), UnitStage::Flash) = (self.probe.as_deref_mut(), stage) {
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
    fn fresh_boot(&mut self, progress: &mut UnitProgress) -> Result<(), FlashError> {
        let Some(port) = self.port.clone() else {
            return Ok(());
        };
        let expected = ARGON.restart_ms;
        progress.wait("restart for tests", expected, self.clock.now());
        self.report(progress);
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

    fn test(&mut self, unit: &mut UnitRecord, progress: &mut UnitProgress) {
        let Some(tests) = &self.bundle.tests else {
            return;
        };
        let started = self.clock.now();
        progress.begin(UnitStage::Test, started);
        if tests.plan.ready.is_some() {
            progress.wait_ready(started);
        }
        self.report(progress);
        let (slot, messages, clock) = (self.slot, self.messages.clone(), self.clock.clone());
        let mut on_test = |i: usize, n: usize, name: &str| {
            progress.test(i, n, name, clock.now());
            let _ = messages.send(JobMsg::Update(slot, JobUpdate::of(progress)));
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
            &mut on_test,
        );
        unit.test_ms = Some(self.ms_since(started));
        unit.measurements = report.measurements;
        if let Some(f) = report.failure {
            unit.fail(f.code, f.reason);
        }
    }

    /// Flashes the final firmware over the test firmware (enter DFU by control request, one
    /// module, leave, verify by module info). Its failures carry their own `E-FINAL-` codes.
    fn final_stage(
        &mut self,
        unit: &mut UnitRecord,
        progress: &mut UnitProgress,
        written: &mut Vec<String>,
    ) {
        let Some(final_bundle) = self.bundle.final_stage() else {
            return;
        };
        let started = self.clock.now();
        let result = self.flash(&final_bundle, UnitStage::Final, progress);
        unit.final_ms = Some(self.ms_since(started));
        if let Ok(report) = &result {
            note_board(unit, report);
            written.extend(report.modules_written.iter().cloned());
            unit.modules = as_flashed(&final_bundle, written, true);
        }
        if let Err(e) = result {
            let code = UnitCode::final_stage(e.code());
            log::error!("slot {}: {code}: {e}", self.slot_name);
            unit.fail(code, format!("final: {}", e.short_reason()));
        }
    }
}
