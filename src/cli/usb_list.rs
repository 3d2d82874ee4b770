//! `flashline flash --list`: Particle boards on USB.

use anyhow::{bail, Result};
use std::process::ExitCode;

use crate::adapters::usb::LibUsbBus;
use crate::core::module::Platform;
use crate::ports::{PortPath, UsbBus};

pub fn run(json: bool) -> Result<ExitCode> {
    let mut bus = match LibUsbBus::new() {
        Ok(bus) => bus,
        Err(e) => {
            eprintln!("no USB available here: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let boards = bus.list().unwrap_or_default();
    if json {
        super::print_json(&boards)?;
        return Ok(ExitCode::SUCCESS);
    }
    if boards.is_empty() {
        println!("no Particle boards on USB");
    } else {
        // The port path is what a slot's `usb_port` in station.toml takes.
        println!(
            "{:<10} {:<8} {:<7} device ID",
            "usb_port", "platform", "mode"
        );
    }
    for b in &boards {
        let (platform, mode) = match Platform::by_usb_pid(b.pid) {
            Some((p, true)) => (p.name, "DFU"),
            Some((p, false)) => (p.name, "normal"),
            None => ("unknown", "?"),
        };
        println!(
            "{:<10} {:<8} {:<7} {}",
            b.port,
            platform,
            mode,
            // A USB string descriptor is the board's to say: never raw to the terminal.
            super::error_text::printable(b.serial.as_deref().unwrap_or("-"))
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The port of the single Particle board attached, when no --port is given.
pub fn only_board(bus: &mut dyn UsbBus) -> Result<PortPath> {
    let boards = bus.list().unwrap_or_default();
    match boards.as_slice() {
        [one] => Ok(one.port.clone()),
        [] => bail!("E-NO-BOARD: no Particle board on USB (see `flashline flash --list`)"),
        _ => bail!(
            "{} Particle boards attached: choose one with --port",
            boards.len()
        ),
    }
}
