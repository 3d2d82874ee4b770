//! One unit on one slot, on its own thread: flash (then test, later stages), reporting
//! progress and the verdict to the main loop over a channel. It never blocks on the main loop.

use serde::Serialize;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use crate::core::bundle::Bundle;
use crate::core::event::{Event, Phase};
use crate::core::flash::{FlashOptions, Flasher};
use crate::core::station::{JobUpdate, Verdict};
use crate::ports::{Clock, PortPath, UsbBus};

/// A finished unit, as `run --json` prints it and records keep it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnitResult {
    pub slot: String,
    pub device_id: Option<String>,
    pub outcome: String,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub duration_ms: u64,
}

impl UnitResult {
    pub fn verdict(&self) -> Verdict {
        match &self.code {
            None => Verdict::Pass {
                device_id: self.device_id.clone().unwrap_or_default(),
                duration: Duration::from_millis(self.duration_ms),
            },
            Some(code) => Verdict::Fail {
                code: code.clone(),
                reason: self.reason.clone().unwrap_or_default(),
            },
        }
    }
}

pub enum JobMsg {
    Update(usize, JobUpdate),
    Done(usize, UnitResult),
}

pub struct Job {
    pub slot: usize,
    pub slot_name: String,
    pub bus: Box<dyn UsbBus>,
    pub port: PortPath,
    pub bundle: Arc<Bundle>,
    pub clock: Arc<dyn Clock>,
    pub cancel: Arc<AtomicBool>,
    pub messages: Sender<JobMsg>,
}

impl Job {
    pub fn run(mut self) {
        let started = self.clock.now();
        let slot = self.slot;
        let messages = self.messages.clone();
        let options = FlashOptions {
            cancel: Some(self.cancel.clone()),
            ..FlashOptions::default()
        };
        let mut flasher = Flasher {
            bus: self.bus.as_mut(),
            clock: self.clock.as_ref(),
            port: self.port.clone(),
            bundle: &self.bundle,
            options,
        };
        let mut device_id = None;
        let result = flasher.run(&mut |event| {
            if let Event::Board { device_id: id, .. } = &event {
                device_id.clone_from(id);
            }
            // The main loop may be gone at shutdown; progress is best effort.
            let _ = messages.send(JobMsg::Update(slot, update_of(&event)));
        });
        let duration_ms = (self.clock.now() - started).as_millis() as u64;
        let unit = match result {
            Ok(report) => UnitResult {
                slot: self.slot_name.clone(),
                device_id: report.device_id,
                outcome: "pass".into(),
                code: None,
                reason: None,
                duration_ms,
            },
            Err(e) => {
                log::error!("slot {}: {}: {e}", self.slot_name, e.code());
                UnitResult {
                    slot: self.slot_name.clone(),
                    device_id,
                    outcome: "fail".into(),
                    code: Some(e.code().as_str().into()),
                    reason: Some(e.short_reason()),
                    duration_ms,
                }
            }
        };
        log::info!(
            "slot {}: {} in {} ms",
            unit.slot,
            unit.outcome.to_uppercase(),
            unit.duration_ms
        );
        let _ = self.messages.send(JobMsg::Done(slot, unit));
    }
}

fn update_of(event: &Event) -> JobUpdate {
    match event {
        Event::Board { device_id, .. } => JobUpdate {
            stage: "FLASH".into(),
            detail: device_id.as_deref().map_or("board found".into(), |id| {
                format!("board ..{}", &id[id.len().saturating_sub(8)..])
            }),
            percent: 0,
        },
        Event::Stage { stage, detail } => JobUpdate {
            stage: "FLASH".into(),
            detail: format!(
                "{} {}",
                stage_word(*stage),
                detail.lines().next().unwrap_or_default()
            )
            .trim()
            .into(),
            percent: 0,
        },
        Event::Progress {
            module,
            phase,
            done,
            total,
        } => {
            let label = module.split(' ').next().unwrap_or(module);
            let detail = if *phase == Phase::Erase {
                format!("erase {label}")
            } else {
                label.to_string()
            };
            let percent = (done.saturating_mul(100) / (*total).max(1)).min(100) as u8;
            JobUpdate {
                stage: "FLASH".into(),
                detail,
                percent,
            }
        }
    }
}

fn stage_word(stage: crate::core::event::Stage) -> &'static str {
    use crate::core::event::Stage::*;
    match stage {
        FindBoard => "finding",
        ReadBoard => "reading",
        Plan => "plan",
        Bootloader => "bootloader",
        EnterDfu => "enter DFU",
        Dfu => "",
        Leave => "reset",
        Reconnect => "reconnect",
        Verify => "verify",
    }
}
