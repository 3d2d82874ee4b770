//! `flashline run` on the Pi: GPIO buttons and fixtures, the OLED, real USB, systemd.

use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::run_cmd::label;
use crate::adapters::display::{open_linux_oled, OledDisplay};
use crate::adapters::gpio::open_input;
use crate::adapters::usb::LibUsbBus;
use crate::core::bundle::Bundle;
use crate::core::config::StationConfig;
use crate::core::station::Station;
use crate::core::ui::{Frame, UiState};
use crate::ports::clock::SystemClock;
use crate::ports::{DigitalInput, Display, DisplayError, PortPath, StationInputs, UsbBus};
use crate::runtime::{Boards, DebouncedInputs, Driver, OsThreads, Runtime};

pub fn run(config_path: &Path, records: Option<&Path>, json: bool) -> Result<ExitCode> {
    let config = StationConfig::load(config_path)?;
    if let Some(slot) = config.slots.iter().find(|s| s.probe.is_some()) {
        if !cfg!(feature = "swd") {
            anyhow::bail!(
                "{}: slot `{}` names a debug probe, but {}",
                config_path.display(),
                slot.name,
                super::probes_cmd::NO_SWD
            );
        }
    }
    let active = config.paths.active_bundle();
    let bundle = match Bundle::load(&active) {
        Ok(b) => Some(b),
        Err(e) => {
            // The station still runs: it shows NO BUNDLE until a stick brings one.
            log::error!("E-BUNDLE: {e}");
            None
        }
    };
    let inputs = open_inputs(&config).context("opening the buttons and fixture switches")?;
    let mut station = Station::new(
        &config
            .slots
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>(),
        config.options.clone(),
        bundle.as_ref().map(label),
    );
    let records_path = records
        .map(Path::to_path_buf)
        .unwrap_or_else(|| config.paths.records.clone());
    let (writer, ctx, counters) =
        super::records_cmd::open_for_run(&records_path, &config.station, bundle.as_ref())?;
    station.set_counters(counters);
    let runtime = Runtime {
        clock: Arc::new(SystemClock::default()),
        spawner: Box::new(OsThreads),
        inputs: DebouncedInputs::new(inputs, Duration::from_millis(config.buttons.debounce_ms)),
        display: Some(Box::new(LazyOled {
            path: config.display.i2c.clone(),
            address: config.display.address,
            inner: None,
        })),
        boards: Box::new(UsbBoards {
            ports: config
                .slots
                .iter()
                .map(|s| s.usb_port.clone().map(PortPath))
                .collect(),
            probes: config.slots.iter().map(|s| s.probe.clone()).collect(),
        }),
        bundle: bundle.map(Arc::new),
        station,
        tick: Duration::from_millis(10),
        records: Some((writer, ctx)),
        stick: Some(crate::runtime::StickSetup {
            mount: config.stick.mount.clone(),
            pubkey: config.stick.pubkey.clone(),
            bundles: config.paths.bundles.clone(),
            records: records_path.clone(),
            station: config.station.clone(),
        }),
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    let mut driver = ServiceDriver {
        stop,
        ready: false,
        last_ping: Duration::ZERO,
        watchdog: watchdog_interval(),
    };
    log::info!(
        "station {} ready with {} slot(s)",
        config.station,
        config.slots.len()
    );
    let summary = runtime.run(&mut driver);
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    if json {
        super::print_json(&serde_json::json!({ "units": summary.units }))?;
    }
    Ok(super::run_cmd::exit_code(&summary))
}

fn open_inputs(config: &StationConfig) -> Result<StationInputs> {
    let b = &config.buttons;
    let input = |pin: u8, active_low: bool| -> Result<Box<dyn DigitalInput>> {
        Ok(open_input(pin, active_low)?)
    };
    Ok(StationInputs {
        start: input(b.start, b.active_low)?,
        func: input(b.func, b.active_low)?,
        fixtures: config
            .slots
            .iter()
            .map(|s| {
                s.fixture_pin
                    .map(|p| input(p, s.fixture_active_low))
                    .transpose()
            })
            .collect::<Result<_>>()?,
    })
}

/// Opens the OLED on first use and again after a failure, so a display missing at boot, or
/// replugged later, comes (back) up without restarting the service.
struct LazyOled {
    path: String,
    address: u8,
    inner: Option<OledDisplay<linux_embedded_hal::I2cdev>>,
}

impl Display for LazyOled {
    fn show(&mut self, frame: &Frame) -> Result<(), DisplayError> {
        if self.inner.is_none() {
            self.inner = Some(open_linux_oled(&self.path, self.address)?);
        }
        let result = self.inner.as_mut().map_or(Ok(()), |d| d.show(frame));
        if result.is_err() {
            self.inner = None;
        }
        result
    }
}

struct UsbBoards {
    ports: Vec<Option<PortPath>>,
    /// Debug probe serials, for slots that flash over SWD.
    #[cfg_attr(not(feature = "swd"), allow(dead_code))]
    probes: Vec<Option<String>>,
}

impl Boards for UsbBoards {
    fn serial_for(&mut self, _slot: usize) -> Box<dyn crate::ports::SerialPorts> {
        Box::new(crate::adapters::serial::UsbSerialPorts::default())
    }

    #[cfg(feature = "swd")]
    fn probe_for(&mut self, slot: usize) -> Option<Box<dyn crate::ports::SwdProbe>> {
        let serial = self.probes.get(slot)?.as_deref()?;
        // Never erase-all unattended: a locked chip fails as E-SWD-LOCKED.
        Some(Box::new(crate::adapters::swd::ProbeRsProbe::new(
            Some(serial),
            false,
        )))
    }

    fn bus_for(&mut self, slot: usize) -> Option<(Box<dyn UsbBus>, Option<PortPath>)> {
        let port = self.ports.get(slot)?.clone();
        match LibUsbBus::new() {
            Ok(bus) => Some((Box::new(bus), port)),
            Err(e) => {
                log::error!("USB: {e}");
                None
            }
        }
    }
}

fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}

/// systemd: READY once the loop runs, a watchdog ping from the loop itself (so a hung loop is
/// restarted), STOPPING on SIGTERM; running jobs are aborted at their next safe point.
struct ServiceDriver {
    stop: Arc<AtomicBool>,
    ready: bool,
    last_ping: Duration,
    watchdog: Option<Duration>,
}

impl Driver for ServiceDriver {
    fn tick(&mut self, now: Duration, _station: &mut Station) -> bool {
        if !self.ready {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
            self.ready = true;
        }
        if let Some(interval) = self.watchdog {
            if now.saturating_sub(self.last_ping) >= interval / 2 {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                self.last_ping = now;
            }
        }
        !self.stop.load(Ordering::SeqCst)
    }

    fn frame(&mut self, _ui: &UiState, _frame: &Frame) {}
}
