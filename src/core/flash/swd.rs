//! Flashing through a debug probe: the bundle's whole image, bootloader included, goes in over
//! SWD (a board without a working bootloader can do nothing else), then the board boots and is
//! verified over USB by the ordinary `Flasher`, exactly as after DFU. Whatever SWD left missing
//! the `Flasher` writes over USB; normally it writes nothing.
//!
//! The board is named by the chip's factory ID, read over SWD before anything is written: the
//! board on USB must carry the same device ID, so a slot whose USB cable and SWD pins reach
//! different boards fails instead of flashing one and testing the other.

use std::fmt::Write as _;

use super::board::{boards, wait_for, wait_for_id, FoundBoard};
use super::{FlashError, FlashOptions, FlashReport, Flasher, WrittenBy, WrittenModule};
use crate::core::bundle::Bundle;
use crate::core::event::{Event, EventSink, Phase, Stage};
use crate::core::flash_map;
use crate::core::image::{image_of, page_chunks, Region};
use crate::core::module::{ModuleFunction, ModulePrefix, Platform, PREFIX_LEN};
use crate::ports::{Clock, FicrDeviceId, PortPath, SwdError, SwdProbe, UsbBus};

/// The device ID Device OS reports for an nRF52840 (hal/src/nRF52840/deviceid_hal.cpp): the
/// bytes of the words {0x68ce0fe0, DEVICEID\[0\], DEVICEID\[1\]} in memory order, in hex.
pub fn particle_device_id(ficr: FicrDeviceId) -> String {
    let mut id = String::with_capacity(24);
    for word in [0x68CE_0FE0, ficr[0], ficr[1]] {
        for byte in u32::to_le_bytes(word) {
            let _ = write!(id, "{byte:02x}");
        }
    }
    id
}

/// What progress events call the SWD write (the OLED shows its first word).
const SWD_LABEL: &str = "SWD image";

pub struct SwdFlasher<'a> {
    pub probe: &'a mut dyn SwdProbe,
    pub bus: &'a mut dyn UsbBus,
    pub clock: &'a dyn Clock,
    /// The slot's USB port, if it names one; otherwise the board is found on USB by the device
    /// ID the probe read.
    pub port: Option<PortPath>,
    pub bundle: &'a Bundle,
    /// As for DFU; `dry_run` is not looked at (`plan` is the dry run).
    pub options: FlashOptions,
}

