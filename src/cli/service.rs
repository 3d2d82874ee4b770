//! `flashline run` on the Pi: GPIO buttons and fixtures, the OLED, real USB.

use anyhow::{bail, Result};
use std::path::Path;
use std::process::ExitCode;

pub fn run(config: &Path, _json: bool) -> Result<ExitCode> {
    if !config.exists() {
        bail!(
            "{}: no station configuration (or use --sim)",
            config.display()
        );
    }
    bail!("hardware service: not built yet")
}
