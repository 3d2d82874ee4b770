//! `flashline run`: the station service, on hardware or simulated (`--sim`), interactive,
//! scripted (`--script FILE`) or as a short demo when nobody is at a terminal.

use anyhow::{Context, Result};
use serde_json::json;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::core::bundle::Bundle;
use crate::core::station::{Station, StationOptions};
use crate::core::ui::{BundleLabel, Frame, UiState};
use crate::core::unit::UnitRecord;
use crate::ports::Clock;
use crate::runtime::script::{Action, Script};
use crate::runtime::sim_world::{SimButton, SimSlot, SimWorld};
use crate::runtime::{DebouncedInputs, Driver, RunSummary, Runtime, StickSetup};
use crate::sim::scheduler::VirtualScheduler;
use crate::sim::Fault;

#[derive(clap::Args)]
pub struct Args {
    /// Station configuration
    #[arg(long, default_value = "/etc/flashline/station.toml")]
    config: PathBuf,
    /// Simulated boards, buttons, fixtures and display
    #[arg(long)]
    sim: bool,
    /// Timed events on the virtual clock (with --sim); exits when they are done
    #[arg(long, requires = "sim")]
    script: Option<PathBuf>,
    /// Print the finished units as one JSON document
    #[arg(long)]
    json: bool,
    /// The records database (default: station.toml's; with --sim, the simulator's in the
    /// user's data directory)
    #[arg(long)]
    records: Option<PathBuf>,
    /// With --sim: a directory standing in for the USB stick (signed bundles in, records out)
    #[arg(long, requires = "pubkey")]
    stick: Option<PathBuf>,
    /// With --stick: the public key bundles must be signed with
    #[arg(long, requires = "stick")]
    pubkey: Option<PathBuf>,
}

pub const EXAMPLE_BUNDLE: &str = "bundles/example-argon";
const DEBOUNCE: Duration = Duration::from_millis(30);
const TICK: Duration = Duration::from_millis(10);

pub fn run(args: Args) -> Result<ExitCode> {
    if !args.sim {
        return super::service::run(&args.config, args.records.as_deref(), args.json);
    }
    let records_path = args
        .records
        .clone()
        .unwrap_or_else(super::records_cmd::sim_path);
    let interactive = args.script.is_none() && std::io::stdin().is_terminal() && !args.json;
    let script = match &args.script {
        Some(path) => Script::load(path)?,
        None => Script::demo(),
    };
    let bundle_dir = script
        .bundle
        .clone()
        .unwrap_or_else(|| PathBuf::from(EXAMPLE_BUNDLE));
    let bundle = load_bundle(&bundle_dir)?;
    let slots = script
        .slots
        .iter()
        .map(|s| -> Result<SimSlot> {
            let faults = Fault::parse_list(s.fault.as_deref().unwrap_or_default())
                .map_err(anyhow::Error::msg)?;
            let preload = match &s.preload {
                Some(dir) => load_bundle(dir)?.parsed_modules(),
                None => Vec::new(),
            };
            Ok(SimSlot::new(&s.name, faults, preload).with_probe(s.probe.clone()))
        })
        .collect::<Result<Vec<_>>>()?;
    let stick = match (&args.stick, &args.pubkey) {
        (Some(mount), Some(pubkey)) => Some(StickSetup {
            mount: mount.clone(),
            pubkey: pubkey.clone(),
            bundles: super::records_cmd::sim_path().with_file_name("sim-bundles"),
            records: records_path.clone(),
            station: "sim".into(),
        }),
        (None, None) => None,
        _ => anyhow::bail!("--stick DIR and --pubkey FILE go together"),
    };
    let (writer, ctx, counters) =
        super::records_cmd::open_for_run(&records_path, "sim", Some(&bundle))?;
    let mut station = Station::new(
        &slots.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        StationOptions::default(),
        Some(label(&bundle)),
    );
    station.set_counters(counters);
    if interactive {
        return super::run_terminal::run(bundle, slots, station, (writer, ctx), stick);
    }
    let scheduler = VirtualScheduler::new();
    let clock: Arc<dyn Clock> = Arc::new(scheduler.clone());
    let world = SimWorld::new(clock.clone(), slots).with_test_firmware(test_firmware(&bundle));
    let runtime = Runtime {
        clock: clock.clone(),
        spawner: Box::new(scheduler),
        inputs: DebouncedInputs::new(world.inputs(), DEBOUNCE),
        display: None,
        boards: Box::new(world.board_access()),
        station,
        bundle: Some(Arc::new(bundle)),
        tick: TICK,
        records: Some((writer, ctx)),
        stick,
    };
    let mut driver = ScriptDriver {
        world,
        script,
        next: 0,
        print: !args.json,
        pending_frame: false,
    };
    let summary = runtime.run(&mut driver);
    if args.json {
        super::print_json(&json!({ "units": summary.units }))?;
    }
    Ok(exit_code(&summary))
}

