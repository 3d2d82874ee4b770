//! `flashline run`'s arguments, shared by the modes it dispatches to.

use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Station configuration (default: /var/lib/flashline/station.toml, else
    /// /etc/flashline/station.toml). With --sim: the slots, auto_start and lights to simulate
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Simulated boards, buttons, fixtures and display
    #[arg(long)]
    pub sim: bool,
    /// Timed events on the virtual clock (with --sim); exits when they are done
    #[arg(long, requires = "sim")]
    pub script: Option<PathBuf>,
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
}
