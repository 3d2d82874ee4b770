//! The station service: one main loop for hardware, the interactive simulator and scripted
//! runs alike. Each tick it samples the inputs, lets the station decide, starts or aborts slot
//! jobs, collects their progress, shows each verdict once its record is committed
//! (`verdicts`), and redraws the display when it changed. Only the clock, the inputs, the
//! boards and the driver differ between the three.

mod edges;
mod inputs;
mod job;
pub mod labels;
mod lights;
pub mod script;
pub mod sim_io;
pub mod sim_world;
mod stick;
mod tasks;
mod trace;
mod verdicts;

pub use edges::{Edges, StateCell};
pub use inputs::DebouncedInputs;
pub use job::{Job, JobMsg, TestedBefore};
pub use lights::Lights;
pub use stick::StickSetup;
pub use tasks::{Ended, Tasks};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use crate::core::bundle::Bundle;
use crate::core::lights::Signals;
use crate::core::station::{Command, Station};
use crate::core::ui::{frame_of, Frame, PortView, UiState};
use crate::core::unit::UnitRecord;
use crate::ports::{Clock, Display, PortPath, SerialPorts, SwdProbe, UsbBus};
use crate::records::{Context as RecordContext, RecordWriter};

/// Where a slot's job finds its board: its USB for flashing, its serial port for testing,
/// and for a slot with pogo pins on the SWD pads, its debug probe.
pub trait Boards: Send {
    /// The USB bus and the slot's port (none for a probe slot that finds its board by ID).
    fn bus_for(&mut self, slot: usize) -> Option<(Box<dyn UsbBus>, Option<PortPath>)>;
    fn serial_for(&mut self, slot: usize) -> Box<dyn SerialPorts>;
    /// The slot's debug probe, if it flashes over SWD.
    fn probe_for(&mut self, _slot: usize) -> Option<Box<dyn SwdProbe>> {
        None
    }
    /// The Particle boards on USB, for the USB screen (which port path is which slot).
    fn ports(&mut self) -> Vec<PortView> {
        Vec::new()
    }
}

/// How job threads are started: plain threads on hardware, scheduled workers on virtual time.
pub trait Spawner {
    fn spawn(&self, job: Box<dyn FnOnce() + Send>);
}

pub struct OsThreads;

impl Spawner for OsThreads {
    fn spawn(&self, job: Box<dyn FnOnce() + Send>) {
        std::thread::spawn(job);
    }
}

impl Spawner for crate::sim::scheduler::VirtualScheduler {
    fn spawn(&self, job: Box<dyn FnOnce() + Send>) {
        crate::sim::scheduler::VirtualScheduler::spawn(self, job);
    }
}

/// What happens each tick besides the station itself: a script, the keyboard, signals.
pub trait Driver {
    /// Called first in every tick. Returns false to stop the loop (once no job runs).
    fn tick(&mut self, now: Duration, station: &mut Station) -> bool;
    /// Called when the picture or the lights changed.
    fn frame(&mut self, _shown: &Shown) {}
    /// Called with each finished unit, once its record is committed.
    fn unit(&mut self, _unit: &UnitRecord) {}
    /// Called when a slot's record cannot be written (`E-RECORDS`), with the cause.
    fn record_held(&mut self, _slot: &str, _cause: &str) {}
}

/// What the station shows at one moment: the OLED and the lights.
#[derive(Clone)]
pub struct Shown {
    pub now: Duration,
    pub ui: UiState,
    pub frame: Frame,
    pub signals: Signals,
}

/// How often the USB screen looks at the boards on USB again.
const USB_LOOK_EVERY: Duration = Duration::from_secs(2);

pub struct Runtime {
    pub clock: Arc<dyn Clock>,
    pub spawner: Box<dyn Spawner>,
    pub inputs: DebouncedInputs,
    pub display: Option<Box<dyn Display>>,
    pub boards: Box<dyn Boards>,
    pub bundle: Option<Arc<Bundle>>,
    pub station: Station,
    pub tick: Duration,
    /// Where finished units are recorded, and what with.
    pub records: Option<(RecordWriter, RecordContext)>,
    /// The USB stick: bundles in, records out.
    pub stick: Option<StickSetup>,
    /// The stack light, slot lamps and buzzer.
    pub lights: Lights,
    /// Replication, the dashboard and other edges that fail alone.
    pub edges: Edges,
    /// The label printer's edge (its sink is the records writer's).
    pub labels: Option<labels::Labels>,
}

