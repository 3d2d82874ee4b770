//! `flashline sim usb [...] -- COMMAND [ARGS...]`: runs COMMAND with simulated boards on an
//! emulated USB bus, so programs that use libusb (flashline without `--sim`, dfu-util) meet
//! them as hardware. See src/sim/usbdevfs/ and docs/hil.md.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::core::module::Platform;
use crate::core::target::LayoutFamily;
use crate::ports::{Clock, SerialPorts};
use crate::sim::argon::Presence;
use crate::sim::clock::ScaledClock;
use crate::sim::serial::SimSerialPorts;
use crate::sim::usbdevfs::{self, port_name, EmulatedBus, PRELOAD};
use crate::sim::{Fault, SimArgon, SimBoardSpec};

#[derive(clap::Subcommand)]
pub enum SimCommand {
    /// Run COMMAND with simulated boards on an emulated USB bus (needs umockdev)
    #[command(long_about = USB_ABOUT)]
    Usb(UsbArgs),
}

const USB_ABOUT: &str = "\
Runs COMMAND with N simulated boards on an emulated USB bus: ports 1-1, 1-2, … of bus 1, each \
board the same simulated device as `--sim` (DFU mode with its alternate settings and strings, \
normal mode with CDC ACM — a /dev/ttyACM* — and Particle's control interface, a new device \
number and the other PID on the same port after every reset, uevents). Unmodified programs \
that use libusb see them as hardware: `flashline flash --port 1-1` (no --sim), dfu-util.

Time: the boards' costs (erase, write, resets, commands) pass in real time divided by \
--speedup (default 1: real time, which COMMAND cannot tell from a board).

Needs umockdev at run time (Debian: apt install umockdev): libumockdev.so.0 is loaded with \
dlopen and COMMAND runs with libumockdev-preload.so.0 preloaded. Nothing flashline ships links \
it; the Raspberry Pi's build neither needs nor finds it. The exit code is COMMAND's.";

#[derive(clap::Args)]
pub struct UsbArgs {
    /// Preload every board with this bundle's modules (else blank: factory bootloader, DFU mode)
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// Number of boards, on ports 1-1 … 1-N
    #[arg(long, default_value_t = 1)]
    slots: usize,
    /// The boards' platform
    #[arg(long, default_value = "argon")]
    platform: String,
    /// Faults for the boards: `[PORT=]FAULT[,FAULT]`, the words of `flash --sim=FAULT`
    /// (`1-2=unplug-after:200000`); without PORT, every board. Repeatable
    #[arg(long, value_name = "[PORT=]FAULTS")]
    fault: Vec<String>,
    /// The boards' costs pass in real time divided by this
    #[arg(long, default_value_t = 1.0)]
    speedup: f64,
    /// The bundle whose user part the boards run as test firmware once flashed (answering
    /// the test protocol on their serial port); default: --bundle's
    #[arg(long, value_name = "DIR")]
    test_firmware: Option<PathBuf>,
    /// Start the boards in DFU mode even when they have firmware (MODE held at reset)
    #[arg(long)]
    dfu: bool,
    /// Write what each board saw (enumerations, transfers, driver unbinds) as JSON to FILE
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// The program to run and its arguments
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

pub fn run(cmd: SimCommand) -> Result<ExitCode> {
    match cmd {
        SimCommand::Usb(args) => usb(args),
    }
}

/// Set in the re-executed process so a preload that does not take cannot loop.
const REEXEC_MARK: &str = "FLASHLINE_SIM_USB_PRELOADED";

fn preloaded() -> bool {
    std::env::var("LD_PRELOAD").is_ok_and(|p| p.contains("libumockdev-preload"))
}

/// Starts this same command again with the preload, which umockdev's testbed needs in this
/// process too (its uevent sender and device checks look at the emulated /sys).
fn reexec_preloaded() -> Result<ExitCode> {
    if std::env::var_os(REEXEC_MARK).is_some() {
        bail!("{PRELOAD} did not load: {}", usbdevfs::INSTALL_HINT);
    }
    usbdevfs::umockdev::api()?;
    let name = std::ffi::CString::new(PRELOAD)?;
    // SAFETY: probing that the preload library exists; it is unloaded again at once.
    let probe = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL) };
    if probe.is_null() {
        bail!("{PRELOAD} not found: {}", usbdevfs::INSTALL_HINT);
    }
    // SAFETY: the handle from dlopen above.
    unsafe { libc::dlclose(probe) };
    let preload = match std::env::var("LD_PRELOAD") {
        Ok(p) if !p.is_empty() => format!("{PRELOAD}:{p}"),
        _ => PRELOAD.to_string(),
    };
    let exe = std::env::current_exe().context("finding this program")?;
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("LD_PRELOAD", preload)
        .env(REEXEC_MARK, "1")
        .exec();
    Err(err).context("re-running with the umockdev preload")
}

/// `--fault` words per port.
fn faults_for(specs: &[String], port: &str) -> Result<Vec<Fault>> {
    let mut faults = Vec::new();
    for spec in specs {
        let (target, words) = match spec.split_once('=') {
            Some((p, w)) if p.starts_with("1-") => (Some(p), w),
            _ => (None, spec.as_str()),
        };
        if target.is_none_or(|p| p == port) {
            faults.extend(Fault::parse_list(words).map_err(anyhow::Error::msg)?);
        }
    }
    Ok(faults)
}

