//! `flash --swd`: the bundle through a debug probe (`core::flash::SwdFlasher`), on a real probe
//! (builds with `--features swd`) or, with `--sim[=FAULTS]`, on a simulated probe and board.

use anyhow::{Context, Result};
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;

use super::{
    report, result_json, serial_fallback, sim_board, sim_json, traced, with_progress, Args,
};
use crate::core::bundle::Bundle;
use crate::core::flash::{FlashError, FlashOptions, FlashReport, SwdFlasher};
use crate::ports::{Clock, PortPath, SwdProbe, UsbBus};
use crate::sim::swd::SimProbe;

pub(super) fn run(args: &Args, bundle: &Bundle, options: FlashOptions) -> Result<ExitCode> {
    if args.allow_erase_all && bundle.mbr.is_none() {
        anyhow::bail!(
            "--allow-erase-all erases the chip's MBR with everything else, and {} carries none \
             (bundle.toml `mbr`): the board could not boot afterwards. Use a bundle with an MBR, \
             or restore the MBR first (docs/hil.md §6)",
            bundle.dir.display()
        );
    }
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
    let (clock, board, mut bus, trace) = sim_board(args, bundle, faults, &mut options)?;
    let mut probe = SimProbe::new("sim-probe", Some(board.clone()), args.allow_erase_all);
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
    let mut doc = swd_json(&result, &probe);
    doc["sim"] = sim_json(&board, clock.now() - started);
    trace.check(report(&result.map(|(r, _)| r), &doc, args.json)?)
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
    let (mut bus, trace) = traced(Box::new(usb), &args.trace, shared)?;
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
    trace.check(report(&result.map(|(r, _)| r), &doc, args.json)?)
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
    let mut flasher = SwdFlasher {
        probe,
        bus,
        clock,
        port,
        bundle,
        options,
    };
    with_progress(json, |events| flasher.run(events))
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
