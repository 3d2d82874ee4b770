//! The SWD path's command line, in both builds: without `--features swd` it says so clearly;
//! with it, it plans the same image as DFU plus the bootloader. (No probe is needed: the
//! probe-facing parts are unit tests in `adapters::swd`, and hardware is docs/hil.md §6.)

#[path = "support/common.rs"]
mod common;

use common::{flashline, EXAMPLE};
use std::process::Output;

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn probes_lists_or_says_the_build_has_no_swd() {
    let out = flashline(&["probes"]);
    if cfg!(feature = "swd") {
        assert!(out.status.success(), "{}", text(&out));
    } else {
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("--features swd"), "{}", text(&out));
    }
}

#[test]
fn flash_swd_plans_the_image_with_the_bootloader_or_says_the_build_has_no_swd() {
    let out = flashline(&["flash", "--bundle", EXAMPLE, "--swd", "--dry-run", "--json"]);
    if cfg!(feature = "swd") {
        assert!(out.status.success(), "{}", text(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
    } else {
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("--swd"), "{}", text(&out));
        assert!(text(&out).contains("--features swd"), "{}", text(&out));
    }
}

#[test]
fn probe_and_erase_all_need_swd_and_swd_excludes_sim() {
    for args in [
        &["flash", "--bundle", EXAMPLE, "--probe", "X"][..],
        &["flash", "--bundle", EXAMPLE, "--allow-erase-all"][..],
        &["flash", "--bundle", EXAMPLE, "--swd", "--sim"][..],
    ] {
        let out = flashline(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
}
