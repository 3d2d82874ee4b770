//! One fixture slot: Idle → Ready (seated) → Running → Done(PASS|FAIL) → (removed) → Idle.

use std::time::Duration;

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

    pub fn is_running(&self) -> bool {
        matches!(self.phase, Phase::Running { .. })
    }

    pub fn is_startable(&self) -> bool {
        matches!(self.phase, Phase::Ready | Phase::Done(_))
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
