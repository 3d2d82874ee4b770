//! `inspect --json` reads every fixture module as Particle's own parser does: the values in
//! tests/fixtures/binary-version-reader.json were read out once with binary-version-reader
//! (see the file's `_comment`); this compares them, field by field, with what flashline says.

#[path = "support/common.rs"]
mod common;

use common::inspect_json;
use flashline::core::module::ModuleFunction;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn function_name(code: &Value) -> String {
    let byte = code.as_u64().and_then(|c| u8::try_from(c).ok()).unwrap();
    ModuleFunction::from_byte(byte).unwrap().name().to_string()
}

/// Every .bin of the two fixture folders (and the app+assets bundle's application).
fn fixture_files() -> Vec<String> {
    let mut files = Vec::new();
    for dir in [
        "tests/fixtures/particle-modern",
        "tests/fixtures/particle-modern/app-with-assets-bundle",
        "bundles/example-argon",
    ] {
        for e in std::fs::read_dir(Path::new(ROOT).join(dir))
            .unwrap()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".bin") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    files
}

fn same(what: &str, file: &str, ours: &Value, theirs: &Value) {
    assert_eq!(ours, theirs, "{file}: {what}");
}

/// The fields binary-version-reader reports, compared with ours.
fn compare(file: &str, ours: &Value, bvr: &Value) {
    for key in [
        "size",
        "crc_ok",
        "prefix_offset",
        "prefix_size",
        "start_address",
        "end_address",
        "mcu_target",
        "flags",
        "version",
        "platform_id",
        "index",
        "suffix_size",
        "product_id",
        "product_version",
        "sha256",
        "security_mode",
        "certificate_size",
        "name",
        "asset_hash",
    ] {
        same(key, file, &ours[key], &bvr[key]);
    }
    same(
        "function",
        file,
        &ours["function"],
        &Value::from(function_name(&bvr["function"])),
    );
    let deps: Vec<(String, &Value, &Value)> = bvr["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (function_name(&d["function"]), &d["index"], &d["version"]))
        .collect();
    let our_deps: Vec<(String, &Value, &Value)> = ours["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["function"].as_str().unwrap().to_string(),
                &d["index"],
                &d["version"],
            )
        })
        .collect();
    assert_eq!(our_deps, deps, "{file}: dependencies");
    let codes: Vec<&Value> = ours["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["code"])
        .collect();
    let bvr_codes: Vec<&Value> = bvr["extension_types"].as_array().unwrap().iter().collect();
    assert_eq!(codes, bvr_codes, "{file}: extensions");
    let assets = |v: &Value| -> Vec<(Value, Value)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| (a["name"].clone(), a["hash"].clone()))
            .collect()
    };
    assert_eq!(
        assets(&ours["asset_dependencies"]),
        assets(&bvr["asset_dependencies"]),
        "{file}: assets"
    );
    match bvr.get("compressed") {
        None => assert!(ours["compressed"].is_null(), "{file}: not compressed"),
        Some(c) => {
            let oc = &ours["compressed"];
            same(
                "original size",
                file,
                &oc["original_size"],
                &c["original_size"],
            );
            if let Some(sha) = c.get("payload_sha256") {
                same("asset contents", file, &oc["payload_sha256"], sha);
            }
            if let Some(inner) = c.get("inner") {
                let oi = &oc["inner"];
                same(
                    "inner function",
                    file,
                    &oi["function"],
                    &Value::from(function_name(&inner["function"])),
                );
                for key in [
                    "index",
                    "version",
                    "start_address",
                    "crc_ok",
                    "sha256",
                    "size",
                ] {
                    same(&format!("inner {key}"), file, &oi[key], &inner[key]);
                }
            }
        }
    }
}

#[test]
fn inspect_agrees_with_binary_version_reader_on_every_fixture() {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(ROOT).join("tests/fixtures/binary-version-reader.json"))
            .unwrap(),
    )
    .unwrap();
    let expected: BTreeMap<String, Value> =
        serde_json::from_value(expected["modules"].clone()).unwrap();
    let files = fixture_files();
    assert_eq!(
        expected.keys().cloned().collect::<Vec<_>>(),
        files,
        "every fixture has expected values (regenerate them as the data file says)"
    );
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    let reports = inspect_json(&names);
    assert_eq!(reports.len(), files.len());
    for (file, ours) in files.iter().zip(&reports) {
        assert_eq!(ours["file"], Value::from(file.as_str()));
        let bvr = &expected[file];
        if bvr.get("combined").is_some() {
            same("size", file, &ours["size"], &bvr["size"]);
            let parts = ours["parts"].as_array().unwrap();
            let bvr_parts = bvr["parts"].as_array().unwrap();
            assert_eq!(parts.len(), bvr_parts.len(), "{file}: parts");
            assert_eq!(
                Value::from(parts.len()),
                bvr["split_count"],
                "{file}: split"
            );
            for (i, (p, b)) in parts.iter().zip(bvr_parts).enumerate() {
                compare(&format!("{file} part {}", i + 1), p, b);
            }
        } else {
            compare(file, ours, bvr);
        }
    }
}
