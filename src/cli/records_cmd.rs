//! `flashline records list|export`, and opening the records for `run`.

use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::core::atomic_file;
use crate::core::bundle::Bundle;
use crate::core::ui::Counters;
use crate::core::unit::{Outcome, UnitRecord};
use crate::records::{self, Context, Filter, RecordWriter, Records};

#[derive(Subcommand)]
pub enum RecordsCommand {
    /// List unit records
    List {
        #[command(flatten)]
        select: Select,
        #[arg(long)]
        json: bool,
    },
    /// Write records to a file: CSV (spreadsheets), JSON, or the passed device IDs
    Export {
        #[command(flatten)]
        select: Select,
        #[arg(long, group = "format")]
        csv: bool,
        #[arg(long, group = "format")]
        json: bool,
        /// One device ID per line, of units that passed (for Particle's product import)
        #[arg(long, group = "format")]
        device_ids: bool,
        /// The file to write (`-`: standard output)
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
    /// The device history record of a work order (JSON, CSV or printable HTML)
    Dhr(super::records_trace_cmd::DhrArgs),
    /// Check the records' hash chain; exits non-zero where it is broken
    Verify(super::records_trace_cmd::VerifyArgs),
    /// Print a passed unit's label again
    Reprint(super::records_trace_cmd::ReprintArgs),
    /// Test hook for the power-cut tests: writes COUNT synthetic units, printing each id once
    /// it is committed
    #[command(hide = true)]
    Stress {
        #[arg(long)]
        records: PathBuf,
        #[arg(long, default_value_t = 1000)]
        count: u32,
    },
}

#[derive(clap::Args)]
pub struct Select {
    /// The records database (default: the station's, or the simulator's)
    #[arg(long)]
    records: Option<PathBuf>,
    /// Only units since this UTC date or time (2026-11-26, 2026-11-26T08:00:00Z)
    #[arg(long)]
    since: Option<String>,
    /// Only this device
    #[arg(long)]
    device: Option<String>,
}

pub fn run(cmd: RecordsCommand) -> Result<ExitCode> {
    match cmd {
        RecordsCommand::List { select, json } => {
            let list = load(&select)?;
            if json {
                super::print_json(&list)?;
                return Ok(ExitCode::SUCCESS);
            }
            if list.is_empty() && select.since.is_none() && select.device.is_none() {
                println!("no records yet");
                return Ok(ExitCode::SUCCESS);
            }
            print!("{}", list_lines(&list));
            println!("{} record(s)", list.len());
            Ok(ExitCode::SUCCESS)
        }
        RecordsCommand::Dhr(args) => super::records_trace_cmd::dhr(args),
        RecordsCommand::Verify(args) => super::records_trace_cmd::verify(args),
        RecordsCommand::Reprint(args) => super::records_trace_cmd::reprint(args),
        RecordsCommand::Stress {
            records: path,
            count,
        } => stress(&path, count),
        RecordsCommand::Export {
            select,
            csv,
            json,
            device_ids,
            output,
        } => {
            let list = load(&select)?;
            let text = match (csv, json, device_ids) {
                (_, true, _) => serde_json::to_string_pretty(&list)?,
                (_, _, true) => records::device_ids(&list),
                (true, _, _) => records::to_csv(&list),
                _ => bail!("choose --csv, --json or --device-ids"),
            };
            if output == Path::new("-") {
                use std::io::Write;
                let _ = std::io::stdout().write_all(text.as_bytes());
                eprintln!("{} record(s)", list.len());
                return Ok(ExitCode::SUCCESS);
            }
            atomic_file::write(&output, text.as_bytes())
                .with_context(|| format!("writing {}", output.display()))?;
            println!("{} record(s) -> {}", list.len(), output.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One line per record, columns aligned; the serial's column (as wide as the longest) only
/// when a record has one, so a station without traceability lists as it always did.
fn list_lines(list: &[records::Record]) -> String {
    let serial_width = list
        .iter()
        .filter_map(|r| r.serial.as_deref())
        .map(|s| s.chars().count())
        .max();
    let mut out = String::new();
    for r in list {
        let serial = match serial_width {
            Some(w) => format!("{:<w$} ", r.serial.as_deref().unwrap_or("-")),
            None => String::new(),
        };
        out.push_str(&format!(
            "{}  {:<6} {:<3} {:<24} {serial}{:<4} {:<15} {:>6} ms  {} {}\n",
            r.time_utc,
            r.station,
            r.slot,
            r.device_id.as_deref().unwrap_or("-"),
            r.outcome.to_uppercase(),
            r.code.as_deref().unwrap_or(""),
            r.duration_ms,
            r.bundle_name.as_deref().unwrap_or(""),
            r.bundle_version.as_deref().unwrap_or("")
        ));
    }
    out
}

fn load(select: &Select) -> Result<Vec<records::Record>> {
    let since = select.since.as_deref().map(since_time).transpose()?;
    let path = existing_path(&select.records)?;
    let store = Records::open(&path)?;
    Ok(store.list(&Filter {
        since,
        device_id: select.device.clone(),
        ..Filter::default()
    })?)
}

/// The records database to read: `--records`, else the station's default. Checked before it
/// is opened, as opening would create an empty one. A path given that is not there is a
/// mistyped path or an unmounted stick, not an empty shift.
pub(super) fn existing_path(given: &Option<PathBuf>) -> Result<PathBuf> {
    let path = given.clone().unwrap_or_else(default_path);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => bail!("{}: a directory, not a records database", path.display()),
        Ok(_) => Ok(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match given {
            Some(_) => bail!("{}: no such records database", path.display()),
            None => bail!("{}: no records yet (give --records FILE)", path.display()),
        },
        // Not "no records yet": the records may well be there, for another user.
        Err(e) => Err(e).with_context(|| path.display().to_string()),
    }
}

/// `--since`: a UTC date (`2026-11-26`) or time (`2026-11-26T08:00:00Z`), as the records
/// write it, so comparing the text compares the times.
fn since_time(text: &str) -> Result<String> {
    let full = match text.len() {
        10 => format!("{text}T00:00:00Z"),
        _ => text.to_string(),
    };
    match humantime::parse_rfc3339_weak(&full) {
        Ok(t) if text.len() == 10 => Ok(humantime::format_rfc3339(t).to_string()[..10].into()),
        Ok(t) => Ok(humantime::format_rfc3339_millis(t).to_string()),
        Err(_) => {
            bail!("--since `{text}`: not a UTC date (2026-11-26) or time (2026-11-26T08:00:00Z)")
        }
    }
}

/// The station's database if this is a station, else the simulator's in the user's data dir.
pub fn default_path() -> PathBuf {
    let station = crate::core::config::StationConfig::load(&crate::core::config::default_path());
    match station {
        Ok(c) => c.paths.records,
        Err(_) => sim_path(),
    }
}

/// Where `run --sim` keeps its records, so a simulated shift leaves real records to export.
pub fn sim_path() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    data.join("flashline").join("sim-records.db")
}

/// The writer for `run`, and today's counters for the active bundle from what is recorded.
pub fn open_for_run(
    path: &Path,
    station: &str,
    bundle: Option<&Bundle>,
) -> Result<(RecordWriter, Context, Counters)> {
    let ctx = Context {
        station: station.into(),
        bundle_name: bundle.map(|b| b.name.clone()),
        bundle_version: bundle.map(|b| b.version.clone()),
        lock_hash: bundle.map(|b| b.lock_hash.clone()),
    };
    let today: String = records::now_utc().chars().take(10).collect();
    let counters = match bundle {
        Some(b) => {
            let (pass, fail) = Records::open(path)?.counts(&b.lock_hash, &today)?;
            Counters { pass, fail }
        }
        None => Counters::default(),
    };
    let writer = RecordWriter::start(path.to_path_buf())
        .with_context(|| format!("opening records {}", path.display()))?;
    Ok((writer, ctx, counters))
}

fn stress(path: &Path, count: u32) -> Result<ExitCode> {
    use std::io::Write;
    let mut store = Records::open(path)?;
    let ctx = Context {
        station: "stress".into(),
        ..Context::default()
    };
    let mut out = std::io::stdout().lock();
    for i in 0..count {
        let unit = UnitRecord {
            device_id: Some(format!("e00fce68{i:016x}")),
            outcome: Outcome::Pass,
            duration_ms: u64::from(i),
            ..UnitRecord::new("A")
        };
        let id = store.insert(&ctx, &records::now_utc(), &unit)?;
        writeln!(out, "committed {id}")?;
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
