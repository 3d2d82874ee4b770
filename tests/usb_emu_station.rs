//! The station on real USB and serial (`run --sim-io`: only its buttons and fixture switches
//! are simulated) with three emulated boards on ports 1-1..1-3: flash over libusb, the
//! peripheral tests over /dev/ttyACM*, the final firmware, one record each.

#[path = "support/sim_usb.rs"]
mod sim_usb;

use sim_usb::{json, report, shown, sim_usb, skip, BIN, ROOT};

const SCRIPT: &str = r#"
[[slot]]
name = "A"
[[slot]]
name = "B"
[[slot]]
name = "C"
[[event]]
at_ms = 0
action = "seat"
slot = "A"
[[event]]
at_ms = 200
action = "seat"
slot = "B"
[[event]]
at_ms = 400
action = "seat"
slot = "C"
"#;

fn config(dir: &std::path::Path) -> String {
    let bundles = dir.join("bundles");
    std::fs::create_dir_all(&bundles).unwrap();
    std::os::unix::fs::symlink(
        format!("{ROOT}/bundles/example-argon"),
        bundles.join("active"),
    )
    .unwrap();
    let d = dir.display();
    let mut text = format!(
        "station = \"emulated\"\nbuttons = {{ start = 17, func = 27 }}\n\
         paths = {{ bundles = \"{d}/bundles\", records = \"{d}/records.db\" }}\n\
         stick = {{ mount = \"{d}/stick\", pubkey = \"{d}/bundle.pub\" }}\n"
    );
    for (name, port, pin) in [("A", "1-1", 22), ("B", "1-2", 23), ("C", "1-3", 24)] {
        text +=
            &format!("[[slot]]\nname = \"{name}\"\nusb_port = \"{port}\"\nfixture_pin = {pin}\n");
    }
    let path = dir.join("station.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_station_on_three_usb_ports_passes_three_boards() {
    if skip("a_station_on_three_usb_ports_passes_three_boards") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let script = dir.path().join("script.toml");
    std::fs::write(&script, SCRIPT).unwrap();
    let records = dir.path().join("records.db");
    let rep = dir.path().join("report.json");
    let out = sim_usb(
        &[
            "--slots",
            "3",
            "--test-firmware",
            "bundles/example-argon",
            "--report",
            rep.to_str().unwrap(),
        ],
        &[
            BIN,
            "run",
            "--config",
            &config,
            "--sim-io",
            "--script",
            script.to_str().unwrap(),
            "--records",
            records.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", shown(&out));
    let units = json(&out)["units"].as_array().unwrap().clone();
    assert_eq!(units.len(), 3, "{units:?}");
    let r = report(&rep);
    for (slot, port) in [("A", 0), ("B", 1), ("C", 2)] {
        let u = units.iter().find(|u| u["slot"] == slot).unwrap();
        assert_eq!(u["outcome"], "pass", "{u}");
        assert_eq!(
            u["device_id"],
            r[port]["device_id"],
            "slot {slot} is port 1-{}",
            port + 1
        );
        assert_eq!(u["measurements"].as_array().unwrap().len(), 5, "{u}");
        assert!(u["final_ms"].as_u64().is_some(), "two-stage: {u}");
        // Flashed (DFU → Device OS), then DFU again for the final firmware, and back; the
        // serial tests ran on the kernel's tty, which nothing took away.
        let ids = sim_usb::enumerations(&r, port);
        assert_eq!(
            ids,
            ["2b04:d00c", "2b04:c00c", "2b04:d00c", "2b04:c00c"],
            "{r}"
        );
        assert_eq!(r[port]["driver_unbinds"], 0, "{r}");
    }
    // One record per unit.
    let listed = std::process::Command::new(BIN)
        .args([
            "records",
            "list",
            "--records",
            records.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", shown(&listed));
    assert_eq!(
        json(&listed).as_array().map(Vec::len),
        Some(3),
        "{}",
        shown(&listed)
    );
}

#[test]
fn sim_io_refuses_a_script_meant_for_simulated_boards() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let script = dir.path().join("script.toml");
    std::fs::write(
        &script,
        "[[slot]]\nname = \"A\"\nfault = \"unplug\"\n[[event]]\nat_ms = 0\naction = \"seat\"\nslot = \"A\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["run", "--config", &config, "--sim-io", "--script"])
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = sim_usb::text(&out.stderr);
    assert!(err.contains("sim usb --fault"), "{err}");
}
