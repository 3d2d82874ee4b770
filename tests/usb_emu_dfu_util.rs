//! An independent host on the emulated boards: dfu-util (Debian's, over Debian's libusb)
//! lists the board with Particle's alternate-setting strings and writes modules the board
//! then reports valid.

#[path = "support/sim_usb.rs"]
mod sim_usb;

use sim_usb::{shown, sim_usb, text, BIN};

fn have_dfu_util(test: &str) -> bool {
    if sim_usb::skip(test) {
        return false;
    }
    let found = std::process::Command::new("dfu-util")
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("FLASHLINE_REQUIRE_UMOCKDEV").is_none(),
            "{test}: dfu-util is required here (CI installs it)"
        );
        eprintln!("SKIPPED {test}: dfu-util is not installed (apt install dfu-util)");
    }
    found
}

#[test]
fn dfu_util_lists_the_board_with_particles_alt_setting_strings() {
    if !have_dfu_util("dfu_util_lists_the_board_with_particles_alt_setting_strings") {
        return;
    }
    let out = sim_usb(&[], &["dfu-util", "-l"]);
    assert!(out.status.success(), "{}", shown(&out));
    let listed = text(&out.stdout);
    let found: Vec<&str> = listed
        .lines()
        .filter(|l| l.starts_with("Found DFU"))
        .collect();
    assert_eq!(found.len(), 3, "{listed}");
    for (alt, name) in [
        (
            0,
            "@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka",
        ),
        (2, "@External Flash   /0x80000000/1024*004Kg"),
    ] {
        let line = found
            .iter()
            .find(|l| l.contains(&format!("alt={alt},")))
            .unwrap_or_else(|| panic!("alt {alt}: {listed}"));
        assert!(line.contains("[2b04:d00c]"), "{line}");
        assert!(line.contains("path=\"1-1\""), "{line}");
        assert!(line.contains("ver=0251"), "{line}");
        assert!(line.contains(&format!("name=\"{name}\"")), "{line}");
        assert!(
            line.contains("serial=\"e00fce68f372fe94a3fad5fb\""),
            "{line}"
        );
    }
}

#[test]
fn modules_dfu_util_writes_are_what_the_board_then_reports_valid() {
    if !have_dfu_util("modules_dfu_util_writes_are_what_the_board_then_reports_valid") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The softdevice goes without its 24-byte module prefix (flag "drop module info").
    let sd = std::fs::read(format!(
        "{}/bundles/example-argon/argon-softdevice@1.5.0.bin",
        sim_usb::ROOT
    ))
    .unwrap();
    let sd_path = dir.path().join("softdevice.bin");
    std::fs::write(&sd_path, &sd[24..]).unwrap();
    // The system part exactly as in the issue, then the softdevice and leave DFU; once the
    // board is back as Device OS, flashline asks it what it runs.
    let script = format!(
        "dfu-util -d 2b04:d00c -a 0 -s 0x30000 -D bundles/example-argon/argon-system-part1@1.5.0.bin \
         && dfu-util -d 2b04:d00c -a 0 -s 0x1000:leave -D {sd} \
         && until [ \"$(cat /sys/bus/usb/devices/1-1/idProduct 2>/dev/null)\" = c00c ]; do sleep 0.05; done \
         && {BIN} flash --dry-run --json --bundle bundles/example-argon --port 1-1",
        sd = sd_path.display()
    );
    let out = sim_usb(&[], &["sh", "-c", &script]);
    assert!(out.status.success(), "{}", shown(&out));
    let log = text(&out.stdout);
    assert_eq!(
        log.matches("File downloaded successfully").count(),
        2,
        "{log}"
    );
    let doc_start = log.find("{\n").expect("flashline's JSON");
    let doc: serde_json::Value = serde_json::from_str(&log[doc_start..]).unwrap();
    let modules = doc["board_modules"].as_array().unwrap();
    for (function, version) in [("system-part", 1502), ("radio-stack", 202)] {
        let m = modules
            .iter()
            .find(|m| m["function"] == function)
            .unwrap_or_else(|| panic!("{function}: {doc}"));
        assert_eq!(
            (m["version"].as_u64(), &m["failed"]),
            (Some(version), &0.into()),
            "{m}"
        );
    }
    let plan: Vec<&str> = doc["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        plan.iter().any(|l| l.starts_with("skip   system-part#1")),
        "{plan:?}"
    );
    assert!(
        plan.iter().any(|l| l.starts_with("skip   radio-stack#0")),
        "{plan:?}"
    );
}