pub struct RunSummary {
    /// The units whose verdicts were shown; with records, each has its record.
    pub units: Vec<UnitRecord>,
    /// Units whose records could not be written by the end (logged whole): the run failed.
    pub unrecorded: Vec<UnitRecord>,
}

impl Runtime {
    pub fn run(mut self, driver: &mut dyn Driver) -> RunSummary {
        let (tx, rx) = channel();
        let mut cancels: Vec<Option<Arc<AtomicBool>>> = vec![None; self.station.slot_names().len()];
        let mut verdicts = verdicts::Verdicts::default();
        let mut last: Option<(Frame, Signals)> = None;
        let mut display_retry_at = Duration::ZERO;
        let mut stopping = false;
        let mut stick = stick::StickWatch::new(self.stick.as_ref());
        let mut usb_look_at = Duration::ZERO;
        loop {
            let now = self.clock.now();
            self.tick_stick(&mut stick, now);
            // The USB screen looks at once, then every few seconds.
            if self.station.shows_usb() && (self.station.ports_unknown() || now >= usb_look_at) {
                let ports = self.boards.ports();
                self.station.set_ports(ports);
                usb_look_at = now + USB_LOOK_EVERY;
            }
            if !stopping && !driver.tick(now, &mut self.station) {
                stopping = true;
            }
            if stopping {
                for c in cancels.iter().flatten() {
                    c.store(true, Ordering::SeqCst);
                }
            }
            for input in self.inputs.sample(now) {
                for command in self.station.handle(input, now) {
                    self.execute(command, &mut cancels, &tx, &mut stick);
                }
            }
            self.collect(&rx, &mut cancels, &mut verdicts, driver);
            self.collect_records(&mut verdicts, driver);
            self.edges.supervise(now, &mut self.station);
            let mut ui = self.station.ui(now);
            self.edges.decorate(&mut ui);
            let frame = frame_of(&ui);
            let signals = self.lights.update(&ui, now);
            let frame_changed = last.as_ref().map(|(f, _)| f) != Some(&frame);
            if frame_changed || last.as_ref().map(|(_, s)| s) != Some(&signals) {
                if frame_changed {
                    self.show(&frame, now, &mut display_retry_at);
                    self.edges.publish(&ui, &frame);
                }
                let shown = Shown {
                    now,
                    ui,
                    frame,
                    signals,
                };
                driver.frame(&shown);
                last = Some((shown.frame, shown.signals));
            }
            if stopping && !self.station.any_running() && !stick.is_running() {
                break;
            }
            self.wait_tick();
        }
        let unrecorded = self.close_records(&mut verdicts, driver);
        if let Some(labels) = self.labels.take() {
            // The last labels go out before the run ends.
            labels.close();
        }
        RunSummary {
            units: verdicts.units,
            unrecorded,
        }
    }