/// A run fails when a unit's record could not be written by its end (the log holds the unit).
pub fn exit_code(summary: &RunSummary) -> ExitCode {
    if summary.unrecorded.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "E-RECORDS: {} unit(s) could not be recorded; each is in the log as `unit NOT recorded`",
        summary.unrecorded.len()
    );
    ExitCode::FAILURE
}

/// The user part the simulated boards treat as test firmware: the bundle's own.
pub fn test_firmware(bundle: &Bundle) -> Option<crate::core::module::Module> {
    bundle
        .module(crate::core::module::ModuleFunction::UserPart, 1)
        .map(|m| m.module.clone())
}

pub fn load_bundle(dir: &Path) -> Result<Bundle> {
    Bundle::load(dir).with_context(|| format!("E-BUNDLE: loading {}", dir.display()))
}

pub fn label(b: &Bundle) -> BundleLabel {
    BundleLabel {
        name: b.name.clone(),
        version: b.version.clone(),
        lock_hash: b.lock_hash.clone(),
        platform: b.platform.name.into(),
    }
}

/// Plays a script's events on the virtual clock, then stops once every slot has settled.
struct ScriptDriver {
    world: SimWorld,
    script: Script,
    next: usize,
    print: bool,
    pending_frame: bool,
}

/// How long the simulated operator holds a button.
const SHORT_HOLD: Duration = Duration::from_millis(150);
const LONG_HOLD: Duration = Duration::from_millis(1500);
/// Quiet time after the last event before a script run may end (debounce, long presses).
const SETTLE: Duration = Duration::from_millis(2000);

impl Driver for ScriptDriver {
    fn tick(&mut self, now: Duration, station: &mut Station) -> bool {
        while let Some(event) = self.script.events.get(self.next).filter(|e| e.at() <= now) {
            let slot = event
                .slot
                .as_deref()
                .and_then(|s| self.world.slot_index(s))
                .unwrap_or(0);
            match event.action {
                Action::Seat => self.world.seat(slot),
                Action::Unseat => self.world.unseat(slot),
                Action::Reseat => self.world.reseat(slot),
                Action::Start => self.world.press(SimButton::Start, now, SHORT_HOLD),
                Action::Func => self.world.press(SimButton::Func, now, SHORT_HOLD),
                Action::FuncLong => self.world.press(SimButton::Func, now, LONG_HOLD),
            }
            self.next += 1;
        }
        self.world.tick(now);
        let last = self.script.events.last().map_or(Duration::ZERO, |e| e.at());
        self.next < self.script.events.len() || now < last + SETTLE || station.any_running()
    }

    fn frame(&mut self, _ui: &UiState, frame: &Frame) {
        if self.print && self.pending_frame {
            println!("{}", frame.to_blocks().join("\n"));
            self.pending_frame = false;
        }
    }

    fn unit(&mut self, unit: &UnitRecord) {
        if self.print {
            print_unit(unit);
            self.pending_frame = true;
        }
    }

    fn record_held(&mut self, slot: &str, cause: &str) {
        if self.print {
            println!("slot {slot}  E-RECORDS  record not saved: {cause}");
            self.pending_frame = true;
        }
    }
}

pub fn print_unit(u: &UnitRecord) {
    let secs = u.duration_ms as f64 / 1000.0;
    match &u.code {
        None => println!(
            "slot {}  PASS  {}  {secs:.1} s",
            u.slot,
            u.device_id.as_deref().unwrap_or("?")
        ),
        Some(code) => println!(
            "slot {}  FAIL  {code}  {}  {secs:.1} s",
            u.slot,
            u.reason.as_deref().unwrap_or("")
        ),
    }
}
