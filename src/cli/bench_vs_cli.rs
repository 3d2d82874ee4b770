//! `flashline bench --vs-cli`: the seed's workflow — one `particle flash --local` per module
//! (softdevice, system part, application, bootloader), one after the other — against
//! flashline's one `flash` of the same bundle, each on an identical blank board behind the
//! emulated USB bus (`flashline sim usb`), timed on the wall clock in one run.

use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::Path;
use std::process::{Command, ExitCode, Output};
use std::time::Instant;

use crate::core::bundle::Bundle;
use crate::core::module::ModuleFunction;

/// The modules in the order a unit is flashed with the CLI today.
const CLI_ORDER: [(ModuleFunction, u8); 4] = [
    (ModuleFunction::RadioStack, 0),
    (ModuleFunction::SystemPart, 1),
    (ModuleFunction::UserPart, 1),
    (ModuleFunction::Bootloader, 0),
];

/// Runs the CLI once per file, stopping at the first failure. Each command ends with the
/// board resetting (leaving DFU, or installing what it was sent) but returns without waiting
/// for it, and the next one then finds no board: between commands the script waits, as an
/// operator watching the LED does, for the board to leave (up to 5 s) and come back.
const CLI_SCRIPT: &str = r#"particle=$1; shift
port=/sys/bus/usb/devices/1-1/devnum
for f; do
  "$particle" flash --local "$f" || exit $?
  left=$(cat $port 2>/dev/null); i=0
  while [ "$(cat $port 2>/dev/null)" = "$left" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  until [ -e $port ]; do sleep 0.1; done
done"#;

pub fn run(bundle: &Bundle, particle: &Path, speedup: f64, as_json: bool) -> Result<ExitCode> {
    let files: Vec<String> = CLI_ORDER
        .iter()
        .filter_map(|(f, i)| bundle.module(*f, *i))
        .map(|m| bundle.dir.join(&m.file).display().to_string())
        .collect();
    if files.is_empty() {
        bail!("{}: no modules to flash", bundle.dir.display());
    }
    let me = std::env::current_exe().context("finding this program")?;
    let sim_usb = |command: &[&str]| -> Result<(f64, Output)> {
        let started = Instant::now();
        let out = Command::new(&me)
            .args(["sim", "usb", "--speedup", &speedup.to_string(), "--"])
            .args(command)
            .env("RUST_LOG", "warn")
            .output()
            .context("running flashline sim usb")?;
        Ok((started.elapsed().as_secs_f64(), out))
    };
    let particle = particle.display().to_string();
    let mut cli: Vec<&str> = vec!["sh", "-c", CLI_SCRIPT, "sh", &particle];
    cli.extend(files.iter().map(String::as_str));
    if !as_json {
        println!(
            "particle-cli: {} command(s) on a blank board …",
            files.len()
        );
    }
    let (cli_s, cli_out) = sim_usb(&cli)?;
    check("particle-cli", &cli_out)?;
    let me_s = me.display().to_string();
    let dir = bundle.dir.display().to_string();
    if !as_json {
        println!("flashline: one flash of {} on a blank board …", bundle.name);
    }
    let (ours_s, ours_out) = sim_usb(&[&me_s, "flash", "--bundle", &dir, "--port", "1-1"])?;
    check("flashline flash", &ours_out)?;
    let ratio = cli_s / ours_s;
    if as_json {
        super::print_json(&json!({
            "bundle": bundle.name,
            "speedup": speedup,
            "particle_cli_commands": files.len(),
            "particle_cli_s": round(cli_s),
            "flashline_s": round(ours_s),
            "ratio": round(ratio),
        }))?;
    } else {
        println!("  particle-cli, one command per module: {cli_s:>7.1} s");
        println!("  flashline, one flash of the bundle:   {ours_s:>7.1} s");
        println!("  ratio: {ratio:.2}x");
        if speedup != 1.0 {
            println!(
                "  (boards' costs at {speedup}x real time; the CLI's and flashline's own waits are real time)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn check(what: &str, out: &Output) -> Result<()> {
    if out.status.success() {
        return Ok(());
    }
    bail!(
        "{what} failed (exit {:?}):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