impl SwdFlasher<'_> {
    /// The regions SWD writes, one line each, as `flash --dry-run` prints them.
    pub fn plan(bundle: &Bundle) -> Vec<String> {
        plan_lines(&image_of(bundle, true))
    }

    /// Attach, check, write over SWD, then find the board on USB and verify it. Returns the
    /// report and the USB port the board was verified on.
    pub fn run(&mut self, events: EventSink<'_>) -> Result<(FlashReport, PortPath), FlashError> {
        let started = self.clock.now();
        let regions = self.checked_image()?;
        let plan = plan_lines(&regions);
        events(stage(Stage::Plan, plan.join("\n")));

        self.check_cancel()?;
        // Attaching halts the chip and takes it off USB: what USB shows is looked at first.
        let on_usb = boards(self.bus);
        // Short details: the OLED shows them after the stage word ("SWD attaching").
        log::info!("SWD: attaching with probe {}", self.probe.name());
        events(stage(Stage::Swd, "attaching".into()));
        let ficr = self.probe.attach().map_err(|e| self.swd_error(e))?;
        let device_id = particle_device_id(ficr);
        events(Event::Board {
            device_id: Some(device_id.clone()),
            platform: self.bundle.platform.name.into(),
        });
        let checked = self
            .check_board_on_usb(on_usb, &device_id)
            .and_then(|()| self.check_platform_in_flash())
            .and_then(|()| self.options.check_identity(&device_id))
            .and_then(|()| self.check_cancel());
        if let Err(e) = checked {
            // Nothing was written: let the chip run again rather than leave it halted.
            self.release(&device_id);
            return Err(e);
        }
        let programmed = match self.write(&regions, events) {
            Ok(per_region) => per_region,
            Err(e) => {
                // Half-written or not, a halted chip helps nobody: reset it.
                self.release(&device_id);
                return Err(e);
            }
        };
        log::info!(
            "SWD: {device_id}: programmed {} bytes of a {} byte image",
            programmed.iter().sum::<u64>(),
            regions.iter().map(|r| r.bytes.len()).sum::<usize>()
        );

        log::info!("SWD: waiting for {device_id} on USB");
        events(stage(Stage::Reconnect, "after SWD".into()));
        let found = self.wait_for_board(&device_id)?;
        let port = found.info.port.clone();
        let mut flasher = Flasher {
            bus: &mut *self.bus,
            clock: self.clock,
            port: port.clone(),
            bundle: self.bundle,
            options: FlashOptions {
                find_timeout: self.options.reenumerate_timeout,
                dry_run: false,
                ..self.options.clone()
            },
        };
        let usb = flasher.run(events)?;
        if !usb
            .device_id
            .as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(&device_id))
        {
            return Err(FlashError::WrongBoard {
                port,
                expected: device_id,
                found: usb.device_id.unwrap_or_else(|| "unknown".into()),
            });
        }
        if !usb.modules_written.is_empty() {
            log::warn!(
                "after SWD the board still lacked {}: written over USB",
                usb.modules_written.join(", ")
            );
        }
        let report = merge(plan, &regions, &programmed, usb, self.clock.now() - started);
        Ok((report, port))
    }

    fn check_cancel(&self) -> Result<(), FlashError> {
        self.options.check_cancel()
    }

    /// Writes the pages of the image the chip does not already hold, and lets it run. The
    /// probe is handed only those pages: comparing here, not in each probe, keeps "a board
    /// that holds the bundle is not written" one rule for hardware and simulator alike.
    /// Returns the bytes written per region.
    fn write(&mut self, regions: &[Region], events: EventSink<'_>) -> Result<Vec<u64>, FlashError> {
        let brings_mbr = regions.iter().any(|r| r.address == 0);
        let word0 = self.probe.read(0, 4).map_err(|e| self.swd_error(e))?;
        if word0 == [0xFF; 4] && !brings_mbr {
            return Err(self.swd_error(SwdError::Flash(
                "flash is blank at 0x0: no MBR (a new or erased chip); the bundle does not carry \
                 Nordic's MBR (bundle.toml `mbr`), so the board could not boot (docs/hil.md §6)"
                    .into(),
            )));
        }
        events(stage(Stage::Swd, "comparing".into()));
        let total: u64 = regions.iter().map(|r| r.bytes.len() as u64).sum();
        let (mut compared, mut changed) = (0u64, Vec::new());
        let mut programmed = vec![0u64; regions.len()];
        for (i, region) in regions.iter().enumerate() {
            for (at, bytes) in page_chunks(region) {
                let now = self
                    .probe
                    .read(at, bytes.len())
                    .map_err(|e| self.swd_error(e))?;
                if now != bytes {
                    changed.push(Region {
                        address: at,
                        bytes: bytes.to_vec(),
                        label: region.label.clone(),
                    });
                    programmed[i] += bytes.len() as u64;
                }
                compared += bytes.len() as u64;
                events(Event::Progress {
                    module: SWD_LABEL.into(),
                    phase: Phase::Readback,
                    done: compared,
                    total,
                });
            }
        }
        if changed.is_empty() {
            self.probe.release().map_err(|e| self.swd_error(e))?;
            return Ok(programmed);
        }
        events(stage(
            Stage::Swd,
            format!("writing {} pages", changed.len()),
        ));
        self.probe
            .program(&changed, &mut |p| {
                events(Event::Progress {
                    module: SWD_LABEL.into(),
                    phase: p.phase,
                    done: p.done,
                    total: p.total,
                })
            })
            .map_err(|e| self.swd_error(e))?;
        Ok(programmed)
    }

    fn release(&mut self, device_id: &str) {
        if let Err(e) = self.probe.release() {
            log::warn!("SWD: releasing {device_id}: {e}");
        }
    }

    /// What the chip's flash says it is: the platform ID in the prefix of its bootloader or
    /// system part. Read over SWD, so it works for a board not (yet) on USB — at the station
    /// a freshly seated board is still booting when the job starts. A Boron on an Argon
    /// fixture is refused here with nothing written; an erased chip says nothing.
    fn check_platform_in_flash(&mut self) -> Result<(), FlashError> {
        for (at, function) in [
            (0xF4000, ModuleFunction::Bootloader),
            (0x30000, ModuleFunction::SystemPart),
        ] {
            let head = self
                .probe
                .read(at, 0x200 + PREFIX_LEN)
                .map_err(|e| self.swd_error(e))?;
            let Some((prefix, _)) = ModulePrefix::find(&head) else {
                continue;
            };
            if prefix.function != function || prefix.start_address != at {
                continue;
            }
            if prefix.platform_id != self.bundle.platform.id {
                let board = Platform::by_id(prefix.platform_id)
                    .map_or(format!("platform {}", prefix.platform_id), |p| {
                        p.name.into()
                    });
                return Err(FlashError::WrongPlatform {
                    port: PortPath(format!("probe {}", self.probe.name())),
                    board,
                    bundle: self.bundle.platform.name.into(),
                });
            }
        }
        Ok(())
    }

    fn swd_error(&self, source: SwdError) -> FlashError {
        FlashError::Swd {
            probe: self.probe.name(),
            source,
        }
    }

    /// The image, refused whole if any module lies outside its region (the same check as DFU,
    /// and here for the bootloader too) or the bundle is not for an nRF52840 board.
    fn checked_image(&self) -> Result<Vec<Region>, FlashError> {
        if !self.bundle.platform.is_nrf52840() {
            return Err(self.swd_error(SwdError::Flash(format!(
                "SWD flashing knows the nRF52840 (Gen3) boards; the bundle is for {}",
                self.bundle.platform.name
            ))));
        }
        for m in &self.bundle.modules {
            if let Some(reason) = flash_map::placement_problem(&m.module) {
                return Err(FlashError::Region(format!("{}: {reason}", m.file)));
            }
        }
        crate::core::image::checked_image_of(self.bundle, true)
            .map_err(|e| FlashError::Region(e.to_string()))
    }

    /// Looks before writing: a board that was running on USB tells its platform (a Boron on an
    /// Argon fixture is refused with nothing written), and the board on the slot's port must
    /// be the one on the probe. A board silent on USB (bricked, blank) cannot be checked.
    fn check_board_on_usb(
        &self,
        on_usb: Vec<FoundBoard>,
        device_id: &str,
    ) -> Result<(), FlashError> {
        let alive = on_usb.into_iter().find(|b| match &self.port {
            Some(port) => &b.info.port == port,
            None => b.has_id(device_id),
        });
        let Some(board) = alive else {
            log::info!("SWD: {device_id} is not on USB; its platform cannot be checked first");
            return Ok(());
        };
        self.same_board(&board, device_id)?;
        if board.platform.id != self.bundle.platform.id {
            return Err(FlashError::WrongPlatform {
                port: board.info.port,
                board: board.platform.name.into(),
                bundle: self.bundle.platform.name.into(),
            });
        }
        Ok(())
    }

    /// The board on USB must carry the probe's device ID; one whose ID cannot be read is not
    /// taken for it.
    fn same_board(&self, board: &FoundBoard, device_id: &str) -> Result<(), FlashError> {
        if board.has_id(device_id) {
            return Ok(());
        }
        Err(FlashError::WrongBoard {
            port: board.info.port.clone(),
            expected: device_id.into(),
            found: board
                .info
                .serial
                .as_deref()
                .map_or("a board without a readable ID".into(), str::to_lowercase),
        })
    }

    /// The board comes up after the reset SWD ended with: on the slot's port, or anywhere by
    /// its device ID. In DFU mode is fine too: the `Flasher` then writes what is missing.
    fn wait_for_board(&mut self, device_id: &str) -> Result<FoundBoard, FlashError> {
        let timeout = self.options.reenumerate_timeout;
        let found = match self.port.clone() {
            Some(port) => wait_for(self.bus, self.clock, &port, None, timeout),
            None => wait_for_id(self.bus, self.clock, device_id, timeout),
        };
        let board = found.map_err(|e| match e {
            FlashError::NoBoard { waited_ms, .. } | FlashError::NoReenumerate { waited_ms, .. } => {
                FlashError::NotOnUsbAfterSwd {
                    device_id: device_id.into(),
                    where_: match &self.port {
                        Some(port) => format!("port {port}"),
                        None => "any port".into(),
                    },
                    waited_ms,
                }
            }
            e => e,
        })?;
        self.same_board(&board, device_id)?;
        Ok(board)
    }
}

