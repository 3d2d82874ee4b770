//! Two-stage bundles: test firmware for the tests, the final firmware after PASS, in one
//! seating.

#[path = "support/common.rs"]
mod common;

use common::{copy_example, units, EXAMPLE};
use std::path::Path;
use std::sync::Arc;

use flashline::core::board_test::run_tests;
use flashline::core::bundle::{self, Bundle};
use flashline::core::module::ModuleFunction;
use flashline::core::operator_code::OperatorCode;
use flashline::ports::Clock;
use flashline::sim::serial::SimSerialPorts;
use flashline::sim::{SimArgon, VirtualClock};

fn ms(u: &serde_json::Value, key: &str) -> Option<u64> {
    u[key].as_u64()
}

#[test]
fn flash_then_tests_then_final_then_pass_with_three_stage_durations() {
    let units = run("[[event]]\nat_ms = 0\naction = \"seat\"\n");
    let u = &units[0];
    assert_eq!(u["outcome"], "pass", "{u}");
    let (f, t, fin) = (
        ms(u, "flash_ms").unwrap(),
        ms(u, "test_ms").unwrap(),
        ms(u, "final_ms").unwrap(),
    );
    assert!(
        f > 10_000 && t > 0 && fin > 0 && fin < 10_000,
        "{f} {t} {fin}"
    );
    assert!(ms(u, "duration_ms").unwrap() >= f + t + fin);
}

#[test]
fn a_test_failure_skips_the_final_stage() {
    let units = run(
        "[[slot]]\nname = \"A\"\nfault = \"err:vin\"\n[[event]]\nat_ms = 0\naction = \"seat\"\n",
    );
    assert_eq!(units[0]["code"], "E-TEST");
    assert!(units[0]["final_ms"].is_null());
}

#[test]
fn a_final_stage_fault_has_its_own_code_and_a_reseat_goes_straight_to_the_final_stage() {
    let script = "[[slot]]\nname = \"A\"\nfault = \"no-dfu\"\n\
                  [[event]]\nat_ms = 0\naction = \"seat\"\n\
                  [[event]]\nat_ms = 45000\naction = \"unseat\"\n\
                  [[event]]\nat_ms = 46000\naction = \"reseat\"\n";
    let units = run(script);
    assert_eq!(units.len(), 2);
    assert_eq!(units[0]["code"], "E-FINAL-REENUM");
    assert_eq!(units[0]["final_code"], "E-FINAL-REENUM");
    assert!(units[0]["test_ms"].is_u64(), "its tests ran and passed");
    assert_eq!(units[1]["outcome"], "pass");
    assert_eq!(
        units[1]["device_id"], units[0]["device_id"],
        "the same board"
    );
    assert!(
        units[1]["test_ms"].is_null(),
        "tests skipped: they passed on the first seating"
    );
    assert!(units[1]["final_ms"].is_u64());
    // No fresh-boot reset for tests that will not run: the power-up boot (1.45 s) and reading
    // the board only, not a second reset on top (≈3 s).
    let flash_ms = units[1]["flash_ms"].as_u64().unwrap();
    assert!(flash_ms < 2500, "flash_ms {flash_ms}");
}

#[test]
fn a_final_stage_unplug_is_a_final_code() {
    // The first stage writes 799 688 bytes by DFU; the final user part comes after that.
    let units = run("[[slot]]\nname = \"A\"\nfault = \"unplug-after:805000\"\n[[event]]\nat_ms = 0\naction = \"seat\"\n");
    assert_eq!(units[0]["code"], "E-FINAL-UNPLUGGED");
}

#[test]
fn the_final_firmware_does_not_answer_the_test_protocol() {
    let b = Bundle::load(Path::new(EXAMPLE)).unwrap();
    let fin = b.final_stage().unwrap();
    let clock = VirtualClock::new();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let board = SimArgon::blank(shared, "1-1", 3, vec![]);
    board.set_test_firmware(&b.module(ModuleFunction::UserPart, 1).unwrap().module);
    board.preload(&fin.parsed_modules());
    let plan = &b.tests.as_ref().unwrap().plan;
    let report = run_tests(
        plan,
        &mut SimSerialPorts::new(vec![board.clone()]),
        &board.port(),
        &clock,
        &mut |_, _, _| {},
    );
    assert_eq!(report.failure.unwrap().code, OperatorCode::TestReady);
}

#[test]
fn lock_refuses_a_final_firmware_that_is_not_a_user_part() {
    let dir = tempfile::tempdir().unwrap();
    copy_example(dir.path());
    let manifest = std::fs::read_to_string(dir.path().join("bundle.toml"))
        .unwrap()
        .replace(
            "final_firmware = \"product-demo-1.0.0.bin\"",
            "final_firmware = \"argon-system-part1@1.5.0.bin\"",
        );
    std::fs::write(dir.path().join("bundle.toml"), manifest).unwrap();
    let err = bundle::lock(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains(
            "final_firmware argon-system-part1@1.5.0.bin is a system-part, not a user-part"
        ),
        "{err}"
    );
}

fn run(script: &str) -> Vec<serde_json::Value> {
    units(&common::run_script(script))
}
