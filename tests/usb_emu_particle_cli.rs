//! Particle's own CLI (npm `particle-cli`, over node-usb's libusb) on the emulated boards: it
//! lists them and flashes an application that the board then reports valid.

#[path = "support/particle_cli.rs"]
mod particle_cli;
#[path = "support/sim_usb.rs"]
mod sim_usb;

use sim_usb::{shown, sim_usb, text, BIN};

const BUNDLE: &str = "bundles/example-argon";

/// particle-cli where both umockdev and it are here; else the test says why it is skipped.
fn particle_for(test: &str) -> Option<std::path::PathBuf> {
    if sim_usb::skip(test) {
        return None;
    }
    particle_cli::particle(test)
}

#[test]
fn particle_usb_list_shows_every_board() {
    let Some(particle) = particle_for("particle_usb_list_shows_every_board") else {
        return;
    };
    let particle = particle.to_str().unwrap();
    // --ids-only: the plain listing asks Particle's cloud for the boards' names.
    let out = sim_usb(
        &["--slots", "2", "--bundle", BUNDLE],
        &[particle, "usb", "list", "--ids-only"],
    );
    assert!(out.status.success(), "{}", shown(&out));
    let mut ids: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    ids.sort();
    assert_eq!(
        ids,
        ["e00fce68e6e5fd29ab859148", "e00fce68f372fe94a3fad5fb"],
        "{}",
        shown(&out)
    );
}

#[test]
fn particle_flash_local_writes_an_application_the_board_reports_valid() {
    let Some(particle) =
        particle_for("particle_flash_local_writes_an_application_the_board_reports_valid")
    else {
        return;
    };
    // The board runs the example (Tinker, user part v5); particle-cli puts it in DFU mode by
    // control request, writes the product firmware (v6) and leaves; flashline then asks it.
    let script = format!(
        "{particle} flash --local {BUNDLE}/product-demo-1.0.0.bin \
         && until [ \"$(cat /sys/bus/usb/devices/1-1/idProduct 2>/dev/null)\" = c00c ]; do sleep 0.05; done \
         && {BIN} flash --dry-run --json --bundle {BUNDLE} --port 1-1",
        particle = particle.display()
    );
    let out = sim_usb(&["--bundle", BUNDLE], &["sh", "-c", &script]);
    assert!(out.status.success(), "{}", shown(&out));
    let log = text(&out.stdout);
    assert!(log.contains("Flash success!"), "{log}");
    let doc: serde_json::Value =
        serde_json::from_str(&log[log.find("{\n").expect("flashline's JSON")..]).unwrap();
    let app = doc["board_modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["function"] == "user-part")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (app["version"].as_u64(), app["failed"].as_u64()),
        (Some(6), Some(0)),
        "{doc}"
    );
}

#[test]
fn bench_vs_cli_times_both_workflows_on_identical_boards() {
    let Some(particle) = particle_for("bench_vs_cli_times_both_workflows_on_identical_boards")
    else {
        return;
    };
    let out = std::process::Command::new(BIN)
        .current_dir(sim_usb::ROOT)
        .args(["bench", "--vs-cli", "--particle"])
        .arg(&particle)
        .args(["--speedup", sim_usb::SPEEDUP, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", shown(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["particle_cli_commands"], 4, "{doc}");
    let (cli, ours) = (
        doc["particle_cli_s"].as_f64().unwrap(),
        doc["flashline_s"].as_f64().unwrap(),
    );
    assert!(ours > 0.0 && cli > ours, "{doc}");
    let ratio = doc["ratio"].as_f64().unwrap();
    assert!((ratio - cli / ours).abs() < 0.05 * ratio, "{doc}");
}
