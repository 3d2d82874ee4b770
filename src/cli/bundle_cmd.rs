//! `flashline bundle lock|verify|show DIR`

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::core::bundle::{self, Bundle, BundleError, BundleModule};
use crate::stick;

const STATION_TOML: &str = "/etc/flashline/station.toml";

#[derive(Subcommand)]
pub enum BundleCommand {
    /// Check a bundle and pin every file in bundle.lock
    Lock { dir: PathBuf },
    /// Fail when any file differs from bundle.lock
    Verify { dir: PathBuf },
    /// Show a locked bundle
    Show {
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Pack a locked bundle into a signed archive for a USB stick
    Pack {
        dir: PathBuf,
        /// minisign secret key (`flashline keygen`, or `minisign -G`)
        #[arg(long)]
        key: PathBuf,
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
    /// Verify a signed archive and make it the active bundle
    Import {
        archive: PathBuf,
        /// The station's public key (default: station.toml's stick.pubkey)
        #[arg(long)]
        pubkey: Option<PathBuf>,
        /// The bundles directory holding `active` (default: station.toml's paths.bundles)
        #[arg(long)]
        into: Option<PathBuf>,
        /// Accept a lower version than the active one
        #[arg(long)]
        allow_downgrade: bool,
    },
}

pub fn run(cmd: BundleCommand) -> Result<ExitCode> {
    match cmd {
        BundleCommand::Lock { dir } => lock(&dir),
        BundleCommand::Verify { dir } => verify(&dir),
        BundleCommand::Show { dir, json } => show(&dir, json),
        BundleCommand::Pack { dir, key, output } => {
            let b = stick::pack(&dir, &key, &output)?;
            let size = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
            println!(
                "packed {} {} -> {} ({size} bytes, signed)",
                b.name,
                b.version,
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        BundleCommand::Import {
            archive,
            pubkey,
            into,
            allow_downgrade,
        } => {
            let station = crate::core::config::StationConfig::load(Path::new(STATION_TOML)).ok();
            let pubkey = pubkey.or_else(|| station.as_ref().map(|s| s.stick.pubkey.clone()));
            let into = into.or_else(|| station.as_ref().map(|s| s.paths.bundles.clone()));
            let (Some(pubkey), Some(into)) = (pubkey, into) else {
                anyhow::bail!("give --pubkey and --into (no {STATION_TOML} here)");
            };
            match stick::import(&archive, &pubkey, &into, allow_downgrade)? {
                stick::Imported::Activated {
                    name,
                    version,
                    dir,
                    left_out,
                } => {
                    if !left_out.is_empty() {
                        println!(
                            "left out {} file(s) the signed lock does not list: {}",
                            left_out.len(),
                            left_out.join(", ")
                        );
                    }
                    println!(
                        "active bundle is now {name} {version}, every file verified ({})",
                        dir.display()
                    )
                }
                stick::Imported::AlreadyActive { name, version } => {
                    println!("{name} {version} is already active")
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Locks, or lists every problem (and the flash map they were checked against).
fn lock(dir: &Path) -> Result<ExitCode> {
    let lock = match bundle::lock(dir) {
        Ok(lock) => lock,
        Err(BundleError::Invalid {
            dir,
            problems,
            hint,
        }) => {
            for p in &problems {
                eprintln!("error: {}: {p}", dir.display());
            }
            if let Some(hint) = hint {
                eprintln!("  {hint}");
            }
            eprintln!(
                "{} problem(s); {} not written",
                problems.len(),
                bundle::LOCK_FILE
            );
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };
    let os = lock
        .device_os
        .as_ref()
        .map_or(String::new(), |d| format!(", Device OS {}", d.version));
    println!(
        "locked {} {} ({}{os}): {} module(s) -> {}",
        lock.name,
        lock.version,
        lock.platform,
        lock.modules.len(),
        dir.join(bundle::LOCK_FILE).display()
    );
    let finals = lock.final_firmware.iter().map(|m| (m, " (final)"));
    for (m, stage) in lock.modules.iter().map(|m| (m, "")).chain(finals) {
        println!(
            "  {:<8} {:<24} {}{stage}",
            m.route.as_deref().unwrap_or("-"),
            format!("{}#{} v{}", m.function, m.index, m.version),
            m.file
        );
    }
    for a in &lock.assets {
        println!("  asset    {:<24} {}", a.name, a.file);
    }
    for d in &lock.device_dependencies {
        println!(
            "  the board must have {}#{} >= {} ({} needs it; no bundle carries it)",
            d.function, d.index, d.version, d.needed_by
        );
    }
    for r in &lock.board_requirements {
        println!("  the board must be a {} ({}: {})", r.what, r.file, r.why);
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(dir: &Path) -> Result<ExitCode> {
    let problems = bundle::verify(dir)?;
    if problems.is_empty() {
        println!("{}: every file matches bundle.lock", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        eprintln!("error: {}: {p}", dir.display());
    }
    eprintln!("{} difference(s) from bundle.lock", problems.len());
    Ok(ExitCode::FAILURE)
}

#[derive(Serialize)]
struct ShowModule<'a> {
    file: &'a str,
    function: String,
    index: u8,
    version: u16,
    address: String,
    size: usize,
    sha256: String,
}

#[derive(Serialize)]
struct ShowBundle<'a> {
    name: &'a str,
    version: &'a str,
    platform: &'a str,
    lock_hash: &'a str,
    modules: Vec<ShowModule<'a>>,
    tests: Option<&'a str>,
    final_firmware: Option<ShowModule<'a>>,
    /// The MBR file, written over SWD only.
    mbr: Option<&'a str>,
}

fn show_module(m: &BundleModule) -> ShowModule<'_> {
    ShowModule {
        file: &m.file,
        function: m.module.function().to_string(),
        index: m.module.index(),
        version: m.module.version(),
        address: format!("0x{:05x}", m.module.image_address()),
        size: m.module.bytes().len(),
        sha256: hex::encode(m.module.file_sha256),
    }
}

fn show(dir: &Path, json: bool) -> Result<ExitCode> {
    let b = Bundle::load(dir)?;
    let view = ShowBundle {
        name: &b.name,
        version: &b.version,
        platform: b.platform.name,
        lock_hash: &b.lock_hash,
        modules: b.modules.iter().map(show_module).collect(),
        tests: b.tests.as_ref().map(|t| t.file.as_str()),
        final_firmware: b.final_firmware.as_ref().map(show_module),
        mbr: b.mbr.as_ref().map(|m| m.file.as_str()),
    };
    if json {
        super::print_json(&view)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("bundle    {} {}", view.name, view.version);
    println!("platform  {}", view.platform);
    println!("lock      {}", view.lock_hash);
    println!("modules");
    for m in &view.modules {
        println!(
            "  {:<13} #{} v{:<5} at {}  {:>7} bytes  {}",
            m.function, m.index, m.version, m.address, m.size, m.file
        );
    }
    if let Some(f) = &view.final_firmware {
        println!("final     {} v{} ({})", f.function, f.version, f.file);
    }
    println!("tests     {}", view.tests.unwrap_or("none"));
    if let Some(mbr) = view.mbr {
        println!("mbr       {mbr} (written over SWD only)");
    }
    let mut stages = vec!["FLASH"];
    stages.extend(view.tests.map(|_| "TEST"));
    stages.extend(view.final_firmware.as_ref().map(|_| "FINAL"));
    println!("stages    {}", stages.join(" -> "));
    Ok(ExitCode::SUCCESS)
}
