//! `run --sim --frames DIR`: every distinct OLED frame a run produced, as `NNNN.png` and as
//! `NNNN.json` (the moment, the screen, each slot's state word, code and progress, the
//! lights, and the whole UI state), plus `frames.jsonl` with one line per frame: what the
//! operator saw when, for a test or a bug report.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::core::lights::Light;
use crate::core::ui::{SlotPhase, UiState};
use crate::runtime::Shown;

pub struct FrameDump {
    dir: PathBuf,
    index: std::fs::File,
    written: usize,
    /// The first failure to write; the run goes on and `finish` reports it.
    failed: Option<anyhow::Error>,
}

#[derive(Serialize)]
struct SlotState<'a> {
    name: &'a str,
    /// EMPTY, READY, FLASH, TEST, FINAL, PASS, FAIL.
    state: &'a str,
    percent: Option<u8>,
    remaining_s: Option<u32>,
    waiting_s: Option<u32>,
    doing: Option<&'a str>,
    code: Option<&'a str>,
    reason: Option<&'a str>,
    device_id: Option<&'a str>,
    light: &'static str,
}

#[derive(Serialize)]
struct FrameState<'a> {
    frame: usize,
    t_ms: u64,
    png: String,
    screen: &'a crate::core::ui::Screen,
    menu: Option<usize>,
    notice: Option<&'a str>,
    slots: Vec<SlotState<'a>>,
    station_light: &'static str,
    buzzer: bool,
    ui: &'a UiState,
}

impl FrameDump {
    /// Writes into `dir`, which must be new or empty (frames of two runs must not mix).
    pub fn create(dir: &Path) -> Result<FrameDump> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let used = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_some();
        if used {
            bail!(
                "{}: not empty (give --frames a new directory)",
                dir.display()
            );
        }
        let index = std::fs::File::create(dir.join("frames.jsonl"))
            .with_context(|| format!("creating {}", dir.join("frames.jsonl").display()))?;
        Ok(FrameDump {
            dir: dir.to_path_buf(),
            index,
            written: 0,
            failed: None,
        })
    }

    pub fn write(&mut self, shown: &Shown) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = self.try_write(shown) {
            self.failed = Some(e);
        }
    }

    fn try_write(&mut self, shown: &Shown) -> Result<()> {
        let n = self.written + 1;
        let png = format!("{n:04}.png");
        super::screenshot_cmd::save_png(&shown.ui, &self.dir.join(&png))?;
        let state = FrameState {
            frame: n,
            t_ms: shown.now.as_millis() as u64,
            png,
            screen: &shown.ui.screen,
            menu: shown.ui.menu.as_ref().map(|m| m.selected),
            notice: shown.ui.notice.as_ref().map(|n| n.title.as_str()),
            slots: shown
                .ui
                .slots
                .iter()
                .zip(
                    shown
                        .signals
                        .slots
                        .iter()
                        .chain(std::iter::repeat(&Light::OFF)),
                )
                .map(|(s, light)| slot_state(&s.name, &s.phase, light))
                .collect(),
            station_light: shown.signals.station.word(),
            buzzer: shown.signals.buzzer,
            ui: &shown.ui,
        };
        let path = self.dir.join(format!("{n:04}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&state)?)
            .with_context(|| format!("writing {}", path.display()))?;
        writeln!(self.index, "{}", serde_json::to_string(&state)?)
            .with_context(|| format!("writing {}", self.dir.join("frames.jsonl").display()))?;
        self.written = n;
        Ok(())
    }

    /// How many frames were written, or the first failure.
    pub fn finish(self) -> Result<usize> {
        match self.failed {
            Some(e) => Err(e.context(format!("--frames {}", self.dir.display()))),
            None => Ok(self.written),
        }
    }
}

fn slot_state<'a>(name: &'a str, phase: &'a SlotPhase, light: &Light) -> SlotState<'a> {
    let mut s = SlotState {
        name,
        state: phase.word(),
        percent: None,
        remaining_s: None,
        waiting_s: None,
        doing: None,
        code: None,
        reason: None,
        device_id: None,
        light: light.word(),
    };
    match phase {
        SlotPhase::Working {
            doing,
            percent,
            remaining_s,
            waiting_s,
            device_id,
            ..
        } => {
            s.percent = Some(*percent);
            s.remaining_s = Some(*remaining_s);
            s.waiting_s = *waiting_s;
            s.doing = Some(doing);
            s.device_id = device_id.as_deref();
        }
        SlotPhase::Pass { device_id, .. } => s.device_id = Some(device_id),
        SlotPhase::Fail {
            code,
            reason,
            device_id,
            ..
        } => {
            s.code = Some(code);
            s.reason = Some(reason);
            s.device_id = device_id.as_deref();
        }
        SlotPhase::Empty | SlotPhase::Ready | SlotPhase::Waiting { .. } => {}
    }
    s
}