fn boards(args: &UsbArgs, clock: &Arc<dyn Clock>) -> Result<Vec<SimArgon>> {
    let platform = Platform::by_name(&args.platform)
        .filter(|p| p.family == LayoutFamily::Nrf52840 && p.usb_pid_dfu.is_some())
        .with_context(|| {
            format!(
                "unknown platform `{}` (Gen3 boards: argon, boron, …)",
                args.platform
            )
        })?;
    // A board of any Gen3 platform (sim/argon/spec.rs).
    let spec = SimBoardSpec::of(platform);
    let preload = match &args.bundle {
        Some(dir) => Some(super::bundle_arg::load_bundle(dir)?),
        None => None,
    };
    let test_firmware = match (&args.test_firmware, &preload) {
        (Some(dir), _) => super::bundle_arg::load_bundle(dir)?
            .test_firmware()
            .cloned(),
        (None, Some(b)) => b.test_firmware().cloned(),
        (None, None) => None,
    };
    let mut out = Vec::new();
    for i in 0..args.slots {
        let port = port_name(i);
        let (spec, faults) = spec.clone().with_words(faults_for(&args.fault, &port.0)?);
        // Slot 1's board is `--sim`'s board (same seed, same device ID).
        let board = spec.build(clock.clone(), &port.0, i as u64 + 1, faults);
        if let Some(m) = &test_firmware {
            board.set_test_firmware(m);
        }
        if let Some(b) = &preload {
            board.preload(&b.parsed_modules());
        }
        if args.dfu {
            // Device OS resets into DFU at 14400 baud; a blank board is there already.
            let _ =
                SimSerialPorts::new(vec![board.clone()]).touch(&port, crate::core::flash::DFU_BAUD);
        }
        out.push(board);
    }
    // A program started next sees every board up, as on a station whose boards were seated
    // before it started.
    for board in &out {
        let deadline = crate::ports::clock::Deadline::after(clock.as_ref(), BOOT_WAIT);
        while matches!(board.presence(), Presence::Rebooting { .. })
            && !deadline.passed(clock.as_ref())
        {
            clock.sleep(std::time::Duration::from_millis(10));
        }
    }
    Ok(out)
}

/// Longest a board may take to boot before COMMAND starts (a board that never boots, e.g.
/// `no-bootloader`, is left as it is).
const BOOT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn usb(args: UsbArgs) -> Result<ExitCode> {
    if !(1..=15).contains(&args.slots) {
        bail!("--slots must be 1 to 15 (the emulated root hub's ports)");
    }
    if !(args.speedup.is_finite() && args.speedup > 0.0) {
        bail!("--speedup must be a positive number");
    }
    // Check every argument before re-running under the preload.
    let scratch: Arc<dyn Clock> = Arc::new(crate::sim::VirtualClock::new());
    boards(&args, &scratch)?;
    if !preloaded() {
        return reexec_preloaded();
    }
    // From here on this process outlives COMMAND and removes the testbed, whatever signal
    // comes: SIGINT/SIGTERM are noted and passed on.
    let signals = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_usize(signal, signals.clone(), signal as usize)
            .context("installing signal handlers")?;
    }
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(args.speedup));
    let boards = boards(&args, &clock)?;
    let bus = EmulatedBus::start(boards, clock)?;
    log::debug!("sim usb: testbed {}", bus.root());
    let (program, rest) = args
        .command
        .split_first()
        .context("COMMAND is missing (after --)")?;
    let early = signals.load(std::sync::atomic::Ordering::SeqCst);
    let code = if early != 0 {
        // Stopped before COMMAND started: as if it had been.
        128 + early as i32
    } else {
        let child = std::process::Command::new(program)
            .args(rest)
            .env_remove(REEXEC_MARK)
            .spawn()
            .with_context(|| format!("starting {}", program.to_string_lossy()))?;
        let status = wait_passing_signals(child, &signals)?;
        match (status.code(), status.signal()) {
            (Some(c), _) => c,
            (None, Some(sig)) => 128 + sig,
            _ => 1,
        }
    };
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&bus.report())?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    bus.stop();
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// Waits for COMMAND. Ctrl-C reaches it directly (one process group); a SIGINT or SIGTERM
/// sent to this process alone is passed on. Either way this process outlives COMMAND, so the
/// testbed's directory is removed.
fn wait_passing_signals(
    mut child: std::process::Child,
    stop: &std::sync::atomic::AtomicUsize,
) -> Result<std::process::ExitStatus> {
    let mut passed = 0;
    loop {
        if let Some(status) = child.try_wait().context("waiting for COMMAND")? {
            return Ok(status);
        }
        let signal = stop.swap(0, std::sync::atomic::Ordering::SeqCst);
        if signal != 0 && passed < 2 {
            passed += 1;
            // SAFETY: signalling our own child by its pid.
            unsafe { libc::kill(child.id() as libc::pid_t, signal as libc::c_int) };
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_go_to_their_port_or_to_every_board() {
        let specs = vec!["1-2=unplug-after:200000".to_string(), "stall".to_string()];
        assert_eq!(faults_for(&specs, "1-1").unwrap(), vec![Fault::Stall]);
        assert_eq!(
            faults_for(&specs, "1-2").unwrap(),
            vec![Fault::UnplugAfter(200000), Fault::Stall]
        );
        assert!(faults_for(&["1-1=unplugg".to_string()], "1-1").is_err());
        // A fault word with a colon is not a port.
        assert_eq!(
            faults_for(&["meas:vin=10.2".to_string()], "1-3").unwrap(),
            vec![Fault::Meas("vin".into(), "10.2".into())]
        );
    }
}
