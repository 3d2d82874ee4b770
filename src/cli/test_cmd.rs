//! `flashline test`: the peripheral-test phase alone, on a board that is already flashed
//! (re-testing on the line without reflashing).

use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::bundle_arg::{load_bundle, EXAMPLE_BUNDLE};
use crate::adapters::serial::UsbSerialPorts;
use crate::core::board_test::{run_tests, TestReport};
use crate::ports::clock::SystemClock;
use crate::ports::{Clock, PortPath, SerialPorts};
use crate::sim::serial::SimSerialPorts;
use crate::sim::{Fault, VirtualClock};

#[derive(clap::Args)]
pub struct Args {
    /// The bundle whose tests.toml to run
    #[arg(long, default_value = EXAMPLE_BUNDLE)]
    bundle: PathBuf,
    /// USB port path of the board
    #[arg(long, conflicts_with = "sim")]
    port: Option<String>,
    /// A simulated board already flashed with the bundle; optional faults, e.g. --sim=meas:vin=10.2
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "")]
    sim: Option<String>,
    /// What the simulated board is (as `flash --sim-board`; default: the bundle's platform)
    #[arg(long, value_name = "SPEC", requires = "sim")]
    sim_board: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let bundle = load_bundle(&args.bundle)?;
    let Some(tests) = &bundle.tests else {
        bail!("{}: the bundle has no tests.toml", args.bundle.display());
    };
    let (report, port) = match &args.sim {
        Some(faults) => {
            let faults = Fault::parse_list(faults).map_err(anyhow::Error::msg)?;
            super::sim_faults::check(&faults, &bundle, false)?;
            let spec = super::flash_cmd::sim_spec(args.sim_board.as_deref(), &bundle, &None)?;
            let (spec, faults) = spec.with_words(faults);
            let clock = VirtualClock::new();
            let shared: Arc<dyn Clock> = Arc::new(clock.clone());
            let board = spec.build(shared, "sim-1", 1, faults);
            if let Some(m) = bundle.test_firmware() {
                board.set_test_firmware(m);
            }
            board.preload(&bundle.parsed_modules());
            let mut ports = SimSerialPorts::new(vec![board.clone()]);
            (
                run_tests(
                    &tests.plan,
                    &mut ports,
                    &board.port(),
                    &clock,
                    &mut |_, _, _| {},
                ),
                board.port(),
            )
        }
        None => {
            let port = PortPath(
                args.port
                    .clone()
                    .context("give --port PATH (see `flashline flash --list`) or --sim")?,
            );
            let mut ports: Box<dyn SerialPorts> = Box::new(UsbSerialPorts::default());
            let clock = SystemClock::default();
            // The test firmware prints READY at boot: reset the board so it does so now.
            let mut bus = crate::adapters::usb::LibUsbBus::new().context(super::NO_USB)?;
            let options = crate::core::flash::FlashOptions::default();
            let mut flasher = crate::core::flash::Flasher {
                bus: &mut bus,
                clock: &clock,
                port: port.clone(),
                bundle: &bundle,
                options,
            };
            flasher
                .reset_board()
                .with_context(|| format!("resetting the board on {port}"))?;
            (
                run_tests(
                    &tests.plan,
                    ports.as_mut(),
                    &port,
                    &clock,
                    &mut |_, _, _| {},
                ),
                port,
            )
        }
    };
    print(&report, &port, args.json)?;
    Ok(if report.failure.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print(report: &TestReport, port: &PortPath, as_json: bool) -> Result<()> {
    let outcome = if report.failure.is_none() {
        "pass"
    } else {
        "fail"
    };
    if as_json {
        return super::print_json(&json!({
            "port": port,
            "outcome": outcome,
            "code": report.failure.as_ref().map(|f| f.code.as_str()),
            "reason": report.failure.as_ref().map(|f| &f.reason),
            "measurements": report.measurements,
        }));
    }
    for m in &report.measurements {
        let limits = match (m.low, m.high) {
            (None, None) => String::new(),
            (l, h) => format!(
                "[{}..{}]",
                l.map_or(String::new(), |v| v.to_string()),
                h.map_or(String::new(), |v| v.to_string())
            ),
        };
        println!(
            "{:<4} {:<12} {:<16} {limits}",
            if m.passed { "ok" } else { "FAIL" },
            m.name,
            m.detail
        );
    }
    match &report.failure {
        None => println!("PASS  {} test(s)", report.measurements.len()),
        Some(f) => {
            println!("FAIL  {}  {}", f.code, f.reason);
            println!("      try: {}", f.code.hint());
        }
    }
    Ok(())
}
