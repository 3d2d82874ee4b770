//! `flash --swd`: the bundle through a debug probe (`core::flash::SwdFlasher`), on a real probe
//! (builds with `--features swd`) or, with `--sim[=FAULTS]`, on a simulated probe and board.

use anyhow::{Context, Result};
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;

use super::{report, result_json, serial_fallback, traced, Args};
use crate::cli::progress::TerminalProgress;
use crate::core::bundle::Bundle;
use crate::core::flash::{FlashError, FlashOptions, FlashReport, SwdFlasher};
use crate::ports::{Clock, PortPath, SwdProbe, UsbBus};
use crate::sim::swd::SimProbe;
use crate::sim::{Fault, SimArgon, SimBus, VirtualClock};

pub(super) fn run(args: &Args, bundle: &Bundle, options: FlashOptions) -> Result<ExitCode> {
    if args.dry_run {
        let plan = SwdFlasher::plan(bundle);
        match args.json {
            true => super::super::print_json(&json!({ "outcome": "ok", "swd": { "plan": plan } }))?,
            false => plan.iter().for_each(|l| println!("  {l}")),
        }
        return Ok(ExitCode::SUCCESS);
    }
    match &args.sim {
        Some(faults) => run_sim(args, bundle, faults, options),
        None => run_hardware(args, bundle, options),
    }
}

fn run_sim(
    args: &Args,
    bundle: &Bundle,
    faults: &str,
    mut options: FlashOptions,
) -> Result<ExitCode> {
    let faults = Fault::parse_list(faults).map_err(anyhow::Error::msg)?;
    let clock = VirtualClock::new();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let board = SimArgon::blank(shared.clone(), "sim-1", 1, faults);
    if let Some(dir) = &args.sim_preload {
        let other = Bundle::load(dir)
            .with_context(|| format!("loading --sim-preload {}", dir.display()))?;
        board.preload(&other.parsed_modules());
    }
    options.dfu_by_serial = Some(serial_fallback(Box::new(
        crate::sim::serial::SimSerialPorts::new(vec![board.clone()]),
    )));
    let mut probe = SimProbe::new("sim-probe", Some(board.clone()), args.allow_erase_all);
    let mut bus = traced(
        Box::new(SimBus::new(vec![board.clone()])),
        &args.trace,
        shared,
    )?;
    let started = clock.now();
    let result = flash_once(
        &mut probe,
        bus.as_mut(),
        &clock,
        None,
        bundle,
        options,
        args.json,
    );
    let busy = board.stats().device_busy;
    let mut doc = swd_json(&result, &probe);
    doc["sim"] = json!({
        "device_busy_ms": busy.as_millis() as u64,
        "host_overhead_ratio": (!busy.is_zero()).then(|| {
            let ratio = (clock.now() - started).as_secs_f64() / busy.as_secs_f64();
            (ratio * 1000.0).round() / 1000.0
        }),
        "pages_erased": board.stats().pages_erased,
    });
    report(&result.map(|(r, _)| r), &doc, args.json)
}

fn run_hardware(args: &Args, bundle: &Bundle, mut options: FlashOptions) -> Result<ExitCode> {
    let mut probe = hardware_probe(args)?;
    options.dfu_by_serial = Some(serial_fallback(Box::new(
        crate::adapters::serial::UsbSerialPorts::default(),
    )));
    let clock = crate::ports::clock::SystemClock::default();
    let shared: Arc<dyn Clock> = Arc::new(crate::ports::clock::SystemClock::default());
    // USB first: without it nothing could be verified, so nothing is written.
    let usb = crate::adapters::usb::LibUsbBus::new()
        .context("opening USB (libusb), needed to verify after SWD")?;
    let mut bus = traced(Box::new(usb), &args.trace, shared)?;
    let port = args.port.clone().map(PortPath);
    let result = flash_once(
        probe.as_mut(),
        bus.as_mut(),
        &clock,
        port,
        bundle,
        options,
        args.json,
    );
    let doc = swd_json(&result, probe.as_ref());
    report(&result.map(|(r, _)| r), &doc, args.json)
}

#[cfg(feature = "swd")]
fn hardware_probe(args: &Args) -> Result<Box<dyn SwdProbe>> {
    Ok(Box::new(crate::adapters::swd::ProbeRsProbe::new(
        args.probe.as_deref(),
        args.allow_erase_all,
    )))
}

#[cfg(not(feature = "swd"))]
fn hardware_probe(_args: &Args) -> Result<Box<dyn SwdProbe>> {
    anyhow::bail!("--swd: {}", crate::cli::probes_cmd::NO_SWD)
}

fn flash_once(
    probe: &mut dyn SwdProbe,
    bus: &mut dyn UsbBus,
    clock: &dyn Clock,
    port: Option<PortPath>,
    bundle: &Bundle,
    options: FlashOptions,
    json: bool,
) -> Result<(FlashReport, PortPath), FlashError> {
    let mut progress = TerminalProgress::new(!json);
    let mut flasher = SwdFlasher {
        probe,
        bus,
        clock,
        port,
        bundle,
        options,
    };
    let result = flasher.run(&mut |e| progress.on_event(&e));
    progress.finish();
    if let Err(e) = &result {
        log::error!("{}: {e}", e.code());
    }
    result
}

/// The `--json` result of an ordinary flash, with what SWD adds: the probe and the USB port
/// the board was verified on.
fn swd_json(
    result: &Result<(FlashReport, PortPath), FlashError>,
    probe: &dyn SwdProbe,
) -> serde_json::Value {
    let port = result.as_ref().ok().map(|(_, p)| p.to_string());
    let mut doc = result_json(
        &result
            .as_ref()
            .map(|(r, _)| r.clone())
            .map_err(Clone::clone),
    );
    doc["swd"] = json!({ "probe": probe.name(), "verified_on_port": port });
    doc
}
