//! What every `run --sim` shares, scripted, demo or interactive: the bundle, the simulated
//! slots (from the script, `--config` or `--slots`), the station, the records and the stick.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::bundle_arg::{load_bundle, EXAMPLE_BUNDLE};
use super::run_args::Args;
use super::trace_setup::Sections;
use crate::core::bundle::Bundle;
use crate::core::config::StationConfig;
use crate::core::lights::DEFAULT_BUZZ;
use crate::core::station::Input;
use crate::core::station::{Station, StationOptions};
use crate::core::ui::BundleLabel;
use crate::ports::clock::SystemClock;
use crate::ports::Clock;
use crate::records::{Context as RecordContext, RecordWriter};
use crate::replica::Replica;
use crate::runtime::labels::Labels;
use crate::runtime::script::Script;
use crate::runtime::sim_world::{SimSlot, SimWorld};
use crate::runtime::{DebouncedInputs, Edges, Lights, Runtime, Spawner, StickSetup};
use crate::sim::{Fault, SimBoardSpec};
use std::sync::mpsc::{Receiver, Sender};

pub struct SimSetup {
    pub bundle: Bundle,
    pub slots: Vec<SimSlot>,
    pub station: Station,
    pub records: (RecordWriter, RecordContext),
    /// Where this run's records are, and whether they start from nothing (no `--records`).
    pub records_path: PathBuf,
    pub fresh_records: bool,
    pub stick: Option<StickSetup>,
    pub buzz: Duration,
    /// The events to play (the demo's without `--script`); unused at a terminal.
    pub script: Script,
    /// Replication and the status page (`--line-db`, `--dashboard`).
    pub edges: Edges,
    pub replica: Option<Replica>,
    /// This station's boards differ from another simulated station's (`--station`).
    pub seed_base: u64,
    /// The simulated scanner's lines and the label printer's notices, for the main loop.
    pub scans: (Sender<Input>, Receiver<Input>),
    /// `--config`'s `[label] printer`, started.
    pub labels: Option<Labels>,
}

pub fn setup(args: &Args) -> Result<SimSetup> {
    // A whole station.toml gives the slots too; a file of only `[trace]` and `[label]` is
    // enough for scans and labels.
    let (config, sections) = match &args.config {
        Some(path) => {
            let sections = Sections::load(path)?;
            let station = match sections.whole_station {
                true => Some(StationConfig::load(path)?),
                false => None,
            };
            (station, sections)
        }
        None => (None, Sections::default()),
    };
    let config_slots: Vec<String> = config
        .iter()
        .flat_map(|c| c.slots.iter().map(|s| s.name.clone()))
        .collect();
    let mut script = match &args.script {
        Some(path) => Script::load_with_slots(path, &config_slots)?,
        None => Script::demo(),
    };
    let names = slot_names(args, config.as_ref(), &script)?;
    if args.script.is_none() || script.default_slot {
        script.slots = names
            .iter()
            .map(crate::runtime::script::ScriptSlot::named)
            .collect();
        if args.script.is_none() {
            // The demo's events go to the first slot, however many there are.
            for e in &mut script.events {
                e.slot = names.first().cloned();
            }
        }
        script.check().map_err(anyhow::Error::msg)?;
    }
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
            super::sim_faults::check(&faults, &bundle, true)
                .map_err(|e| e.context(format!("slot {}", s.name)))?;
            let preload = match &s.preload {
                Some(dir) => load_bundle(dir)?.parsed_modules(),
                None => Vec::new(),
            };
            // A slot's boards: its `board` spec, else a board of the bundle's platform.
            let board = match &s.board {
                Some(text) => SimBoardSpec::parse(text)
                    .map_err(|e| anyhow::anyhow!("slot {}: {e}", s.name))?,
                None => SimBoardSpec::of(bundle.platform),
            };
            Ok(SimSlot::new(&s.name, faults, preload)
                .with_probe(s.probe.clone())
                .with_board(board))
        })
        .collect::<Result<Vec<_>>>()?;
    let fresh_records = args.records.is_none();
    let records_path = match &args.records {
        Some(path) => path.clone(),
        None => fresh_sim_records()?,
    };
    let station_name = match &args.edges.station {
        Some(name) => name.clone(),
        None => config.as_ref().map_or("sim".into(), |c| c.station.clone()),
    };
    crate::core::config::check_station_name(&station_name).map_err(anyhow::Error::msg)?;
    let stick = match (&args.stick, &args.pubkey) {
        (Some(mount), Some(pubkey)) => Some(StickSetup {
            mount: mount.clone(),
            pubkey: pubkey.clone(),
            bundles: super::records_cmd::sim_path().with_file_name("sim-bundles"),
            records: records_path.clone(),
            station: station_name.clone(),
        }),
        (None, None) => None,
        _ => bail!("--stick DIR and --pubkey FILE go together"),
    };
    let (mut writer, ctx, counters) =
        super::records_cmd::open_for_run(&records_path, &station_name, Some(&bundle))?;
    let started = super::edges::start(
        &super::edges::EdgeConfig {
            station: &station_name,
            records: &records_path,
            // `--config` brings its [line] and [dashboard] along, as on the station.
            line_db: args
                .edges
                .line_db
                .as_deref()
                .or(config.as_ref().and_then(|c| c.line.database.as_deref())),
            dashboard: args
                .edges
                .dashboard
                .as_deref()
                .or(config.as_ref().and_then(|c| c.dashboard.listen.as_deref())),
            token_file: args.edges.token_file.as_ref().or(config
                .as_ref()
                .and_then(|c| c.dashboard.token_file.as_ref())),
        },
        &mut writer,
    );
    let options = config
        .as_ref()
        .map_or(StationOptions::default(), StationConfig::options);
    let mut station = Station::new(
        &slots.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        options,
        Some(BundleLabel::from(&bundle)),
    );
    station.set_counters(counters);
    // Scans (the simulated scanner) and label notices reach the main loop on one channel.
    let scans = std::sync::mpsc::channel();
    let labels = sections.start(
        &mut station,
        Some(&bundle),
        Arc::new(SystemClock::default()),
        &mut writer,
        &scans.0,
    )?;
    let buzz = config
        .as_ref()
        .map_or(DEFAULT_BUZZ, |c| Duration::from_millis(c.lights.buzzer_ms));
    Ok(SimSetup {
        bundle,
        slots,
        station,
        records: (writer, ctx),
        records_path,
        fresh_records,
        stick,
        buzz,
        script,
        edges: started.edges,
        replica: started.replica,
        seed_base: seed_base(&station_name),
        scans,
        labels,
    })
}