    fn execute(
        &mut self,
        command: Command,
        cancels: &mut [Option<Arc<AtomicBool>>],
        tx: &Sender<JobMsg>,
        stick: &mut stick::StickWatch,
    ) {
        match command {
            Command::StartJob(slot) => {
                let name = self.station.slot_names()[slot].clone();
                let (Some(bundle), Some((bus, port))) =
                    (self.bundle.clone(), self.boards.bus_for(slot))
                else {
                    log::error!("slot {name}: cannot start (no bundle or no USB)");
                    return;
                };
                let probe = self.boards.probe_for(slot);
                log::info!(
                    "slot {name}: flashing {} {} {}",
                    bundle.name,
                    bundle.version,
                    match (&probe, &port) {
                        (Some(p), _) => format!("with debug probe {}", p.name()),
                        (None, Some(port)) => format!("on {port}"),
                        (None, None) => "(no USB port configured)".into(),
                    }
                );
                let cancel = Arc::new(AtomicBool::new(false));
                cancels[slot] = Some(cancel.clone());
                let start = self.station.slot_start(slot);
                let identity = self
                    .records
                    .as_ref()
                    .and_then(|(w, _)| trace::identity_check(w.path().to_path_buf(), &start));
                let job = Job {
                    start,
                    identity,
                    slot,
                    slot_name: name,
                    serial: self.boards.serial_for(slot),
                    bus,
                    port,
                    probe,
                    bundle,
                    clock: self.clock.clone(),
                    cancel,
                    messages: tx.clone(),
                    dfu_serial: Some(crate::core::flash::SerialFallback(Arc::new(
                        std::sync::Mutex::new(self.boards.serial_for(slot)),
                    ))),
                    tested_before: self
                        .records
                        .as_ref()
                        .map(|(w, _)| tested_before(w.path().to_path_buf())),
                };
                self.spawner.spawn(Box::new(move || job.run()));
            }
            Command::AbortJob(slot) => {
                if let Some(c) = &cancels[slot] {
                    log::warn!("slot {}: abort requested", self.station.slot_names()[slot]);
                    c.store(true, Ordering::SeqCst);
                }
            }
            Command::ImportBundle if self.stick.is_some() => self.offer_import(stick, None),
            Command::ExportRecords if self.stick.is_some() => self.export_records(),
            Command::ConfirmImport {
                archive,
                allow_downgrade,
            } => self.confirm_import(stick, archive, allow_downgrade),
            Command::LoadWorkOrder(work_order) => self.load_work_order(&work_order),
            Command::ReprintLabel => match &self.labels {
                Some(labels) => labels.reprint(),
                None => {
                    let until = self.clock.now() + Duration::from_secs(3);
                    self.station
                        .notify("NO PRINTER", vec!["no [label] printer".into()], until);
                }
            },
            Command::ImportBundle | Command::ExportRecords => {
                let until = self.clock.now() + Duration::from_secs(3);
                self.station
                    .notify("NO STICK", vec!["no USB stick set up".into()], until);
            }
        }
    }

    fn collect(
        &mut self,
        rx: &Receiver<JobMsg>,
        cancels: &mut [Option<Arc<AtomicBool>>],
        verdicts: &mut verdicts::Verdicts,
        driver: &mut dyn Driver,
    ) {
        for msg in rx.try_iter() {
            match msg {
                JobMsg::Update(slot, update) => self.station.job_update(slot, update),
                JobMsg::Done(slot, unit) => {
                    cancels[slot] = None;
                    self.finished(slot, *unit, verdicts, driver);
                }
            }
        }
    }

    /// Shows a frame; a display that fails is logged and retried every 10 s, and the station
    /// keeps working without it.
    fn show(&mut self, frame: &Frame, now: Duration, retry_at: &mut Duration) {
        let Some(display) = self.display.as_mut() else {
            return;
        };
        if now < *retry_at {
            return;
        }
        if let Err(e) = display.show(frame) {
            log::error!("{e}; retrying in 10 s");
            *retry_at = now + Duration::from_secs(10);
        }
    }
}

/// The boards on USB as the USB screen shows them: each port path with the slot configured
/// for it (`ports[i]` is slot `names[i]`'s).
pub fn port_views(
    boards: Vec<crate::ports::DeviceInfo>,
    ports: &[Option<PortPath>],
    names: &[String],
) -> Vec<PortView> {
    boards
        .into_iter()
        .map(|b| {
            let board = match crate::core::module::Platform::by_usb_pid(b.pid) {
                Some((p, true)) => format!("{} DFU", p.name),
                Some((p, false)) => p.name.to_string(),
                None => "?".into(),
            };
            let slot = ports
                .iter()
                .position(|p| p.as_ref() == Some(&b.port))
                .and_then(|i| names.get(i).cloned());
            PortView {
                port: b.port.0,
                slot,
                board,
            }
        })
        .collect()
}

/// Looks in the records whether a device passed its tests with a bundle and failed only in
/// the final stage.
fn tested_before(records: std::path::PathBuf) -> job::TestedBefore {
    Arc::new(move |device_id: &str, lock_hash: &str| {
        crate::records::Records::open(&records)
            .and_then(|r| r.final_stage_pending(device_id, lock_hash))
            .unwrap_or(false)
    })
}
