//! The SWD path from the command line and the station, on simulated probes and boards: a board
//! with no bootloader, which DFU cannot reach, is brought up over SWD and verified over USB;
//! every SWD failure ends in its operator code. (The probe-rs adapter itself is unit-tested in
//! `adapters::swd`; hardware is docs/hil.md §6.)

#[path = "support/common.rs"]
mod common;

use common::{copy_example, flashline, run_script, units, EXAMPLE};
use std::path::Path;
use std::process::Output;

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

/// `flash --bundle EXAMPLE --json` plus `args`; the exit status and the document.
fn flash_json(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut all = vec!["flash", "--bundle", EXAMPLE, "--json"];
    all.extend_from_slice(args);
    let out = flashline(&all);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    (out.status.code(), doc)
}

#[test]
fn a_board_without_bootloader_is_out_of_reach_of_dfu_and_brought_up_by_swd() {
    let (status, dfu) = flash_json(&["--sim=no-bootloader"]);
    assert_eq!(status, Some(1));
    assert_eq!(dfu["code"], "E-NO-BOARD", "{dfu}");

    let (status, swd) = flash_json(&["--swd", "--sim=no-bootloader"]);
    assert_eq!(status, Some(0), "{swd}");
    assert_eq!(swd["outcome"], "ok");
    assert_eq!(swd["device_id"], "e00fce68f372fe94a3fad5fb");
    assert_eq!(
        swd["swd"]["verified_on_port"], "sim-1",
        "found by its device ID"
    );
    let written: Vec<&str> = swd["modules_written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(written.len(), 4, "bootloader included: {written:?}");
    assert!(written.iter().any(|m| m.starts_with("bootloader")));
    let modules = swd["board_modules"].as_array().unwrap();
    // The bundle's four and the NCP, which an Argon's Device OS lists too
    // (ota_module_bounds.c:153-155 @ v1.5.0).
    assert_eq!(modules.len(), 5, "{modules:?}");
    assert!(
        modules.iter().all(|m| m["failed"] == 0),
        "every module valid: {modules:?}"
    );
}

#[test]
fn pages_that_already_hold_the_bundle_are_not_written_again() {
    let (status, doc) = flash_json(&["--swd", "--sim", "--sim-preload", EXAMPLE]);
    assert_eq!(status, Some(0), "{doc}");
    assert_eq!(doc["bytes_written"], 0, "{doc}");
    assert_eq!(doc["sim"]["pages_erased"], 0);
}

#[test]
fn every_swd_failure_ends_in_its_code_with_nothing_written_where_it_must_not_be() {
    for (faults, code, erased_nothing) in [
        ("--sim=swd-locked", "E-SWD-LOCKED", true),
        ("--sim=swd-no-target", "E-SWD-TARGET", true),
        ("--sim=wrong-platform", "E-WRONG-PLATFORM", true),
        ("--sim=no-reenumerate", "E-REENUM", false),
    ] {
        let (status, doc) = flash_json(&["--swd", faults]);
        assert_eq!(status, Some(1), "{faults}: {doc}");
        assert_eq!(doc["code"], code, "{faults}: {doc}");
        if erased_nothing {
            assert_eq!(doc["sim"]["pages_erased"], 0, "{faults}: {doc}");
        }
    }
    let (_, doc) = flash_json(&["--swd", "--sim=no-reenumerate"]);
    let error = doc["error"].as_str().unwrap();
    assert!(error.contains("did not come up on USB"), "{error}");
}

/// A copy of the example bundle that names `mbr` as its MBR, and what `bundle lock` said.
fn bundle_with_mbr(dir: &Path, mbr: &[u8]) -> (String, Output) {
    copy_example(dir);
    std::fs::write(dir.join("mbr.bin"), mbr).unwrap();
    let toml = std::fs::read_to_string(dir.join("bundle.toml")).unwrap();
    std::fs::write(dir.join("bundle.toml"), toml + "mbr = \"mbr.bin\"\n").unwrap();
    let path = dir.to_str().unwrap().to_string();
    let lock = flashline(&["bundle", "lock", &path]);
    (path, lock)
}

/// A plausible vector table (the simulator runs no code).
fn plausible_mbr() -> Vec<u8> {
    let mut mbr = vec![0xFF; 0xB00];
    mbr[..4].copy_from_slice(&0x2000_0400u32.to_le_bytes());
    mbr[4..8].copy_from_slice(&0x0000_0A81u32.to_le_bytes());
    mbr
}

#[test]
fn erasing_a_locked_chip_needs_a_bundle_that_gives_its_mbr_back() {
    // Without an MBR in the bundle, erasing is refused before the probe is touched.
    let refused = flashline(&[
        "flash",
        "--bundle",
        EXAMPLE,
        "--swd",
        "--sim=swd-locked",
        "--allow-erase-all",
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains("carries none"),
        "{}",
        text(&refused)
    );

    let dir = tempfile::tempdir().unwrap();
    let (bundle, lock) = bundle_with_mbr(dir.path(), &plausible_mbr());
    assert!(lock.status.success(), "{}", text(&lock));
    let out = flashline(&[
        "flash",
        "--bundle",
        &bundle,
        "--json",
        "--swd",
        "--sim=swd-locked",
        "--allow-erase-all",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["outcome"], "ok", "{doc}");
    assert_eq!(
        doc["plan"][0].as_str().unwrap().split_whitespace().nth(1),
        Some("mbr")
    );

    // DFU never writes the MBR: it is not a module, and not DFU's region.
    let out = flashline(&["flash", "--bundle", &bundle, "--json", "--sim", "--dry-run"]);
    let plan = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success() && !plan.contains("mbr"), "{plan}");

    // The MBR is pinned like every other file.
    let mut changed = plausible_mbr();
    changed[100] ^= 1;
    std::fs::write(dir.path().join("mbr.bin"), changed).unwrap();
    let out = flashline(&["bundle", "verify", &bundle]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("mbr.bin: changed"), "{}", text(&out));
}

#[test]
fn a_file_that_is_not_an_mbr_is_refused_when_locking() {
    let dir = tempfile::tempdir().unwrap();
    let user_part = std::fs::read(Path::new(EXAMPLE).join("tinker-0.8.0-rc.27-argon.bin")).unwrap();
    let (_, out) = bundle_with_mbr(dir.path(), &user_part);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("mbr.bin") && text(&out).contains("MBR"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_dry_run_plans_the_dfu_image_plus_the_bootloader() {
    let (status, doc) = flash_json(&["--swd", "--dry-run"]);
    assert_eq!(status, Some(0), "{doc}");
    let plan: Vec<&str> = doc["swd"]["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(plan.len(), 4, "{plan:?}");
    for (line, at) in plan
        .iter()
        .zip(["0x01000", "0x30000", "0xd4000", "0xf4000"])
    {
        assert!(line.contains(&format!("SWD at {at}")), "{line}");
    }
    assert!(plan[3].contains("bootloader"), "{}", plan[3]);
}

#[test]
fn a_real_probe_needs_the_swd_build() {
    let probes = flashline(&["probes"]);
    let flash = flashline(&["flash", "--bundle", EXAMPLE, "--swd"]);
    if cfg!(feature = "swd") {
        assert!(probes.status.success(), "{}", text(&probes));
    } else {
        for out in [&probes, &flash] {
            assert_eq!(out.status.code(), Some(1), "{}", text(out));
            assert!(text(out).contains("--features swd"), "{}", text(out));
        }
    }
}

#[test]
fn probe_and_erase_all_need_swd() {
    for args in [
        &["flash", "--bundle", EXAMPLE, "--probe", "X"][..],
        &["flash", "--bundle", EXAMPLE, "--allow-erase-all"][..],
        &[
            "flash",
            "--bundle",
            EXAMPLE,
            "--swd",
            "--sim",
            "--sim-reseat",
        ][..],
    ] {
        let out = flashline(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
}

/// A station script on the example bundle: slots as (name, probe, fault), then timed
/// (ms, action, slot) events.
fn station(slots: &[(&str, Option<&str>, &str)], events: &[(u64, &str, &str)]) -> String {
    let mut script = format!("bundle = \"{EXAMPLE}\"\n");
    for (name, probe, fault) in slots {
        script += &format!("[[slot]]\nname = \"{name}\"\nfault = \"{fault}\"\n");
        if let Some(probe) = probe {
            script += &format!("probe = \"{probe}\"\n");
        }
    }
    for (at_ms, action, slot) in events {
        script +=
            &format!("[[event]]\nat_ms = {at_ms}\naction = \"{action}\"\nslot = \"{slot}\"\n");
    }
    script
}

#[test]
fn a_station_slot_with_a_probe_flashes_bricked_boards_unattended() {
    let out = run_script(&station(
        &[
            ("DFU", None, "no-bootloader"),
            ("SWD", Some("SIM-PROBE-1"), "no-bootloader"),
        ],
        &[(0, "seat", "DFU"), (0, "seat", "SWD")],
    ));
    let units = units(&out);
    let by = |slot: &str| {
        units
            .iter()
            .find(|u| u["slot"] == slot)
            .unwrap_or_else(|| panic!("no unit on {slot}: {units:?}"))
            .clone()
    };
    assert_eq!(by("DFU")["code"], "E-NO-BOARD");
    let swd = by("SWD");
    assert_eq!(swd["outcome"], "pass", "{swd}");
    assert!(swd["device_id"].as_str().unwrap().starts_with("e00fce68"));
    assert_eq!(
        swd["measurements"].as_array().unwrap().len(),
        5,
        "tested over USB"
    );
    assert!(
        swd["final_ms"].as_u64().is_some(),
        "and given its final firmware"
    );
}

#[test]
fn a_locked_chip_on_a_probe_slot_fails_with_its_code_and_is_never_erased() {
    let out = run_script(&station(
        &[("A", Some("SIM-PROBE-1"), "swd-locked")],
        &[(0, "seat", "A")],
    ));
    let units = units(&out);
    assert_eq!(units.len(), 1);
    assert_eq!(units[0]["code"], "E-SWD-LOCKED", "{:?}", units[0]);
    assert_eq!(units[0]["reason"], "chip locked");
}

#[test]
fn a_station_config_naming_a_probe_needs_the_swd_build_and_selftest_checks_the_probe() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        format!(
            "buttons = {{ start = 17, func = 27 }}\n\
             paths = {{ bundles = \"{0}/b\", records = \"{0}/r.db\" }}\n\
             [[slot]]\nname = \"A\"\nprobe = \"NO-SUCH-PROBE\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let selftest = flashline(&["selftest", "--json", "--config", config]);
    let checks: serde_json::Value = serde_json::from_slice(&selftest.stdout).unwrap();
    let probe = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "probe A")
        .unwrap_or_else(|| panic!("no probe check: {checks}"));
    assert_eq!(probe["ok"], false, "no probe here: {probe}");
    if !cfg!(feature = "swd") {
        let run = flashline(&["run", "--config", config]);
        assert_eq!(run.status.code(), Some(1), "{}", text(&run));
        assert!(text(&run).contains("--features swd"), "{}", text(&run));
    }
}

#[test]
fn the_bench_measures_a_unit_on_a_probe_slot_against_one_on_a_dfu_slot() {
    let out = flashline(&[
        "bench",
        "--sim",
        "--slots",
        "1",
        "--units",
        "1",
        "--speedup",
        "50",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dfu = doc["unit_seconds_modeled"].as_f64().unwrap();
    let swd = doc["swd_unit_seconds_modeled"].as_f64().unwrap();
    // The whole image incl. bootloader over SWD, then tests and final: the same order of time.
    assert!((10.0..=30.0).contains(&swd), "SWD unit {swd} s");
    assert!(
        (0.5..=1.5).contains(&(swd / dfu)),
        "SWD {swd} s vs DFU {dfu} s"
    );
}

#[test]
fn a_reseated_board_on_a_probe_slot_that_passed_its_tests_goes_straight_to_the_final_stage() {
    let out = run_script(&station(
        &[("A", Some("SIM-PROBE-1"), "no-dfu")],
        &[
            (0, "seat", "A"),
            (45000, "unseat", "A"),
            (46000, "reseat", "A"),
        ],
    ));
    let units = units(&out);
    assert_eq!(units.len(), 2, "{units:?}");
    assert_eq!(units[0]["code"], "E-FINAL-REENUM", "{:?}", units[0]);
    assert_eq!(units[1]["outcome"], "pass", "{:?}", units[1]);
    assert!(
        units[1]["test_ms"].is_null(),
        "SWD found every page in place, and the tests passed before: {:?}",
        units[1]
    );
    assert_eq!(units[1]["flashed_by"], "swd");
}
