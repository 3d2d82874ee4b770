//! The fault matrix: each sim fault, at each DFU state and plan step, through the whole
//! station (`run --sim --script`): the expected operator code, no panic, no hang, and the
//! same board re-seated then passes. Each fault is something a real board can do (the
//! "board" column says what, from Device OS's source). docs/fault-matrix.md holds the table
//! this prints (`cargo test --test fault_matrix -- --nocapture`); the test checks it does.

#[path = "support/sim_rig.rs"]
mod sim_rig;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flashline::core::module::ModuleFunction;

/// (fault, what the board does, where it strikes, the code the first seating must end with)
const MATRIX: &[(&str, &str, &str, &str)] = &[
    (
        "unplug-in:dfuIDLE",
        "cable pulled",
        "DFU session opens",
        "E-UNPLUGGED",
    ),
    (
        "unplug-in:dfuDNBUSY",
        "cable pulled",
        "first erase",
        "E-UNPLUGGED",
    ),
    (
        "unplug-in:dfuDNLOAD-IDLE",
        "cable pulled",
        "first DfuSe command done",
        "E-UNPLUGGED",
    ),
    ("unplug-in:dfuMANIFEST", "cable pulled", "leave", "E-REENUM"),
    (
        "unplug-after:50000",
        "cable pulled",
        "radio stack",
        "E-UNPLUGGED",
    ),
    (
        "unplug-after:300000",
        "cable pulled",
        "system part",
        "E-UNPLUGGED",
    ),
    (
        "unplug-after:790000",
        "cable pulled",
        "user part (test firmware)",
        "E-UNPLUGGED",
    ),
    (
        "unplug-after:805000",
        "cable pulled",
        "final firmware",
        "E-FINAL-UNPLUGGED",
    ),
    (
        "write-error:0x1000",
        "flash write fails: errUNKNOWN",
        "radio stack",
        "E-DFU-WRITE",
    ),
    (
        "write-error:0x30000",
        "flash write fails: errUNKNOWN",
        "system part",
        "E-DFU-WRITE",
    ),
    (
        "write-error:0xd4000",
        "flash write fails: errUNKNOWN",
        "user part",
        "E-DFU-WRITE",
    ),
    (
        "stall",
        "every DNLOAD stalled into dfuERROR/errUNKNOWN",
        "first DfuSe command",
        "E-DFU-STALL",
    ),
    (
        "slow-erase",
        "erase never ends: next request unanswered",
        "first erase",
        "E-DFU-TIMEOUT",
    ),
    (
        "no-reenumerate",
        "never back on USB after a reset",
        "reset after leave",
        "E-REENUM",
    ),
    (
        "no-dfu",
        "never back on USB after enter-DFU",
        "enter DFU for the final stage",
        "E-FINAL-REENUM",
    ),
    (
        "corrupt",
        "a bit flips in the system part after it is written",
        "system part CRC at boot",
        "E-VERIFY",
    ),
    (
        "meas:vin=10.2",
        "test firmware measures 10.2",
        "test vin",
        "E-TEST",
    ),
    (
        "no-reply:imu_i2c",
        "test firmware silent",
        "test imu_i2c",
        "E-TEST-TIMEOUT",
    ),
    (
        "err:motor_pwm",
        "test firmware answers ERR",
        "test motor_pwm",
        "E-TEST",
    ),
    (
        "garbage:rail_3v3",
        "test firmware answers noise",
        "test rail_3v3",
        "E-TEST",
    ),
    (
        "serial-drop:gpio_loop",
        "serial port vanishes",
        "test gpio_loop",
        "E-TEST-SERIAL",
    ),
    (
        "wrong-platform",
        "the board is a Boron",
        "before anything is written",
        "E-WRONG-PLATFORM",
    ),
    (
        "no-bootloader",
        "no bootloader: never on USB",
        "board silent on USB",
        "E-NO-BOARD",
    ),
];

/// Faults that need a board with firmware on it: (fault, what the board does, the preload,
/// where it strikes, first seating, re-seated).
const PRELOADED: &[(&str, &str, Preload, &str, &str, &str)] = &[
    (
        "updates-disabled",
        "START refused (1 before 3.0, -1380 from it)",
        Preload::OtherBootloaderAndApp,
        "bootloader update; DFU modules go first",
        "PASS",
        "PASS",
    ),
    (
        "updates-disabled",
        "START refused (1 before 3.0, -1380 from it)",
        Preload::OtherBootloader,
        "bootloader update (the bundle's app disables them too)",
        "E-UPDATES-OFF",
        "E-UPDATES-OFF",
    ),
    (
        "reset-disabled",
        "keeps running after FINISH",
        Preload::OtherBootloader,
        "reset after the bootloader update",
        "E-NO-RESET",
        "PASS",
    ),
];

