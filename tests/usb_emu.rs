//! The production USB path under test: `flashline flash` without `--sim` (rusb, libusb's
//! Linux backend, usbdevfs ioctls) against simulated boards behind an emulated kernel USB
//! interface (`flashline sim usb`).

#[path = "support/sim_usb.rs"]
mod sim_usb;

use sim_usb::{json, report, shown, sim_usb, skip, BIN};

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
    let modules = doc["board_modules"].as_array().unwrap();
    assert_eq!(modules.len(), 4);
    for m in modules {
        assert_eq!(m["failed"], 0, "{m}");
    }
    // DFU mode, then Device OS after the reset that leaves it: a new device number on the
    // same port, with the other PID.
    let r = report(&rep);
    let ids: Vec<&str> = r[0]["enumerations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
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
