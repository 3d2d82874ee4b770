//! Flashing one board with a locked bundle, end to end: find it, read what it runs, plan,
//! send the bootloader by control request and the rest in one DFU session, re-find it after
//! each reset by its port, and verify what it reports. The same code runs on hardware and
//! in `--sim`; only the `UsbBus` and `Clock` differ.

pub mod asset_module;
mod board;
mod checks;
mod control_route;
mod dfu_route;
mod error;
mod swd;

pub use board::{
    boards, look, look_by_id, wait_for, wait_for_id, wait_for_reenumeration, FoundBoard, Mode,
};
pub use error::FlashError;
pub use swd::{particle_device_id, SwdFlasher};

use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::bundle::Bundle;
use super::control::{BoardAsset, BoardModule, ControlClient};
use super::dfu::DfuOptions;
use super::event::{Event, EventSink, Stage};
use super::plan::{needs, BoardView, FirmwareView, FlashPlan, Step};
use super::trace::Refusal;
use crate::ports::{Clock, DeviceInfo, PortPath, SerialPorts, UsbBus, UsbDevice};

#[derive(Debug, Clone)]
pub struct FlashOptions {
    pub dfu: DfuOptions,
    /// How long a freshly seated board may take to appear.
    pub find_timeout: Duration,
    /// How long a board asked to reset may keep running before it leaves USB (Device OS waits
    /// a second, longer while it applies an update or when its app delays the reset).
    pub leave_timeout: Duration,
    /// How long a board may take to come back after it left.
    pub reenumerate_timeout: Duration,
    /// How long Device OS may take over an NCP update before it resets: it sends the ESP32
    /// its firmware over the UART first (≈25 s for the Argon's; particle-cli allows 4
    /// minutes, flash-helper.js:17-18).
    pub ncp_timeout: Duration,
    /// Plan only; write nothing.
    pub dry_run: bool,
    /// The board's serial ports, for entering DFU by the 14400-baud trick when the control
    /// request is refused.
    pub dfu_by_serial: Option<SerialFallback>,
    /// Set by the operator's abort; checked between stages and modules, so a module is never
    /// left half-erased by the abort itself.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Asked with the device ID as soon as the board is found, before anything is written:
    /// a serial and device the records pair otherwise are refused (`E-SERIAL-DUP`).
    pub identity: Option<IdentityCheck>,
}

/// The station's check of a board's identity against its scanned serial.
#[derive(Clone)]
pub struct IdentityCheck(pub Arc<IdentityFn>);

/// Given the board's device ID: `Err` refuses it (nothing is written).
pub type IdentityFn = dyn Fn(&str) -> Result<(), Refusal> + Send + Sync;

impl std::fmt::Debug for IdentityCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityCheck")
    }
}

impl Default for FlashOptions {
    fn default() -> Self {
        FlashOptions {
            dfu: DfuOptions::default(),
            find_timeout: Duration::from_secs(5),
            leave_timeout: Duration::from_secs(15),
            reenumerate_timeout: Duration::from_secs(20),
            ncp_timeout: Duration::from_secs(4 * 60),
            dry_run: false,
            cancel: None,
            dfu_by_serial: None,
            identity: None,
        }
    }
}

impl FlashOptions {
    /// `Err(Aborted)` once the operator asked to abort.
    pub fn check_cancel(&self) -> Result<(), FlashError> {
        match &self.cancel {
            Some(flag) if flag.load(Ordering::SeqCst) => Err(FlashError::Aborted),
            _ => Ok(()),
        }
    }

    /// `Err(Refused)` when the station's identity check refuses this device.
    pub fn check_identity(&self, device_id: &str) -> Result<(), FlashError> {
        match &self.identity {
            Some(IdentityCheck(check)) => check(device_id).map_err(FlashError::Refused),
            None => Ok(()),
        }
    }
}

/// Opening a board's CDC port at this rate and closing it resets it into DFU (Device OS).
pub const DFU_BAUD: u32 = 14_400;

/// Serial ports shared with the flasher for the DFU fallback.
#[derive(Clone)]
pub struct SerialFallback(pub Arc<std::sync::Mutex<Box<dyn SerialPorts>>>);

impl std::fmt::Debug for SerialFallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SerialFallback")
    }
}