#[derive(Debug, Clone, Copy)]
enum Preload {
    /// The bundle's modules with bootloader v502 (not the bundle's 501).
    OtherBootloader,
    /// The bundle's modules with bootloader v502 and another app (user part v9).
    OtherBootloaderAndApp,
}

impl Preload {
    fn name(self) -> &'static str {
        match self {
            Preload::OtherBootloader => "other bootloader",
            Preload::OtherBootloaderAndApp => "other bootloader and app",
        }
    }

    fn build(self, dir: &Path) {
        sim_rig::variant(dir, ModuleFunction::Bootloader, 502);
        if let Preload::OtherBootloaderAndApp = self {
            sim_rig::variant_in_place(dir, ModuleFunction::UserPart, 9);
        }
    }
}

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

/// Seats a board with `fault` in a slot (with a debug probe or a preload, if named), takes it
/// out after a minute and puts the same board back: the codes of both seatings ("PASS" when
/// none).
fn seat_then_reseat(fault: &str, extra: &str) -> (String, String) {
    let script = format!(
        "[[slot]]\nname = \"A\"\nfault = \"{fault}\"\n{extra}\
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
    let header = || {
        vec![
            "| fault | the board | strikes at | first seating | re-seated |".to_string(),
            "|---|---|---|---|---|".into(),
        ]
    };
    let mut table = header();
    let mut wrong = Vec::new();
    for (fault, does, at, code) in MATRIX {
        let (first, second) = seat_then_reseat(fault, "");
        table.push(format!(
            "| `{fault}` | {does} | {at} | {first} | {second} |"
        ));
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
    table.push("On a board that runs firmware when seated (`preload`):".into());
    table.push(String::new());
    table.push("| fault | the board | preload | strikes at | first seating | re-seated |".into());
    table.push("|---|---|---|---|---|---|".into());
    for (fault, does, preload, at, code, again) in PRELOADED {
        let dir = tempfile::tempdir().unwrap();
        preload.build(dir.path());
        let extra = format!("preload = \"{}\"\n", dir.path().display());
        let (first, second) = seat_then_reseat(fault, &extra);
        table.push(format!(
            "| `{fault}` | {does} | {} | {at} | {first} | {second} |",
            preload.name()
        ));
        if first != *code || second != *again {
            wrong.push(format!(
                "{fault} ({}): got {first} then {second}, want {code} then {again}",
                preload.name()
            ));
        }
    }
    table.push(String::new());
    table.push("On a slot with a debug probe (SWD):".into());
    table.push(String::new());
    table.extend(header());
    for (fault, does, at, code, again) in SWD_MATRIX {
        let (first, second) = seat_then_reseat(fault, "probe = \"P1\"\n");
        table.push(format!(
            "| `{fault}` | {does} | {at} | {first} | {second} |"
        ));
        if first != *code || second != *again {
            wrong.push(format!(
                "SWD {fault}: got {first} then {second}, want {code} then {again}"
            ));
        }
    }
    println!("{}", table.join("\n"));
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/fault-matrix.md"))
        .unwrap();
    for row in table.iter().filter(|l| l.starts_with("| `")) {
        if !doc.contains(row.as_str()) {
            wrong.push(format!("docs/fault-matrix.md lacks the row `{row}`"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The same on a slot with a debug probe (`probe = "P1"`, no USB port configured):
/// (fault, what the board does, where it strikes, first seating, re-seated).
const SWD_MATRIX: &[(&str, &str, &str, &str, &str)] = &[
    (
        "no-bootloader",
        "no bootloader: never on USB",
        "nothing: SWD needs no bootloader",
        "PASS",
        "PASS",
    ),
    (
        "swd-no-target",
        "no SWD answer",
        "attach",
        "E-SWD-TARGET",
        "PASS",
    ),
    (
        "swd-locked",
        "APPROTECT set",
        "attach (never erased unattended)",
        "E-SWD-LOCKED",
        "E-SWD-LOCKED",
    ),
    (
        "wrong-platform",
        "the board is a Boron",
        "before attaching",
        "E-WRONG-PLATFORM",
        "E-WRONG-PLATFORM",
    ),
    (
        "no-reenumerate",
        "never back on USB after a reset",
        "reset after SWD",
        "E-REENUM",
        "PASS",
    ),
    (
        "meas:vin=10.2",
        "test firmware measures 10.2",
        "test vin (over USB, as after DFU)",
        "E-TEST",
        "PASS",
    ),
];
