//! Everything the OLED can show, as plain data: the station fills it, `render` draws it,
//! `screenshot --state FILE` reads it from JSON.

use serde::{Deserialize, Serialize};

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
}

impl Screen {
    pub fn next(self) -> Screen {
        match self {
            Screen::Status => Screen::Counters,
            Screen::Counters => Screen::Bundle,
            Screen::Bundle => Screen::Status,
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
    Working {
        /// FLASH, TEST or FINAL.
        stage: String,
        /// What is being done: a module label or a test name.
        detail: String,
        percent: u8,
        elapsed_s: u32,
    },
    Pass {
        device_id: String,
        seconds: u32,
    },
    Fail {
        code: String,
        reason: String,
    },
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
