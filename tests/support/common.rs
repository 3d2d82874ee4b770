//! What the end-to-end tests share: running the binary, and copies of the example bundle.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bundles/example-argon");

/// Runs `flashline` from the repository root (so `bundles/…` resolves), logs at warn.
pub fn flashline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flashline"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run flashline")
}

/// `inspect --json FILES`, which must succeed: its array of reports.
pub fn inspect_json(files: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["inspect", "--json"];
    args.extend(files);
    let out = flashline(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Copies the example bundle's files (not its test-firmware/ sources) into `dir`.
pub fn copy_example(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for e in std::fs::read_dir(EXAMPLE).unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
    }
}

/// A locked copy of the example bundle with another version.
pub fn versioned(dir: &Path, version: &str) -> PathBuf {
    copy_example(dir);
    let text = std::fs::read_to_string(dir.join("bundle.toml")).unwrap();
    std::fs::write(
        dir.join("bundle.toml"),
        text.replace("version = \"1.0.0\"", &format!("version = \"{version}\"")),
    )
    .unwrap();
    let out = flashline(&["bundle", "lock", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.to_path_buf()
}

/// `run --sim --json --script` with records in a temporary directory.
pub fn run_script(script: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    run_script_in(dir.path(), script, &[])
}

/// `run --sim --json --script` with the script and `records.db` in `dir`, and more arguments.
pub fn run_script_in(dir: &Path, script: &str, more: &[&str]) -> Output {
    let path = dir.join("script.toml");
    std::fs::write(&path, script).unwrap();
    let records = dir.join("records.db");
    let mut args = vec![
        "run",
        "--sim",
        "--json",
        "--script",
        path.to_str().unwrap(),
        "--records",
        records.to_str().unwrap(),
    ];
    args.extend(more);
    flashline(&args)
}

/// `bundle import ARCHIVE --pubkey KEY --into DIR`.
pub fn import(archive: &Path, pubkey: &Path, into: &Path) -> Output {
    flashline(&[
        "bundle",
        "import",
        archive.to_str().unwrap(),
        "--pubkey",
        pubkey.to_str().unwrap(),
        "--into",
        into.to_str().unwrap(),
    ])
}

/// The units of a successful scripted run.
pub fn units(out: &Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["units"].as_array().unwrap().clone()
}

/// A shift on two slots, A and B, a second apart: each gets a new board every 20 s.
pub fn shift_script(units: u64) -> String {
    let mut s = String::from("[[slot]]\nname = \"A\"\n[[slot]]\nname = \"B\"\n");
    for unit in 0..units {
        let slot = ["A", "B"][(unit % 2) as usize];
        let at = unit / 2 * 20_000 + (unit % 2) * 1_000;
        if unit >= 2 {
            let out = at - 500;
            s += &format!("[[event]]\nat_ms = {out}\naction = \"unseat\"\nslot = \"{slot}\"\n");
        }
        s += &format!("[[event]]\nat_ms = {at}\naction = \"seat\"\nslot = \"{slot}\"\n");
    }
    s
}

/// The device ID of a `slot A  PASS  e00f…  17.6 s` line of `run --sim --script`.
pub fn passed_device(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["slot", _, "PASS", id, ..] => Some(id.to_string()),
        _ => None,
    }
}

/// `run --sim --script` with `--frames`: the units and every frame's state (frames.jsonl).
pub fn run_script_frames(script: &str) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    let out = run_script_in(dir.path(), script, &["--frames", frames.to_str().unwrap()]);
    let units = units(&out);
    let text = std::fs::read_to_string(frames.join("frames.jsonl")).unwrap();
    let states = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for n in 1..=3 {
        assert!(
            frames.join(format!("{n:04}.png")).exists(),
            "frame {n} as PNG"
        );
    }
    (units, states)
}

/// `units` boards over slots A and B, 25 s apart (a unit takes about 20), slot A's first board
/// with `a_fault` if given; slot B's first board is pulled mid-flash (E-UNPLUGGED) and put back
/// at B's next turn: a line with failures and a retest.
pub fn line_script(units: u64, a_fault: Option<&str>) -> String {
    let a_fault = a_fault
        .map(|f| format!("fault = \"{f}\"\n"))
        .unwrap_or_default();
    let mut s = format!(
        "[[slot]]\nname = \"A\"\n{a_fault}[[slot]]\nname = \"B\"\nfault = \"unplug-after:200000\"\n"
    );
    for unit in 0..units {
        let slot = ["A", "B"][(unit % 2) as usize];
        let at = unit / 2 * 25_000 + (unit % 2) * 1_000;
        if unit >= 2 {
            let out = at - 500;
            s += &format!("[[event]]\nat_ms = {out}\naction = \"unseat\"\nslot = \"{slot}\"\n");
        }
        let action = if unit == 3 { "reseat" } else { "seat" };
        s += &format!("[[event]]\nat_ms = {at}\naction = \"{action}\"\nslot = \"{slot}\"\n");
    }
    s
}
