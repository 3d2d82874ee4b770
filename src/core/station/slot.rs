//! One fixture slot: Idle → Ready (seated) → Running → Saving → Done(PASS|FAIL) → (removed)
//! → Idle. A verdict is shown only once its record is committed: the slot says it is saving
//! until then, and shows `E-RECORDS` (Held) while the record cannot be written. A verdict
//! belongs to the board it was reached on: it shows that board's device ID and goes when the
//! board leaves the fixture, so an unflashed board never sits under a PASS.

use std::time::Duration;

use crate::core::operator_code::OperatorCode;
use crate::core::progress::UnitProgress;
use crate::core::ui::SlotPhase;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass {
        device_id: String,
        duration: Duration,
    },
    Fail {
        code: String,
        /// The unit's short reason (for the log and the records; the OLED says it plainly).
        reason: String,
        /// The board, when it was seen before the failure.
        device_id: Option<String>,
    },
}

/// What a running job last reported: its progress over the whole unit (boxed: updates are
/// many and move through a channel).
#[derive(Debug, Clone, PartialEq)]
pub struct JobUpdate {
    pub progress: Box<UnitProgress>,
}

impl JobUpdate {
    pub fn of(progress: &UnitProgress) -> Self {
        JobUpdate {
            progress: Box::new(progress.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Phase {
    Idle,
    Ready,
    Running {
        started: Duration,
        update: Option<JobUpdate>,
    },
    /// The job is done; its record is being written. The verdict waits for the commit.
    Saving {
        started: Duration,
        device_id: Option<String>,
    },
    /// The record could not be written: the unit is kept and retried (`E-RECORDS`).
    Held {
        device_id: Option<String>,
    },
    Done(Verdict),
}

#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub name: String,
    pub present: bool,
    /// The board the running (or saving) unit started on is still in the fixture: its
    /// verdict may be shown.
    pub same_board: bool,
    pub phase: Phase,
}

impl Slot {
    pub fn new(name: &str) -> Self {
        Slot {
            name: name.into(),
            present: false,
            same_board: false,
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

    pub fn is_held(&self) -> bool {
        matches!(self.phase, Phase::Held { .. })
    }

    /// A new board may take the slot: nothing runs there and no unit waits for its record.
    pub fn is_free(&self) -> bool {
        !self.is_running() && !self.is_held()
    }

    /// The device ID the running unit has seen so far.
    pub fn device_id(&self) -> Option<String> {
        match &self.phase {
            Phase::Running {
                update: Some(u), ..
            } => u.progress.device_id().map(str::to_string),
            Phase::Saving { device_id, .. } | Phase::Held { device_id } => device_id.clone(),
            _ => None,
        }
    }

    pub fn view(&self, now: Duration) -> SlotPhase {
        match &self.phase {
            Phase::Idle => SlotPhase::Empty,
            Phase::Ready => SlotPhase::Ready,
            Phase::Running { started, update } => {
                let elapsed_s = now.saturating_sub(*started).as_secs() as u32;
                match update {
                    Some(u) => {
                        let v = u.progress.view(now);
                        SlotPhase::Working {
                            stage: v.stage.word().into(),
                            doing: v.doing,
                            percent: v.percent,
                            remaining_s: v.remaining_s,
                            waiting_s: v.waiting_s,
                            elapsed_s,
                            device_id: v.device_id,
                        }
                    }
                    None => SlotPhase::Working {
                        stage: "FLASH".into(),
                        doing: "starting".into(),
                        percent: 0,
                        remaining_s: 0,
                        waiting_s: None,
                        elapsed_s,
                        device_id: None,
                    },
                }
            }
            // A wait like a reset: it counts, so it never looks frozen.
            Phase::Saving { started, device_id } => SlotPhase::Working {
                stage: "SAVE".into(),
                doing: "saving record".into(),
                percent: 99,
                remaining_s: 0,
                waiting_s: Some(now.saturating_sub(*started).as_secs() as u32),
                elapsed_s: now.saturating_sub(*started).as_secs() as u32,
                device_id: device_id.clone(),
            },
            Phase::Held { device_id } => SlotPhase::Fail {
                code: OperatorCode::Records.as_str().into(),
                reason: OperatorCode::Records.says().into(),
                detail: OperatorCode::Records.action().into(),
                device_id: device_id.clone(),
            },
            Phase::Done(Verdict::Pass {
                device_id,
                duration,
            }) => SlotPhase::Pass {
                device_id: device_id.clone(),
                seconds: duration.as_secs_f64().round() as u32,
            },
            Phase::Done(Verdict::Fail {
                code,
                reason,
                device_id,
            }) => {
                // The operator reads plain words from the code's row; a test's own reason
                // (what it measured) is plain already.
                let (said, detail) = match OperatorCode::parse(code) {
                    Some(c) if c.reason_is_plain() => (c.says().to_string(), reason.clone()),
                    Some(c) => (c.says().to_string(), c.action().to_string()),
                    None => (reason.clone(), String::new()),
                };
                SlotPhase::Fail {
                    code: code.clone(),
                    reason: said,
                    detail,
                    device_id: device_id.clone(),
                }
            }
        }
    }
}
