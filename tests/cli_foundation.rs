//! `inspect` and `bundle` as a user runs them.

#[path = "support/common.rs"]
mod common;

use common::{flashline, EXAMPLE};
use std::path::Path;

fn example(file: &str) -> String {
    format!("{EXAMPLE}/{file}")
}

#[test]
fn inspect_json_reports_the_four_modules() {
    let files = [
        "argon-bootloader@1.5.0.bin",
        "argon-softdevice@1.5.0.bin",
        "argon-system-part1@1.5.0.bin",
        "tinker-0.8.0-rc.27-argon.bin",
    ]
    .map(example);
    let mut args = vec!["inspect", "--json"];
    args.extend(files.iter().map(String::as_str));
    let out = flashline(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let modules = json.as_array().unwrap();
    let summary: Vec<(String, u64, u64, u64)> = modules
        .iter()
        .map(|m| {
            (
                m["function"].as_str().unwrap().to_string(),
                m["version"].as_u64().unwrap(),
                m["start_address"].as_u64().unwrap(),
                m["platform_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("bootloader".into(), 501, 0xF4000, 12),
            ("radio-stack".into(), 202, 0x1000, 12),
            ("system-part".into(), 1502, 0x30000, 12),
            ("user-part".into(), 5, 0xD4000, 12),
        ]
    );
    assert!(modules.iter().all(|m| m["crc_ok"] == true));
    assert_eq!(modules[2]["dependencies"][0]["function"], "bootloader");
    assert_eq!(modules[2]["dependencies"][1]["version"], 202);
}

#[test]
fn inspect_rejects_a_corrupt_copy_naming_the_file_and_reports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.bin");
    let mut bytes = std::fs::read(example("tinker-0.8.0-rc.27-argon.bin")).unwrap();
    bytes[2000] ^= 0x55;
    std::fs::write(&bad, bytes).unwrap();
    let good = example("argon-bootloader@1.5.0.bin");
    let out = flashline(&["inspect", bad.to_str().unwrap(), &good]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.bin") && stderr.contains("CRC mismatch"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("argon-bootloader@1.5.0.bin"), "{stdout}");
}

#[test]
fn bundle_verify_fails_naming_each_differing_file() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(EXAMPLE).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    let d = dir.path().to_str().unwrap();
    assert!(flashline(&["bundle", "verify", d]).status.success());
    let tinker = dir.path().join("tinker-0.8.0-rc.27-argon.bin");
    let mut bytes = std::fs::read(&tinker).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&tinker, bytes).unwrap();
    std::fs::remove_file(Path::new(d).join("argon-softdevice@1.5.0.bin")).unwrap();
    let out = flashline(&["bundle", "verify", d]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tinker-0.8.0-rc.27-argon.bin: changed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("argon-softdevice@1.5.0.bin: missing"),
        "{stderr}"
    );
}

#[test]
fn bundle_show_json_names_the_locked_modules() {
    let out = flashline(&["bundle", "show", EXAMPLE, "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["name"], "example-argon");
    assert_eq!(json["platform"], "argon");
    assert_eq!(json["modules"].as_array().unwrap().len(), 4);
}
