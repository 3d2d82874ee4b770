//! `flashline run --sim --script` as a user runs it: the whole station on the virtual clock.

#[path = "support/common.rs"]
mod common;

use common::{run_script, units};
use std::process::Command;

fn unit<'a>(units: &'a [serde_json::Value], slot: &str) -> Vec<&'a serde_json::Value> {
    units.iter().filter(|u| u["slot"] == slot).collect()
}

const TWO_SLOTS: &str = r#"
bundle = "bundles/example-argon"
[[slot]]
name = "A"
[[slot]]
name = "B"
[[event]]
at_ms = 0
action = "seat"
slot = "A"
[[event]]
at_ms = 3000
action = "seat"
slot = "B"
"#;

#[test]
fn two_slots_seated_three_seconds_apart_both_pass_with_their_timings() {
    let units = units(&run_script(TWO_SLOTS));
    assert_eq!(units.len(), 2);
    for slot in ["A", "B"] {
        let u = unit(&units, slot)[0];
        assert_eq!(u["outcome"], "pass", "{u}");
        assert_eq!(u["device_id"].as_str().unwrap().len(), 24);
        let ms = u["duration_ms"].as_u64().unwrap();
        assert!((10_000..=25_000).contains(&ms), "{ms}");
    }
    assert_ne!(units[0]["device_id"], units[1]["device_id"]);
    assert_eq!(units[0]["slot"], "A", "A finishes first");
}

#[test]
fn unseating_a_slot_mid_flash_fails_it_while_the_other_passes() {
    let script =
        format!("{TWO_SLOTS}\n[[event]]\nat_ms = 8000\naction = \"unseat\"\nslot = \"A\"\n");
    let units = units(&run_script(&script));
    let a = unit(&units, "A")[0];
    assert_eq!(a["outcome"], "fail");
    assert_eq!(a["code"], "E-UNPLUGGED");
    assert!(
        a["device_id"].is_string(),
        "the ID seen before the pull is kept"
    );
    let ms = a["duration_ms"].as_u64().unwrap();
    assert!(
        (7_900..9_000).contains(&ms),
        "failed when pulled, not at a timeout: {ms}"
    );
    assert_eq!(unit(&units, "B")[0]["outcome"], "pass");
}

#[test]
fn a_faulty_first_board_fails_with_its_code_and_the_next_board_passes() {
    let units = units(&run_script(
        r#"
[[slot]]
name = "A"
fault = "write-error:0x30000"
[[event]]
at_ms = 0
action = "seat"
[[event]]
at_ms = 20000
action = "unseat"
[[event]]
at_ms = 21000
action = "seat"
"#,
    ));
    assert_eq!(units.len(), 2);
    assert_eq!(units[0]["code"], "E-DFU-WRITE");
    assert_eq!(units[1]["outcome"], "pass");
}

#[test]
fn the_menu_aborts_a_running_flash() {
    let units = units(&run_script(
        r#"
[[event]]
at_ms = 0
action = "seat"
[[event]]
at_ms = 2000
action = "func_long"
[[event]]
at_ms = 5000
action = "func_long"
"#,
    ));
    assert_eq!(units.len(), 1);
    assert_eq!(units[0]["code"], "E-ABORTED");
}

#[test]
fn start_re_runs_a_board_still_in_the_fixture() {
    let units = units(&run_script(
        r#"
[[event]]
at_ms = 0
action = "seat"
[[event]]
at_ms = 25000
action = "start"
"#,
    ));
    // Auto-start is on by default: the seat starts one run, START a second (re-test) after it.
    assert_eq!(units.len(), 2);
    assert!(units.iter().all(|u| u["outcome"] == "pass"), "{units:?}");
    assert_eq!(
        units[0]["device_id"], units[1]["device_id"],
        "same board, twice"
    );
    // The board left with the final firmware: the second run writes only the test firmware
    // back (one user part), then tests and flashes the final firmware again.
    let flash_ms = units[1]["flash_ms"].as_u64().unwrap();
    assert!(
        flash_ms < 5_000,
        "only the user part is written: {flash_ms}"
    );
    assert_eq!(units[1]["measurements"].as_array().unwrap().len(), 5);
}

#[test]
fn script_errors_name_the_problem() {
    let out = run_script("[[event]]\nat_ms = 0\naction = \"seat\"\nslot = \"Q\"\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no slot `Q`"));
    let out = run_script("[[event]]\nat_ms = 0\nwhat = \"seat\"\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("what"));
}

#[test]
fn the_demo_plays_when_nobody_is_at_a_terminal() {
    let records = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flashline"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "--sim",
            "--records",
            records.path().join("r.db").to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let verdicts: Vec<&str> = text.lines().filter(|l| l.starts_with("slot ")).collect();
    assert_eq!(verdicts.len(), 3, "{text}");
    assert!(
        verdicts[0].contains("PASS")
            && verdicts[1].contains("E-UNPLUGGED")
            && verdicts[2].contains("PASS")
    );
    assert!(text.contains('█'), "the OLED is drawn");
}

#[test]
fn a_rail_out_of_range_fails_naming_the_test_with_value_and_limits() {
    let units = units(&run_script(
        "[[slot]]\nname = \"A\"\nfault = \"meas:vin=10.2\"\n[[event]]\nat_ms = 0\naction = \"seat\"\n",
    ));
    let u = &units[0];
    assert_eq!(u["outcome"], "fail");
    assert_eq!(u["code"], "E-TEST");
    assert_eq!(u["reason"], "vin 10.2V < 11.4");
    let vin = &u["measurements"][0];
    assert_eq!(vin["name"], "vin");
    assert_eq!(vin["value"], 10.2);
    assert_eq!(vin["low"], 11.4);
    assert_eq!(vin["high"], 12.6);
    assert_eq!(vin["passed"], false);
    assert_eq!(
        u["measurements"].as_array().unwrap().len(),
        1,
        "stop_on_fail defaults to true"
    );
    assert!(u["flash_ms"].as_u64().unwrap() > 10_000 && u["test_ms"].is_u64());
}

#[test]
fn test_phase_faults_end_in_their_codes_without_panics() {
    for (fault, code) in [
        ("no-reply:imu_i2c", "E-TEST-TIMEOUT"),
        ("garbage:rail_3v3", "E-TEST"),
        ("serial-drop:gpio_loop", "E-TEST-SERIAL"),
        ("err:motor_pwm", "E-TEST"),
    ] {
        let script = format!("[[slot]]\nname = \"A\"\nfault = \"{fault}\"\n[[event]]\nat_ms = 0\naction = \"seat\"\n");
        let units = units(&run_script(&script));
        assert_eq!(units[0]["code"], code, "{fault}: {}", units[0]);
    }
}

#[test]
fn a_good_board_passes_every_test() {
    let units = units(&run_script("[[event]]\nat_ms = 0\naction = \"seat\"\n"));
    let m = units[0]["measurements"].as_array().unwrap();
    assert_eq!(m.len(), 5);
    assert!(m.iter().all(|m| m["passed"] == true));
}
