//! `flashline flash --bundle DIR [--port PATH | --sim[=FAULTS]]`: one board, one bundle.
//! With `--swd [--probe SERIAL]` the bundle goes in by a debug probe instead, bootloader
//! included, and is verified over USB as after DFU (flash_swd.rs).

use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::progress::TerminalProgress;
use crate::adapters::trace::{TraceSink, TracingBus};
use crate::core::bundle::Bundle;
use crate::core::dfu::DfuOptions;
use crate::core::flash::{FlashError, FlashOptions, FlashReport, Flasher, WrittenBy};
use crate::ports::{Clock, PortPath, UsbBus};
use crate::sim::argon::SimBoardSpec;
use crate::sim::{Fault, SimBoard, SimBus, VirtualClock};

#[path = "flash_swd.rs"]
mod swd;

#[derive(clap::Args)]
pub struct Args {
    /// The locked bundle to flash
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// USB port path of the board (e.g. 1-1.2); default: the only Particle board attached
    #[arg(long, conflicts_with = "sim")]
    port: Option<String>,
    /// Flash a simulated board; optional faults: --sim=unplug,write-error:0x30000
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "")]
    sim: Option<String>,
    /// Start the simulated board with another bundle's modules already in flash
    #[arg(long, requires = "sim")]
    sim_preload: Option<PathBuf>,
    /// What the simulated board is: PLATFORM[@DEVICE_OS][,OPTION...], e.g. `argon@1.5.0`,
    /// `boron,bootloader=1100`, `argon,protected` (default: a blank board of the bundle's
    /// platform)
    #[arg(long, value_name = "SPEC", requires = "sim")]
    sim_board: Option<String>,
    /// After a failure, re-seat the simulated board and flash it again
    #[arg(long, requires = "sim")]
    sim_reseat: bool,
    /// Show the plan; write nothing
    #[arg(long)]
    dry_run: bool,
    /// Read every written range back and compare
    #[arg(long)]
    readback: bool,
    /// List Particle boards on USB with mode, port path and device ID
    #[arg(long, conflicts_with_all = ["bundle", "sim"])]
    list: bool,
    /// Write every USB operation as JSON lines to FILE
    #[arg(long)]
    trace: Option<PathBuf>,
    /// One JSON document on stdout
    #[arg(long)]
    json: bool,
    /// Write the bundle, bootloader included, with a debug probe over SWD, then verify over USB
    /// (a real probe needs a build with `--features swd`; `--sim` simulates one)
    #[arg(long, conflicts_with_all = ["list", "sim_reseat", "readback"])]
    swd: bool,
    /// With --swd: the debug probe's serial number (`flashline probes`); default: the only one
    #[arg(long, value_name = "SERIAL", requires = "swd")]
    probe: Option<String>,
    /// With --swd: unlock a chip with APPROTECT set by erasing ALL of its flash and UICR
    #[arg(long, requires = "swd")]
    allow_erase_all: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    if args.list {
        return super::usb_list::run(args.json);
    }
    let Some(bundle_dir) = &args.bundle else {
        bail!("--bundle DIR is required (or --list)")
    };
    let bundle = Bundle::load(bundle_dir)
        .with_context(|| format!("E-BUNDLE: loading {}", bundle_dir.display()))?;
    let options = FlashOptions {
        dfu: DfuOptions {
            readback: args.readback,
            ..DfuOptions::default()
        },
        dry_run: args.dry_run,
        ..FlashOptions::default()
    };
    match &args.sim {
        _ if args.swd => swd::run(&args, &bundle, options),
        Some(faults) => run_sim(&args, &bundle, faults, options),
        None => run_hardware(&args, &bundle, options),
    }
}

