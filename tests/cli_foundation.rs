//! `inspect` and `bundle` as a user runs them.

#[path = "support/common.rs"]
mod common;

use common::{flashline, inspect_json, EXAMPLE};
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
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    let modules = inspect_json(&names);
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

const MODERN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/particle-modern"
);

/// A bundle of Device OS 4.1.0 modules and an application for user-part#2.
fn argon_4_1(dir: &Path) {
    let files = [
        "argon-bootloader@4.1.0.bin",
        "argon-softdevice@4.1.0.bin",
        "argon-system-part1@4.1.0.bin",
        "app-dos4006-argon-userpart2.bin",
    ];
    for f in files {
        std::fs::copy(Path::new(MODERN).join(f), dir.join(f)).unwrap();
    }
    let list: Vec<String> = files.iter().map(|f| format!("{f:?}")).collect();
    std::fs::write(
        dir.join("bundle.toml"),
        format!(
            "name = \"argon-4\"\nversion = \"1.0.0\"\nplatform = \"argon\"\nmodules = [{}]\n",
            list.join(", ")
        ),
    )
    .unwrap();
}

#[test]
fn a_4_1_argon_bundle_locks_and_says_its_device_os_and_routes() {
    let dir = tempfile::tempdir().unwrap();
    argon_4_1(dir.path());
    let out = flashline(&["bundle", "lock", dir.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Device OS 4.1.0"), "{stdout}");
    assert!(stdout.contains("dfu      user-part#2 v6"), "{stdout}");
    assert!(stdout.contains("control  bootloader#0 v1200"), "{stdout}");
    let lock = std::fs::read_to_string(dir.path().join("bundle.lock")).unwrap();
    assert!(lock.contains("module_version = 4100"), "{lock}");
}

#[test]
fn a_misplaced_module_is_refused_naming_the_map_row_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    argon_4_1(dir.path());
    let app = dir.path().join("app-dos4006-argon-userpart2.bin");
    let mut bytes = std::fs::read(&app).unwrap();
    flashline::core::module::reseal::move_to(&mut bytes, 0xD4000).unwrap();
    std::fs::write(&app, bytes).unwrap();
    let out = flashline(&["bundle", "lock", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("user-part#2 at 0xd4000; from Device OS 3.1 it goes at 0xb4000"),
        "{stderr}"
    );
    assert!(
        stderr.contains("flash map Device OS 3.1 up to 6.2"),
        "{stderr}"
    );
    assert!(stderr.contains("bundle.lock not written"), "{stderr}");
    assert!(!dir.path().join("bundle.lock").exists());
}
