//! `flashline probes [--json]`: debug probes on USB, for `flash --swd --probe SERIAL`.

use anyhow::Result;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// One JSON document on stdout
    #[arg(long)]
    json: bool,
}

/// What a build without the `swd` feature says when asked for SWD.
pub const NO_SWD: &str = "this build of flashline has no SWD (debug probe) support; \
    build it with `cargo build --release --features swd`";

#[cfg(feature = "swd")]
pub fn run(args: Args) -> Result<ExitCode> {
    let probes = crate::adapters::swd::list_probes();
    if args.json {
        super::print_json(&probes)?;
        return Ok(ExitCode::SUCCESS);
    }
    if probes.is_empty() {
        println!("no debug probe found");
    }
    for p in &probes {
        println!(
            "{:<24} {:04x}:{:04x}  {}{}",
            p.identifier,
            p.vendor_id,
            p.product_id,
            p.serial.as_deref().unwrap_or("-"),
            if p.accessible {
                ""
            } else {
                "  (no access: udev rule? see docs/hil.md)"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "swd"))]
pub fn run(_args: Args) -> Result<ExitCode> {
    eprintln!("{NO_SWD}");
    Ok(ExitCode::FAILURE)
}
