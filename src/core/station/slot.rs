//! One fixture slot: Idle → Ready (seated) → Running → Saving → Done(PASS|FAIL) → (removed)
//! → Idle. A verdict is shown only once its record is committed: the slot says it is saving
//! until then, and shows `E-RECORDS` (Held) while the record cannot be written.

use std::time::Duration;

use crate::core::operator_code::OperatorCode;
use crate::core::ui::SlotPhase;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass {
        device_id: String,
        duration: Duration,
    },
    Fail {
        code: String,
        reason: String,
    },
}

/// What a running job last reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobUpdate {
    /// FLASH, TEST n/m, FINAL.
    pub stage: String,
    pub detail: String,
    pub percent: u8,
}

impl JobUpdate {
    pub fn starting() -> Self {
        JobUpdate {
            stage: "FLASH".into(),
            detail: "finding board".into(),
            percent: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Phase {
    Idle,
    Ready,
    Running {
        started: Duration,
        update: JobUpdate,
    },
    /// The job is done; its record is being written. The verdict waits for the commit.
    Saving {
        started: Duration,
    },
    /// The record could not be written: the unit is kept and retried (`E-RECORDS`).
    Held,
    Done(Verdict),
}

#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub name: String,
    pub present: bool,
    pub phase: Phase,
}

impl Slot {
    pub fn new(name: &str) -> Self {
        Slot {
            name: name.into(),
            present: false,
            phase: Phase::Idle,
        }
    }

    /// A unit is in progress: its job runs, or its record is being written.
    pub fn is_running(&self) -> bool {
        matches!(self.phase, Phase::Running { .. } | Phase::Saving { .. })
    }

    pub fn is_startable(&self) -> bool {
        matches!(self.phase, Phase::Ready | Phase::Done(_))
    }

    /// A new board may take the slot: nothing runs there and no unit waits for its record.
    pub fn is_free(&self) -> bool {
        !self.is_running() && self.phase != Phase::Held
    }

    pub fn view(&self, now: Duration) -> SlotPhase {
        match &self.phase {
            Phase::Idle => SlotPhase::Empty,
            Phase::Ready => SlotPhase::Ready,
            Phase::Running { started, update } => SlotPhase::Working {
                stage: update.stage.clone(),
                detail: update.detail.clone(),
                percent: update.percent,
                elapsed_s: now.saturating_sub(*started).as_secs() as u32,
            },
            Phase::Saving { started } => SlotPhase::Working {
                stage: "SAVE".into(),
                detail: "saving record".into(),
                percent: 100,
                elapsed_s: now.saturating_sub(*started).as_secs() as u32,
            },
            Phase::Held => SlotPhase::Fail {
                code: OperatorCode::Records.as_str().into(),
                reason: "record not saved".into(),
            },
            Phase::Done(Verdict::Pass {
                device_id,
                duration,
            }) => SlotPhase::Pass {
                device_id: device_id.clone(),
                seconds: duration.as_secs_f64().round() as u32,
            },
            Phase::Done(Verdict::Fail { code, reason }) => SlotPhase::Fail {
                code: code.clone(),
                reason: reason.clone(),
            },
        }
    }
}
