//! `flashline flash --sim` as a user runs it.

#[path = "support/common.rs"]
mod common;
use common::{flashline, EXAMPLE};

use std::process::Output;

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn flash_sim_json_ends_ok_with_every_module_valid() {
    let out = flashline(&["flash", "--bundle", EXAMPLE, "--sim", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(doc["outcome"], "ok");
    assert_eq!(doc["modules_written"].as_array().unwrap().len(), 3);
    assert_eq!(doc["device_id"].as_str().unwrap().len(), 24);
    let ms = doc["duration_ms"].as_u64().unwrap();
    assert!((10_000..=25_000).contains(&ms), "{ms}");
    for m in doc["board_modules"].as_array().unwrap() {
        assert_eq!(m["failed"], 0, "{m}");
    }
    assert!(doc["sim"]["host_overhead_ratio"].as_f64().unwrap() <= 1.05);
}

#[test]
fn a_fault_fails_with_its_code_and_a_reseat_succeeds() {
    let out = flashline(&[
        "flash",
        "--bundle",
        EXAMPLE,
        "--sim=write-error",
        "--sim-reseat",
        "--json",
    ]);
    assert!(out.status.success());
    let doc = json(&out);
    assert_eq!(doc["attempts"][0]["outcome"], "fail");
    assert_eq!(doc["attempts"][0]["code"], "E-DFU-WRITE");
    assert_eq!(doc["attempts"][1]["outcome"], "ok");

    let out = flashline(&["flash", "--bundle", EXAMPLE, "--sim=unplug", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["code"], "E-UNPLUGGED");
}

#[test]
fn unknown_faults_are_refused_with_the_list() {
    let out = flashline(&["flash", "--bundle", EXAMPLE, "--sim=unplugg"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown sim fault `unplugg`") && stderr.contains("no-reenumerate"),
        "{stderr}"
    );
}

#[test]
fn dry_run_shows_the_plan_and_writes_nothing() {
    let out = flashline(&[
        "flash",
        "--bundle",
        EXAMPLE,
        "--sim",
        "--sim-preload",
        EXAMPLE,
        "--dry-run",
        "--json",
    ]);
    assert!(out.status.success());
    let doc = json(&out);
    let plan: Vec<&str> = doc["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(plan.len(), 4);
    assert!(plan.iter().all(|l| l.starts_with("skip")), "{plan:?}");
    assert_eq!(doc["bytes_written"], 0);
}

#[test]
fn trace_records_every_control_transfer_with_setup_data_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.jsonl");
    let out = flashline(&[
        "flash",
        "--bundle",
        EXAMPLE,
        "--sim",
        "--json",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds = |k: &str| lines.iter().filter(|l| l["kind"] == k).count();
    assert!(kinds("open") >= 2 && kinds("close") >= 2 && kinds("alt") >= 1);
    let controls: Vec<_> = lines.iter().filter(|l| l["kind"] == "control").collect();
    assert!(controls.len() > 500, "{}", controls.len());
    // The first DfuSe command is the erase of the radio stack's first page at 0x1000.
    let erase = controls
        .iter()
        .find(|c| c["request"] == 1 && c["value"] == 0)
        .unwrap();
    assert_eq!(erase["data"], "4100100000");
    assert_eq!(erase["request_type"], 33);
    assert_eq!(erase["status"], "ok");
    // Data blocks carry their bytes, so the session can be replayed.
    let block = controls
        .iter()
        .find(|c| c["request"] == 1 && c["value"] == 2)
        .unwrap();
    assert_eq!(block["data"].as_str().unwrap().len(), 2 * 4096);
    let times: Vec<f64> = lines.iter().map(|l| l["t_ms"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "t_ms is monotonic");
}

#[path = "support/sim_rig.rs"]
mod sim_rig;

#[test]
fn a_bootloader_sent_by_control_request_is_reported_written_by_that_route() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sim_rig::with_module(
        tmp.path(),
        flashline::core::module::ModuleFunction::Bootloader,
        "argon-bootloader@4.1.0.bin",
    );
    let out = flashline(&[
        "flash",
        "--bundle",
        dir.to_str().unwrap(),
        "--sim",
        "--sim-preload",
        EXAMPLE,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(
        doc["modules_written"],
        serde_json::json!(["bootloader#0 v1200"])
    );
    assert_eq!(doc["written"][0]["module"], "bootloader#0 v1200");
    assert_eq!(doc["written"][0]["route"], "control-request");
    assert!(
        !doc["modules_skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "bootloader#0 v1200"),
        "{doc}"
    );
    // The host waited for the one reset Device OS made to finish the update.
    assert_eq!(doc["resets"], 1);
}
