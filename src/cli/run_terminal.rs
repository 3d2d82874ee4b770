//! `run --sim` at a terminal: the OLED drawn with block characters, refreshed in place, and
//! the keyboard as buttons and fixtures. Real time: a simulated flash takes as long as on the line.

use anyhow::Result;
use crossterm::event::{self, Event, KeyCode, KeyEventKind};
use crossterm::{cursor, execute, terminal};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::run_cmd::print_unit;
use crate::core::bundle::Bundle;
use crate::core::station::Station;
use crate::core::ui::{Frame, UiState};
use crate::core::unit::UnitRecord;
use crate::ports::Clock;
use crate::runtime::sim_world::{SimButton, SimSlot, SimWorld};
use crate::runtime::{DebouncedInputs, Driver, OsThreads, Runtime};
use crate::sim::clock::ScaledClock;

const HELP: &str = "keys: s START  f FUNC  g FUNC (long)  1-4 seat/unseat slot  q quit";

pub fn run(
    bundle: Bundle,
    slots: Vec<SimSlot>,
    station: Station,
    records: (crate::records::RecordWriter, crate::records::Context),
    stick: Option<crate::runtime::StickSetup>,
) -> Result<ExitCode> {
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(1.0));
    let world = SimWorld::new(clock.clone(), slots)
        .with_test_firmware(super::run_cmd::test_firmware(&bundle));
    let runtime = Runtime {
        clock: clock.clone(),
        spawner: Box::new(OsThreads),
        inputs: DebouncedInputs::new(world.inputs(), Duration::from_millis(30)),
        display: None,
        boards: Box::new(world.board_access()),
        station,
        bundle: Some(Arc::new(bundle)),
        tick: Duration::from_millis(20),
        records: Some(records),
        stick,
    };
    let _screen = RawScreen::enter()?;
    let mut driver = KeyboardDriver {
        world,
        units: Vec::new(),
    };
    let summary = runtime.run(&mut driver);
    drop(_screen);
    for u in &summary.units {
        print_unit(u);
    }
    Ok(super::run_cmd::exit_code(&summary))
}

/// Raw mode on an alternate screen, restored however we leave.
struct RawScreen;

impl RawScreen {
    fn enter() -> Result<Self> {
        terminal::enable_raw_mode()?;
        execute!(
            std::io::stdout(),
            terminal::EnterAlternateScreen,
            cursor::Hide
        )?;
        Ok(RawScreen)
    }
}

impl Drop for RawScreen {
    fn drop(&mut self) {
        let _ = execute!(
            std::io::stdout(),
            cursor::Show,
            terminal::LeaveAlternateScreen
        );
        let _ = terminal::disable_raw_mode();
    }
}

struct KeyboardDriver {
    world: SimWorld,
    units: Vec<String>,
}

impl Driver for KeyboardDriver {
    fn tick(&mut self, now: Duration, _station: &mut Station) -> bool {
        self.world.tick(now);
        while event::poll(Duration::ZERO).unwrap_or(false) {
            let Ok(Event::Key(key)) = event::read() else {
                continue;
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            match key.code {
                KeyCode::Char('q') | KeyCode::Esc => return false,
                KeyCode::Char('s') => {
                    self.world
                        .press(SimButton::Start, now, Duration::from_millis(150))
                }
                KeyCode::Char('f') => {
                    self.world
                        .press(SimButton::Func, now, Duration::from_millis(150))
                }
                KeyCode::Char('g') => {
                    self.world
                        .press(SimButton::Func, now, Duration::from_millis(1500))
                }
                KeyCode::Char(c @ '1'..='4') => self.world.toggle_seat(c as usize - '1' as usize),
                _ => {}
            }
        }
        true
    }

    fn frame(&mut self, _ui: &UiState, frame: &Frame) {
        let mut out = std::io::stdout();
        let _ = execute!(out, cursor::MoveTo(0, 0));
        let border = format!("+{}+", "-".repeat(128));
        let mut text = format!("{border}\r\n");
        for line in frame.to_blocks() {
            text.push_str(&format!("|{line}|\r\n"));
        }
        text.push_str(&format!("{border}\r\n{HELP}\r\n"));
        for u in self.units.iter().rev().take(4) {
            text.push_str(&format!("{u}\x1b[K\r\n"));
        }
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn unit(&mut self, u: &UnitRecord) {
        let secs = u.duration_ms as f64 / 1000.0;
        self.units.push(match &u.code {
            None => format!(
                "slot {} PASS {} {secs:.1} s",
                u.slot,
                u.device_id.as_deref().unwrap_or("?")
            ),
            Some(code) => format!(
                "slot {} FAIL {code} {} {secs:.1} s",
                u.slot,
                u.reason.as_deref().unwrap_or("")
            ),
        });
    }
}
