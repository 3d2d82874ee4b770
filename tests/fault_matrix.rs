//! The fault matrix: each sim fault, at each DFU state and plan step, through the whole
//! station (`run --sim --script`): the expected operator code, no panic, no hang, and the
//! same board re-seated then passes. `cargo test --test fault_matrix -- --nocapture` prints
//! the table (docs/fault-matrix.md).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// (fault, where it strikes, the code the first seating must end with)
const MATRIX: &[(&str, &str, &str)] = &[
    ("unplug-in:dfuIDLE", "DFU session opens", "E-UNPLUGGED"),
    ("unplug-in:dfuDNBUSY", "first erase", "E-UNPLUGGED"),
    (
        "unplug-in:dfuDNLOAD-IDLE",
        "first DfuSe command done",
        "E-UNPLUGGED",
    ),
    ("unplug-in:dfuMANIFEST", "leave", "E-REENUM"),
    ("unplug-after:50000", "radio stack", "E-UNPLUGGED"),
    ("unplug-after:300000", "system part", "E-UNPLUGGED"),
    (
        "unplug-after:790000",
        "user part (test firmware)",
        "E-UNPLUGGED",
    ),
    ("unplug-after:805000", "final firmware", "E-FINAL-UNPLUGGED"),
    ("write-error:0x1000", "radio stack", "E-DFU-WRITE"),
    ("write-error:0x30000", "system part", "E-DFU-WRITE"),
    ("write-error:0xd4000", "user part", "E-DFU-WRITE"),
    ("stall", "first DfuSe command", "E-DFU-STALL"),
    ("slow-erase", "first erase", "E-DFU-TIMEOUT"),
    ("no-reenumerate", "reset after leave", "E-REENUM"),
    ("no-dfu", "enter DFU for the final stage", "E-FINAL-REENUM"),
    ("corrupt", "system part CRC at boot", "E-VERIFY"),
    ("meas:vin=10.2", "test vin", "E-TEST"),
    ("no-reply:imu_i2c", "test imu_i2c", "E-TEST-TIMEOUT"),
    ("err:motor_pwm", "test motor_pwm", "E-TEST"),
    ("garbage:rail_3v3", "test rail_3v3", "E-TEST"),
    ("serial-drop:gpio_loop", "test gpio_loop", "E-TEST-SERIAL"),
    (
        "wrong-platform",
        "before anything is written",
        "E-WRONG-PLATFORM",
    ),
    ("no-bootloader", "board silent on USB", "E-NO-BOARD"),
];

/// The same on a slot with a debug probe (`probe = "P1"`, no USB port configured):
/// (fault, where it strikes, first seating, re-seated).
const SWD_MATRIX: &[(&str, &str, &str, &str)] = &[
    (
        "no-bootloader",
        "nothing: SWD needs no bootloader",
        "PASS",
        "PASS",
    ),
    ("swd-no-target", "attach", "E-SWD-TARGET", "PASS"),
    (
        "swd-locked",
        "attach (never erased unattended)",
        "E-SWD-LOCKED",
        "E-SWD-LOCKED",
    ),
    (
        "wrong-platform",
        "before attaching",
        "E-WRONG-PLATFORM",
        "E-WRONG-PLATFORM",
    ),
    ("no-reenumerate", "reset after SWD", "E-REENUM", "PASS"),
    (
        "meas:vin=10.2",
        "test vin (over USB, as after DFU)",
        "E-TEST",
        "PASS",
    ),
];

/// Runs one script, killing it if it has not finished in a minute of real time.
fn run(script: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), script).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flashline"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "--sim",
            "--json",
            "--script",
            dir.path().join("s.toml").to_str().unwrap(),
        ])
        .args(["--records", dir.path().join("r.db").to_str().unwrap()])
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("hung: {script}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.success() && !err.contains("panicked"),
        "{script}\n{err}"
    );
    serde_json::from_str(&out).unwrap()
}

/// Seats a board with `fault` in a slot (with a debug probe, if named), takes it out after a
/// minute and puts the same board back: the codes of both seatings ("PASS" when none).
fn seat_then_reseat(fault: &str, probe: Option<&str>) -> (String, String) {
    let probe = probe.map_or(String::new(), |p| format!("probe = \"{p}\"\n"));
    let script = format!(
        "[[slot]]\nname = \"A\"\nfault = \"{fault}\"\n{probe}\
         [[event]]\nat_ms = 0\naction = \"seat\"\n\
         [[event]]\nat_ms = 60000\naction = \"unseat\"\n\
         [[event]]\nat_ms = 61000\naction = \"reseat\"\n"
    );
    let doc = run(&script);
    let units = doc["units"].as_array().unwrap();
    let code = |i: usize| {
        units.get(i).map_or("none".to_string(), |u| {
            u["code"].as_str().unwrap_or("PASS").to_string()
        })
    };
    (code(0), code(1))
}

#[test]
fn every_fault_ends_in_its_code_and_the_reseated_board_passes() {
    let mut table = vec![
        "| fault | strikes at | first seating | re-seated |".to_string(),
        "|---|---|---|---|".into(),
    ];
    let mut wrong = Vec::new();
    for (fault, at, code) in MATRIX {
        let (first, second) = seat_then_reseat(fault, None);
        table.push(format!("| `{fault}` | {at} | {first} | {second} |"));
        // A Boron stays a Boron and a board without bootloader stays one: re-seating them
        // fails again, and that is right.
        let expected_second = match *fault {
            "wrong-platform" | "no-bootloader" => code,
            _ => "PASS",
        };
        if first != *code || second != expected_second {
            wrong.push(format!(
                "{fault}: got {first} then {second}, want {code} then {expected_second}"
            ));
        }
    }
    table.push(String::new());
    table.push("On a slot with a debug probe (SWD):".into());
    table.push(String::new());
    table.push("| fault | strikes at | first seating | re-seated |".into());
    table.push("|---|---|---|---|".into());
    for (fault, at, code, again) in SWD_MATRIX {
        let (first, second) = seat_then_reseat(fault, Some("P1"));
        table.push(format!("| `{fault}` | {at} | {first} | {second} |"));
        if first != *code || second != *again {
            wrong.push(format!(
                "SWD {fault}: got {first} then {second}, want {code} then {again}"
            ));
        }
    }
    println!("{}", table.join("\n"));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
