//! `flashline records dhr|verify|reprint`: the device history record of a work order, the
//! records' hash chain checked, and a label printed again from a record.

use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::trace_setup::Sections;
use crate::core::atomic_file;
use crate::core::label::{LabelFields, PrinterAddr};
use crate::records::{self, Dhr, Filter, Records};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum DhrFormat {
    Json,
    Csv,
    Html,
}

#[derive(clap::Args)]
pub struct DhrArgs {
    #[arg(long)]
    work_order: String,
    #[arg(long, value_enum, default_value = "json")]
    format: DhrFormat,
    /// Write to this file (default: standard output)
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    #[arg(long)]
    records: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[arg(long)]
    records: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ReprintArgs {
    /// The unit's record id (`records list`)
    #[arg(long, conflicts_with = "serial", required_unless_present = "serial")]
    id: Option<i64>,
    /// The unit's serial: its last passed record
    #[arg(long)]
    serial: Option<String>,
    /// Printer and template from this file's [label] (default: the station's)
    #[arg(long)]
    config: Option<PathBuf>,
    /// `tcp://host:9100` or `/dev/usb/lp0`, instead of the config's
    #[arg(long)]
    printer: Option<String>,
    /// Write the label's ZPL to this file instead of printing it
    #[arg(long, conflicts_with = "printer")]
    zpl: Option<PathBuf>,
    #[arg(long)]
    records: Option<PathBuf>,
}

fn open(records: &Option<PathBuf>) -> Result<Records> {
    let path = super::records_cmd::existing_path(records)?;
    Ok(Records::open(&path)?)
}

pub fn dhr(args: DhrArgs) -> Result<ExitCode> {
    let store = open(&args.records)?;
    let list = store.list(&Filter {
        work_order: Some(args.work_order.clone()),
        ..Filter::default()
    })?;
    if list.is_empty() {
        bail!("work order {}: no units recorded", args.work_order);
    }
    let chain = store.verify_chain()?;
    let intact = chain.intact();
    let doc = Dhr::new(&args.work_order, &list, chain, records::now_utc());
    let text = match args.format {
        DhrFormat::Json => serde_json::to_string_pretty(&doc)? + "\n",
        DhrFormat::Csv => doc.to_csv(),
        DhrFormat::Html => doc.to_html(),
    };
    match &args.output {
        Some(path) => {
            atomic_file::write(path, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "work order {}: {} attempt(s), {} unit(s) passed -> {}",
                args.work_order,
                doc.summary.attempts,
                doc.summary.passed,
                path.display()
            );
        }
        None => print!("{text}"),
    }
    if !intact {
        eprintln!("{}", records::chain_line(&doc.chain));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let v = open(&args.records)?.verify_chain()?;
    if args.json {
        super::print_json(&v)?;
    } else {
        for b in &v.breaks {
            println!("record {}: {}", b.id, b.problem);
        }
        match v.breaks.first() {
            // Each break is on its own line above: the verdict counts them, not repeats them.
            Some(first) => println!(
                "HASH CHAIN BROKEN: {} break(s), the first at record {}",
                v.breaks.len(),
                first.id
            ),
            None => println!("{}", records::chain_line(&v)),
        }
    }
    Ok(match v.intact() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    })
}

pub fn reprint(args: ReprintArgs) -> Result<ExitCode> {
    let store = open(&args.records)?;
    let list = store.list(&Filter {
        id: args.id,
        serial: args.serial.clone(),
        ..Filter::default()
    })?;
    let Some(r) = list.iter().rev().find(|r| r.outcome == "pass") else {
        bail!(
            "{}: no passed unit recorded (only passed units get labels)",
            match (&args.id, &args.serial) {
                (Some(id), _) => format!("record {id}"),
                (_, serial) => format!("serial {}", serial.as_deref().unwrap_or("?")),
            }
        );
    };
    let config = args
        .config
        .clone()
        .unwrap_or_else(crate::core::config::default_path);
    let sections = match config.exists() {
        true => Sections::load(&config)?,
        false if args.config.is_some() => bail!("{}: no such file", config.display()),
        false => Sections::default(),
    };
    let fields = LabelFields {
        serial: r.serial.clone().unwrap_or_default(),
        device_id: r.device_id.clone().unwrap_or_default(),
        bundle: r.bundle_name.clone().unwrap_or_default(),
        bundle_version: r.bundle_version.clone().unwrap_or_default(),
        date: r.time_utc.chars().take(10).collect(),
        work_order: r.work_order.clone().unwrap_or_default(),
        operator: r.operator.clone().unwrap_or_default(),
        record: r.id.to_string(),
    };
    let zpl = sections.template(None)?.render(&fields);
    if let Some(path) = &args.zpl {
        write(path, &zpl)?;
        println!("label of record {} -> {}", r.id, path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let Some(printer) = args.printer.clone().or(sections.label.printer.clone()) else {
        bail!(
            "no printer: give --printer tcp://HOST:9100, or [label] printer in {}",
            config.display()
        );
    };
    let printer = PrinterAddr::parse(&printer).map_err(anyhow::Error::msg)?;
    crate::adapters::printer::send(&printer, &zpl)?;
    println!(
        "label of {} (record {}) sent to {printer}",
        r.serial
            .as_deref()
            .or(r.device_id.as_deref())
            .unwrap_or("?"),
        r.id
    );
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_file::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
