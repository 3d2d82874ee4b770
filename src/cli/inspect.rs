//! `flashline inspect FILE... [--json]`

use anyhow::Result;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::core::bundle::read_file;
use crate::core::module::{Dependency, Module};

#[derive(clap::Args)]
pub struct Args {
    /// Module files (.bin)
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// One JSON document on stdout instead of a table
    #[arg(long)]
    json: bool,
}

/// The fields of design §3, exactly.
#[derive(Serialize)]
struct ModuleReport {
    file: String,
    size: usize,
    platform_id: u16,
    function: String,
    index: u8,
    version: u16,
    start_address: u32,
    end_address: u32,
    flags: u8,
    dependencies: Vec<Dependency>,
    crc_ok: bool,
}

impl ModuleReport {
    fn new(file: String, m: &Module) -> Self {
        ModuleReport {
            file,
            size: m.bytes().len(),
            platform_id: m.prefix.platform_id,
            function: m.function().to_string(),
            index: m.index(),
            version: m.version(),
            start_address: m.prefix.start_address,
            end_address: m.prefix.end_address,
            flags: m.prefix.flags,
            dependencies: m.prefix.dependencies.clone(),
            crc_ok: m.crc_ok(),
        }
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut reports = Vec::new();
    let mut failed = 0;
    for path in &args.files {
        let name = path.display().to_string();
        let parsed = read_file(path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| Module::parse(bytes).map_err(|e| format!("{name}: {e}")));
        match parsed {
            Ok(m) => {
                if let Err(e) = m.check_integrity() {
                    eprintln!("error: {name}: {e}");
                    failed += 1;
                }
                reports.push((ModuleReport::new(name, &m), m.platform.name));
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed += 1;
            }
        }
    }
    if args.json {
        let json: Vec<&ModuleReport> = reports.iter().map(|(r, _)| r).collect();
        super::print_json(&json)?;
    } else {
        print_table(&reports);
    }
    if failed > 0 {
        eprintln!("{failed} of {} file(s) invalid", args.files.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(reports: &[(ModuleReport, &str)]) {
    println!(
        "{:<34} {:<13} {:>5} {:>7} {:<8} {:<21} {:>7} {:<5} dependencies",
        "file", "function", "index", "version", "platform", "address", "size", "crc"
    );
    for (r, platform) in reports {
        let file = std::path::Path::new(&r.file)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| r.file.clone());
        let deps: Vec<String> = r.dependencies.iter().map(|d| d.to_string()).collect();
        println!(
            "{:<34} {:<13} {:>5} {:>7} {:<8} 0x{:05x}..0x{:05x}     {:>7} {:<5} {}",
            file,
            r.function,
            r.index,
            r.version,
            format!("{platform}({})", r.platform_id),
            r.start_address,
            r.end_address,
            r.size,
            if r.crc_ok { "ok" } else { "BAD" },
            if deps.is_empty() {
                "-".to_string()
            } else {
                deps.join(", ")
            }
        );
    }
}
