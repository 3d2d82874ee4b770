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

use common::run_script_frames;

/// The first slot's state in each frame: (t_ms, state word, the whole slot).
fn slot_a(frames: &[serde_json::Value]) -> Vec<(u64, String, serde_json::Value)> {
    frames
        .iter()
        .map(|f| {
            let s = &f["slots"][0];
            (
                f["t_ms"].as_u64().unwrap(),
                s["state"].as_str().unwrap().to_string(),
                s.clone(),
            )
        })
        .collect()
}

#[test]
fn a_pass_leaves_the_screen_with_its_board() {
    // The board is taken out at 21 s and the next one's fixture switch never closes: before,
    // the PASS stayed and the operator could bin an unflashed board under it.
    let (units, frames) = run_script_frames(
        "[[event]]\nat_ms = 0\naction = \"seat\"\n[[event]]\nat_ms = 21000\naction = \"unseat\"\n",
    );
    let id = units[0]["device_id"].as_str().unwrap();
    let a = slot_a(&frames);
    let pass: Vec<_> = a.iter().filter(|(_, s, _)| s == "PASS").collect();
    assert!(!pass.is_empty());
    assert!(
        pass.iter()
            .all(|(t, _, s)| *t < 21_100 && s["device_id"] == id),
        "the verdict names its board and lasts only while it is seated: {pass:?}"
    );
    let (t, last, _) = a.last().unwrap();
    assert_eq!(
        last, "EMPTY",
        "after removal at 21 s the slot says so ({t} ms)"
    );
    assert_eq!(frames.last().unwrap()["slots"][0]["light"], "off");
}

#[test]
fn one_bar_rises_through_flash_test_and_final_with_the_time_left() {
    let (units, frames) = run_script_frames("[[event]]\nat_ms = 0\naction = \"seat\"\n");
    let total_ms = units[0]["duration_ms"].as_u64().unwrap();
    let work: Vec<_> = slot_a(&frames)
        .into_iter()
        .filter(|(_, s, _)| ["FLASH", "TEST", "FINAL"].contains(&s.as_str()))
        .collect();
    let percents: Vec<u64> = work
        .iter()
        .map(|(_, _, s)| s["percent"].as_u64().unwrap())
        .collect();
    assert!(
        percents.windows(2).all(|w| w[0] <= w[1]),
        "never goes back: {percents:?}"
    );
    assert!(*percents.last().unwrap() >= 95, "{percents:?}");
    let mut stages: Vec<&str> = work.iter().map(|(_, s, _)| s.as_str()).collect();
    stages.dedup();
    assert_eq!(stages, ["FLASH", "TEST", "FINAL"]);
    // The estimate is within 3 s of the truth from a quarter of the way on.
    for (t, _, s) in work.iter().filter(|(t, _, _)| *t > total_ms / 4) {
        let left = s["remaining_s"].as_u64().unwrap() as i64 * 1000;
        let truth = total_ms as i64 - *t as i64;
        assert!(
            (left - truth).abs() <= 3000,
            "at {t} ms: {left} ms left, truly {truth}"
        );
    }
    // A reset is a wait that says what it waits for and counts, never a frozen 0 %.
    let waits: Vec<_> = work
        .iter()
        .filter(|(_, _, s)| s["waiting_s"].is_u64())
        .collect();
    assert!(waits
        .iter()
        .any(|(_, _, s)| s["doing"] == "restarting board"));
    assert!(waits
        .iter()
        .all(|(_, _, s)| s["percent"].as_u64().unwrap() > 0));
    assert!(work.iter().all(|(_, _, s)| s["light"] == "amber"));
}

#[test]
fn a_failure_shows_its_code_in_plain_words_lights_red_and_buzzes() {
    let (_, frames) = run_script_frames(
        "[[slot]]\nname = \"A\"\nfault = \"write-error:0x30000\"\n[[event]]\nat_ms = 0\naction = \"seat\"\n\
         [[event]]\nat_ms = 8000\naction = \"unseat\"\n",
    );
    let fail = frames
        .iter()
        .find(|f| f["slots"][0]["state"] == "FAIL")
        .unwrap();
    let s = &fail["slots"][0];
    assert_eq!(s["code"], "E-DFU-WRITE");
    assert_eq!(
        s["reason"], "flash write failed",
        "not `errWRITE system-part`"
    );
    assert_eq!(
        (s["light"].as_str(), fail["station_light"].as_str()),
        (Some("red"), Some("red"))
    );
    assert_eq!(fail["buzzer"], true);
    assert!(
        frames
            .iter()
            .any(|f| f["slots"][0]["state"] == "FAIL" && f["buzzer"] == false),
        "the buzzer stops after a moment"
    );
}

#[test]
fn a_press_right_after_a_long_press_is_not_lost() {
    // FUNC held opens the menu; a short press the moment it is released moves to the second
    // item (it used to merge into the long press and vanish).
    let (_, frames) = run_script_frames(
        "[[event]]\nat_ms = 0\naction = \"func_long\"\n[[event]]\nat_ms = 1500\naction = \"func\"\n",
    );
    let menu: Vec<u64> = frames.iter().filter_map(|f| f["menu"].as_u64()).collect();
    assert!(menu.contains(&0) && menu.contains(&1), "{menu:?}");
}

#[test]
fn config_under_sim_gives_the_slots_and_a_bad_one_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        "buttons = { start = 17, func = 27 }\n[[slot]]\nname = \"X\"\nusb_port = \"1-1\"\n\
         [[slot]]\nname = \"Y\"\nusb_port = \"1-2\"\n",
    )
    .unwrap();
    let script = dir.path().join("s.toml");
    std::fs::write(
        &script,
        "[[event]]\nat_ms = 0\naction = \"seat\"\nslot = \"Y\"\n",
    )
    .unwrap();
    let run = |config: &std::path::Path| {
        common::flashline(&[
            "run",
            "--sim",
            "--json",
            "--config",
            config.to_str().unwrap(),
            "--script",
            script.to_str().unwrap(),
            "--records",
            dir.path().join("r.db").to_str().unwrap(),
        ])
    };
    let units = units(&run(&config));
    assert_eq!(units.len(), 1);
    assert_eq!(units[0]["slot"], "Y", "the slot names come from --config");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "version = \"banana\"\nbuttons = { start = 17, func = 27 }\n",
    )
    .unwrap();
    let out = run(&bad);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("version") && err.contains("line 1"), "{err}");
}

#[test]
fn a_fresh_sim_run_counts_from_zero_unless_given_a_database() {
    let home = tempfile::tempdir().unwrap();
    let demo = || {
        Command::new(env!("CARGO_BIN_EXE_flashline"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["run", "--sim", "--json"])
            .env("XDG_DATA_HOME", home.path())
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    assert_eq!(units(&demo()).len(), 3);
    assert_eq!(units(&demo()).len(), 3);
    let records = home.path().join("flashline/sim-records.db");
    let kept = flashline::records::Records::open(&records)
        .unwrap()
        .list(&Default::default())
        .unwrap();
    assert_eq!(
        kept.len(),
        3,
        "the second run started from an empty database"
    );
}
