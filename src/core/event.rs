//! One event stream from flashing and testing to every consumer: the CLI progress bar, the
//! OLED, the records and `--json` output all read the same events.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    FindBoard,
    ReadBoard,
    Plan,
    Bootloader,
    EnterDfu,
    Dfu,
    Leave,
    Reconnect,
    Verify,
    /// Attaching and writing with a debug probe.
    Swd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Erase,
    Write,
    Readback,
    /// Sending a module by control requests (the bootloader).
    Send,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// The board was found: who it is, as early as it is known (records keep it even when
    /// the unit fails later).
    Board {
        device_id: Option<String>,
        platform: String,
    },
    Stage {
        stage: Stage,
        detail: String,
    },
    Progress {
        module: String,
        phase: Phase,
        done: u64,
        total: u64,
    },
}

/// Where events go; `&mut |e| …` works.
pub type EventSink<'a> = &'a mut dyn FnMut(Event);
