//! The DFU route: into DFU mode (control request, or the 14400-baud trick), every DFU module in
//! one session, out again, and the board's next enumeration awaited each time.

use super::{stage, FlashError, FlashReport, Flasher, Mode, WrittenBy, DFU_BAUD};
use crate::core::bundle::BundleModule;
use crate::core::control::ControlClient;
use crate::core::dfu::{DfuError, DfuSession, WritePhase};
use crate::core::event::{Event, EventSink, Phase, Stage};
use crate::core::flash_map;

impl Flasher<'_> {
    /// One DFU session: enter DFU if needed, write every module, leave once.
    pub(super) fn dfu_session(
        &mut self,
        mode: Mode,
        modules: &[&BundleModule],
        report: &mut FlashReport,
        events: EventSink<'_>,
    ) -> Result<Mode, FlashError> {
        for m in modules {
            if let Some(reason) = flash_map::placement_problem(&m.module.clone()) {
                return Err(FlashError::Region(format!("{}: {reason}", m.file)));
            }
        }
        if mode == Mode::Firmware {
            self.enter_dfu(report, events)?;
        }
        let mut device = self.open()?;
        let before = device.info().clone();
        let port = self.port.clone();
        let gone = |label: &str, e: DfuError| match e.is_gone() {
            true => FlashError::Unplugged {
                port: port.clone(),
                during: format!("writing {label}"),
            },
            false => FlashError::Dfu {
                module: label.to_string(),
                source: e,
            },
        };
        let mut session =
            DfuSession::open(device.as_mut(), self.clock, 0, self.options.dfu.clone())
                .map_err(|e| gone("DFU session", e))?;
        for m in modules {
            if let Err(e) = self.check_cancel() {
                // Leave DFU so the board is not left waiting in the bootloader.
                let _ = session.leave();
                return Err(e);
            }
            let label = m.module.label();
            events(stage(Stage::Dfu, label.clone()));
            // The same answer to "what goes where" as the SWD image (core::image).
            let region = crate::core::image::region_of(&m.module);
            let image = &region.bytes;
            session
                .write(region.address, image, &mut |phase, done, total| {
                    let phase = match phase {
                        WritePhase::Erase => Phase::Erase,
                        WritePhase::Write => Phase::Write,
                        WritePhase::Readback => Phase::Readback,
                    };
                    events(Event::Progress {
                        module: label.clone(),
                        phase,
                        done,
                        total,
                    })
                })
                .map_err(|e| gone(&label, e))?;
            report.wrote(label, WrittenBy::Dfu, image.len() as u64);
        }
        events(stage(Stage::Leave, "reset into firmware".into()));
        session.leave().map_err(|e| gone("leave", e))?;
        drop(device);
        let mode = self.wait_after_reset(&before, Some(Mode::Firmware))?;
        report.resets += 1;
        Ok(mode)
    }

    /// Asks Device OS to reset into DFU; if it refuses, the classic fallback: open its USB
    /// serial port at 14400 baud and close it.
    fn enter_dfu(
        &mut self,
        report: &mut FlashReport,
        events: EventSink<'_>,
    ) -> Result<(), FlashError> {
        events(stage(Stage::EnterDfu, "control request".into()));
        let mut device = self.open()?;
        let before = device.info().clone();
        let asked = ControlClient::new(device.as_mut(), self.clock).enter_dfu();
        drop(device);
        match (asked, &self.options.dfu_by_serial) {
            (Ok(()), _) => {}
            (Err(source), _) if source.is_gone() => {
                return Err(FlashError::Unplugged {
                    port: self.port.clone(),
                    during: "entering DFU".into(),
                })
            }
            (Err(source), Some(serial)) => {
                log::warn!(
                    "enter-DFU request refused ({source}); trying the 14400-baud serial trick"
                );
                events(stage(Stage::EnterDfu, "14400-baud serial".into()));
                let mut ports = serial.0.lock().unwrap_or_else(|p| p.into_inner());
                ports
                    .touch(&self.port, DFU_BAUD)
                    .map_err(|e| FlashError::Serial {
                        during: "entering DFU at 14400 baud",
                        reason: e.to_string(),
                    })?;
            }
            (Err(source), None) => {
                return Err(FlashError::Control {
                    during: "entering DFU",
                    source,
                })
            }
        }
        self.wait_after_reset(&before, Some(Mode::Dfu))?;
        report.resets += 1;
        Ok(())
    }

    /// Leaves DFU mode to boot the firmware (the board sits in DFU with only control-request
    /// modules left to send).
    pub(super) fn leave_dfu(
        &mut self,
        report: &mut FlashReport,
        events: EventSink<'_>,
    ) -> Result<Mode, FlashError> {
        events(stage(Stage::Leave, "reset into firmware".into()));
        let mut device = self.open()?;
        let before = device.info().clone();
        let session = DfuSession::open(device.as_mut(), self.clock, 0, self.options.dfu.clone())
            .map_err(|source| FlashError::Dfu {
                module: "leave".into(),
                source,
            })?;
        session.leave().map_err(|source| FlashError::Dfu {
            module: "leave".into(),
            source,
        })?;
        drop(device);
        let mode = self.wait_after_reset(&before, Some(Mode::Firmware))?;
        report.resets += 1;
        Ok(mode)
    }
}
