//! The DFU route: into DFU mode (control request, or the 14400-baud trick), every DFU module in
//! one session, out again, and the board's next enumeration awaited each time.

use super::{stage, FlashError, FlashReport, Flasher, Mode, WrittenBy, DFU_BAUD};
use crate::core::control::ControlClient;
use crate::core::dfu::{DfuError, DfuSession, WritePhase};
use crate::core::event::{Event, EventSink, Phase, Stage};
use crate::core::image::Region;
use crate::core::plan::{Item, PlanEntry, Route};
use crate::core::target::PAGE_SIZE;

/// What a DFU entry writes: a plain module's image at its address, or one erased page of the
/// compat slot (written as 0xFF after the erase, as particle-cli writes 4096 × 0xFF).
fn region(e: &PlanEntry<'_>) -> Option<Region> {
    match &e.item {
        Item::Module(m) => Some(crate::core::image::region_of(&m.module)),
        Item::InvalidateCompat(area) => Some(Region {
            address: area.start,
            bytes: vec![0xFF; PAGE_SIZE as usize],
            label: e.label(),
        }),
        Item::Asset(_) => None,
    }
}

impl Flasher<'_> {
    /// One DFU session: enter DFU if needed, write every entry, leave once. DFU writes bytes as
    /// they are, so nothing but a plain module of internal flash, inside its region of the
    /// bundle's map, goes this way: anything else is refused here before a byte is sent.
    pub(super) fn dfu_session(
        &mut self,
        mode: Mode,
        entries: &[&PlanEntry<'_>],
        report: &mut FlashReport,
        events: EventSink<'_>,
    ) -> Result<Mode, FlashError> {
        for e in entries {
            if let Item::Module(m) = &e.item {
                if Route::of(&m.module) != Route::Dfu {
                    return Err(FlashError::Region(format!(
                        "{}: a {:?} module never goes by DFU",
                        m.file,
                        m.module.form()
                    )));
                }
                if let Some(reason) = self.bundle.flash_map.placement_problem(&m.module) {
                    return Err(FlashError::Region(format!("{}: {reason}", m.file)));
                }
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
        for e in entries {
            if let Err(err) = self.check_cancel() {
                // Leave DFU so the board is not left waiting in the bootloader.
                let _ = session.leave();
                return Err(err);
            }
            // The same answer to "what goes where" as the SWD image (core::image).
            let Some(region) = region(e) else {
                continue;
            };
            let label = e.label();
            events(stage(Stage::Dfu, label.clone()));
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
                .map_err(|err| gone(&label, err))?;
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
        self.leave_dfu_expecting(report, Some(Mode::Firmware))
    }

    /// Leaves DFU mode and waits for the board's new enumeration: in `expect`, or in whatever
    /// it boots into (`None`: a look at a board whose bootloader and firmware are unknown).
    pub(super) fn leave_dfu_expecting(
        &mut self,
        report: &mut FlashReport,
        expect: Option<Mode>,
    ) -> Result<Mode, FlashError> {
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
        let mode = self.wait_after_reset(&before, expect)?;
        report.resets += 1;
        Ok(mode)
    }
}
