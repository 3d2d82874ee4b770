//! Oversize and malformed input from outside: bounded memory, clear errors naming the file.

#[path = "support/common.rs"]
mod common;
#[path = "support/hostile.rs"]
mod hostile;
use common::{copy_example, flashline, import, EXAMPLE};

use std::path::Path;
use std::time::Duration;

const TINKER: &str = "tinker-0.8.0-rc.27-argon.bin";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_oversize_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("huge.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(2 * 1024 * 1024 * 1024).unwrap(); // sparse: 2 GiB claimed, nothing on disk
    let out = flashline(&["inspect", big.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("huge.bin") && err.contains("larger than any module"),
        "{err}"
    );
}

#[test]
fn a_tests_toml_that_is_not_text_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    copy_example(dir.path());
    std::fs::write(dir.path().join("tests.toml"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let out = flashline(&["bundle", "lock", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tests.toml") && err.contains("not UTF-8"),
        "{err}"
    );
}

#[test]
fn a_stick_full_of_junk_offers_nothing_and_breaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    assert!(flashline(&["keygen", "--out", keys.to_str().unwrap()])
        .status
        .success());
    for (i, junk) in [
        vec![],
        vec![0u8; 10_000],
        b"not a tar at all".to_vec(),
        vec![0xff; 1024],
    ]
    .iter()
    .enumerate()
    {
        let archive = dir.path().join(format!("junk{i}.tar"));
        std::fs::write(&archive, junk).unwrap();
        let out = import(
            &archive,
            &keys.join("bundle.pub"),
            &dir.path().join("bundles"),
        );
        assert_eq!(out.status.code(), Some(1), "junk {i}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    assert!(!dir.path().join("bundles/active").exists());
}

#[test]
fn a_module_that_is_a_symlink_to_dev_zero_or_a_fifo_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    copy_example(dir.path());
    let module = dir.path().join(TINKER);
    std::fs::remove_file(&module).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &module).unwrap();
    let fifo = dir.path().join("fifo.bin");
    hostile::mkfifo(&fifo);
    let d = dir.path().to_str().unwrap();
    for args in [
        vec!["bundle", "lock", d],
        vec!["bundle", "verify", d],
        vec!["inspect", module.to_str().unwrap()],
        vec!["inspect", fifo.to_str().unwrap()],
    ] {
        // Before: /dev/zero was read until the cap (the OOM killer, uncapped), the FIFO hung.
        let m = hostile::capped(&args, 1 << 30, Duration::from_secs(20));
        assert!(!m.killed_at_time_limit, "{args:?} hung");
        assert_eq!(m.code, Some(1), "{args:?}: {m:?}");
        assert!(
            m.stderr.contains("not a regular file"),
            "{args:?}: {}",
            m.stderr
        );
        assert!(m.max_rss_kib < 64 * 1024, "{args:?}: {} KiB", m.max_rss_kib);
    }
}

#[test]
fn a_stray_module_file_in_any_case_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    copy_example(dir.path());
    std::fs::write(dir.path().join("EXTRA.BIN"), b"x").unwrap();
    let out = flashline(&["bundle", "verify", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("EXTRA.BIN: not in the lock"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_empty_tests_toml_is_refused_at_lock_and_at_load() {
    let dir = tempfile::tempdir().unwrap();
    copy_example(dir.path());
    let d = dir.path().to_str().unwrap();
    // At load: a lock that pins an empty tests.toml (as one made before this check would).
    let lock = std::fs::read_to_string(dir.path().join("bundle.lock")).unwrap();
    let old = std::fs::read(dir.path().join("tests.toml")).unwrap();
    let sha = |b: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b));
    std::fs::write(dir.path().join("tests.toml"), "").unwrap();
    std::fs::write(
        dir.path().join("bundle.lock"),
        lock.replace(&sha(&old), &sha(b"")),
    )
    .unwrap();
    let out = flashline(&["bundle", "show", d]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an empty plan passes every board"
    );
    assert!(stderr(&out).contains("no test"), "{}", stderr(&out));
    // At lock.
    for empty in ["", "ready = { expect = \"READY\" }\n"] {
        std::fs::write(dir.path().join("tests.toml"), empty).unwrap();
        std::fs::remove_file(dir.path().join("bundle.lock")).ok();
        let out = flashline(&["bundle", "lock", d]);
        assert_eq!(out.status.code(), Some(1), "{empty:?}");
        assert!(
            stderr(&out).contains("tests.toml") && stderr(&out).contains("no test"),
            "{}",
            stderr(&out)
        );
    }
}

fn flash_sim_traced(trace: &Path) -> std::process::Output {
    let trace = trace.to_str().unwrap();
    flashline(&["flash", "--bundle", EXAMPLE, "--sim", "--trace", trace])
}

#[test]
fn a_trace_that_cannot_be_written_fails_the_command() {
    let out = flash_sim_traced(Path::new("/dev/full"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("trace") && err.contains("/dev/full") && err.contains("No space left"),
        "{err}"
    );
}

#[test]
fn a_trace_ends_on_a_whole_line_and_every_line_is_json() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    let out = flash_sim_traced(&trace);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}

#[test]
fn scripts_get_the_stations_limits() {
    let dir = tempfile::tempdir().unwrap();
    let slots: String = (0..64)
        .map(|i| format!("[[slot]]\nname = \"S{i}\"\n"))
        .collect();
    for (script, why) in [
        (slots, "at most 8 slots"),
        (
            "[[event]]\nat_ms = 1000000000000000\naction = \"func\"\n".to_string(),
            "at_ms",
        ),
        (
            "[[slot]]\nname = \"A\"\n[[slot]]\nname = \"A\"\n".to_string(),
            "used twice",
        ),
        (
            "[[slot]]\nname = \"A\"\nprobe = \"0E23\"\n[[slot]]\nname = \"B\"\nprobe = \"0e23\"\n"
                .to_string(),
            "used twice",
        ),
    ] {
        let path = dir.path().join("s.toml");
        std::fs::write(&path, &script).unwrap();
        let m = hostile::capped(
            &[
                "run",
                "--sim",
                "--json",
                "--script",
                path.to_str().unwrap(),
                "--records",
                dir.path().join("r.db").to_str().unwrap(),
            ],
            2 << 30,
            Duration::from_secs(30),
        );
        assert!(!m.killed_at_time_limit, "{why}: still running");
        assert_eq!(m.code, Some(1), "{why}: {m:?}");
        assert!(m.stderr.contains(why), "{}", m.stderr);
    }
}
