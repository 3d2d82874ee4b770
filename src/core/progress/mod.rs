//! One progress figure per unit for the operator: FLASH, TEST and FINAL as one bar with the
//! time left, estimated from what the unit will do (bytes to erase and write, resets to wait
//! for, tests to run) and corrected by how fast this board really goes. During a wait the bar
//! still moves and the words say what it waits for. Pure: every call takes `now`.

mod costs;
#[cfg(test)]
mod tests;

pub use costs::{Costs, ModuleWork, UnitWork, ARGON, PAGE_BYTES};

use serde::Serialize;
use std::time::Duration;

use crate::core::event::{Event, Phase, Stage};
use crate::core::plan::Route;

/// The unit's stages, as the OLED names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UnitStage {
    Flash,
    Test,
    Final,
}

impl UnitStage {
    pub fn word(self) -> &'static str {
        match self {
            UnitStage::Flash => "FLASH",
            UnitStage::Test => "TEST",
            UnitStage::Final => "FINAL",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What the operator sees of a running unit at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgressView {
    pub stage: UnitStage,
    /// What is being done, in plain words (`writing Device OS`, `restarting the board`).
    pub doing: String,
    /// The whole unit, never going back.
    pub percent: u8,
    pub remaining_s: u32,
    /// While waiting for the board, how long it has waited so far.
    pub waiting_s: Option<u32>,
    pub device_id: Option<String>,
}

/// A wait fills its share of the bar with time up to this much, then holds until it ends.
const WAIT_FILL: f64 = 0.95;
/// Before this much expected work is done, the board's own speed is not known yet.
const SPEED_AFTER_MS: f64 = 2000.0;

#[derive(Debug, Clone, PartialEq)]
struct Step {
    expected_ms: f64,
    since: Duration,
    /// Done share of the step, from byte counts; a wait's share grows with time instead.
    fraction: f64,
    wait: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnitProgress {
    costs: Costs,
    work: UnitWork,
    /// Expected milliseconds of each stage (zero for a stage the bundle does not have).
    budget: [f64; 3],
    stage: UnitStage,
    /// Expected milliseconds of the current stage's finished steps.
    done: f64,
    /// Expected milliseconds of every finished step, all stages (for the board's speed).
    done_total: f64,
    step: Step,
    doing: String,
    started: Duration,
    /// When the last event came: the pace is judged up to then, not up to `now`, or the
    /// figure would wobble between events.
    last_event: Duration,
    /// The largest fraction shown so far: the bar never goes back.
    floor: f64,
    /// Whether this stage found the board running Device OS (it read module info first).
    read_board: bool,
    /// A plan made in DFU mode lists the bootloader without knowing whether the board has it;
    /// it is budgeted once it is really sent.
    control_unbudgeted: bool,
    device_id: Option<String>,
}

impl UnitProgress {
    /// A unit starting now; until a plan says otherwise, every module is written.
    pub fn new(work: UnitWork, costs: Costs, now: Duration) -> Self {
        let all: Vec<&ModuleWork> = work.modules.iter().collect();
        let flash = costs.flash_ms(&all, true);
        let test = costs.test_stage_ms(&work);
        let fin = work
            .final_module
            .as_ref()
            .map_or(0.0, |m| costs.flash_ms(&[m], true));
        UnitProgress {
            costs,
            budget: [flash, test, fin],
            work,
            stage: UnitStage::Flash,
            done: 0.0,
            done_total: 0.0,
            step: Step {
                expected_ms: 0.0,
                since: now,
                fraction: 0.0,
                wait: false,
            },
            doing: "looking for board".into(),
            started: now,
            last_event: now,
            floor: 0.0,
            read_board: false,
            control_unbudgeted: false,
            device_id: None,
        }
    }

    /// The unit moves on to `stage` (earlier stages count as done, whatever they cost).
    pub fn begin(&mut self, stage: UnitStage, now: Duration) {
        self.next_step(0.0, false, now);
        self.stage = stage;
        self.done = 0.0;
        self.read_board = false;
        self.control_unbudgeted = false;
    }

    /// A wait the board does by itself (a reset, the test firmware starting).
    pub fn wait(&mut self, doing: &str, expected_ms: f64, now: Duration) {
        self.next_step(expected_ms, true, now);
        self.doing = doing.into();
    }

    /// The tests of the test stage: the `i`-th of `n` starts.
    pub fn test(&mut self, i: usize, n: usize, name: &str, now: Duration) {
        self.next_step(self.costs.test_ms, false, now);
        self.doing = format!("test {}/{n} {name}", i + 1);
    }

    /// The test stage's wait for the firmware's ready line.
    pub fn wait_ready(&mut self, now: Duration) {
        self.wait("booting test mode", self.costs.ready_ms, now);
    }

    /// Follows one flashing event of the current stage.
    pub fn on_event(&mut self, event: &Event, now: Duration) {
        self.last_event = now;
        let c = self.costs;
        match event {
            Event::Board { device_id, .. } => {
                if device_id.is_some() {
                    self.device_id.clone_from(device_id);
                }
            }
            Event::Stage { stage, detail } => match stage {
                Stage::FindBoard => self.wait("looking for board", 0.0, now),
                Stage::ReadBoard => {
                    self.read_board = true;
                    self.next_step(c.read_board_ms, false, now);
                    self.doing = "reading the board".into();
                }
                Stage::Plan => self.replan(detail, now),
                Stage::EnterDfu => self.wait("restarting to DFU", c.reset_to_dfu_ms, now),
                Stage::Dfu => {
                    let ms = self
                        .module_bytes(detail)
                        .map_or(0.0, |b| c.dfu_module_ms(b));
                    self.next_step(ms, false, now);
                    self.doing = format!("writing {}", plain_module(detail));
                }
                Stage::Bootloader => {
                    let bytes = self.module_bytes(detail).unwrap_or(0);
                    if std::mem::take(&mut self.control_unbudgeted) {
                        self.budget[self.stage.index()] += c.control_module_ms(bytes)
                            + c.install_reset_ms(bytes)
                            + c.read_board_ms;
                    }
                    let ms = c.control_module_ms(bytes);
                    self.next_step(ms, false, now);
                    self.doing = format!("sending {}", plain_module(detail));
                }
                Stage::Leave => self.wait("restarting board", c.reset_to_firmware_ms, now),
                Stage::Reconnect => {
                    let bytes = self.control_bytes();
                    self.wait("bootloader update", c.install_reset_ms(bytes), now);
                }
                Stage::Verify => {
                    self.next_step(c.read_board_ms, false, now);
                    self.doing = "checking the modules".into();
                }
                Stage::Swd => {
                    let all: u64 = self.work.modules.iter().map(|m| m.bytes).sum();
                    self.next_step(c.dfu_module_ms(all), false, now);
                    self.doing = "writing by debug probe".into();
                }
            },
            Event::Progress {
                module,
                phase,
                done,
                total,
            } => {
                self.floor = self.floor.max(self.fraction(now));
                let part = (*done as f64 / (*total).max(1) as f64).clamp(0.0, 1.0);
                let erase = self.module_bytes(module).map_or(0.3, |b| c.erase_share(b));
                let what = plain_module(module);
                let (fraction, doing) = match phase {
                    Phase::Erase => (part * erase, format!("erasing {what}")),
                    Phase::Write => (erase + part * (1.0 - erase), format!("writing {what}")),
                    Phase::Readback => (1.0, format!("reading back {what}")),
                    Phase::Send => (part, format!("sending {what}")),
                };
                self.step.fraction = self.step.fraction.max(fraction);
                self.doing = doing;
            }
        }
    }

    /// The board's device ID, once it was seen.
    pub fn device_id(&self) -> Option<&str> {
        self.device_id.as_deref()
    }

    /// What the operator sees now.
    pub fn view(&self, now: Duration) -> ProgressView {
        let fraction = self.fraction(now).max(self.floor);
        let step_left = self.step.expected_ms * (1.0 - self.step_fraction(now));
        let stage_left = (self.budget[self.stage.index()] - self.done - self.step_done(now))
            .max(step_left)
            .max(0.0);
        let later: f64 = self.budget[self.stage.index() + 1..].iter().sum();
        // Corrected by this board's own pace up to the last event, once enough is done to
        // judge it (a wait is paced by time, so it does not count).
        let took = self.last_event.saturating_sub(self.started).as_secs_f64() * 1e3;
        let paced = self.done_total
            + match self.step.wait {
                true => 0.0,
                false => self.step.expected_ms * self.step.fraction,
            };
        let speed = match paced > SPEED_AFTER_MS {
            true => (took / paced).clamp(0.5, 3.0),
            false => 1.0,
        };
        let waiting_s = self
            .step
            .wait
            .then(|| now.saturating_sub(self.step.since).as_secs() as u32);
        ProgressView {
            stage: self.stage,
            doing: self.doing.clone(),
            percent: (fraction * 100.0).floor().min(99.0) as u8,
            remaining_s: ((stage_left + later) * speed / 1e3).ceil() as u32,
            waiting_s,
            device_id: self.device_id.clone(),
        }
    }

    fn step_fraction(&self, now: Duration) -> f64 {
        if self.step.wait {
            let waited = now.saturating_sub(self.step.since).as_secs_f64() * 1e3;
            (waited / self.step.expected_ms.max(1.0)).min(WAIT_FILL)
        } else {
            self.step.fraction
        }
    }

    fn step_done(&self, now: Duration) -> f64 {
        self.step.expected_ms * self.step_fraction(now)
    }

    /// The whole unit's done share, 0..1.
    fn fraction(&self, now: Duration) -> f64 {
        let total: f64 = self.budget.iter().sum();
        if total <= 0.0 {
            return 0.0;
        }
        let i = self.stage.index();
        let before: f64 = self.budget[..i].iter().sum();
        // A stage that does more than planned holds just short of its end until it ends.
        let in_stage = (self.done + self.step_done(now)).min(self.budget[i] * 0.99);
        ((before + in_stage) / total).clamp(0.0, 1.0)
    }

    /// Closes the current step and opens the next one.
    fn next_step(&mut self, expected_ms: f64, wait: bool, now: Duration) {
        self.floor = self.floor.max(self.fraction(now));
        self.last_event = now;
        let finished = self.step.expected_ms;
        self.done += finished;
        self.done_total += finished;
        self.step = Step {
            expected_ms,
            since: now,
            fraction: 0.0,
            wait,
        };
    }

    /// The plan names what this stage writes (`write  LABEL …` / `skip   LABEL …`, one line
    /// per module: `FlashPlan::describe`): the stage's budget becomes what is done plus what
    /// those writes cost.
    fn replan(&mut self, plan: &str, now: Duration) {
        self.next_step(0.0, false, now);
        self.doing = "planning".into();
        let candidates: Vec<&ModuleWork> = match self.stage {
            UnitStage::Final => self.work.final_module.iter().collect(),
            _ => self.work.modules.iter().collect(),
        };
        let planned: Vec<&ModuleWork> = candidates
            .into_iter()
            .filter(|m| {
                plan.lines()
                    .any(|l| l.starts_with("write") && l.contains(m.label.as_str()))
            })
            .collect();
        // In DFU mode the board's modules are unknown, so the plan writes them all; but the
        // bootloader running DFU is usually the bundle's already (it is looked at after the
        // DFU modules). It is counted if it is really sent.
        let in_dfu = !self.read_board;
        self.control_unbudgeted = in_dfu && planned.iter().any(|m| m.route == Route::Control);
        let writes: Vec<&ModuleWork> = planned
            .into_iter()
            .filter(|m| !(in_dfu && m.route == Route::Control))
            .collect();
        let ahead = self.costs.flash_ms(&writes, self.read_board)
            - if self.read_board {
                self.costs.read_board_ms
            } else {
                0.0
            };
        self.budget[self.stage.index()] = self.done + ahead;
    }

    fn module_bytes(&self, label: &str) -> Option<u64> {
        let label = label.lines().next().unwrap_or_default();
        self.work
            .modules
            .iter()
            .chain(self.work.final_module.as_ref())
            .find(|m| m.label == label)
            .map(|m| m.bytes)
    }

    /// The bytes sent by control request so far (what the install reset copies in).
    fn control_bytes(&self) -> u64 {
        self.work
            .modules
            .iter()
            .filter(|m| m.route == Route::Control)
            .map(|m| m.bytes)
            .max()
            .unwrap_or(0)
    }
}

/// A module as an operator knows it: `system-part#1 v1502` → `Device OS`.
pub fn plain_module(label: &str) -> &'static str {
    match label.split('#').next().unwrap_or_default() {
        "bootloader" => "bootloader",
        "radio-stack" => "radio stack",
        "system-part" | "monolithic" => "Device OS",
        "user-part" => "application",
        "ncp-firmware" => "Wi-Fi firmware",
        _ => "firmware",
    }
}
