//! Flashing one board with a locked bundle, end to end: find it, read what it runs, plan,
//! send the bootloader by control request and the rest in one DFU session, re-find it after
//! each reset by its port, and verify what it reports. The same code runs on hardware and
//! in `--sim`; only the `UsbBus` and `Clock` differ.

mod board;
mod error;
mod swd;

pub use board::{boards, look, look_by_id, wait_for, wait_for_id, FoundBoard, Mode};
pub use error::FlashError;
pub use swd::{particle_device_id, SwdFlasher};

use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::bundle::{Bundle, BundleModule};
use super::control::{BoardModule, ControlClient};
use super::dfu::{DfuError, DfuOptions, DfuSession, WritePhase};
use super::event::{Event, EventSink, Phase, Stage};
use super::flash_map;
use super::plan::{BoardView, FlashPlan, Route};
use crate::ports::{Clock, PortPath, SerialPorts, UsbBus, UsbDevice};

#[derive(Debug, Clone)]
pub struct FlashOptions {
    pub dfu: DfuOptions,
    /// How long a freshly seated board may take to appear.
    pub find_timeout: Duration,
    /// How long a board may take to come back after a reset.
    pub reenumerate_timeout: Duration,
    /// Plan only; write nothing.
    pub dry_run: bool,
    /// The board's serial ports, for entering DFU by the 14400-baud trick when the control
    /// request is refused.
    pub dfu_by_serial: Option<SerialFallback>,
    /// Set by the operator's abort; checked between stages and modules, so a module is never
    /// left half-erased by the abort itself.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for FlashOptions {
    fn default() -> Self {
        FlashOptions {
            dfu: DfuOptions::default(),
            find_timeout: Duration::from_secs(5),
            reenumerate_timeout: Duration::from_secs(20),
            dry_run: false,
            cancel: None,
            dfu_by_serial: None,
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

#[derive(Debug, Clone, Serialize)]
pub struct FlashReport {
    pub device_id: Option<String>,
    pub platform: String,
    pub modules_written: Vec<String>,
    pub modules_skipped: Vec<String>,
    pub bytes_written: u64,
    pub board_modules: Vec<BoardModule>,
    pub system_version: Option<String>,
    pub plan: Vec<String>,
    #[serde(skip)]
    pub duration: Duration,
}

/// Rounds of plan → write → reset before giving up (a blank board needs three: DFU modules,
/// bootloader, verify).
const MAX_ROUNDS: usize = 4;

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
        let mut report = FlashReport {
            device_id: found.info.serial.as_ref().map(|s| s.to_lowercase()),
            platform: found.platform.name.into(),
            modules_written: Vec::new(),
            modules_skipped: Vec::new(),
            bytes_written: 0,
            board_modules: Vec::new(),
            system_version: None,
            plan: Vec::new(),
            duration: Duration::ZERO,
        };
        let mut mode = found.mode;
        let mut written: Vec<(u8, u8)> = Vec::new();
        for round in 0..MAX_ROUNDS {
            self.check_cancel()?;
            let view = self.view(mode, &mut report, events)?;
            let plan = FlashPlan::build(self.bundle, &view);
            if round == 0 {
                report.plan = plan.describe();
                report.modules_skipped = plan
                    .entries
                    .iter()
                    .filter(|e| e.skip.is_some())
                    .map(|e| e.module.module.label())
                    .collect();
                events(stage(Stage::Plan, report.plan.join("\n")));
                if self.options.dry_run {
                    report.duration = self.clock.now() - started;
                    return Ok(report);
                }
            }
            let Some(route) = plan.next_route() else {
                return self.verify(view, report, started, events);
            };
            let batch = plan.to_write(route);
            for m in &batch {
                let key = (m.module.function() as u8, m.module.index());
                if written.contains(&key) {
                    return Err(FlashError::Verify(vec![format!(
                        "{} was written but the board does not report it valid",
                        m.module.label()
                    )]));
                }
                written.push(key);
            }
            mode = match (route, mode) {
                (Route::Control, Mode::Firmware) => {
                    self.send_by_control(&batch, &mut report, events)?
                }
                (Route::Control, Mode::Dfu) => {
                    // Only the bootloader is left but the board sits in DFU: leave to boot it.
                    self.leave_dfu(events)?
                }
                (Route::Dfu, _) => self.dfu_session(mode, &batch, &mut report, events)?,
            };
        }
        Err(FlashError::Verify(vec![
            "the board did not settle on the bundle".into(),
        ]))
    }

    /// Resets a board running Device OS by control request and waits for it to come back.
    pub fn reset_board(&mut self) -> Result<(), FlashError> {
        let mut device = self.open()?;
        ControlClient::new(device.as_mut(), self.clock)
            .reset()
            .map_err(|source| FlashError::Control {
                during: "reset",
                source,
            })?;
        drop(device);
        self.wait_after_reset(Some(Mode::Firmware)).map(drop)
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
        Ok(BoardView::Firmware(modules))
    }

    /// Sends modules by the firmware-update control requests; Device OS installs each at its
    /// next reset, which it does by itself.
    fn send_by_control(
        &mut self,
        modules: &[&BundleModule],
        report: &mut FlashReport,
        events: EventSink<'_>,
    ) -> Result<Mode, FlashError> {
        for m in modules {
            self.check_cancel()?;
            let label = m.module.label();
            events(stage(Stage::Bootloader, label.clone()));
            let mut device = self.open()?;
            let mut control = ControlClient::new(device.as_mut(), self.clock);
            control
                .update_firmware(m.module.bytes(), &mut |done, total| {
                    events(Event::Progress {
                        module: label.clone(),
                        phase: Phase::Send,
                        done,
                        total,
                    })
                })
                .map_err(|source| match source.is_gone() {
                    true => FlashError::Unplugged {
                        port: self.port.clone(),
                        during: format!("sending {label}"),
                    },
                    false => FlashError::Control {
                        during: "bootloader update",
                        source,
                    },
                })?;
            report.modules_written.push(label);
            report.bytes_written += m.module.bytes().len() as u64;
            drop(device);
            events(stage(Stage::Reconnect, "installing at reset".into()));
            self.wait_after_reset(Some(Mode::Firmware))?;
        }
        Ok(Mode::Firmware)
    }

    /// One DFU session: enter DFU if needed, write every module, leave once.
    fn dfu_session(
        &mut self,
        mode: Mode,
        modules: &[&BundleModule],
        report: &mut FlashReport,
        events: EventSink<'_>,
    ) -> Result<Mode, FlashError> {
        for m in modules {
            if let Some(reason) = flash_map::placement_problem(&m.module.clone()) {
                return Err(FlashError::Region(format!("{}: {reason}", m.file)));
            }
        }
        if mode == Mode::Firmware {
            self.enter_dfu(events)?;
        }
        let mut device = self.open()?;
        let port = self.port.clone();
        let gone = |label: &str, e: DfuError| match e.is_gone() {
            true => FlashError::Unplugged {
                port: port.clone(),
                during: format!("writing {label}"),
            },
            false => FlashError::Dfu {
                module: label.to_string(),
                source: e,
            },
        };
        let mut session =
            DfuSession::open(device.as_mut(), self.clock, 0, self.options.dfu.clone())
                .map_err(|e| gone("DFU session", e))?;
        for m in modules {
            if let Err(e) = self.check_cancel() {
                // Leave DFU so the board is not left waiting in the bootloader.
                let _ = session.leave();
                return Err(e);
            }
            let label = m.module.label();
            events(stage(Stage::Dfu, label.clone()));
            // The same answer to "what goes where" as the SWD image (core::image).
            let region = super::image::region_of(&m.module);
            let image = &region.bytes;
            session
                .write(region.address, image, &mut |phase, done, total| {
                    let phase = match phase {
                        WritePhase::Erase => Phase::Erase,
                        WritePhase::Write => Phase::Write,
                        WritePhase::Readback => Phase::Readback,
                    };
                    events(Event::Progress {
                        module: label.clone(),
                        phase,
                        done,
                        total,
                    })
                })
                .map_err(|e| gone(&label, e))?;
            report.modules_written.push(label);
            report.bytes_written += image.len() as u64;
        }
        events(stage(Stage::Leave, "reset into firmware".into()));
        session.leave().map_err(|e| gone("leave", e))?;
        drop(device);
        self.wait_after_reset(Some(Mode::Firmware))
    }

    /// Asks Device OS to reset into DFU; if it refuses, the classic fallback: open its USB
    /// serial port at 14400 baud and close it.
    fn enter_dfu(&mut self, events: EventSink<'_>) -> Result<(), FlashError> {
        events(stage(Stage::EnterDfu, "control request".into()));
        let mut device = self.open()?;
        let asked = ControlClient::new(device.as_mut(), self.clock).enter_dfu();
        drop(device);
        match (asked, &self.options.dfu_by_serial) {
            (Ok(()), _) => {}
            (Err(source), _) if source.is_gone() => {
                return Err(FlashError::Unplugged {
                    port: self.port.clone(),
                    during: "entering DFU".into(),
                })
            }
            (Err(source), Some(serial)) => {
                log::warn!(
                    "enter-DFU request refused ({source}); trying the 14400-baud serial trick"
                );
                events(stage(Stage::EnterDfu, "14400-baud serial".into()));
                let mut ports = serial.0.lock().unwrap_or_else(|p| p.into_inner());
                ports
                    .touch(&self.port, DFU_BAUD)
                    .map_err(|e| FlashError::Serial {
                        during: "entering DFU at 14400 baud",
                        reason: e.to_string(),
                    })?;
            }
            (Err(source), None) => {
                return Err(FlashError::Control {
                    during: "entering DFU",
                    source,
                })
            }
        }
        self.wait_after_reset(Some(Mode::Dfu)).map(drop)
    }

    fn leave_dfu(&mut self, events: EventSink<'_>) -> Result<Mode, FlashError> {
        events(stage(Stage::Leave, "reset into firmware".into()));
        let mut device = self.open()?;
        let session = DfuSession::open(device.as_mut(), self.clock, 0, self.options.dfu.clone())
            .map_err(|source| FlashError::Dfu {
                module: "leave".into(),
                source,
            })?;
        session.leave().map_err(|source| FlashError::Dfu {
            module: "leave".into(),
            source,
        })?;
        drop(device);
        self.wait_after_reset(Some(Mode::Firmware))
    }

    /// Waits for the board to re-enumerate on the same port. A board that comes back in DFU
    /// when firmware was expected has no valid system firmware: that is a verify failure.
    fn wait_after_reset(&mut self, want: Option<Mode>) -> Result<Mode, FlashError> {
        match wait_for(
            self.bus,
            self.clock,
            &self.port,
            want,
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

    fn verify(
        &mut self,
        view: BoardView,
        mut report: FlashReport,
        started: Duration,
        events: EventSink<'_>,
    ) -> Result<FlashReport, FlashError> {
        events(stage(Stage::Verify, "module info".into()));
        let BoardView::Firmware(reported) = view else {
            return Err(FlashError::Verify(
                vec!["board is still in DFU mode".into()],
            ));
        };
        let problems: Vec<String> = self
            .bundle
            .modules
            .iter()
            .filter_map(|m| {
                let want = &m.module;
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
                    Some(_) => None,
                }
            })
            .collect();
        if !problems.is_empty() {
            return Err(FlashError::Verify(problems));
        }
        report.board_modules = reported;
        report.modules_skipped = self
            .bundle
            .modules
            .iter()
            .map(|m| m.module.label())
            .filter(|l| !report.modules_written.contains(l))
            .collect();
        report.duration = self.clock.now() - started;
        Ok(report)
    }
}

fn stage(stage: Stage, detail: String) -> Event {
    Event::Stage { stage, detail }
}
