//! Running programs under `flashline sim usb`: simulated boards on an emulated kernel USB
//! interface. Tests skip — saying so on stderr — only where umockdev is not installed; CI
//! installs it (.ci/run).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

pub const BIN: &str = env!("CARGO_BIN_EXE_flashline");
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Boards' costs at 20× real time: a 15 s flash takes under a second of board time.
pub const SPEEDUP: &str = "20";

/// Whether `sim usb` can run here; prints why not once.
pub fn available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        let out = Command::new(BIN)
            .args(["sim", "usb", "--", "true"])
            .output()
            .expect("run flashline");
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            return true;
        }
        assert!(
            err.contains("umockdev"),
            "`sim usb -- true` failed for another reason than umockdev missing: {err}"
        );
        false
    })
}

/// Skips the calling test (returns true) where umockdev is missing, loudly; CI sets
/// FLASHLINE_REQUIRE_UMOCKDEV, and there a missing umockdev fails the test.
pub fn skip(test: &str) -> bool {
    if available() {
        return false;
    }
    assert!(
        std::env::var_os("FLASHLINE_REQUIRE_UMOCKDEV").is_none(),
        "{test}: umockdev is required here (FLASHLINE_REQUIRE_UMOCKDEV) but `sim usb` cannot run"
    );
    eprintln!(
        "SKIPPED {test}: umockdev is not installed (apt install umockdev); \
         the emulated-USB tests need it"
    );
    true
}

/// `flashline sim usb OPTIONS -- COMMAND…` from the repository root.
pub fn sim_usb(options: &[&str], command: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.current_dir(ROOT)
        .args(["sim", "usb", "--speedup", SPEEDUP])
        .args(options)
        .arg("--")
        .args(command)
        .env("RUST_LOG", "warn");
    c.output().expect("run flashline sim usb")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Both streams, for assertion messages.
pub fn shown(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// The `--report` a run wrote.
pub fn report(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("sim usb --report written");
    serde_json::from_str(&text).expect("report is JSON")
}

/// The VID:PID of each enumeration a `--report` saw on port index `port`, in order.
pub fn enumerations(report: &serde_json::Value, port: usize) -> Vec<String> {
    report[port]["enumerations"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The one JSON document a `--json` command printed.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", shown(out)))
}

/// A locked bundle in `dir` of `files` (paths relative to the repository), named `name`.
pub fn locked_bundle(dir: &Path, name: &str, files: &[&str]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let mut modules = Vec::new();
    for f in files {
        let from = Path::new(ROOT).join(f);
        let file = from.file_name().unwrap();
        std::fs::copy(&from, dir.join(file)).unwrap();
        modules.push(format!("\"{}\"", file.to_string_lossy()));
    }
    std::fs::write(
        dir.join("bundle.toml"),
        format!(
            "name = \"{name}\"\nversion = \"1.0.0\"\nplatform = \"argon\"\nmodules = [{}]\n",
            modules.join(", ")
        ),
    )
    .unwrap();
    let lock = Command::new(BIN)
        .args(["bundle", "lock", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(lock.status.success(), "{}", shown(&lock));
    dir.to_str().unwrap().to_string()
}
