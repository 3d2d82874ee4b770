//! Particle's own CLI for the emulated-USB tests: installed from npm once, into target/, at a
//! version that runs on this machine's Node. Skipped — saying so — only where npm or the
//! registry cannot be reached.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The newest particle-cli whose dependencies npm can resolve and that runs on Node 18/20:
/// 3.47 and later need Node ≥ 22, and 3.50/3.51 binary-version-reader ^4, which is not on npm
/// (3.1.3 is the newest there).
pub const VERSION: &str = "3.43.1";
/// particle-cli 3.43.1 requires `execa` at run time (src/lib/qdl.js:1, loaded by `particle
/// flash`) but lists it only in devDependencies, so npm leaves it out.
const MISSING_DEPENDENCY: &str = "execa@5";

fn install_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("particle-cli")
        .join(VERSION)
}

/// The `particle` program, installing it first if needed (npm's own cache makes a repeated
/// install download nothing); None, said on stderr, where it cannot be had.
pub fn particle(test: &str) -> Option<PathBuf> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let dir = install_dir();
        let bin = dir.join("node_modules/.bin/particle");
        if bin.exists() && dir.join("node_modules/execa").exists() {
            return Ok(bin);
        }
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // One installer at a time across test binaries.
        let lock = std::fs::File::create(dir.join(".lock")).map_err(|e| e.to_string())?;
        // SAFETY: flock on a file we hold open.
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) };
        if bin.exists() && dir.join("node_modules/execa").exists() {
            return Ok(bin);
        }
        let out = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&dir)
            .arg(format!("particle-cli@{VERSION}"))
            .arg(MISSING_DEPENDENCY)
            .output()
            .map_err(|e| format!("npm: {e}"))?;
        if !out.status.success() || !bin.exists() {
            return Err(format!(
                "npm install particle-cli@{VERSION} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(bin)
    });
    match found {
        Ok(bin) => Some(bin.clone()),
        Err(why) => {
            eprintln!("SKIPPED {test}: particle-cli is not available here ({why})");
            None
        }
    }
}