/// How a module reached the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WrittenBy {
    /// Device OS's firmware-update control requests.
    ControlRequest,
    Dfu,
    Swd,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrittenModule {
    pub module: String,
    pub route: WrittenBy,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlashReport {
    pub device_id: Option<String>,
    pub platform: String,
    pub modules_written: Vec<String>,
    /// Each written module with its route, in the order written.
    pub written: Vec<WrittenModule>,
    pub modules_skipped: Vec<String>,
    /// Of those, the ones the first plan meant to write: the board could not say what it had
    /// then (DFU mode) and reported them at their version once it ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_after_plan: Vec<String>,
    pub bytes_written: u64,
    pub board_modules: Vec<BoardModule>,
    /// The assets the board reports, when the bundle has some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub board_assets: Option<Vec<BoardAsset>>,
    /// What the verification found beyond each module's presence: the compat slot empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checked: Vec<String>,
    pub system_version: Option<String>,
    pub plan: Vec<String>,
    /// Resets the host waited through (each a new USB enumeration).
    pub resets: u32,
    #[serde(skip)]
    pub duration: Duration,
}

impl FlashReport {
    fn wrote(&mut self, module: String, route: WrittenBy, bytes: u64) {
        self.modules_written.push(module.clone());
        self.bytes_written += bytes;
        self.written.push(WrittenModule {
            module,
            route,
            bytes,
        });
    }
}

/// Rounds of plan → write → reset before giving up: one per plan step (the board's control
/// requests, DFU, the modules Device OS unpacks, assets), the look before, the verify after.
const MAX_ROUNDS: usize = 7;

pub struct Flasher<'a> {
    pub bus: &'a mut dyn UsbBus,
    pub clock: &'a dyn Clock,
    pub port: PortPath,
    pub bundle: &'a Bundle,
    pub options: FlashOptions,
}

