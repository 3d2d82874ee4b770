//! Headless Chromium for tests (Debian's `chromium`): the DOM after load, and a screenshot.
//! Each run has a fresh profile and no network beyond what the page asks of 127.0.0.1.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn run(exe: &Path, args: &[String]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // A hung browser must not hang the suite.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// The page's DOM once loaded.
pub fn dump_dom(exe: &Path, url: &str) -> String {
    let out = run(
        exe,
        &[
            "--virtual-time-budget=3000".into(),
            "--dump-dom".into(),
            url.into(),
        ],
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PNG of the page at `width`×`height`.
pub fn screenshot(exe: &Path, url: &str, png: &Path, width: u32, height: u32) {
    let out = run(
        exe,
        &[
            "--virtual-time-budget=3000".into(),
            format!("--window-size={width},{height}"),
            format!("--screenshot={}", png.display()),
            url.into(),
        ],
    );
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
