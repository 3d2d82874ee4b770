//! `flashline run`'s arguments, shared by the modes it dispatches to.

use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Station configuration (default: /var/lib/flashline/station.toml, else
    /// /etc/flashline/station.toml). With --sim: the slots, auto_start and lights to simulate,
    /// and [trace] and [label] (a file of only these two sections will do)
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Simulated boards, buttons, fixtures and display
    #[arg(long)]
    pub sim: bool,
    /// Timed events (with --sim: on the virtual clock; with --sim-io: in real time); exits
    /// when they are done
    #[arg(long)]
    pub script: Option<PathBuf>,
    /// Real USB and serial, simulated buttons and fixture switches played by --script, no
    /// OLED or stack light: a station on the slots' USB ports without its GPIO (e.g. under
    /// `flashline sim usb`)
    #[arg(long, conflicts_with = "sim", requires = "script")]
    pub sim_io: bool,
    /// With --sim and no terminal (or --script): write each distinct OLED frame to DIR as
    /// NNNN.png and NNNN.json (time, screen, each slot's state, code, progress, lights)
    #[arg(long, requires = "sim", value_name = "DIR")]
    pub frames: Option<PathBuf>,
    /// With --sim: how many simulated slots, A, B, … (keys 1..N seat and unseat them)
    #[arg(long, requires = "sim", value_parser = clap::value_parser!(u8).range(1..=8))]
    pub slots: Option<u8>,
    /// Print the finished units as one JSON document
    #[arg(long)]
    pub json: bool,
    /// The records database (default: station.toml's; with --sim, a fresh one for each run
    /// unless this is given)
    #[arg(long)]
    pub records: Option<PathBuf>,
    /// With --sim: a directory standing in for the USB stick (signed bundles in, records out)
    #[arg(long, requires = "pubkey")]
    pub stick: Option<PathBuf>,
    /// With --stick: the public key bundles must be signed with
    #[arg(long, requires = "stick")]
    pub pubkey: Option<PathBuf>,
    #[command(flatten)]
    pub edges: EdgeArgs,
    /// With --script: play it in real time sped up SPEED times (e.g. 20, to watch the
    /// dashboard fill), instead of on the virtual clock as fast as it goes
    #[arg(long, requires = "script")]
    pub speed: Option<f64>,
}

/// The station's identity and edges, on the command line (over station.toml's keys).
#[derive(clap::Args, Default)]
pub struct EdgeArgs {
    /// Names this station in its records (default: station.toml's `station`, else the
    /// hostname; with --sim, `sim`)
    #[arg(long)]
    pub station: Option<String>,
    /// The line's PostgreSQL to replicate records to, e.g. postgresql://flashline@db/line
    /// (default: station.toml's [line] database)
    #[arg(long, value_name = "URL")]
    pub line_db: Option<String>,
    /// Serve the station's status page, e.g. 127.0.0.1:8080 (default: [dashboard] listen)
    #[arg(long, value_name = "ADDR")]
    pub dashboard: Option<String>,
    /// The token a browser must show (required to listen off localhost)
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}