fn run_sim(
    args: &Args,
    bundle: &Bundle,
    faults: &str,
    mut options: FlashOptions,
) -> Result<ExitCode> {
    let (clock, board, mut bus, trace) = sim_board(args, bundle, faults, &mut options)?;
    let port = board.port();
    let mut attempts = Vec::new();
    loop {
        board.reset_stats();
        let started = clock.now();
        let result = flash_once(
            bus.as_mut(),
            &clock,
            port.clone(),
            bundle,
            options.clone(),
            args.json,
        );
        let mut doc = result_json(&result);
        doc["sim"] = sim_json(&board, clock.now() - started);
        doc["dry_run"] = args.dry_run.into();
        if !args.json {
            print_human(&result, &doc);
        }
        let failed = result.is_err();
        attempts.push(doc);
        if !(failed && args.sim_reseat && attempts.len() == 1) {
            break;
        }
        if !args.json {
            println!("re-seating the board and trying again");
        }
        board.replug();
    }
    let ok = attempts.last().is_some_and(|a| a["outcome"] == "ok");
    if args.json {
        match attempts.len() {
            1 => super::print_json(&attempts[0])?,
            _ => super::print_json(&json!({ "attempts": attempts }))?,
        }
    }
    trace.check(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The simulated board of `--sim[=FAULTS] [--sim-preload DIR]`, on its own virtual clock and
/// bus (traced with `--trace`); `options` gets its serial ports for the DFU fallback.
fn sim_board(
    args: &Args,
    bundle: &Bundle,
    faults: &str,
    options: &mut FlashOptions,
) -> Result<(VirtualClock, SimBoard, Box<dyn UsbBus>, Trace)> {
    let spec = sim_spec(args.sim_board.as_deref(), bundle, &args.sim_preload)?;
    let faults = Fault::parse_list(faults).map_err(anyhow::Error::msg)?;
    if let (Some(board), true) = (&args.sim_board, faults.contains(&Fault::WrongPlatform)) {
        bail!(
            "--sim=wrong-platform and --sim-board {board} both say what the board is: give one \
             (--sim-board with another platform than the bundle's {} is a wrong-platform board)",
            bundle.platform.name
        );
    }
    let (spec, faults) = spec.with_words(faults);
    let clock = VirtualClock::new();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let board = spec.build(shared.clone(), "sim-1", 1, faults);
    options.dfu_by_serial = Some(serial_fallback(Box::new(
        crate::sim::serial::SimSerialPorts::new(vec![board.clone()]),
    )));
    let (bus, trace) = traced(
        Box::new(SimBus::new(vec![board.clone()])),
        &args.trace,
        shared,
    )?;
    Ok((clock, board, bus, trace))
}

/// The simulated board of `--sim-board SPEC` (default: a blank board of the bundle's
/// platform), with `--sim-preload DIR`'s modules in it.
pub fn sim_spec(
    spec: Option<&str>,
    bundle: &Bundle,
    preload: &Option<PathBuf>,
) -> Result<SimBoardSpec> {
    let mut spec = match spec {
        Some(text) => SimBoardSpec::parse(text).map_err(anyhow::Error::msg)?,
        None => SimBoardSpec::of(bundle.platform),
    };
    if let Some(dir) = preload {
        let other = Bundle::load(dir)
            .with_context(|| format!("loading --sim-preload {}", dir.display()))?;
        spec = spec.preload(other.parsed_modules());
    }
    Ok(spec)
}

/// What the simulated board spent, and the host's overhead over it, for `--json` and the
/// summary line.
fn sim_json(board: &SimBoard, elapsed: std::time::Duration) -> serde_json::Value {
    let stats = board.stats();
    // Nothing to compare with when the board never did anything (it never showed up).
    let overhead = (!stats.device_busy.is_zero())
        .then(|| elapsed.as_secs_f64() / stats.device_busy.as_secs_f64());
    json!({
        "device_busy_ms": stats.device_busy.as_millis() as u64,
        "host_overhead_ratio": overhead.map(|o| (o * 1000.0).round() / 1000.0),
        "pages_erased": stats.pages_erased,
    })
}

fn run_hardware(args: &Args, bundle: &Bundle, mut options: FlashOptions) -> Result<ExitCode> {
    options.dfu_by_serial = Some(serial_fallback(Box::new(
        crate::adapters::serial::UsbSerialPorts::default(),
    )));
    let clock = crate::ports::clock::SystemClock::default();
    let shared: Arc<dyn Clock> = Arc::new(crate::ports::clock::SystemClock::default());
    let usb = crate::adapters::usb::LibUsbBus::new().context(super::NO_USB)?;
    let (mut bus, trace) = traced(Box::new(usb), &args.trace, shared)?;
    let port = match &args.port {
        Some(p) => PortPath(p.clone()),
        None => super::usb_list::only_board(bus.as_mut())?,
    };
    let result = flash_once(bus.as_mut(), &clock, port, bundle, options, args.json);
    let mut doc = result_json(&result);
    doc["dry_run"] = args.dry_run.into();
    trace.check(report(&result, &doc, args.json)?)
}

/// The `--trace` file, if asked for: checked when the command ends, so a trace that could not
/// be written fails the command instead of being quietly cut short.
#[derive(Default)]
pub struct Trace(Option<(PathBuf, TraceSink)>);

impl Trace {
    /// `exit`, unless the trace is incomplete: then the error names the file and what was lost.
    pub fn check(&self, exit: ExitCode) -> Result<ExitCode> {
        match &self.0 {
            Some((path, sink)) => match sink.failure() {
                Some(f) => bail!("trace {}: {f}", path.display()),
                None => Ok(exit),
            },
            None => Ok(exit),
        }
    }
}

fn traced(
    bus: Box<dyn UsbBus>,
    trace: &Option<PathBuf>,
    clock: Arc<dyn Clock>,
) -> Result<(Box<dyn UsbBus>, Trace)> {
    let Some(path) = trace else {
        return Ok((bus, Trace::default()));
    };
    let sink = TraceSink::create(path, clock)
        .with_context(|| format!("creating trace {}", path.display()))?;
    let bus = Box::new(TracingBus::new(bus, sink.clone()));
    Ok((bus, Trace(Some((path.clone(), sink)))))
}

fn flash_once(
    bus: &mut dyn UsbBus,
    clock: &dyn Clock,
    port: PortPath,
    bundle: &Bundle,
    options: FlashOptions,
    json: bool,
) -> Result<FlashReport, FlashError> {
    let mut flasher = Flasher {
        bus,
        clock,
        port,
        bundle,
        options,
    };
    with_progress(json, |events| flasher.run(events))
}

/// Runs a flash with its events on the terminal (unless `--json`), and logs the failure.
fn with_progress<T>(
    json: bool,
    run: impl FnOnce(crate::core::event::EventSink<'_>) -> Result<T, FlashError>,
) -> Result<T, FlashError> {
    let mut progress = TerminalProgress::new(!json);
    let result = run(&mut |e| progress.on_event(&e));
    progress.finish();
    if let Err(e) = &result {
        log::error!("{}: {e}", e.code());
    }
    result
}

/// The `--json` result of design §3.
pub fn result_json(result: &Result<FlashReport, FlashError>) -> serde_json::Value {
    match result {
        Ok(r) => json!({
            "outcome": "ok",
            "device_id": r.device_id,
            "modules_written": r.modules_written,
            "written": r.written,
            "modules_skipped": r.modules_skipped,
            "skipped_after_plan": r.skipped_after_plan,
            "resets": r.resets,
            "bytes_written": r.bytes_written,
            "duration_ms": r.duration.as_millis() as u64,
            "system_version": r.system_version,
            "board_modules": r.board_modules,
            "checked": r.checked,
            "plan": r.plan,
        }),
        Err(e) => json!({
            "outcome": "fail",
            "code": e.code().as_str(),
            "reason": e.short_reason(),
            "error": e.to_string(),
        }),
    }
}

fn print_human(result: &Result<FlashReport, FlashError>, doc: &serde_json::Value) {
    match result {
        Ok(r) if doc["dry_run"] == true => {
            for line in &r.plan {
                println!("  {line}");
            }
            let writes = r.plan.iter().filter(|l| l.starts_with("write ")).count();
            println!(
                "PLAN  device {}  would write {writes} module(s), skip {}  (dry run: nothing \
                 was written)",
                r.device_id.as_deref().unwrap_or("?"),
                r.modules_skipped.len(),
            );
        }
        Ok(r) => {
            for line in &r.plan {
                println!("  {line}");
            }
            println!(
                "OK  device {}  wrote {} module(s), {} bytes, skipped {}  in {:.1} s",
                r.device_id.as_deref().unwrap_or("?"),
                r.modules_written.len(),
                r.bytes_written,
                r.modules_skipped.len(),
                r.duration.as_secs_f64()
            );
            for w in &r.written {
                let route = match w.route {
                    WrittenBy::ControlRequest => "control request",
                    WrittenBy::Dfu => "DFU",
                    WrittenBy::Swd => "SWD",
                };
                println!("  wrote  {:<24} by {route}, {} bytes", w.module, w.bytes);
            }
            for m in &r.skipped_after_plan {
                println!(
                    "  skipped {m:<23} the board reported it, same version, once it could be asked"
                );
            }
            for m in &r.board_modules {
                println!(
                    "  board reports {:<24} {}",
                    m.label(),
                    if m.valid() { "valid" } else { "INVALID" }
                );
            }
            for c in &r.checked {
                println!("  board reports {c}");
            }
        }
        Err(e) => {
            let (short, full) = (e.short_reason(), e.to_string());
            println!("FAIL {}  {short}", e.code());
            // The whole message, unless it only repeats the short one (one cause said once).
            if !full.ends_with(&short) {
                println!("     {full}");
            }
            println!("     try: {}", e.code().hint());
        }
    }
    if let Some(sim) = doc.get("sim") {
        print!("  sim: device busy {} ms", sim["device_busy_ms"]);
        match sim.get("host_overhead_ratio").and_then(|r| r.as_f64()) {
            Some(ratio) => println!(", host overhead ratio {ratio}"),
            None => println!(),
        }
    }
}

fn serial_fallback(
    ports: Box<dyn crate::ports::SerialPorts>,
) -> crate::core::flash::SerialFallback {
    crate::core::flash::SerialFallback(Arc::new(std::sync::Mutex::new(ports)))
}

/// Prints one attempt's result; the exit code says whether it passed.
fn report(
    result: &Result<FlashReport, FlashError>,
    doc: &serde_json::Value,
    json: bool,
) -> Result<ExitCode> {
    if json {
        super::print_json(doc)?;
    } else {
        print_human(result, doc);
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
