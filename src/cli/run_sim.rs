//! `run --sim` without a terminal, or with `--script FILE`: timed events on the virtual clock
//! (a 15 s flash takes milliseconds), the units printed as they finish, `--frames DIR` writing
//! what the operator saw when.

use anyhow::Result;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::frames::FrameDump;
use super::sim_setup::{records_note, SimSetup};
use super::unit_line::{exit_code, held_line, unit_line};
use crate::core::station::Station;
use crate::core::unit::UnitRecord;
use crate::ports::Clock;
use crate::runtime::script::{Action, Script, ScriptWorld};
use crate::runtime::sim_world::SimButton;
use crate::runtime::{Driver, Shown};
use crate::sim::scheduler::VirtualScheduler;

const TICK: Duration = Duration::from_millis(10);

/// `speed`: the script in real time sped up that much, instead of on the virtual clock.
pub fn run(
    setup: SimSetup,
    frames: Option<&Path>,
    json: bool,
    speed: Option<f64>,
) -> Result<ExitCode> {
    let frames = frames.map(FrameDump::create).transpose()?;
    let scheduler = VirtualScheduler::new();
    let (clock, spawner): (Arc<dyn Clock>, Box<dyn crate::runtime::Spawner>) = match speed {
        Some(speed) if speed > 0.0 => (
            Arc::new(crate::sim::clock::ScaledClock::new(speed)),
            Box::new(crate::runtime::OsThreads),
        ),
        Some(speed) => anyhow::bail!("--speed {speed}: give a factor above 0"),
        None => (Arc::new(scheduler.clone()), Box::new(scheduler)),
    };
    let sim = setup.into_run(clock, spawner, TICK);
    let mut driver = ScriptDriver::new(sim.world, sim.script, !json);
    driver.frames = frames;
    let summary = sim.runtime.run(&mut driver);
    super::edges::stop(sim.replica);
    if let Some(frames) = driver.frames.take() {
        let written = frames.finish()?;
        if !json {
            driver.say(&format!("{written} frame(s) written"));
        }
    }
    if json {
        super::print_json(&json!({ "units": summary.units }))?;
    } else {
        driver.say(&records_note(&sim.records_path, sim.fresh_records));
    }
    Ok(exit_code(&summary))
}

/// Plays a script's events on the runtime's clock, then stops once every slot has settled.
pub(super) struct ScriptDriver<W: ScriptWorld> {
    world: W,
    script: Script,
    next: usize,
    /// Printing stops quietly when stdout goes away (`| head`).
    print: bool,
    pending_frame: bool,
    frames: Option<FrameDump>,
}

/// How long the simulated operator holds a button.
const SHORT_HOLD: Duration = Duration::from_millis(150);
const LONG_HOLD: Duration = Duration::from_millis(1500);
/// Quiet time after the last event before a script run may end (debounce, long presses).
const SETTLE: Duration = Duration::from_millis(2000);

impl<W: ScriptWorld> ScriptDriver<W> {
    pub(super) fn new(world: W, script: Script, print: bool) -> Self {
        ScriptDriver {
            world,
            script,
            next: 0,
            print,
            pending_frame: false,
            frames: None,
        }
    }

    fn say(&mut self, text: &str) {
        if self.print && writeln!(std::io::stdout(), "{text}").is_err() {
            self.print = false;
        }
    }
}

impl<W: ScriptWorld> Driver for ScriptDriver<W> {
    fn tick(&mut self, now: Duration, station: &mut Station) -> bool {
        while let Some(event) = self.script.events.get(self.next).filter(|e| e.at() <= now) {
            let chosen = event.slot.as_deref().and_then(|s| self.world.slot_index(s));
            let slot = chosen.unwrap_or(0);
            match event.action {
                Action::Scan => {
                    // A serial for a named slot goes there, as FUNC would choose it.
                    if let Some(slot) = chosen {
                        station.choose_scan_slot(slot);
                    }
                    let code = event.code.as_deref().unwrap_or_default();
                    self.world.scan(code, now);
                }
                Action::Seat => self.world.seat(slot),
                Action::Unseat => self.world.unseat(slot),
                Action::Reseat => self.world.reseat(slot),
                Action::Start => self.world.press(SimButton::Start, now, SHORT_HOLD),
                Action::Func => self.world.press(SimButton::Func, now, SHORT_HOLD),
                Action::FuncLong => self.world.press(SimButton::Func, now, LONG_HOLD),
            }
            self.next += 1;
        }
        self.world.tick(now);
        let last = self.script.events.last().map_or(Duration::ZERO, |e| e.at());
        self.next < self.script.events.len() || now < last + SETTLE || station.any_running()
    }

    fn frame(&mut self, shown: &Shown) {
        if let Some(frames) = &mut self.frames {
            frames.write(shown);
        }
        if self.pending_frame {
            let blocks = shown.frame.to_blocks().join("\n");
            self.say(&blocks);
            self.pending_frame = false;
        }
    }

    fn unit(&mut self, unit: &UnitRecord) {
        self.say(&unit_line(unit));
        self.pending_frame = true;
    }

    fn record_held(&mut self, slot: &str, cause: &str) {
        self.say(&held_line(slot, cause));
        self.pending_frame = true;
    }
}
