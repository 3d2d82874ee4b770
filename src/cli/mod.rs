//! The command line: argument parsing and output. `anyhow` lives here and nowhere deeper.

mod bench_cmd;
mod bench_vs_cli;
mod bundle_arg;
mod bundle_cmd;
mod dashboard_cmd;
mod edges;
mod error_text;
mod flash_cmd;
mod frames;
mod inspect;
mod label_cmd;
mod line_cmd;
mod log_tap;
mod probes_cmd;
mod progress;
mod records_cmd;
mod records_trace_cmd;
mod run_args;
mod run_cmd;
mod run_sim;
mod run_terminal;
mod screenshot_cmd;
mod selftest_cmd;
mod service;
mod sim_cmd;
mod sim_faults;
mod sim_setup;
mod terminal_view;
mod test_cmd;
mod trace_setup;
mod unit_line;
mod usb_list;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The context of a USB bus that cannot be opened: libusb says only "Other error" where there
/// is no usbfs (a container, a machine without USB), or "Access denied" without the udev rule.
const NO_USB: &str = "cannot open USB (libusb; on a station systemd/50-particle.rules grants \
                      access, and `--sim` flashes a simulated board)";

#[derive(Parser)]
#[command(
    name = "flashline",
    version,
    about = "Production flashing and test station for Particle Gen3 boards"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse Particle module files and show what they are
    Inspect(inspect::Args),
    /// Lock, verify or show a bundle
    #[command(subcommand)]
    Bundle(bundle_cmd::BundleCommand),
    /// Flash one board (real or simulated) with a locked bundle
    Flash(flash_cmd::Args),
    /// List debug probes on USB for `flash --swd` (builds with `--features swd`)
    Probes(probes_cmd::Args),
    /// The station: flash and test seated boards (on hardware, or --sim)
    Run(run_args::Args),
    /// List or export unit records
    #[command(subcommand)]
    Records(records_cmd::RecordsCommand),
    /// Make a bundle signing key pair (minisign formats): DIR/bundle.key, DIR/bundle.pub
    Keygen {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Run the peripheral tests alone on a flashed board
    Test(test_cmd::Args),
    /// Throughput across slots on simulated boards, printed as ratios
    Bench(bench_cmd::Args),
    /// On the Pi: check display, GPIO, USB access, bundle, records and disk
    Selftest(selftest_cmd::Args),
    /// Render the OLED screens as PNG
    Screenshot(screenshot_cmd::Args),
    /// The line's records across stations: report, passed device IDs, push a backlog now
    #[command(subcommand)]
    Line(line_cmd::LineCommand),
    /// The line dashboard in the browser (read-only), from PostgreSQL or a station's records
    Dashboard(dashboard_cmd::Args),
    /// Label previews (PNG) from the ZPL template
    #[command(subcommand)]
    Label(label_cmd::LabelCommand),
    /// Simulated boards for other programs: `sim usb -- COMMAND` (emulated USB, needs umockdev)
    #[command(subcommand)]
    Sim(sim_cmd::SimCommand),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    if !matches!(cli.command, Command::Run(_)) {
        quiet_on_broken_pipe();
    }
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Bundle(cmd) => bundle_cmd::run(cmd),
        Command::Flash(args) => flash_cmd::run(args),
        Command::Probes(args) => probes_cmd::run(args),
        Command::Run(args) => run_cmd::run(args),
        Command::Screenshot(args) => screenshot_cmd::run(args),
        Command::Label(cmd) => label_cmd::run(cmd),
        Command::Test(args) => test_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Selftest(args) => selftest_cmd::run(args),
        Command::Records(cmd) => records_cmd::run(cmd),
        Command::Line(cmd) => line_cmd::run(cmd),
        Command::Dashboard(args) => dashboard_cmd::run(args),
        Command::Sim(cmd) => sim_cmd::run(cmd),
        Command::Keygen { out } => crate::stick::keys::generate(&out)
            .map(|()| {
                println!(
                    "wrote {0}/bundle.key (keep it off the station) and {0}/bundle.pub",
                    out.display()
                );
                ExitCode::SUCCESS
            })
            .map_err(Into::into),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_text::error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// `flashline … | head`: when the reader goes away, end quietly as `cat` does, instead of
/// panicking in `println!`. Not for `run`: the station must outlive a closed log stream (its
/// own printing stops quietly instead).
fn quiet_on_broken_pipe() {
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Prints one JSON document on stdout (nothing, quietly, when stdout is gone).
pub(crate) fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    use std::io::Write;
    let _ = writeln!(
        std::io::stdout(),
        "{}",
        serde_json::to_string_pretty(value)?
    );
    Ok(())
}

/// To journald when systemd runs us (it sets JOURNAL_STREAM), to stderr otherwise.
fn init_logging() {
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        if let Ok(journal) = systemd_journal_logger::JournalLog::new() {
            if journal.install().is_ok() {
                log::set_max_level(log::LevelFilter::Info);
                return;
            }
        }
    }
    // Through the tap: the terminal simulator shows log lines below its screen.
    use std::io::IsTerminal;
    let style = match std::io::stderr().is_terminal() {
        true => env_logger::WriteStyle::Always,
        false => env_logger::WriteStyle::Never,
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .write_style(style)
        .target(env_logger::Target::Pipe(Box::new(log_tap::LogTap)))
        .init();
}
