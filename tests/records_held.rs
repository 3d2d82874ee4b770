//! Records that cannot be written, as the station meets them: the disk fills up mid-shift, or
//! the database is read-only. Both hold as root (CI runs as root, where a chmod-444 file is
//! still writable): a file-size limit on the station's process makes the disk full, and the
//! database's own header makes it read-only by SQLite's rules. Either way the station shows
//! `E-RECORDS`, starts no new unit, exits non-zero, and never shows a verdict without a record.

#[path = "support/common.rs"]
mod common;
#[path = "support/hostile.rs"]
mod hostile;

use common::{flashline, passed_device, shift_script};
use std::path::Path;
use std::process::{Command, Output};

use flashline::records::{Filter, Records};

/// A database holding `units` earlier units, closed (its WAL folded back in).
fn database(dir: &Path, units: u32) -> std::path::PathBuf {
    let db = dir.join("records.db");
    let count = units.to_string();
    let db_arg = db.to_str().unwrap();
    let out = flashline(&["records", "stress", "--count", &count, "--records", db_arg]);
    assert!(out.status.success());
    db
}

/// Room for SQLite's 32 KiB shared-memory file and a unit or so of WAL.
const MAX_FILE: u64 = 32 * 1024;

/// `run --sim --script` on nine units; `max_file` limits the size of any file it writes.
fn run_shift(dir: &Path, db: &Path, json: bool, max_file: Option<u64>) -> Output {
    let script = dir.join("shift.toml");
    std::fs::write(&script, shift_script(9)).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flashline"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--sim", "--script"])
        .arg(&script)
        .arg("--records")
        .arg(db)
        .args(json.then_some("--json"))
        .env("RUST_LOG", "info");
    if let Some(bytes) = max_file {
        hostile::limit(&mut cmd, hostile::Limit::FileSize(bytes));
    }
    cmd.output().unwrap()
}

fn recorded_devices(db: &Path) -> Vec<String> {
    Records::open(db)
        .unwrap()
        .list(&Filter::default())
        .unwrap()
        .into_iter()
        .filter_map(|r| r.device_id)
        .collect()
}

/// Log lines from the first `E-RECORDS` on.
fn log_from_hold(stderr: &str) -> Vec<&str> {
    let lines: Vec<&str> = stderr.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.contains("E-RECORDS"))
        .unwrap_or_else(|| panic!("no E-RECORDS in the log:\n{stderr}"));
    lines[first..].to_vec()
}

#[test]
fn a_disk_that_fills_up_mid_shift_holds_the_station_at_e_records() {
    let dir = tempfile::tempdir().unwrap();
    // A database already past the limit: a checkpoint cannot fold the WAL back into it, so once
    // the WAL is full no record can be written, however often it is tried.
    let db = database(dir.path(), 200);
    assert!(std::fs::metadata(&db).unwrap().len() > MAX_FILE);
    let out = run_shift(dir.path(), &db, false, Some(MAX_FILE));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "records were lost: exit 0\n{stdout}");
    assert!(
        stdout.contains("E-RECORDS  record not saved"),
        "the slot says so: {stdout}"
    );
    assert!(stderr.contains("could not be recorded"), "{stderr}");

    let recorded = recorded_devices(&db);
    assert!(recorded.len() < 200 + 9, "some units were not recorded");
    let shown: Vec<String> = stdout.lines().filter_map(passed_device).collect();
    for id in &shown {
        assert!(
            recorded.contains(id),
            "PASS shown for {id} without a record"
        );
    }
    let held = log_from_hold(&stderr);
    assert!(
        !held.iter().any(|l| l.contains("flashing")),
        "a new unit started while records could not be written:\n{}",
        held.join("\n")
    );
    assert!(
        !held.iter().any(|l| l.contains(": PASS")),
        "a PASS after the hold: {held:?}"
    );
    let causes = stderr.matches("disk I/O error").count();
    assert_eq!(causes, 1, "the cause once:\n{stderr}");
    assert!(
        stderr.contains("unit NOT recorded: {"),
        "the unit is in the log whole"
    );
    // Far from the nine units the shift had: the station stopped when the disk did.
    assert!(shown.len() + 2 < 9, "{stdout}");
}

#[test]
fn a_read_only_database_shows_no_verdict_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path(), 1);
    // The header's write version (byte 18) above 2: SQLite itself treats the file as
    // read-only (fileformat.html §1.3.3), whoever runs it.
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[18] = 3;
    std::fs::write(&db, bytes).unwrap();

    let out = run_shift(dir.path(), &db, true, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["units"].as_array().unwrap().len(),
        0,
        "no verdict without a record: {doc}"
    );
    let held = log_from_hold(&stderr);
    assert!(
        held[0].contains("attempt to write a readonly database"),
        "{}",
        held[0]
    );
    assert_eq!(stderr.matches("readonly database").count(), 1, "{stderr}");
    assert!(!held.iter().any(|l| l.contains("flashing")), "{held:?}");
    // Both slots had started before the first record failed; both units are in the log.
    assert_eq!(
        stderr.matches("unit NOT recorded: {").count(),
        2,
        "{stderr}"
    );
}