/// One report for the unit: SWD's plan and writes first, then what USB found and wrote. A
/// region whose pages all held its bytes already counts as skipped, as DFU counts a module
/// the board has.
fn merge(
    plan: Vec<String>,
    regions: &[Region],
    programmed: &[u64],
    usb: FlashReport,
    duration: std::time::Duration,
) -> FlashReport {
    let mut routes: Vec<WrittenModule> = regions
        .iter()
        .zip(programmed)
        .filter(|(_, &n)| n > 0)
        .map(|(r, &n)| WrittenModule {
            module: r.label.clone(),
            route: WrittenBy::Swd,
            bytes: n,
        })
        .collect();
    routes.extend(usb.written.iter().cloned());
    let mut written: Vec<String> = Vec::new();
    for w in &routes {
        if !written.contains(&w.module) {
            written.push(w.module.clone());
        }
    }
    let mut skipped: Vec<String> = Vec::new();
    for label in regions
        .iter()
        .map(|r| r.label.clone())
        .chain(usb.modules_skipped)
    {
        if !written.contains(&label) && !skipped.contains(&label) {
            skipped.push(label);
        }
    }
    FlashReport {
        plan: plan
            .into_iter()
            .chain(["then over USB, as after DFU:".to_string()])
            .chain(usb.plan)
            .collect(),
        modules_skipped: skipped,
        modules_written: written,
        written: routes,
        bytes_written: programmed.iter().sum::<u64>() + usb.bytes_written,
        duration,
        ..usb
    }
}

/// `write  LABEL  SWD at ADDR, N bytes` per region.
fn plan_lines(regions: &[Region]) -> Vec<String> {
    regions
        .iter()
        .map(|r| {
            let (label, at, n) = (&r.label, r.address, r.bytes.len());
            format!("write  {label:<24} SWD at {at:#07x}, {n} bytes")
        })
        .collect()
}

fn stage(stage: Stage, detail: String) -> Event {
    Event::Stage { stage, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_id_is_the_prefix_then_the_ficr_words_little_endian() {
        // e00fce68 is how every Gen3 device ID starts; the rest are FICR's bytes in memory order.
        let id = particle_device_id([0x94FE_72F3, 0xFBD5_FAA3]);
        assert_eq!(id, "e00fce68f372fe94a3fad5fb");
    }
}
