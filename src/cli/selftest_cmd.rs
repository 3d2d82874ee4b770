//! `flashline selftest`: what a technician runs first on the Pi — display, buttons and
//! fixtures, USB access, the active bundle, the records, disk space.

use anyhow::Result;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::adapters::display::open_linux_oled;
use crate::adapters::gpio::open_input;
use crate::adapters::usb::LibUsbBus;
use crate::core::bundle::Bundle;
use crate::core::config::StationConfig;
use crate::core::ui::{frame_of, Notice, UiState};
use crate::ports::{Display, UsbBus};
use crate::records::{self, Records};

#[derive(clap::Args)]
pub struct Args {
    /// Station configuration (default: /var/lib/flashline/station.toml, else
    /// /etc/flashline/station.toml)
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

fn check(name: &str, result: Result<String, String>) -> Check {
    match result {
        Ok(detail) => Check {
            name: name.into(),
            ok: true,
            detail,
        },
        Err(detail) => Check {
            name: name.into(),
            ok: false,
            detail,
        },
    }
}

/// No correct clock is earlier than this: the date this check was written.
const CLOCK_FLOOR: &str = "2026-11-01";

/// Free space below which a station should be looked at (records grow, bundles are imported).
const LOW_DISK_MIB: u64 = 200;

pub fn run(args: Args) -> Result<ExitCode> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(crate::core::config::default_path);
    let checks = checks(&path, true);
    let ok = checks.iter().all(|c| c.ok);
    if args.json {
        super::print_json(&checks)?;
    } else {
        for c in &checks {
            println!(
                "{:<5} {:<14} {}",
                if c.ok { "ok" } else { "FAIL" },
                c.name,
                c.detail
            );
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Every check, in order. `with_display`: also show SELFTEST on the OLED (the service, which
/// runs these at start, owns the display itself).
pub fn checks(path: &Path, with_display: bool) -> Vec<Check> {
    let mut checks = Vec::new();
    let config = StationConfig::load(path);
    checks.push(check(
        "config",
        config
            .as_ref()
            .map(|c| format!("{}: {} slot(s)", path.display(), c.slots.len()))
            .map_err(|e| e.to_string()),
    ));
    if let Ok(c) = &config {
        if with_display {
            checks.push(check("display", display(c)));
        }
        let mut pins = vec![
            ("START", c.buttons.start, c.buttons.active_low),
            ("FUNC", c.buttons.func, c.buttons.active_low),
        ];
        pins.extend(
            c.slots
                .iter()
                .filter_map(|s| s.fixture_pin.map(|p| ("fixture", p, s.fixture_active_low))),
        );
        for (what, pin, active_low) in pins {
            let r = open_input(pin, active_low)
                .map_err(|e| e.to_string())
                .and_then(|mut p| p.is_active().map_err(|e| e.to_string()))
                .map(|active| {
                    format!("BCM {pin} reads {}", if active { "active" } else { "idle" })
                });
            checks.push(check(&format!("gpio {what}"), r));
        }
        checks.push(check(
            "bundle",
            Bundle::load(&c.paths.active_bundle())
                .map(|b| format!("{} {} ({})", b.name, b.version, b.platform.name))
                .map_err(|e| e.to_string()),
        ));
        for slot in c.slots.iter().filter(|s| s.probe.is_some()) {
            let serial = slot.probe.as_deref().unwrap_or_default();
            checks.push(check(&format!("probe {}", slot.name), probe(serial)));
        }
        if let Some(path) = &c.trace.scanner {
            checks.push(check("scanner", scanner(path)));
        }
        if let Some(printer) = &c.label.printer {
            checks.push(check("label printer", label_printer(printer)));
        }
        checks.push(check("records", records(&c.paths.records)));
        // Not at the service's start: it must not wait for the network, and its replica
        // reports the line itself.
        if let Some(url) = c.line.database.as_ref().filter(|_| with_display) {
            checks.push(check("line database", line_database(url, &c.paths.records)));
        }
        if let Some(listen) = &c.dashboard.listen {
            checks.push(check("dashboard", dashboard(listen, c)));
        }
        checks.push(check(
            "stick key",
            match c.stick.pubkey.is_file() {
                true => Ok(format!("{}", c.stick.pubkey.display())),
                false => Err(format!(
                    "{}: missing; bundles from the stick cannot be checked (stick.pubkey)",
                    c.stick.pubkey.display()
                )),
            },
        ));
        checks.push(check(
            "disk",
            disk(c.paths.records.parent().unwrap_or(Path::new("/"))),
        ));
    }
    checks.push(check("clock", clock()));
    checks.push(check("usb", usb()));
    checks.push(check("udev rule", udev_rule()));
    checks
}

/// The barcode scanner opens and can be grabbed (released again at once).
fn scanner(path: &Path) -> Result<String, String> {
    match crate::adapters::scanner::EvdevKeys::open(path) {
        Ok(_) => Ok(format!("{}: opened and grabbed", path.display())),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Err(format!(
            "{}: grabbed by another process (the running service?)",
            path.display()
        )),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The label printer accepts a connection (nothing is printed).
fn label_printer(printer: &str) -> Result<String, String> {
    let addr = crate::core::label::PrinterAddr::parse(printer)?;
    crate::adapters::printer::reachable(&addr)
        .map(|()| format!("{addr}: reachable"))
        .map_err(|e| e.to_string())
}

/// The slot's debug probe is plugged in and openable.
#[cfg(feature = "swd")]
fn probe(serial: &str) -> Result<String, String> {
    let probes = crate::adapters::swd::list_probes();
    match probes.iter().find(|p| {
        p.serial
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(serial))
    }) {
        Some(p) if p.accessible => Ok(format!("{} {serial}", p.identifier)),
        Some(_) => Err(format!(
            "{serial} is there but cannot be opened (udev rule?)"
        )),
        None => Err(format!(
            "no debug probe {serial} ({} other(s) attached)",
            probes.len()
        )),
    }
}

#[cfg(not(feature = "swd"))]
fn probe(_serial: &str) -> Result<String, String> {
    Err(super::probes_cmd::NO_SWD.into())
}

fn display(c: &StationConfig) -> Result<String, String> {
    let mut d = open_linux_oled(&c.display.i2c, c.display.address).map_err(|e| e.to_string())?;
    let ui = UiState {
        notice: Some(Notice {
            title: "SELFTEST".into(),
            lines: vec!["display ok".into()],
        }),
        ..UiState::default()
    };
    d.show(&frame_of(&ui)).map_err(|e| e.to_string())?;
    Ok(format!(
        "{} 0x{:02x}: showing SELFTEST",
        c.display.i2c, c.display.address
    ))
}

/// Reads the records without writing: a missing database is made by the station at its
/// first unit, not by a self-test (whose user may not be the station's).
fn records(path: &Path) -> Result<String, String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = path.parent().unwrap_or(Path::new("."));
            return match dir.is_dir() {
                true => Ok(format!(
                    "{}: no records yet (the station makes it at its first unit)",
                    path.display()
                )),
                false => Err(format!("{}: no such directory", dir.display())),
            };
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
        Ok(_) => {}
    }
    let r = Records::open_read_only(path).map_err(|e| e.to_string())?;
    match r.integrity_ok() {
        Ok(true) => Ok(format!(
            "{}: {} unit(s)",
            path.display(),
            r.list(&Default::default()).map(|l| l.len()).unwrap_or(0)
        )),
        Ok(false) => Err(format!("{}: integrity check failed", path.display())),
        Err(e) => Err(e.to_string()),
    }
}

/// A clock that was never set: with no RTC and no network, a Pi starts from a date in the
/// past, and every record's time would be wrong.
fn clock() -> Result<String, String> {
    let now = records::now_utc();
    match now.as_str() >= CLOCK_FLOOR {
        true => Ok(format!("{now} (UTC)")),
        false => Err(format!(
            "{now} is before {CLOCK_FLOOR}, older than this software: the clock was never set \
             and records would have wrong times (an RTC or NTP: README, \"Time\")"
        )),
    }
}

/// The line database answers, and how many of this station's records it has yet to confirm
/// (the backlog the OLED's counters screen shows).
fn line_database(url: &str, records: &Path) -> Result<String, String> {
    let target = crate::replica::target_of(url);
    // No records yet (a new station): nothing waits for the line.
    let backlog = match records.exists() {
        true => Records::open_read_only(records)
            .and_then(|r| r.backlog(&target))
            .map_err(|e| e.to_string())?,
        false => 0,
    };
    match reach(url) {
        Ok(()) => Ok(format!("{target}: reachable, {backlog} unit(s) to send")),
        Err(e) => Err(format!(
            "{e}; {backlog} unit(s) kept on this station until it answers"
        )),
    }
}

#[cfg(feature = "postgres")]
fn reach(url: &str) -> Result<(), String> {
    crate::replica::pg::ping(url).map_err(|e| format!("{e} ({})", crate::replica::target_of(url)))
}

#[cfg(not(feature = "postgres"))]
fn reach(_url: &str) -> Result<(), String> {
    Err(crate::replica::NO_POSTGRES.into())
}

/// The status page's address and token rules hold (it is not bound here: the station may be
/// running and holding the port).
fn dashboard(listen: &str, c: &StationConfig) -> Result<String, String> {
    let token = c
        .dashboard
        .token_file
        .as_deref()
        .map(crate::dashboard::read_token)
        .transpose()
        .map_err(|e| e.to_string())?;
    let addr =
        crate::dashboard::listen_addr(listen, token.as_deref()).map_err(|e| e.to_string())?;
    Ok(format!(
        "http://{addr}/ ({})",
        if token.is_some() {
            "token required"
        } else {
            "this machine only"
        }
    ))
}

fn usb() -> Result<String, String> {
    let mut bus = LibUsbBus::new().map_err(|e| format!("libusb: {e}"))?;
    let boards = bus.list().map_err(|e| e.to_string())?;
    let unreadable = boards.iter().filter(|b| b.serial.is_none()).count();
    if unreadable > 0 {
        return Err(format!(
            "{unreadable} Particle board(s) seen but not readable: udev rule or group missing"
        ));
    }
    Ok(format!("{} Particle board(s) attached", boards.len()))
}

fn udev_rule() -> Result<String, String> {
    [
        "/etc/udev/rules.d/50-particle.rules",
        "/lib/udev/rules.d/50-particle.rules",
        "/usr/lib/udev/rules.d/50-particle.rules",
    ]
    .iter()
    .find(|p| Path::new(p).exists())
    .map(|p| p.to_string())
    .ok_or_else(|| "50-particle.rules not installed (systemd/50-particle.rules)".into())
}

fn disk(dir: &Path) -> Result<String, String> {
    let c = std::ffi::CString::new(dir.as_os_str().to_string_lossy().as_bytes())
        .map_err(|e| e.to_string())?;
    // SAFETY: statvfs writes only into the zeroed struct we own; the path is a valid C string.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return Err(format!(
            "{}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ));
    }
    let free_mib = s.f_bavail as u64 * s.f_frsize as u64 / (1024 * 1024);
    let text = format!("{}: {free_mib} MiB free", dir.display());
    if free_mib < LOW_DISK_MIB {
        return Err(format!("{text} (under {LOW_DISK_MIB} MiB)"));
    }
    Ok(text)
}
