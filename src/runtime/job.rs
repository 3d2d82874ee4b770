//! One unit on one slot, on its own thread: flash (then test, later stages), reporting
//! progress and the verdict to the main loop over a channel. It never blocks on the main loop.

use serde::Serialize;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use crate::core::board_test::{run_tests, Measurement};
use crate::core::bundle::Bundle;
use crate::core::event::{Event, Phase};
use crate::core::flash::{FlashOptions, Flasher};
use crate::core::station::{JobUpdate, Verdict};
use crate::ports::{Clock, PortPath, SerialPorts, UsbBus};

/// A finished unit, as `run --json` prints it and records keep it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnitResult {
    pub slot: String,
    pub device_id: Option<String>,
    pub outcome: String,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub duration_ms: u64,
    /// Time spent in each stage that ran.
    pub flash_ms: Option<u64>,
    pub test_ms: Option<u64>,
    /// The final-firmware stage of a two-stage bundle, when it ran.
    pub final_ms: Option<u64>,
    pub final_code: Option<String>,
    pub measurements: Vec<Measurement>,
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
    pub serial: Box<dyn SerialPorts>,
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
            fresh_boot: self.bundle.tests.is_some(),
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
        let ms = |from: Duration| (self.clock.now() - from).as_millis() as u64;
        let mut unit = UnitResult {
            slot: self.slot_name.clone(),
            device_id,
            outcome: "fail".into(),
            code: None,
            reason: None,
            duration_ms: 0,
            flash_ms: Some(ms(started)),
            test_ms: None,
            final_ms: None,
            final_code: None,
            measurements: Vec::new(),
        };
        match result {
            Ok(report) => {
                unit.device_id = report.device_id.or(unit.device_id);
                if let Some(tests) = &self.bundle.tests {
                    let test_started = self.clock.now();
                    let mut progress = |i: usize, n: usize, name: &str| {
                        let percent = (i * 100 / n.max(1)) as u8;
                        let update = JobUpdate {
                            stage: format!("TEST {}/{n}", i + 1),
                            detail: name.to_string(),
                            percent,
                        };
                        let _ = messages.send(JobMsg::Update(slot, update));
                    };
                    let report = run_tests(
                        &tests.plan,
                        self.serial.as_mut(),
                        &self.port,
                        self.clock.as_ref(),
                        &mut progress,
                    );
                    unit.test_ms = Some(ms(test_started));
                    unit.measurements = report.measurements;
                    if let Some(f) = report.failure {
                        unit.code = Some(f.code.as_str().into());
                        unit.reason = Some(f.reason);
                    }
                }
            }
            Err(e) => {
                log::error!("slot {}: {}: {e}", self.slot_name, e.code());
                unit.code = Some(e.code().as_str().into());
                unit.reason = Some(e.short_reason());
            }
        }
        if unit.code.is_none() {
            unit.outcome = "pass".into();
        }
        unit.duration_ms = ms(started);
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