impl Flasher<'_> {
    fn check_cancel(&self) -> Result<(), FlashError> {
        self.options.check_cancel()
    }

    pub fn run(&mut self, events: EventSink<'_>) -> Result<FlashReport, FlashError> {
        let started = self.clock.now();
        events(stage(Stage::FindBoard, format!("USB port {}", self.port)));
        let found = wait_for(
            self.bus,
            self.clock,
            &self.port,
            None,
            self.options.find_timeout,
        )?;
        if found.platform.id != self.bundle.platform.id {
            return Err(FlashError::WrongPlatform {
                port: self.port.clone(),
                board: found.platform.name.into(),
                bundle: self.bundle.platform.name.into(),
            });
        }
        events(Event::Board {
            device_id: found.info.serial.as_ref().map(|s| s.to_lowercase()),
            platform: found.platform.name.into(),
        });
        if let Some(id) = &found.info.serial {
            self.options.check_identity(&id.to_lowercase())?;
        }
        let mut report = FlashReport {
            device_id: found.info.serial.as_ref().map(|s| s.to_lowercase()),
            platform: found.platform.name.into(),
            modules_written: Vec::new(),
            written: Vec::new(),
            modules_skipped: Vec::new(),
            skipped_after_plan: Vec::new(),
            bytes_written: 0,
            board_modules: Vec::new(),
            board_assets: None,
            checked: Vec::new(),
            system_version: None,
            plan: Vec::new(),
            resets: 0,
            duration: Duration::ZERO,
        };
        let mut mode = self.precheck(found.mode, &mut report, events)?;
        let mut written: Vec<String> = Vec::new();
        for round in 0..MAX_ROUNDS {
            self.check_cancel()?;
            let view = self.view(mode, &mut report, events)?;
            // What the board must own (its NCP firmware), whenever its Device OS can say.
            if let BoardView::Firmware(board) = &view {
                let unmet = needs::unmet_device_dependencies(self.bundle, &board.modules);
                if !unmet.is_empty() {
                    return Err(FlashError::DeviceDependency(unmet));
                }
            }
            let plan = FlashPlan::build_after(self.bundle, &view, &written);
            if round == 0 {
                let notes = std::mem::take(&mut report.plan);
                report.plan = plan.describe();
                report.plan.extend(notes);
                report.modules_skipped = plan
                    .entries
                    .iter()
                    .filter(|e| e.skip.is_some())
                    .map(|e| e.label())
                    .collect();
                events(stage(Stage::Plan, report.plan.join("\n")));
                // A dry run ends as the run would: a plan with a refusal fails (the plan is
                // in the log), one without is the report.
                if self.options.dry_run && plan.refusal.is_none() {
                    report.duration = self.clock.now() - started;
                    return Ok(report);
                }
            }
            if let Some(r) = &plan.refusal {
                return Err(FlashError::BoardTooOld {
                    module: r.module.clone(),
                    needs: r.needs.clone(),
                    board: r.board.clone(),
                });
            }
            let Some((step, batch)) = plan.next_batch() else {
                return self.verify(view, report, started, events);
            };
            if let Some(again) = batch.iter().find(|e| written.contains(&e.label())) {
                return Err(FlashError::Verify(vec![format!(
                    "{} was written, but the board still does not report it at that version",
                    again.label()
                )]));
            }
            let wrote_before = report.written.len();
            mode = match (step, mode) {
                (Step::Dfu, _) => self.dfu_session(mode, &batch, &mut report, events)?,
                // The board sits in DFU with only control requests left: leave to boot it.
                (_, Mode::Dfu) => self.leave_dfu(&mut report, events)?,
                (Step::BeforeDfu, Mode::Firmware) => {
                    match self.send_by_control(&batch, &mut report, events) {
                        Err(FlashError::UpdatesDisabled { .. })
                            if control_route::dfu_first_helps(&plan) =>
                        {
                            let note = control_route::dfu_first_note(&batch);
                            log::warn!("{note}");
                            report.plan.push(format!("note   {note}"));
                            events(stage(Stage::Plan, note));
                            let dfu = plan.to_write_in(Step::Dfu);
                            self.dfu_session(mode, &dfu, &mut report, events)?
                        }
                        other => other?,
                    }
                }
                (_, Mode::Firmware) => self.send_by_control(&batch, &mut report, events)?,
            };
            written.extend(
                report.written[wrote_before..]
                    .iter()
                    .map(|w| w.module.clone()),
            );
        }
        Err(FlashError::Verify(vec![
            "the board did not settle on the bundle".into(),
        ]))
    }

    /// Resets a board running Device OS by control request and waits for it to come back.
    pub fn reset_board(&mut self) -> Result<(), FlashError> {
        let mut device = self.open()?;
        let before = device.info().clone();
        ControlClient::new(device.as_mut(), self.clock)
            .reset()
            .map_err(|source| FlashError::Control {
                during: "reset",
                source,
            })?;
        drop(device);
        self.wait_after_reset(&before, Some(Mode::Firmware))
            .map(drop)
    }

    fn open(&mut self) -> Result<Box<dyn UsbDevice>, FlashError> {
        self.bus
            .open(&self.port)
            .map_err(|source| FlashError::Open {
                port: self.port.clone(),
                source,
            })
    }

    /// What the board runs: module info while Device OS runs; unknown in DFU mode.
    fn view(
        &mut self,
        mode: Mode,
        report: &mut FlashReport,
        events: EventSink<'_>,
    ) -> Result<BoardView, FlashError> {
        if mode == Mode::Dfu {
            return Ok(BoardView::Dfu);
        }
        events(stage(Stage::ReadBoard, "module info".into()));
        let mut device = self.open()?;
        let mut control = ControlClient::new(device.as_mut(), self.clock);
        let control_err = |during| move |source| FlashError::Control { during, source };
        let id = control
            .device_id()
            .map_err(control_err("reading device ID"))?;
        report.device_id = Some(id);
        report.system_version = control.system_version().ok();
        let modules = control
            .module_info()
            .map_err(control_err("reading module info"))?;
        report.board_modules = modules.clone();
        // Asked only when the bundle has assets; a Device OS before 5.6.0 cannot say.
        let assets = match self.bundle.assets.is_empty() {
            true => None,
            false => control.asset_info().ok(),
        };
        report.board_assets = assets.as_ref().map(|a| a.available.clone());
        // Factory and backup copies are not what the board runs: a factory app is no user part.
        Ok(BoardView::Firmware(FirmwareView {
            modules: modules.into_iter().filter(BoardModule::runs).collect(),
            assets,
        }))
    }

    /// Waits for the board to leave and come back on the same port, as a new enumeration
    /// (board.rs). A board that comes back in DFU when firmware was expected has no valid
    /// system firmware: that is a verify failure.
    fn wait_after_reset(
        &mut self,
        before: &DeviceInfo,
        want: Option<Mode>,
    ) -> Result<Mode, FlashError> {
        match wait_for_reenumeration(
            self.bus,
            self.clock,
            &self.port,
            before,
            want,
            self.options.leave_timeout,
            self.options.reenumerate_timeout,
        ) {
            Ok(board) => Ok(board.mode),
            Err(e @ FlashError::NoReenumerate { .. }) => match look(self.bus, &self.port) {
                Some(b) if b.mode == Mode::Dfu && want == Some(Mode::Firmware) => {
                    Err(FlashError::Verify(vec![
                        "board stays in DFU mode: its system firmware does not start".into(),
                    ]))
                }
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }
}

fn stage(stage: Stage, detail: String) -> Event {
    Event::Stage { stage, detail }
}
