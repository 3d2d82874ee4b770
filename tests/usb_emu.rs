//! The production USB path under test: `flashline flash` without `--sim` (rusb, libusb's
//! Linux backend, usbdevfs ioctls) against simulated boards behind an emulated kernel USB
//! interface (`flashline sim usb`).

#[path = "support/sim_usb.rs"]
mod sim_usb;

use sim_usb::{json, report, shown, sim_usb, skip, text, BIN};

const BUNDLE: &str = "bundles/example-argon";

#[test]
fn a_blank_board_is_flashed_over_the_real_usb_path() {
    if skip("a_blank_board_is_flashed_over_the_real_usb_path") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rep = dir.path().join("report.json");
    let out = sim_usb(
        &["--report", rep.to_str().unwrap()],
        &[BIN, "flash", "--bundle", BUNDLE, "--port", "1-1", "--json"],
    );
    assert!(out.status.success(), "{}", shown(&out));
    let doc = json(&out);
    assert_eq!(doc["outcome"], "ok", "{doc}");
    assert_eq!(doc["device_id"], "e00fce68f372fe94a3fad5fb");
    // The factory bootloader (501) is the bundle's: skipped, as under --sim.
    assert_eq!(
        doc["modules_written"],
        serde_json::json!([
            "radio-stack#0 v202",
            "system-part#1 v1502",
            "user-part#1 v5"
        ])
    );
    assert_eq!(
        doc["modules_skipped"],
        serde_json::json!(["bootloader#0 v501"])
    );
    assert_eq!(doc["system_version"], "1.5.0");
    // The four the bundle has, and the Argon's ESP32 firmware (NCP) Device OS lists too.
    let modules = doc["board_modules"].as_array().unwrap();
    assert_eq!(modules.len(), 5, "{doc}");
    for m in modules {
        assert_eq!(m["failed"], 0, "{m}");
    }
    // DFU mode, then Device OS after the reset that leaves it: a new device number on the
    // same port, with the other PID.
    let r = report(&rep);
    let ids = sim_usb::enumerations(&r, 0);
    assert_eq!(ids, ["2b04:d00c", "2b04:c00c"], "{r}");
    let devnums: Vec<u64> = r[0]["enumerations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["devnum"].as_u64().unwrap())
        .collect();
    assert!(devnums.windows(2).all(|w| w[1] > w[0]), "{devnums:?}");
}

#[test]
fn reading_a_running_board_leaves_its_serial_port_to_cdc_acm() {
    if skip("reading_a_running_board_leaves_its_serial_port_to_cdc_acm") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rep = dir.path().join("report.json");
    let out = sim_usb(
        &["--bundle", BUNDLE, "--report", rep.to_str().unwrap()],
        &[BIN, "flash", "--bundle", BUNDLE, "--port", "1-1", "--json"],
    );
    assert!(out.status.success(), "{}", shown(&out));
    let doc = json(&out);
    assert_eq!(doc["modules_written"], serde_json::json!([]), "{doc}");
    assert_eq!(doc["modules_skipped"].as_array().unwrap().len(), 4);
    // Module info is a vendor request to the device: no interface needs claiming, and
    // taking interface 0 from cdc_acm would pull /dev/ttyACM* away from the station's tests.
    let r = report(&rep);
    assert_eq!(r[0]["driver_unbinds"], 0, "{r}");
    assert_eq!(r[0]["enumerations"].as_array().unwrap().len(), 1, "{r}");
}

#[test]
fn flashing_one_slot_sends_nothing_to_the_board_in_the_next() {
    if skip("flashing_one_slot_sends_nothing_to_the_board_in_the_next") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rep = dir.path().join("report.json");
    let out = sim_usb(
        &["--slots", "2", "--report", rep.to_str().unwrap()],
        &[BIN, "flash", "--bundle", BUNDLE, "--port", "1-1", "--json"],
    );
    assert!(out.status.success(), "{}", shown(&out));
    assert_eq!(json(&out)["outcome"], "ok");
    // Finding the board by port reads each board's serial number (its device ID) from sysfs,
    // where the kernel keeps it: the other slot's board, mid-flash on a station, gets no
    // string-descriptor requests every 100 ms.
    let r = report(&rep);
    assert_eq!(r[1]["port"], "1-2");
    assert_eq!(r[1]["control_transfers"], 0, "{r}");
    assert_eq!(r[1]["opens"], 0, "{r}");
}

/// `flash --port 1-1 --json` on a blank board with `fault` armed: it fails; its JSON.
fn flash_failing_with(fault: &str) -> serde_json::Value {
    let out = sim_usb(
        &["--fault", fault],
        &[BIN, "flash", "--bundle", BUNDLE, "--port", "1-1", "--json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    json(&out)
}

#[test]
fn a_board_pulled_mid_write_is_unplugged_not_a_dfu_error() {
    if skip("a_board_pulled_mid_write_is_unplugged_not_a_dfu_error") {
        return;
    }
    let doc = flash_failing_with("1-1=unplug-after:200000");
    // The transfer in flight when the cable goes ends in a bus error (EPROTO → libusb's
    // LIBUSB_ERROR_IO); the device leaves sysfs when the hub reports the port change.
    assert_eq!(doc["code"], "E-UNPLUGGED", "{doc}");
    assert!(
        doc["error"].as_str().unwrap().contains("system-part"),
        "pulled during the system part (200 kB in): {doc}"
    );
}

#[test]
fn a_board_that_never_comes_back_after_reset_is_reported_so() {
    if skip("a_board_that_never_comes_back_after_reset_is_reported_so") {
        return;
    }
    let doc = flash_failing_with("no-reenumerate");
    assert_eq!(doc["code"], "E-REENUM", "{doc}");
    assert!(
        doc["error"].as_str().unwrap().contains("1-1"),
        "names the port: {doc}"
    );
}

#[test]
fn trace_and_readback_work_on_the_hardware_path() {
    if skip("trace_and_readback_work_on_the_hardware_path") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.jsonl");
    let out = sim_usb(
        &[],
        &[
            BIN,
            "flash",
            "--bundle",
            BUNDLE,
            "--port",
            "1-1",
            "--readback",
            "--json",
            "--trace",
            trace.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", shown(&out));
    assert_eq!(json(&out)["outcome"], "ok");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // DFU UPLOADs (request 2, class IN) read every written range back: as many bytes as
    // were written to the three DFU modules.
    let uploaded: usize = lines
        .iter()
        .filter(|l| l["request_type"] == 0xa1 && l["request"] == 2 && l["status"] == "ok")
        .map(|l| l["data"].as_str().map_or(0, |d| d.len() / 2))
        .sum();
    assert!(uploaded >= 153_024 + 634_692 + 11_972, "{uploaded}");
    // The DFU session began by selecting alternate setting 0 of interface 0.
    assert!(
        lines.iter().any(|l| l["kind"] == "alt" && l["alt"] == 0),
        "{:?}",
        &lines[..5.min(lines.len())]
    );
}

#[test]
fn list_shows_every_board_with_its_port_path_and_mode() {
    if skip("list_shows_every_board_with_its_port_path_and_mode") {
        return;
    }
    let out = sim_usb(&["--slots", "3"], &[BIN, "flash", "--list"]);
    assert!(out.status.success(), "{}", shown(&out));
    let lines: Vec<String> = text(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("usb_port"))
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (line, port) in lines.iter().zip(["1-1", "1-2", "1-3"]) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&words[..3], [port, "argon", "DFU"], "{line}");
        assert_eq!(words[3].len(), 24, "device ID: {line}");
    }
    let out = sim_usb(
        &["--slots", "2", "--bundle", BUNDLE],
        &[BIN, "flash", "--list", "--json"],
    );
    let boards = json(&out);
    assert_eq!(boards.as_array().unwrap().len(), 2, "{boards}");
    assert_eq!(boards[0]["pid"], 0xc00c, "normal mode: {boards}");
    assert_eq!(boards[1]["port"], "1-2");
}

/// A bundle like the example whose user part is the product firmware (v6, not Tinker v5): a
/// board preloaded with it runs Device OS and needs one DFU module from the example.
fn product_bundle(dir: &std::path::Path) -> String {
    let files: Vec<String> = [
        "argon-bootloader@1.5.0.bin",
        "argon-softdevice@1.5.0.bin",
        "argon-system-part1@1.5.0.bin",
        "product-demo-1.0.0.bin",
    ]
    .iter()
    .map(|f| format!("{BUNDLE}/{f}"))
    .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    sim_usb::locked_bundle(dir, "product", &files)
}

#[test]
fn a_running_board_enters_dfu_by_control_request_or_at_14400_baud_on_its_tty() {
    if skip("a_running_board_enters_dfu_by_control_request_or_at_14400_baud_on_its_tty") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let product = product_bundle(&dir.path().join("product"));
    for faults in [None, Some("refuse-dfu-request")] {
        let rep = dir.path().join("report.json");
        let mut options = vec![
            "--bundle",
            product.as_str(),
            "--report",
            rep.to_str().unwrap(),
        ];
        if let Some(f) = faults {
            options.extend(["--fault", f]);
        }
        let out = sim_usb(
            &options,
            &[BIN, "flash", "--bundle", BUNDLE, "--port", "1-1", "--json"],
        );
        assert!(out.status.success(), "{faults:?}: {}", shown(&out));
        let doc = json(&out);
        assert_eq!(
            doc["modules_written"],
            serde_json::json!(["user-part#1 v5"]),
            "{doc}"
        );
        // Device OS, DFU mode (entered either way), Device OS with the new user part.
        let r = report(&rep);
        let ids = sim_usb::enumerations(&r, 0);
        assert_eq!(
            ids,
            ["2b04:c00c", "2b04:d00c", "2b04:c00c"],
            "{faults:?}: {r}"
        );
        if faults.is_some() {
            let log = sim_usb::text(&out.stderr);
            assert!(
                log.contains("14400-baud"),
                "the serial trick was used: {log}"
            );
        }
    }
}

/// A Device OS 4.1.0 bundle (bootloader 1200 by control request, system part 4100 by DFU)
/// from the repository's fixtures.
fn dos_410_bundle(dir: &std::path::Path) -> String {
    let fixtures = "tests/fixtures/particle-modern";
    let files = [
        format!("{fixtures}/argon-bootloader@4.1.0.bin"),
        format!("{fixtures}/argon-softdevice@4.1.0.bin"),
        format!("{fixtures}/argon-system-part1@4.1.0.bin"),
    ];
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    sim_usb::locked_bundle(dir, "dos-410", &files)
}

/// A reset that brings the board back in the mode it left (the bootloader installed by
/// control request): the host must see a new enumeration, not the board it still sees before
/// the reset (Device OS waits 1000 ms: device-os-facts §4 #1). Ignored until that wait came to
/// core::flash; under the emulated bus it failed with E-UNPLUGGED.
#[test]
fn upgrading_the_bootloader_by_control_request_over_usb() {
    if skip("upgrading_the_bootloader_by_control_request_over_usb") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let newer = dos_410_bundle(&dir.path().join("dos-410"));
    let out = sim_usb(
        &["--bundle", BUNDLE],
        &[BIN, "flash", "--bundle", &newer, "--port", "1-1", "--json"],
    );
    assert!(out.status.success(), "{}", shown(&out));
    let doc = json(&out);
    assert_eq!(
        doc["modules_written"],
        serde_json::json!(["bootloader#0 v1200", "system-part#1 v4100"]),
        "{doc}"
    );
}

/// `flashline test` resets the board so the test firmware prints READY, then opens its tty:
/// the tty of the new enumeration (it failed with E-TEST-SERIAL on the old one's).
#[test]
fn flashline_test_resets_the_board_then_tests_it_over_its_tty() {
    if skip("flashline_test_resets_the_board_then_tests_it_over_its_tty") {
        return;
    }
    let out = sim_usb(
        &["--bundle", BUNDLE],
        &[BIN, "test", "--port", "1-1", "--bundle", BUNDLE, "--json"],
    );
    assert!(out.status.success(), "{}", shown(&out));
    let doc = json(&out);
    assert_eq!(doc["outcome"], "pass", "{doc}");
    assert_eq!(doc["measurements"].as_array().unwrap().len(), 5);
}

#[test]
fn sim_usb_refuses_bad_input_before_starting_anything() {
    let run = |args: &[&str]| {
        std::process::Command::new(BIN)
            .args(["sim", "usb"])
            .args(args)
            .output()
            .unwrap()
    };
    for (args, says) in [
        (
            &["--slots", "0", "--", "true"][..],
            "--slots must be 1 to 15",
        ),
        (
            &["--platform", "p2", "--", "true"][..],
            "unknown platform `p2`",
        ),
        (
            &["--fault", "1-1=unplugg", "--", "true"][..],
            "unknown sim fault `unplugg`",
        ),
        (
            &["--speedup", "0", "--", "true"][..],
            "--speedup must be a positive number",
        ),
        (&["--bundle", "/nonexistent", "--", "true"][..], "E-BUNDLE"),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", shown(&out));
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            shown(&out)
        );
    }
    let out = run(&["--slots", "2"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "COMMAND is required: {}",
        shown(&out)
    );
}

#[test]
fn the_exit_code_is_the_commands_and_the_platform_is_the_boards() {
    if skip("the_exit_code_is_the_commands_and_the_platform_is_the_boards") {
        return;
    }
    let out = sim_usb(&[], &["sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", shown(&out));
    let out = sim_usb(
        &["--platform", "boron"],
        &[
            "sh",
            "-c",
            "cat /sys/bus/usb/devices/1-1/idProduct /sys/bus/usb/devices/1-1/product",
        ],
    );
    assert_eq!(
        text(&out.stdout),
        "d00d\nBoron DFU Mode\n",
        "{}",
        shown(&out)
    );
}

#[test]
fn a_terminated_sim_usb_passes_the_signal_on_and_removes_its_testbed() {
    if skip("a_terminated_sim_usb_passes_the_signal_on_and_removes_its_testbed") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let marks = tempfile::tempdir().unwrap();
    let running = marks.path().join("running");
    let mut child = std::process::Command::new(BIN)
        .args([
            "sim",
            "usb",
            "--",
            "sh",
            "-c",
            "touch \"$1\"; exec sleep 30",
            "sh",
        ])
        .arg(&running)
        .env("TMPDIR", tmp.path())
        .spawn()
        .unwrap();
    // COMMAND runs (and so the testbed exists).
    let started = std::time::Instant::now();
    while !running.exists() {
        assert!(started.elapsed().as_secs() < 10, "COMMAND never ran");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "one testbed"
    );
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(128 + libc::SIGTERM),
        "COMMAND's end, as a shell says it"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}
