//! `flashline run`: the station service, on hardware or simulated (`--sim`), interactive,
//! scripted (`--script FILE`) or as a short demo when nobody is at a terminal. This file only
//! parses and dispatches: `service` (hardware), `sim_setup` (what every simulated run shares),
//! `run_sim` (scripted and demo), `run_terminal` (interactive); `--sim-io` is the hardware
//! service with scripted fixtures and buttons.

use anyhow::Result;
use std::io::IsTerminal;
use std::process::ExitCode;

use super::run_args::Args;
use crate::runtime::script::Script;

pub fn run(args: Args) -> Result<ExitCode> {
    if !args.sim {
        let config = args
            .config
            .clone()
            .unwrap_or_else(crate::core::config::default_path);
        let scripted = match (&args.script, args.sim_io) {
            (Some(path), true) => Some((Script::load(path)?, !args.json)),
            (Some(_), false) => anyhow::bail!("--script needs --sim or --sim-io"),
            (None, _) => None,
        };
        return super::service::run(
            &config,
            args.records.as_deref(),
            args.json,
            &args.edges,
            scripted,
        );
    }
    let interactive = args.script.is_none()
        && args.frames.is_none()
        && !args.json
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal();
    let setup = super::sim_setup::setup(&args)?;
    match interactive {
        true => super::run_terminal::run(setup),
        false => super::run_sim::run(setup, args.frames.as_deref(), args.json, args.speed),
    }
}
