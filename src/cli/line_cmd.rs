//! `flashline line report|device-ids|push`: the line's records across stations, from the line's
//! PostgreSQL or from one station's SQLite, through one report (`line::Report`).

use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use crate::line::{parse_since, Group, Report, Source};
use crate::replica::{Step, Worker};

#[derive(Subcommand)]
pub enum LineCommand {
    /// Per station and per bundle: units, pass, fail, first-pass yield, retests, units per
    /// hour, failures by operator code, the slowest stage
    Report {
        #[command(flatten)]
        from: From,
        #[arg(long)]
        json: bool,
    },
    /// The device IDs that passed, once each, across the line (for Particle's product import)
    DeviceIds {
        #[command(flatten)]
        from: From,
        /// Only devices with a passing unit (the only list there is; said for clarity)
        #[arg(long, required = true)]
        passed: bool,
        /// Write the list here instead of printing it
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// Send this station's records that the line database has not confirmed, now, and exit
    /// (what a running station does by itself)
    Push {
        /// The station's records (default: the station's, or the simulator's)
        #[arg(long)]
        records: Option<PathBuf>,
        #[arg(long, value_name = "URL")]
        line_db: String,
        /// Records per transaction
        #[arg(long, default_value_t = crate::replica::BATCH, hide = true)]
        batch: usize,
    },
}

#[derive(clap::Args)]
pub struct From {
    /// The line's PostgreSQL, e.g. postgresql://flashline@db/line
    #[arg(long, value_name = "URL", conflicts_with = "records")]
    line_db: Option<String>,
    /// One station's records instead (default: this station's, or the simulator's)
    #[arg(long)]
    records: Option<PathBuf>,
    /// Only units since a date or time (2026-11-26, 2026-11-26T06:00) or a span back (8h, 2days)
    #[arg(long)]
    since: Option<String>,
}

impl From {
    fn load(&self) -> Result<(Source, Option<String>, Vec<crate::records::Record>)> {
        let source = match (&self.line_db, &self.records) {
            (Some(url), _) => Source::Postgres(url.clone()),
            (None, Some(path)) => Source::Sqlite(path.clone()),
            (None, None) => Source::Sqlite(super::records_cmd::default_path()),
        };
        let since = self
            .since
            .as_deref()
            .map(|s| parse_since(s, SystemTime::now()))
            .transpose()
            .map_err(anyhow::Error::msg)?;
        let rows = source
            .load(since.as_deref())
            .with_context(|| format!("reading {}", source.describe()))?;
        Ok((source, since, rows))
    }
}

pub fn run(cmd: LineCommand) -> Result<ExitCode> {
    match cmd {
        LineCommand::Report { from, json } => {
            let (source, since, rows) = from.load()?;
            let report = Report::of(&rows, &source.describe(), since.as_deref());
            if json {
                super::print_json(&report)?;
            } else {
                print_report(&report);
            }
        }
        LineCommand::DeviceIds { from, output, .. } => {
            let (_, _, rows) = from.load()?;
            let ids = crate::records::device_ids(&rows);
            match output {
                Some(path) => {
                    crate::core::atomic_file::write(&path, ids.as_bytes())
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("{} device ID(s) -> {}", ids.lines().count(), path.display());
                }
                None => print!("{ids}"),
            }
        }
        LineCommand::Push {
            records,
            line_db,
            batch,
        } => return push(records, &line_db, batch),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &Report) {
    println!(
        "line report: {} station(s), {} unit(s), from {}{}",
        r.stations.len(),
        r.line.units,
        r.source,
        r.since
            .as_deref()
            .map(|s| format!(" since {s}"))
            .unwrap_or_default()
    );
    for (title, groups) in [("station", &r.stations), ("bundle", &r.bundles)] {
        println!();
        println!(
            "{title:<22} {:>6} {:>5} {:>5} {:>7} {:>7} {:>8}  {:<16} top failures",
            "units", "pass", "fail", "FPY", "retests", "units/h", "slowest stage"
        );
        for g in groups.iter().chain(std::iter::once(&r.line)) {
            print_group(g);
        }
    }
    println!();
    println!("failures by code (line)");
    for c in &r.line.pareto {
        println!(
            "  {:<18} {:>5}  {:>5.1}%  cumulative {:>5.1}%",
            c.code, c.count, c.percent, c.cumulative_percent
        );
    }
    if r.line.pareto.is_empty() {
        println!("  none");
    }
}

fn print_group(g: &Group) {
    let fpy = g
        .first_pass_yield
        .map_or("-".into(), |p| format!("{p:.1}%"));
    let uph = g.units_per_hour.map_or("-".into(), |u| format!("{u:.1}"));
    let slowest = g.slowest_stage.as_ref().map_or("-".into(), |s| {
        format!("{} {:.1} s", s.stage, s.mean_ms as f64 / 1000.0)
    });
    let top: Vec<String> = g
        .pareto
        .iter()
        .take(3)
        .map(|c| format!("{} {}", c.code, c.count))
        .collect();
    println!(
        "{:<22} {:>6} {:>5} {:>5} {:>7} {:>7} {:>8}  {:<16} {}",
        g.key,
        g.units,
        g.pass,
        g.fail,
        fpy,
        g.retests,
        uph,
        slowest,
        top.join(", ")
    );
}

/// The replication worker in the foreground until nothing is left, or the server fails.
fn push(records: Option<PathBuf>, url: &str, batch: usize) -> Result<ExitCode> {
    let path = super::records_cmd::existing_path(&records)?;
    let store = open_store(url)?;
    let target = crate::replica::target_of(url);
    let mut worker =
        Worker::new(store, crate::records::Records::open(&path)?, &target).with_batch(batch);
    let status = worker.status();
    let backlog =
        |s: &crate::replica::SharedStatus| s.lock().unwrap_or_else(|p| p.into_inner()).clone();
    eprintln!("{} unit(s) to send to {target}", backlog(&status).backlog);
    loop {
        match worker.step(std::time::Duration::ZERO) {
            Step::Sent(_) => {
                let s = backlog(&status);
                eprintln!("sent {} ({} left)", s.sent, s.backlog);
            }
            Step::Idle => break,
            Step::Failed | Step::Waiting => {
                let s = backlog(&status);
                bail!(
                    "{}; {} unit(s) sent, {} kept on this station",
                    s.error.unwrap_or_default(),
                    s.sent,
                    s.backlog
                );
            }
        }
    }
    let s = backlog(&status);
    println!("{} unit(s) sent to {target}; {} waiting", s.sent, s.backlog);
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "postgres")]
fn open_store(url: &str) -> Result<Box<dyn crate::replica::ReplicaStore>> {
    Ok(Box::new(crate::replica::pg::PgStore::new(url)?))
}

#[cfg(not(feature = "postgres"))]
fn open_store(_url: &str) -> Result<Box<dyn crate::replica::ReplicaStore>> {
    bail!(crate::replica::NO_POSTGRES)
}