/// Each simulated station seats its own boards: seeds from its name (FNV-1a), so two stations
/// on one line database never report the same device IDs. The default `sim` keeps seed 0.
fn seed_base(station: &str) -> u64 {
    if station == "sim" {
        return 0;
    }
    station.bytes().fold(0xcbf2_9ce4_8422_2325, |h: u64, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) << 20
}

/// A simulated station ready to run, and what the caller still needs of its setup.
pub struct SimRun {
    pub runtime: Runtime,
    pub world: SimWorld,
    pub script: Script,
    pub records_path: PathBuf,
    pub fresh_records: bool,
    /// Stopped after the run: what is left goes to the line database for a few seconds more.
    pub replica: Option<Replica>,
}

/// The simulator's debounce, as a station's default.
pub const DEBOUNCE: Duration = Duration::from_millis(30);

impl SimSetup {
    /// The station on simulated boards, on `clock`, with jobs started by `spawner`.
    pub fn into_run(
        self,
        clock: Arc<dyn Clock>,
        spawner: Box<dyn Spawner>,
        tick: Duration,
    ) -> SimRun {
        let world = SimWorld::new(clock.clone(), self.slots)
            .with_test_firmware(self.bundle.test_firmware().cloned())
            .with_seed_base(self.seed_base)
            .with_scanner(self.scans.0);
        let runtime = Runtime {
            clock,
            spawner,
            inputs: DebouncedInputs::new(world.inputs(), DEBOUNCE).with_edges(self.scans.1),
            display: None,
            boards: Box::new(world.board_access()),
            station: self.station,
            bundle: Some(Arc::new(self.bundle)),
            tick,
            records: Some(self.records),
            stick: self.stick,
            lights: Lights::new(self.buzz, None),
            edges: self.edges,
            labels: self.labels,
        };
        SimRun {
            runtime,
            world,
            script: self.script,
            records_path: self.records_path,
            fresh_records: self.fresh_records,
            replica: self.replica,
        }
    }
}

/// The slots to simulate: a script's own, else station.toml's, else `--slots N` (A, B, …),
/// else one.
fn slot_names(args: &Args, config: Option<&StationConfig>, script: &Script) -> Result<Vec<String>> {
    let scripted = args.script.is_some() && !script.default_slot;
    let from_config: Option<Vec<String>> =
        config.map(|c| c.slots.iter().map(|s| s.name.clone()).collect());
    let script_names: Vec<String> = script.slots.iter().map(|s| s.name.clone()).collect();
    match (scripted, from_config, args.slots) {
        (true, Some(c), _) if c != script_names => bail!(
            "the script's slots ({}) and --config's ({}) differ: name the slots in one place",
            script_names.join(", "),
            c.join(", ")
        ),
        (true, _, Some(_)) => bail!("--slots: the script names its own slots"),
        (true, _, None) => Ok(script_names),
        (false, Some(_), Some(_)) => bail!("--slots: --config names the slots already"),
        (false, Some(c), None) => Ok(c),
        (false, None, Some(n)) => Ok((0..n).map(|i| ((b'A' + i) as char).to_string()).collect()),
        // The demo plays on one slot; at a terminal one slot too, unless told otherwise.
        (false, None, None) => Ok(vec!["A".into()]),
    }
}

/// The simulator's records for this run alone: a new user's first screen counts from zero,
/// not from every earlier run on the machine (`--records FILE` keeps a database instead).
fn fresh_sim_records() -> Result<PathBuf> {
    let path = super::records_cmd::sim_path();
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("starting fresh records {}", file.display()))
            }
        }
    }
    Ok(path)
}

/// The sentence said when a simulated run ends.
pub fn records_note(path: &Path, fresh: bool) -> String {
    match fresh {
        true => format!(
            "records of this run: {} (`flashline records list` shows them; the next \
             `run --sim` starts afresh unless given --records FILE)",
            path.display()
        ),
        false => format!("records: {}", path.display()),
    }
}
