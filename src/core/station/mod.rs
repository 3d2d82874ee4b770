//! The station's brain: slots, buttons, fixture switches, menu, counters → what to do next
//! and what the OLED shows. Pure: inputs and job results come in with a time, commands go out;
//! `runtime` does the threads and hardware.

mod slot;
mod trace;

pub use slot::{JobUpdate, Verdict};
pub use trace::{Rework, SlotStart, TraceOptions};

use serde::Deserialize;
use std::time::Duration;

use super::debounce::ButtonEvent;
use super::operator_code::OperatorCode;
use super::ui::{
    BundleLabel, Counters, MenuView, Notice, PortView, Screen, SlotPhase, SlotView, UiState,
};
use slot::{Phase, Slot};
use trace::Trace;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A fixture switch closed (debounced).
    Seated(usize),
    /// A fixture switch opened.
    Removed(usize),
    Start,
    Func(ButtonEvent),
    /// A line from the barcode scanner (or a script's `scan`).
    Scanned(String),
    /// An edge (label printer, scanner) has something to say; shown for a few seconds.
    Notify {
        title: String,
        lines: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    StartJob(usize),
    AbortJob(usize),
    ImportBundle,
    ExportRecords,
    /// The operator confirmed importing this archive from the stick.
    ConfirmImport {
        archive: std::path::PathBuf,
        allow_downgrade: bool,
    },
    /// A work order was scanned or chosen: its passed units are asked from the records.
    LoadWorkOrder(String),
    /// Print the last passed unit's label again (menu).
    ReprintLabel,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StationOptions {
    /// Start flashing as soon as a fixture closes (otherwise wait for START).
    #[serde(default = "yes")]
    pub auto_start: bool,
}

fn yes() -> bool {
    true
}

impl Default for StationOptions {
    fn default() -> Self {
        StationOptions { auto_start: true }
    }
}

const MENU: [&str; 7] = [
    "abort",
    "import bundle",
    "export records",
    "reprint label",
    "work order",
    "operator",
    "close",
];

pub struct Station {
    slots: Vec<Slot>,
    options: StationOptions,
    bundle: Option<BundleLabel>,
    counters: Counters,
    screen: Screen,
    menu: Option<usize>,
    notice: Option<(Notice, Duration)>,
    /// A question on screen: FUNC held answers yes with this command, FUNC short says no.
    question: Option<(Notice, Command)>,
    /// While the bundle is being swapped no unit starts; this says why on screen.
    swapping: Option<Notice>,
    /// The boards on USB while the USB screen is up; `None` until the runtime looked.
    ports: Option<Vec<PortView>>,
    /// Serials, work order, operator (`trace.rs`).
    trace: Trace,
}

impl Station {
    pub fn new(
        slot_names: &[String],
        options: StationOptions,
        bundle: Option<BundleLabel>,
    ) -> Self {
        Station {
            slots: slot_names.iter().map(|n| Slot::new(n)).collect(),
            options,
            bundle,
            counters: Counters::default(),
            screen: Screen::Status,
            menu: None,
            notice: None,
            question: None,
            swapping: None,
            ports: None,
            trace: Trace::new(slot_names.len()),
        }
    }

    /// Holds every start (and shows why) until called with `None`: a unit started during a
    /// bundle swap would be recorded against a bundle it was not flashed with.
    pub fn hold_for_swap(&mut self, why: Option<Notice>) {
        self.swapping = why;
    }

    /// Whether the USB screen is up (the runtime lists the boards on USB only then).
    pub fn shows_usb(&self) -> bool {
        self.screen == Screen::Usb && self.menu.is_none()
    }

    /// The USB screen came up and nobody looked at USB yet.
    pub fn ports_unknown(&self) -> bool {
        self.ports.is_none()
    }

    pub fn set_ports(&mut self, ports: Vec<PortView>) {
        self.ports = Some(ports);
    }

    pub fn set_bundle(&mut self, bundle: Option<BundleLabel>) {
        self.bundle = bundle;
    }

    pub fn set_counters(&mut self, counters: Counters) {
        self.counters = counters;
    }

    /// Shows a message over everything until `until`.
    pub fn notify(&mut self, title: &str, lines: Vec<String>, until: Duration) {
        self.notice = Some((
            Notice {
                title: title.into(),
                lines,
            },
            until,
        ));
    }

    /// Asks the operator; FUNC held confirms (`yes` is returned), FUNC short or START cancels.
    pub fn ask(&mut self, title: &str, lines: Vec<String>, yes: Command) {
        self.menu = None;
        self.question = Some((
            Notice {
                title: title.into(),
                lines,
            },
            yes,
        ));
    }

    pub fn is_asking(&self) -> bool {
        self.question.is_some()
    }

    pub fn handle(&mut self, input: Input, now: Duration) -> Vec<Command> {
        if let Some((_, yes)) = &self.question {
            match input {
                Input::Func(ButtonEvent::Long) => {
                    let yes = yes.clone();
                    self.question = None;
                    return vec![yes];
                }
                Input::Func(ButtonEvent::Short) | Input::Start => {
                    self.question = None;
                    return vec![];
                }
                // Seating and removing boards goes on while the question waits.
                _ => {}
            }
        }
        match input {
            Input::Seated(i) => {
                let Some(slot) = self.slots.get_mut(i) else {
                    return vec![];
                };
                slot.present = true;
                let free = slot.is_free();
                self.trace_seated(i);
                let slot = &mut self.slots[i];
                if free {
                    slot.phase = Phase::Ready;
                    if self.options.auto_start {
                        return self.start(i, now);
                    }
                }
                vec![]
            }
            Input::Removed(i) => {
                let Some(slot) = self.slots.get_mut(i) else {
                    return vec![];
                };
                slot.present = false;
                slot.same_board = false;
                // A running job finds the board gone by itself and ends in Fail; a verdict
                // leaves with its board, so the next board never sits under it. A held
                // record's slot stays held until the record is written.
                if slot.is_free() {
                    slot.phase = Phase::Idle;
                }
                vec![]
            }
            Input::Start => {
                if self.menu.take().is_some() {
                    return vec![];
                }
                let startable = self
                    .slots
                    .iter()
                    .position(|s| s.present && s.is_startable());
                startable.map(|i| self.start(i, now)).unwrap_or_default()
            }
            Input::Scanned(code) => self.scanned(&code, now),
            Input::Notify { title, lines } => {
                self.notify(&title, lines, now + Duration::from_secs(5));
                vec![]
            }
            Input::Func(ButtonEvent::Short) => {
                if let Some(commands) = self.picker_input(false, now) {
                    return commands;
                }
                // A press dismisses a message still on screen; an expired one is gone already.
                if self.notice.take().is_some_and(|(_, until)| now < until) {
                    return vec![];
                }
                match self.menu {
                    Some(selected) => self.menu = Some((selected + 1) % MENU.len()),
                    // Several boards wait for their serials: FUNC picks which gets the next.
                    None => {
                        if !self.cycle_chosen() {
                            self.screen = self.screen.next();
                            self.ports = None;
                        }
                    }
                }
                vec![]
            }
            Input::Func(ButtonEvent::Long) => match self.picker_input(true, now) {
                Some(commands) => commands,
                None => self.menu_long(now),
            },
        }
    }

    fn menu_long(&mut self, now: Duration) -> Vec<Command> {
        match self.menu.take() {
            None => {
                self.menu = Some(0);
                vec![]
            }
            Some(0) => (0..self.slots.len())
                .filter(|i| self.slots[*i].is_running())
                .map(Command::AbortJob)
                .collect(),
            Some(1) => vec![Command::ImportBundle],
            Some(2) => vec![Command::ExportRecords],
            Some(3) => vec![Command::ReprintLabel],
            Some(i @ (4 | 5)) => {
                self.open_picker(i == 4, now);
                vec![]
            }
            Some(_) => vec![],
        }
    }

    fn start(&mut self, i: usize, now: Duration) -> Vec<Command> {
        if self.slots.iter().any(Slot::is_held) {
            self.notify(
                OperatorCode::Records.as_str(),
                vec!["records cannot be".into(), "written: no new unit".into()],
                now + Duration::from_secs(3),
            );
            return vec![];
        }
        if self.swapping.is_some() {
            // The slot stays ready: START begins it once the swap is over.
            return vec![];
        }
        if self.bundle.is_none() {
            self.notify(
                "NO BUNDLE",
                vec!["nothing to flash".into()],
                now + Duration::from_secs(3),
            );
            return vec![];
        }
        if !self.trace_may_start(i, now) {
            return vec![];
        }
        self.slots[i].phase = Phase::Running {
            started: now,
            update: None,
        };
        self.slots[i].same_board = self.slots[i].present;
        self.screen = Screen::Status;
        vec![Command::StartJob(i)]
    }

    pub fn job_update(&mut self, i: usize, update: JobUpdate) {
        if let Some(Phase::Running {
            update: current, ..
        }) = self.slots.get_mut(i).map(|s| &mut s.phase)
        {
            *current = Some(update);
        }
    }

    /// The job finished; its verdict waits until its record is committed (`job_done`).
    pub fn job_saving(&mut self, i: usize, now: Duration) {
        if let Some(slot) = self.slots.get_mut(i) {
            slot.phase = Phase::Saving {
                started: now,
                device_id: slot.device_id(),
            };
        }
    }

    /// The slot's record could not be written: it shows `E-RECORDS` and no slot starts a new
    /// unit until the record is written (`job_done` then shows its verdict).
    pub fn record_held(&mut self, i: usize) {
        if let Some(slot) = self.slots.get_mut(i) {
            slot.phase = Phase::Held {
                device_id: slot.device_id(),
            };
        }
    }

    /// The unit's verdict, shown and counted: its record is committed (or none is kept).
    pub fn job_done(&mut self, i: usize, verdict: Verdict) {
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        match verdict {
            Verdict::Pass { .. } => self.counters.pass += 1,
            Verdict::Fail { .. } => self.counters.fail += 1,
        }
        // A board pulled out before its verdict takes the verdict with it; a board seated
        // since (while the record was saved) waits for START.
        slot.phase = match (slot.same_board, slot.present) {
            (true, _) => Phase::Done(verdict),
            (false, true) => Phase::Ready,
            (false, false) => Phase::Idle,
        };
    }

    pub fn any_running(&self) -> bool {
        self.slots.iter().any(Slot::is_running)
    }

    pub fn slot_names(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.name.clone()).collect()
    }

    pub fn ui(&self, now: Duration) -> UiState {
        UiState {
            bundle: self.bundle.clone(),
            slots: self
                .slots
                .iter()
                .enumerate()
                .map(|(i, s)| SlotView {
                    name: s.name.clone(),
                    phase: match self.is_waiting_for_serial(i) {
                        true => SlotPhase::Waiting {
                            what: "serial".into(),
                            chosen: self.is_chosen(i),
                        },
                        false => s.view(now),
                    },
                })
                .collect(),
            counters: self.counters,
            screen: self.screen,
            menu: self.picker_view().or(self.menu.map(|selected| MenuView {
                items: MENU.iter().map(|s| s.to_string()).collect(),
                selected,
            })),
            trace: self.trace_view(),
            notice: self
                .question
                .as_ref()
                .map(|(n, _)| n.clone())
                .or_else(|| {
                    self.notice
                        .as_ref()
                        .filter(|(_, until)| now < *until)
                        .map(|(n, _)| n.clone())
                })
                .or_else(|| self.swapping.clone()),
            ports: match self.screen {
                Screen::Usb => self.ports.clone(),
                _ => None,
            },
            line: None,
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod trace_tests;
