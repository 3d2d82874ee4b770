//! Everything the OLED can show, as plain data: the station fills it, `render` draws it,
//! `screenshot --state FILE` reads it from JSON.

use serde::{Deserialize, Serialize};

use crate::core::bundle::Bundle;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UiState {
    /// The active bundle's name and version; `None` shows the no-bundle screen.
    pub bundle: Option<BundleLabel>,
    pub slots: Vec<SlotView>,
    pub counters: Counters,
    #[serde(default)]
    pub screen: Screen,
    #[serde(default)]
    pub menu: Option<MenuView>,
    /// A question or problem that takes the whole screen (stick offer, errors).
    #[serde(default)]
    pub notice: Option<Notice>,
    /// The boards on USB, for the USB screen: which port path is which slot (`None` until
    /// the first look).
    #[serde(default)]
    pub ports: Option<Vec<PortView>>,
    /// The line database's replication, when the station has one (`[line] database`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<LineView>,
    /// Work order, its count and the operator, when any is set.
    #[serde(default)]
    pub trace: Option<TraceView>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceView {
    pub work_order: Option<String>,
    /// Units of the work order that passed.
    pub done: u32,
    pub planned: Option<u32>,
    pub operator: Option<String>,
    /// A serial scanned before its board was seated.
    #[serde(default)]
    pub next_serial: Option<String>,
}

impl TraceView {
    /// `WO-1 3/10 OP-7`: one 21-character line.
    pub fn line(&self) -> String {
        let count = match self.planned {
            Some(p) => format!("{}/{p}", self.done),
            None => self.done.to_string(),
        };
        let wo = self
            .work_order
            .as_ref()
            .map(|w| format!("{w} {count}"))
            .unwrap_or_else(|| "no work order".into());
        match &self.operator {
            Some(op) => format!("{wo} {op}"),
            None => wo,
        }
    }
}

/// A Particle board on USB, as the USB screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortView {
    /// The port path, as a slot's `usb_port` in station.toml takes it (`1-1.2`).
    pub port: String,
    /// The slot configured for that port, if any.
    pub slot: Option<String>,
    /// `argon`, `argon DFU`.
    pub board: String,
}

/// One line on the counters screen: what this station has not yet got onto the line database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineView {
    /// Committed records the line database has not confirmed.
    pub backlog: u64,
    /// Whether the last attempt reached it (`None` before the first).
    pub up: Option<bool>,
}

impl LineView {
    /// At most 21 characters: the OLED's line in the 6×10 font.
    pub fn text(&self) -> String {
        match (self.up, self.backlog) {
            (Some(false), n) => format!("line down: {n} wait"),
            (_, 0) => "line: all sent".into(),
            (_, n) => format!("line: {n} to send"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleLabel {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub lock_hash: String,
    #[serde(default)]
    pub platform: String,
}

impl From<&Bundle> for BundleLabel {
    fn from(b: &Bundle) -> Self {
        BundleLabel {
            name: b.name.clone(),
            version: b.version.clone(),
            lock_hash: b.lock_hash.clone(),
            platform: b.platform.name.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub pass: u32,
    pub fail: u32,
}

impl Counters {
    /// First-pass yield in percent, when any unit finished.
    pub fn yield_percent(&self) -> Option<u32> {
        let total = self.pass + self.fail;
        (total > 0).then(|| (self.pass * 100 + total / 2) / total)
    }
}

/// What FUNC's short press cycles through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Screen {
    #[default]
    Status,
    Counters,
    Bundle,
    /// The boards on USB and their port paths (setting up a station's slots).
    Usb,
}

impl Screen {
    pub fn next(self) -> Screen {
        match self {
            Screen::Status => Screen::Counters,
            Screen::Counters => Screen::Bundle,
            Screen::Bundle => Screen::Usb,
            Screen::Usb => Screen::Status,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotView {
    pub name: String,
    pub phase: SlotPhase,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum SlotPhase {
    /// No board in the fixture.
    Empty,
    /// A board is seated, waiting for START.
    Ready,
    /// One bar for the whole unit, whatever stage it is in.
    Working {
        /// FLASH, TEST or FINAL.
        stage: String,
        /// What is being done, in plain words: `writing Device OS`, `test 2/5 vin`.
        doing: String,
        /// The whole unit; it never goes back.
        percent: u8,
        /// Estimated from the plan, corrected as the unit goes.
        #[serde(default)]
        remaining_s: u32,
        /// While the board restarts (or the test firmware starts): how long so far, so a wait
        /// never shows a frozen number.
        #[serde(default)]
        waiting_s: Option<u32>,
        elapsed_s: u32,
        #[serde(default)]
        device_id: Option<String>,
    },
    /// A board is seated and waits for a scan (`require_serial`); `chosen`: the next scan
    /// goes here, of several waiting.
    Waiting {
        what: String,
        #[serde(default)]
        chosen: bool,
    },
    /// A verdict is shown only while its board is seated, with the board it belongs to.
    Pass { device_id: String, seconds: u32 },
    Fail {
        code: String,
        /// What happened, in plain words (the code's row in the operator-code table).
        reason: String,
        /// A second line: what a test measured, or what to do.
        #[serde(default)]
        detail: String,
        #[serde(default)]
        device_id: Option<String>,
    },
}

impl SlotPhase {
    /// One word for the slot's state: EMPTY, READY, SCAN, FLASH, TEST, FINAL, PASS, FAIL.
    pub fn word(&self) -> &str {
        match self {
            SlotPhase::Empty => "EMPTY",
            SlotPhase::Ready => "READY",
            SlotPhase::Waiting { .. } => "SCAN",
            SlotPhase::Working { stage, .. } => stage,
            SlotPhase::Pass { .. } => "PASS",
            SlotPhase::Fail { .. } => "FAIL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuView {
    pub items: Vec<String>,
    pub selected: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub title: String,
    pub lines: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_fits_one_oled_line_up_to_a_weeks_backlog() {
        let text = |backlog, up| LineView { backlog, up }.text();
        assert_eq!(text(0, Some(true)), "line: all sent");
        assert_eq!(text(3, None), "line: 3 to send");
        assert_eq!(text(12, Some(false)), "line down: 12 wait");
        for up in [None, Some(true), Some(false)] {
            assert!(text(99_999, up).len() <= 21, "{}", text(99_999, up));
        }
    }
}
