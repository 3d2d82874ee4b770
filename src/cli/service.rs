//! `flashline run` on the Pi: GPIO buttons and fixtures, the OLED, real USB, systemd.

use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::trace_setup::Sections;
use crate::adapters::display::{open_linux_oled, OledDisplay};
use crate::adapters::gpio::{open_input, open_output};
use crate::adapters::usb::LibUsbBus;
use crate::core::bundle::Bundle;
use crate::core::config::{DisplayConfig, LampPins, StationConfig};
use crate::core::station::Station;
use crate::core::ui::{frame_of, BundleLabel, Frame, Notice, PortView, UiState};
use crate::ports::clock::SystemClock;
use crate::ports::{
    DigitalInput, DigitalOutput, Display, DisplayError, LightOutputs, PortPath, StationInputs,
    StationOutputs, UsbBus,
};
use crate::runtime::script::Script;
use crate::runtime::sim_io::SimIo;
use crate::runtime::{port_views, Boards, DebouncedInputs, Driver, Lights, OsThreads, Runtime};

/// The station on this machine's hardware. With `scripted` (a script, and whether to print)
/// only the USB boards and their serial ports are real: the buttons and fixture switches are
/// the script's, and there is no OLED, stack light or self-test (`run --sim-io`).
pub fn run(
    config_path: &Path,
    records: Option<&Path>,
    json: bool,
    overrides: &super::run_args::EdgeArgs,
    scripted: Option<(Script, bool)>,
) -> Result<ExitCode> {
    let sim_io = scripted.is_some();
    let mut config = match StationConfig::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            // No login on the station: the OLED is where a technician sees why it stopped.
            if !sim_io {
                show_problem(&DisplayConfig::default(), "NO CONFIG", &e.to_string());
            }
            return Err(e.into());
        }
    };
    if let Some(name) = &overrides.station {
        crate::core::config::check_station_name(name).map_err(anyhow::Error::msg)?;
        config.station = name.clone();
    }
    // The self-test's checks at every start: a problem is logged and shown on the OLED for a
    // while, and the station runs on (most problems only touch one slot or the records).
    let failing: Vec<_> = match sim_io {
        true => Vec::new(),
        false => super::selftest_cmd::checks(config_path, false)
            .into_iter()
            .filter(|c| !c.ok)
            .collect(),
    };
    for c in &failing {
        log::error!("selftest {}: {}", c.name, c.detail);
    }
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
    let slot_names: Vec<String> = config.slots.iter().map(|s| s.name.clone()).collect();
    let (inputs, outputs, display, mut driver): (_, _, Option<Box<dyn Display>>, Box<dyn Driver>) =
        match scripted {
            Some((script, print)) => {
                check_sim_io_script(&script, &slot_names)?;
                let io = SimIo::new(&slot_names);
                let inputs = io.inputs();
                let driver = super::run_sim::ScriptDriver::new(io, script, print);
                (inputs, None, None, Box::new(driver))
            }
            None => (
                open_inputs(&config).context("opening the buttons and fixture switches")?,
                Some(open_outputs(&config).context("opening the stack light and buzzer")?),
                Some(Box::new(LazyOled {
                    path: config.display.i2c.clone(),
                    address: config.display.address,
                    inner: None,
                })),
                service_driver()?,
            ),
        };
    let mut station = Station::new(
        &slot_names,
        config.options(),
        bundle.as_ref().map(BundleLabel::from),
    );
    let records_path = records
        .map(Path::to_path_buf)
        .unwrap_or_else(|| config.paths.records.clone());
    let (mut writer, ctx, counters) =
        super::records_cmd::open_for_run(&records_path, &config.station, bundle.as_ref())?;
    station.set_counters(counters);
    let clock: Arc<dyn crate::ports::Clock> = Arc::new(SystemClock::default());
    // The edges' inputs (scanner lines, label notices) reach the main loop on one channel.
    let (edges, edge_inputs) = std::sync::mpsc::channel();
    let sections = Sections::of(config.trace.clone(), config.label.clone(), config_path);
    let labels = sections.start(
        &mut station,
        bundle.as_ref(),
        clock.clone(),
        &mut writer,
        &edges,
    )?;
    let debounce = Duration::from_millis(config.buttons.debounce_ms);
    if !failing.is_empty() {
        let mut lines: Vec<String> = failing.iter().map(|c| format!("FAIL {}", c.name)).collect();
        lines.truncate(3);
        lines.push("details: the log".into());
        station.notify("SELFTEST", lines, SHOW_SELFTEST);
    }
    let started = super::edges::start(
        &super::edges::EdgeConfig {
            station: &config.station,
            records: &records_path,
            line_db: overrides
                .line_db
                .as_deref()
                .or(config.line.database.as_deref()),
            dashboard: overrides
                .dashboard
                .as_deref()
                .or(config.dashboard.listen.as_deref()),
            token_file: overrides
                .token_file
                .as_ref()
                .or(config.dashboard.token_file.as_ref()),
        },
        &mut writer,
    );
    let runtime = Runtime {
        labels,
        clock,
        spawner: Box::new(OsThreads),
        inputs: DebouncedInputs::new(inputs, debounce).with_edges(edge_inputs),
        display,
        boards: Box::new(UsbBoards {
            ports: config
                .slots
                .iter()
                .map(|s| s.usb_port.clone().map(PortPath))
                .collect(),
            names: config.slots.iter().map(|s| s.name.clone()).collect(),
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
        lights: Lights::new(Duration::from_millis(config.lights.buzzer_ms), outputs),
        edges: started.edges,
    };
    log::info!(
        "station {} ready with {} slot(s)",
        config.station,
        config.slots.len()
    );
    let summary = runtime.run(driver.as_mut());
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    super::edges::stop(started.replica);
    if json {
        super::print_json(&serde_json::json!({ "units": summary.units }))?;
    }
    Ok(super::unit_line::exit_code(&summary))
}

/// How long start-up problems stay on the OLED (FUNC dismisses them sooner).
const SHOW_SELFTEST: Duration = Duration::from_secs(20);

/// Shows a problem that keeps the station from starting on the OLED, best effort.
fn show_problem(display: &DisplayConfig, title: &str, text: &str) {
    let lines = text
        .split([':', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(4)
        .map(String::from)
        .collect();
    let ui = UiState {
        notice: Some(Notice {
            title: title.into(),
            lines,
        }),
        ..UiState::default()
    };
    if let Ok(mut oled) = open_linux_oled(&display.i2c, display.address) {
        let _ = oled.show(&frame_of(&ui));
    }
}

/// With `--sim-io` a script names the configured slots and only opens and closes their
/// fixtures: the boards are whatever is on their USB ports.
fn check_sim_io_script(script: &Script, slots: &[String]) -> Result<()> {
    if script.bundle.is_some() {
        anyhow::bail!(
            "--sim-io: the script's `bundle` is for --sim; the station uses its active bundle"
        );
    }
    for s in &script.slots {
        if !slots.contains(&s.name) {
            anyhow::bail!(
                "--sim-io: the script's slot `{}` is not in the configuration (slots: {})",
                s.name,
                slots.join(", ")
            );
        }
        if s.fault.is_some() || s.preload.is_some() || s.probe.is_some() {
            anyhow::bail!(
                "--sim-io: slot `{}`: fault, preload and probe describe simulated boards \
                 (for emulated USB boards: `flashline sim usb --fault`, `--bundle`)",
                s.name
            );
        }
    }
    Ok(())
}

/// systemd's driver: stops on SIGTERM/SIGINT, pings the watchdog.
fn service_driver() -> Result<Box<dyn Driver>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    Ok(Box::new(ServiceDriver {
        stop,
        ready: false,
        last_ping: Duration::ZERO,
        watchdog: watchdog_interval(),
    }))
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

/// The configured lamps and buzzer (none configured: nothing to drive).
fn open_outputs(config: &StationConfig) -> Result<StationOutputs> {
    let active_low = config.lights.active_low;
    let out = |pin: Option<u8>| -> Result<Option<Box<dyn DigitalOutput>>> {
        Ok(pin.map(|p| open_output(p, active_low)).transpose()?)
    };
    let lamps = |pins: &LampPins| -> Result<LightOutputs> {
        Ok(LightOutputs {
            green: out(pins.green)?,
            amber: out(pins.amber)?,
            red: out(pins.red)?,
        })
    };
    let l = &config.lights;
    Ok(StationOutputs {
        station: lamps(&LampPins {
            green: l.green,
            amber: l.amber,
            red: l.red,
        })?,
        buzzer: out(l.buzzer)?,
        slots: config
            .slots
            .iter()
            .map(|s| lamps(&s.lights))
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
    /// The slots' names, in order.
    names: Vec<String>,
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

    fn ports(&mut self) -> Vec<PortView> {
        let Ok(mut bus) = LibUsbBus::new() else {
            return Vec::new();
        };
        port_views(bus.list().unwrap_or_default(), &self.ports, &self.names)
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
}
