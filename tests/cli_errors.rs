//! The command line refuses what it cannot do, says each cause once in words a user reads,
//! and never panics: each case here was accepted silently, repeated, or panicked before.

#[path = "support/common.rs"]
mod common;
use common::{copy_example, flashline, import, run_script_in, EXAMPLE};

use std::process::{Command, Stdio};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn refused(args: &[&str], says: &[&str]) {
    let out = flashline(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?} was accepted: {err}");
    for s in says {
        assert!(err.contains(s), "{args:?}: `{s}` not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    for args in [
        vec![
            "inspect",
            "--json",
            &format!("{EXAMPLE}/argon-system-part1@1.5.0.bin"),
        ],
        vec!["screenshot", "--all", "/tmp/flashline-pipe-test"],
        vec!["run", "--sim"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flashline"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .env(
                "XDG_DATA_HOME",
                std::env::temp_dir().join("flashline-pipe-test-data"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -0`: the reader is gone before anything is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_ne!(out.status.code(), Some(101), "{args:?}");
    }
}

#[test]
fn records_since_must_be_a_date_and_export_to_dash_is_stdout() {
    refused(
        &[
            "records",
            "list",
            "--records",
            "/nonexistent.db",
            "--since",
            "garbage",
        ],
        &["--since `garbage`", "2026-11-26"],
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.db");
    let out = run_script_in(dir.path(), "[[event]]\nat_ms = 0\naction = \"seat\"\n", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let db = db.to_str().unwrap();
    let out = flashline(&["records", "list", "--records", db, "--since", "2000-01-01"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 record(s)"));
    let out = flashline(&[
        "records",
        "list",
        "--records",
        db,
        "--since",
        "2999-01-01T00:00:00Z",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 record(s)"));
    let out = Command::new(env!("CARGO_BIN_EXE_flashline"))
        .current_dir(dir.path())
        .args(["records", "export", "--records", db, "--csv", "-o", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("time_utc,"),
        "the CSV on stdout"
    );
    assert!(!dir.path().join("-").exists(), "no file named `-`");
}

/// A records database named on the command line that is not there is a mistyped path (or an
/// unmounted stick), not an empty shift: said as such, exit 1, and nothing created.
#[test]
fn a_records_path_that_does_not_exist_is_an_error_and_an_empty_one_has_no_records_yet() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothere.db");
    let m = missing.to_str().unwrap();
    let says = format!("error: {m}: no such records database");
    for args in [
        vec!["records", "list", "--records", m],
        vec!["records", "export", "--csv", "-o", "-", "--records", m],
        vec!["records", "verify", "--records", m],
        vec!["records", "dhr", "--work-order", "WO-1", "--records", m],
        vec![
            "line",
            "push",
            "--line-db",
            "postgresql://127.0.0.1:1/x",
            "--records",
            m,
        ],
    ] {
        refused(&args, &[&says]);
        assert!(
            !stderr(&flashline(&args)).contains("give --records"),
            "{args:?}"
        );
        assert!(!missing.exists(), "{args:?} created {m}");
    }

    let empty = dir.path().join("empty.db");
    // The power-cut tests' hook with no unit: the database, its tables, no record.
    let made = flashline(&[
        "records",
        "stress",
        "--count",
        "0",
        "--records",
        empty.to_str().unwrap(),
    ]);
    assert!(made.status.success() && empty.exists(), "{}", stderr(&made));
    let out = flashline(&["records", "list", "--records", empty.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no records yet\n");
}

#[test]
fn test_takes_only_test_faults_that_name_a_test() {
    refused(
        &["test", "--sim=meas:nosuchtest=1"],
        &["no test `nosuchtest`", "vin, rail_3v3"],
    );
    refused(
        &["test", "--sim=write-error"],
        &["does not flash", "flash --sim=write-error"],
    );
    // A script's test fault is checked against the bundle too.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.toml");
    std::fs::write(&script, "[[slot]]\nname = \"A\"\nfault = \"err:vn\"\n").unwrap();
    refused(
        &["run", "--sim", "--script", script.to_str().unwrap()],
        &["slot A", "no test `vn`"],
    );
}

#[test]
fn bench_refuses_zero_slots() {
    refused(&["bench", "--sim", "--slots", "0"], &["--slots"]);
}

#[test]
fn a_dry_run_says_it_is_a_plan() {
    let out = flashline(&["flash", "--bundle", EXAMPLE, "--sim", "--dry-run"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("PLAN") && text.contains("would write 4 module(s)"),
        "{text}"
    );
    assert!(
        text.contains("nothing was written") && !text.contains("OK  device"),
        "{text}"
    );
}

#[test]
fn a_failed_flash_prints_what_to_try() {
    let out = flashline(&["flash", "--bundle", EXAMPLE, "--sim=write-error"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("try: reseat and retry once"), "{text}");
    let out = flashline(&["test", "--sim=meas:vin=10.2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("try: check the tested part"), "{text}");
}

#[test]
fn selftest_reads_the_records_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("station.toml");
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/station.toml"))
            .unwrap()
            .replace("/var/lib/flashline", dir.path().to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    let out = flashline(&["selftest", "--json", "--config", config.to_str().unwrap()]);
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "records")
        .unwrap();
    assert_eq!(records["ok"], true, "{records}");
    assert!(records["detail"]
        .as_str()
        .unwrap()
        .contains("no records yet"));
    assert!(
        !dir.path().join("records.db").exists(),
        "a self-test only reads"
    );
}

#[test]
fn each_cause_is_said_once_without_internal_names() {
    let out = flashline(&["bundle", "lock", "/nonexistent"]);
    assert_eq!(
        stderr(&out).matches("No such file").count(),
        1,
        "{}",
        stderr(&out)
    );
    let out = flashline(&[
        "records",
        "list",
        "--records",
        &format!("{EXAMPLE}/bundle.toml"),
    ]);
    assert_eq!(
        stderr(&out).matches("not a database").count(),
        1,
        "{}",
        stderr(&out)
    );
    let out = flashline(&["inspect", concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")]);
    assert!(!stderr(&out).contains("Some("), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "no table header over no rows");
    let dir = tempfile::tempdir().unwrap();
    copy_example(dir.path());
    std::fs::write(dir.path().join("tests.toml"), "ready = 5\n").unwrap();
    let out = flashline(&["bundle", "lock", dir.path().to_str().unwrap()]);
    assert!(!stderr(&out).contains("Raw"), "{}", stderr(&out));
}

#[test]
fn bundle_lock_lists_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    copy_example(dir.path());
    std::fs::write(dir.path().join("argon-softdevice@1.5.0.bin"), b"x").unwrap();
    std::fs::write(
        dir.path().join("tests.toml"),
        "[[test]]\nname = \"x\"\nsend = 5\n",
    )
    .unwrap();
    let bundle = std::fs::read_to_string(dir.path().join("bundle.toml")).unwrap();
    std::fs::write(
        dir.path().join("bundle.toml"),
        bundle.replace(
            "version = \"1.0.0\"",
            "version = \"1.0.0\"\nmbr = \"no-mbr.bin\"",
        ),
    )
    .unwrap();
    refused(
        &["bundle", "lock", dir.path().to_str().unwrap()],
        &[
            "argon-softdevice@1.5.0.bin: truncated",
            "tests.toml",
            "no-mbr.bin",
        ],
    );
    assert!(
        !dir.path().join("bundle.lock").exists() || {
            // The example's own lock was copied; it must be the unchanged one.
            std::fs::read(dir.path().join("bundle.lock")).unwrap()
                == std::fs::read(format!("{EXAMPLE}/bundle.lock")).unwrap()
        }
    );
}

#[test]
fn bytes_from_a_file_never_reach_the_terminal_raw() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    assert!(flashline(&["keygen", "--out", keys.to_str().unwrap()])
        .status
        .success());
    // A tar header whose numeric fields are binary: tar's error quotes them.
    let mut junk = vec![0u8; 1024];
    for (i, b) in junk.iter_mut().enumerate().take(512) {
        *b = (i as u8).wrapping_mul(37) | 0x80;
    }
    junk[100..108].copy_from_slice(b"\x01\x02\x1b[31m\x07");
    let archive = dir.path().join("junk.tar");
    std::fs::write(&archive, junk).unwrap();
    let out = import(&archive, &keys.join("bundle.pub"), dir.path());
    assert_eq!(out.status.code(), Some(1));
    let raw = &out.stderr;
    assert!(
        !raw.iter()
            .any(|b| *b == 0x1b || *b == 0x07 || (*b < 0x20 && *b != b'\n')),
        "{}",
        String::from_utf8_lossy(raw)
    );
}

#[test]
fn a_permission_problem_is_named_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("station.toml"), "station = \"x\"\n").unwrap();
    std::fs::write(locked.join("records.db"), "").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let as_user = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flashline"));
        cmd.args(args).env("RUST_LOG", "warn");
        // Root reads anything: run as nobody there (CI runs as root).
        if unsafe { libc::geteuid() } == 0 {
            use std::os::unix::process::CommandExt;
            cmd.uid(65534).gid(65534);
        }
        cmd.output().unwrap()
    };
    let config = locked.join("station.toml");
    let db = locked.join("records.db");
    for args in [
        vec!["selftest", "--config", config.to_str().unwrap()],
        vec!["records", "list", "--records", db.to_str().unwrap()],
    ] {
        let out = as_user(&args);
        let all = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {all}");
        assert!(
            all.to_lowercase().contains("permission denied"),
            "{args:?}: {all}"
        );
        assert!(!all.contains("no records yet"), "{args:?}: {all}");
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
}
