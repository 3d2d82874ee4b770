//! `run --sim` at a terminal: the OLED drawn to fit the terminal (redrawn when it is resized),
//! the lights, the log below, and the keyboard as buttons and fixtures. Real time: a simulated
//! flash takes as long as on the line. `q`, Esc and Ctrl-C quit, saying so at once.

use anyhow::Result;
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::{cursor, execute, terminal};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::sim_setup::{records_note, SimSetup};
use super::terminal_view::{lines, View};
use super::unit_line::{exit_code, held_line, unit_line};
use crate::core::station::Station;
use crate::core::unit::UnitRecord;
use crate::ports::Clock;
use crate::runtime::sim_world::{SimButton, SimWorld};
use crate::runtime::{Driver, OsThreads, Shown};
use crate::sim::clock::ScaledClock;

/// Messages kept for the log area.
const KEEP: usize = 200;

pub fn run(setup: SimSetup) -> Result<ExitCode> {
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(1.0));
    let names: Vec<String> = setup.slots.iter().map(|s| s.name.clone()).collect();
    let sim = setup.into_run(clock, Box::new(OsThreads), Duration::from_millis(20));
    let (runtime, world) = (sim.runtime, sim.world);
    let screen = RawScreen::enter()?;
    super::log_tap::start();
    let (width, height) = terminal::size().unwrap_or((80, 24));
    let mut driver = KeyboardDriver {
        world,
        keys: keys_help(&names),
        slots: names.len(),
        shown: None,
        messages: Vec::new(),
        size: (width as usize, height as usize),
        status: None,
        typing: None,
    };
    let summary = runtime.run(&mut driver);
    drop(screen);
    super::edges::stop(sim.replica);
    for line in super::log_tap::stop() {
        eprintln!("{line}");
    }
    let mut out = std::io::stdout();
    for u in &summary.units {
        let _ = writeln!(out, "{}", unit_line(u));
    }
    let _ = writeln!(
        out,
        "stopped; {}",
        records_note(&sim.records_path, sim.fresh_records)
    );
    Ok(exit_code(&summary))
}

/// The keys, for as many slots as there are.
fn keys_help(names: &[String]) -> String {
    let seat = match names {
        [one] => format!("1 seat/unseat {one}"),
        many => format!(
            "1-{} seat/unseat {}-{}",
            many.len(),
            many.first().map_or("", String::as_str),
            many.last().map_or("", String::as_str)
        ),
    };
    format!("keys: s START  f FUNC  g FUNC held  {seat}  b scan  q quit")
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
    keys: String,
    slots: usize,
    shown: Option<Shown>,
    messages: Vec<String>,
    size: (usize, usize),
    status: Option<String>,
    /// After `b`: what is being typed as a barcode scan, sent at Enter (Esc drops it).
    typing: Option<String>,
}

impl KeyboardDriver {
    fn draw(&self) {
        let Some(shown) = &self.shown else { return };
        let view = View {
            ui: &shown.ui,
            frame: &shown.frame,
            signals: &shown.signals,
            keys: &self.keys,
            status: self.status.as_deref(),
            messages: &self.messages,
        };
        // Each line clears what a longer one left there; no line break after the last, or a
        // full terminal would scroll. Raw mode needs the carriage return.
        let mut text = lines(&view, self.size.0, self.size.1).join("\x1b[K\r\n");
        text.push_str("\x1b[K\x1b[J");
        let mut out = std::io::stdout();
        let _ = execute!(out, cursor::MoveTo(0, 0));
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn note(&mut self, line: String) {
        self.messages.push(line);
        let over = self.messages.len().saturating_sub(KEEP);
        self.messages.drain(..over);
    }

    /// A scan typed at the keyboard: shown on the status line, sent at Enter.
    fn type_scan(&mut self, key: KeyCode, now: Duration) {
        let text = self.typing.get_or_insert_with(String::new);
        match key {
            KeyCode::Enter => {
                let code = std::mem::take(text);
                self.typing = None;
                self.world.scan(&code, now);
            }
            KeyCode::Esc => self.typing = None,
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if text.len() < 64 => text.push(c),
            _ => {}
        }
        self.status = self
            .typing
            .as_ref()
            .map(|t| format!("scan (Enter sends, Esc drops): {t}_"));
        self.draw();
    }

    /// Reads the keyboard; false once the operator quits.
    fn keys(&mut self, now: Duration) -> bool {
        let hold = |ms| Duration::from_millis(ms);
        while event::poll(Duration::ZERO).unwrap_or(false) {
            match event::read() {
                Ok(Event::Resize(w, h)) => {
                    self.size = (w as usize, h as usize);
                    let _ = execute!(std::io::stdout(), terminal::Clear(terminal::ClearType::All));
                    self.draw();
                }
                Ok(Event::Key(key)) if key.kind == KeyEventKind::Press && self.typing.is_some() => {
                    self.type_scan(key.code, now);
                }
                Ok(Event::Key(key)) if key.kind == KeyEventKind::Press => {
                    let ctrl_c = key.code == KeyCode::Char('c')
                        && key.modifiers.contains(KeyModifiers::CONTROL);
                    match key.code {
                        _ if ctrl_c => return false,
                        KeyCode::Char('q') | KeyCode::Esc => return false,
                        KeyCode::Char('s') => self.world.press(SimButton::Start, now, hold(150)),
                        KeyCode::Char('f') => self.world.press(SimButton::Func, now, hold(150)),
                        KeyCode::Char('g') => self.world.press(SimButton::Func, now, hold(1500)),
                        KeyCode::Char('b') => self.type_scan(KeyCode::Null, now),
                        KeyCode::Char(c @ '1'..='8') => {
                            let i = c as usize - '1' as usize;
                            if i < self.slots {
                                self.world.toggle_seat(i);
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        true
    }
}

impl Driver for KeyboardDriver {
    fn tick(&mut self, now: Duration, station: &mut Station) -> bool {
        self.world.tick(now);
        let logged = super::log_tap::take();
        let changed = !logged.is_empty();
        for line in logged {
            self.note(line);
        }
        if !self.keys(now) {
            // Said at once: a running flash stops at its next safe point, which takes a moment.
            self.status = Some(match station.any_running() {
                true => "quitting: stopping the running slots at their next safe point…".into(),
                false => "quitting…".into(),
            });
            self.draw();
            return false;
        }
        if changed {
            self.draw();
        }
        true
    }

    fn frame(&mut self, shown: &Shown) {
        self.shown = Some(shown.clone());
        self.draw();
    }

    fn unit(&mut self, u: &UnitRecord) {
        self.note(unit_line(u));
    }

    fn record_held(&mut self, slot: &str, cause: &str) {
        self.note(held_line(slot, cause));
    }
}
