//! `flashline selftest` on a machine without the station's hardware: every check reports,
//! the missing ones fail with what is missing, nothing panics.

use std::process::Command;

#[test]
fn selftest_reports_each_check_and_fails_cleanly_without_hardware() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("station.toml");
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/station.toml"))
            .unwrap()
            .replace("/var/lib/flashline", dir.path().to_str().unwrap())
            .replace("/dev/i2c-1", dir.path().join("no-i2c").to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flashline"))
        .args(["selftest", "--json", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "no display or GPIO here");
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_name = |n: &str| named(&checks, n);
    assert_eq!(by_name("config")["ok"], true);
    assert_eq!(by_name("records")["ok"], true);
    assert_eq!(by_name("display")["ok"], false);
    assert!(by_name("display")["detail"]
        .as_str()
        .unwrap()
        .contains("cannot open I2C bus"));
    assert!(by_name("bundle")["detail"]
        .as_str()
        .unwrap()
        .contains("no bundle here"));
    assert!(by_name("disk")["detail"]
        .as_str()
        .unwrap()
        .contains("MiB free"));
}

#[test]
fn selftest_checks_the_scanner_and_the_label_printer_without_printing() {
    let dir = tempfile::tempdir().unwrap();
    let printer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = printer.local_addr().unwrap().port();
    printer.set_nonblocking(true).unwrap();
    let config = dir.path().join("station.toml");
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/station.toml"))
            .unwrap()
            .replace("/var/lib/flashline", dir.path().to_str().unwrap());
    let trace = format!(
        "\n[trace]\nscanner = \"{}\"\n[label]\nprinter = \"tcp://127.0.0.1:{port}\"\n",
        dir.path().join("no-scanner").display()
    );
    std::fs::write(&config, text + &trace).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flashline"))
        .args(["selftest", "--json", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_name = |n: &str| named(&checks, n);
    assert_eq!(by_name("scanner")["ok"], false);
    assert!(by_name("scanner")["detail"]
        .as_str()
        .unwrap()
        .contains("No such file"));
    assert_eq!(by_name("label printer")["ok"], true, "{checks}");
    // Connected, but sent nothing: a check must not waste a label.
    let (mut conn, _) = printer.accept().unwrap();
    conn.set_nonblocking(false).unwrap();
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut conn, &mut got).unwrap();
    assert!(got.is_empty());
}

/// The check called `name` in `selftest --json`'s list.
fn named(checks: &serde_json::Value, name: &str) -> serde_json::Value {
    checks
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no check {name}: {checks}"))
}
