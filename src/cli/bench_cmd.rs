//! `flashline bench --sim`: throughput across slots on simulated boards in scaled real time
//! (host concurrency is real), measured in one run and printed as ratios.

use anyhow::{bail, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::bundle_arg::{load_bundle, EXAMPLE_BUNDLE};
use crate::core::bundle::Bundle;
use crate::core::unit::{Outcome, UnitRecord};
use crate::ports::Clock;
use crate::runtime::{Job, JobMsg};
use crate::sim::clock::ScaledClock;
use crate::sim::serial::SimSerialPorts;
use crate::sim::{SimArgon, SimBus, VirtualClock};

#[derive(clap::Args)]
pub struct Args {
    /// Simulated boards (the only kind a benchmark can use here)
    #[arg(long, conflicts_with = "vs_cli")]
    sim: bool,
    /// The seed's workflow against flashline's: one `particle flash --local` per module, then
    /// one `flashline flash`, each on a blank board on the emulated USB bus (needs umockdev
    /// and particle-cli); prints both times and the ratio
    #[arg(long)]
    vs_cli: bool,
    /// With --vs-cli: the particle-cli program
    #[arg(long, default_value = "particle", requires = "vs_cli")]
    particle: PathBuf,
    #[arg(long, default_value = EXAMPLE_BUNDLE)]
    bundle: PathBuf,
    /// Slot counts to compare, e.g. 1,2,4,8
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    slots: Vec<usize>,
    /// Units each slot flashes and tests in a row
    #[arg(long, default_value_t = 3)]
    units: usize,
    /// How much faster than real time the simulated boards run (default 20; with --vs-cli 1,
    /// since the programs' own waits are real time)
    #[arg(long)]
    speedup: Option<f64>,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Row {
    slots: usize,
    units: usize,
    wall_s: f64,
    units_per_hour: f64,
    vs_one_slot: f64,
    cpu_ms_per_unit: f64,
    cpu_percent_per_slot: f64,
    failed: usize,
}

#[derive(Serialize)]
struct Report {
    speedup: f64,
    rows: Vec<Row>,
    host_overhead_ratio: f64,
    unit_seconds_modeled: f64,
    /// The same unit on a slot with a debug probe, for a board with no bootloader.
    swd_unit_seconds_modeled: f64,
    peak_rss_mib: f64,
    goals: Vec<Goal>,
}

#[derive(Serialize)]
struct Goal {
    what: String,
    measured: String,
    met: bool,
}

pub fn run(mut args: Args) -> Result<ExitCode> {
    if args.vs_cli {
        let speedup = args.speedup.unwrap_or(1.0);
        if !(1.0..=200.0).contains(&speedup) {
            bail!("--speedup 1..200");
        }
        let bundle = load_bundle(&args.bundle)?;
        return super::bench_vs_cli::run(&bundle, &args.particle, speedup, args.json);
    }
    if !args.sim {
        bail!("bench needs --sim (or --vs-cli): it measures the station against simulated boards");
    }
    let speedup = *args.speedup.get_or_insert(20.0);
    if args.slots.is_empty() || args.slots.contains(&0) {
        bail!("--slots: slot counts from 1, e.g. --slots 1,2,4,8");
    }
    if args.units == 0 || !(1.0..=200.0).contains(&speedup) {
        bail!("--units > 0 and --speedup 1..200");
    }
    let bundle = Arc::new(load_bundle(&args.bundle)?);
    let (overhead, unit_s) = virtual_overhead(&bundle, false);
    let (_, swd_unit_s) = virtual_overhead(&bundle, true);
    let mut rows: Vec<Row> = Vec::new();
    for &slots in &args.slots {
        let cpu0 = cpu_time();
        let started = Instant::now();
        let units = run_slots(&bundle, slots, args.units, speedup);
        let wall = started.elapsed().as_secs_f64();
        let cpu = (cpu_time() - cpu0).as_secs_f64();
        let n = units.len();
        let per_hour = n as f64 / (wall * speedup) * 3600.0;
        let base = rows
            .iter()
            .find(|r| r.slots == 1)
            .map_or(per_hour / slots as f64, |r| r.units_per_hour);
        rows.push(Row {
            slots,
            units: n,
            wall_s: wall,
            units_per_hour: per_hour,
            vs_one_slot: per_hour / base,
            cpu_ms_per_unit: cpu * 1000.0 / n.max(1) as f64,
            // Host CPU per slot as a share of one core over modeled time (what a real station sees).
            cpu_percent_per_slot: cpu / (wall * speedup) / slots as f64 * 100.0,
            failed: units.iter().filter(|u| u.outcome == Outcome::Fail).count(),
        });
    }
    let rss = peak_rss_mib();
    let mut goals = vec![Goal {
        what: "host overhead on the virtual clock <= 1.05".into(),
        measured: format!("{overhead:.3}"),
        met: overhead <= 1.05,
    }];
    if let Some(r8) = rows.iter().find(|r| r.slots == 8) {
        goals.push(Goal {
            what: "8 slots >= 7.2x one slot".into(),
            measured: format!("{:.2}x", r8.vs_one_slot),
            met: r8.vs_one_slot >= 7.2,
        });
    }
    let worst_cpu = rows
        .iter()
        .map(|r| r.cpu_percent_per_slot)
        .fold(0.0, f64::max);
    goals.push(Goal {
        what: "host CPU per slot < 5% of a core".into(),
        measured: format!("{worst_cpu:.2}%"),
        met: worst_cpu < 5.0,
    });
    goals.push(Goal {
        what: "peak RSS < 50 MiB".into(),
        measured: format!("{rss:.1} MiB"),
        met: rss < 50.0,
    });
    let report = Report {
        speedup,
        rows,
        host_overhead_ratio: overhead,
        unit_seconds_modeled: unit_s,
        swd_unit_seconds_modeled: swd_unit_s,
        peak_rss_mib: rss,
        goals,
    };
    if args.json {
        super::print_json(&report)?;
    } else {
        print(&report);
    }
    Ok(gate(&report.goals))
}

/// A benchmark is a gate: a goal not met fails it (non-zero exit, said on stderr).
fn gate(goals: &[Goal]) -> ExitCode {
    let missed = goals.iter().filter(|g| !g.met).count();
    if missed == 0 {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {missed} goal(s) NOT MET");
    ExitCode::FAILURE
}

/// One unit (flash, test, final) on the virtual clock: elapsed over the board's own time, and
/// the elapsed seconds. `by_probe`: a board without bootloader on a slot with a debug probe.
fn virtual_overhead(bundle: &Arc<Bundle>, by_probe: bool) -> (f64, f64) {
    let clock = VirtualClock::new();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let faults = match by_probe {
        true => vec![crate::sim::Fault::NoBootloader],
        false => vec![],
    };
    let board = SimArgon::blank(shared.clone(), "bench", 1, faults);
    if let Some(m) = bundle.test_firmware() {
        board.set_test_firmware(m);
    }
    let probe = by_probe.then(|| {
        Box::new(crate::sim::swd::SimProbe::new(
            "bench",
            Some(board.clone()),
            false,
        )) as Box<dyn crate::ports::SwdProbe>
    });
    let unit = run_unit(bundle, &board, shared, probe);
    if unit.outcome == Outcome::Fail {
        log::warn!("bench: the reference unit failed: {:?}", unit.code);
    }
    let busy = board.stats().device_busy.as_secs_f64();
    let total = unit.duration_ms as f64 / 1000.0;
    (total / busy.max(1e-9), total)
}

fn run_slots(bundle: &Arc<Bundle>, slots: usize, units: usize, speedup: f64) -> Vec<UnitRecord> {
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(speedup));
    let threads: Vec<_> = (0..slots)
        .map(|s| {
            let (bundle, clock) = (bundle.clone(), clock.clone());
            std::thread::spawn(move || {
                (0..units)
                    .map(|u| {
                        let board = SimArgon::blank(
                            clock.clone(),
                            &format!("bench-{s}"),
                            (s * 1000 + u) as u64,
                            vec![],
                        );
                        if let Some(m) = bundle.test_firmware() {
                            board.set_test_firmware(m);
                        }
                        run_unit(&bundle, &board, clock.clone(), None)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap_or_default())
        .collect()
}

/// The station's own job: flash (by DFU, or by SWD with a probe), tests, final stage.
fn run_unit(
    bundle: &Arc<Bundle>,
    board: &SimArgon,
    clock: Arc<dyn Clock>,
    probe: Option<Box<dyn crate::ports::SwdProbe>>,
) -> UnitRecord {
    let (tx, rx) = channel();
    let job = Job {
        slot: 0,
        slot_name: "bench".into(),
        bus: Box::new(SimBus::new(vec![board.clone()])),
        serial: Box::new(SimSerialPorts::new(vec![board.clone()])),
        // A probe slot finds its board on USB by the device ID it reads.
        port: probe.is_none().then(|| board.port()),
        probe,
        bundle: bundle.clone(),
        clock,
        cancel: Arc::new(AtomicBool::new(false)),
        messages: tx,
        tested_before: None,
        dfu_serial: None,
        start: Default::default(),
        identity: None,
    };
    job.run();
    rx.try_iter()
        .find_map(|m| match m {
            JobMsg::Done(_, u) => Some(*u),
            JobMsg::Update(..) => None,
        })
        // A job always sends its unit; one that did not has not passed.
        .unwrap_or_else(|| UnitRecord::new("bench"))
}

fn print(r: &Report) {
    println!("speedup x{} (simulated boards, scaled real time); one unit = flash + tests + final = {:.1} s modeled", r.speedup, r.unit_seconds_modeled);
    println!(
        "{:>5} {:>6} {:>8} {:>11} {:>10} {:>12} {:>11} {:>6}",
        "slots",
        "units",
        "wall s",
        "units/hour",
        "vs 1 slot",
        "cpu ms/unit",
        "cpu %/slot",
        "failed"
    );
    for row in &r.rows {
        println!(
            "{:>5} {:>6} {:>8.2} {:>11.0} {:>9.2}x {:>12.1} {:>11.3} {:>6}",
            row.slots,
            row.units,
            row.wall_s,
            row.units_per_hour,
            row.vs_one_slot,
            row.cpu_ms_per_unit,
            row.cpu_percent_per_slot,
            row.failed
        );
    }
    println!(
        "host overhead ratio on the virtual clock: {:.3}",
        r.host_overhead_ratio
    );
    println!(
        "SWD slot, board without bootloader: {:.1} s per unit, {:.2}x the DFU unit",
        r.swd_unit_seconds_modeled,
        r.swd_unit_seconds_modeled / r.unit_seconds_modeled.max(1e-9)
    );
    println!("peak RSS: {:.1} MiB", r.peak_rss_mib);
    for g in &r.goals {
        println!(
            "{}  {} (measured {})",
            if g.met { "met   " } else { "NOT MET" },
            g.what,
            g.measured
        );
    }
}

/// This process's user + system CPU time.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct we pass, which is zero-initialised and owned here.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer to a rusage struct, as the man page requires.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Peak resident memory (VmHWM) in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal(met: bool) -> Goal {
        Goal {
            what: "x".into(),
            measured: "y".into(),
            met,
        }
    }

    #[test]
    fn one_goal_not_met_fails_the_benchmark() {
        assert_eq!(gate(&[goal(true), goal(true)]), ExitCode::SUCCESS);
        assert_eq!(gate(&[goal(true), goal(false)]), ExitCode::FAILURE);
    }
}
