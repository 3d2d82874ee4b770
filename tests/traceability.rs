//! Traceability end to end, as a line runs it: a scripted work order with scans, a duplicate
//! serial, a failing unit and a supervisor's rework; labels received by a printer on a local
//! port; the device history record checked field by field against the records; a tampered
//! row found by `records verify`.

#[path = "support/common.rs"]
mod common;

use common::flashline;
use serde_json::Value;
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

const TRACE: &str = r#"
[trace]
require_serial = true
patterns = { serial = "^WC-\\d{4}$", work_order = "^WO-\\d+$", operator = "^OP-\\d+$" }
supervisors = ["OP-900"]
"#;

/// A label printer on a local port: every connection's bytes, in order. It stops with the
/// test (its thread ends when the process does; each accept is short).
struct Printer {
    port: u16,
    labels: Arc<Mutex<Vec<String>>>,
}

impl Printer {
    fn start() -> Printer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let labels = Arc::new(Mutex::new(Vec::new()));
        let got = labels.clone();
        std::thread::spawn(move || {
            for conn in l.incoming().flatten().take(64) {
                let mut conn = conn;
                let mut text = String::new();
                let _ = conn.read_to_string(&mut text);
                got.lock().unwrap().push(text);
            }
        });
        Printer { port, labels }
    }

    fn labels(&self) -> Vec<String> {
        self.labels.lock().unwrap().clone()
    }
}

fn event(at_ms: u64, action: &str, extra: &str) -> String {
    format!("[[event]]\nat_ms = {at_ms}\naction = \"{action}\"\n{extra}\n")
}

fn scan(at_ms: u64, code: &str) -> String {
    event(at_ms, "scan", &format!("code = \"{code}\""))
}

fn seat(at_ms: u64, action: &str, slot: &str) -> String {
    event(at_ms, action, &format!("slot = \"{slot}\""))
}

struct Run {
    units: Vec<Value>,
    stderr: String,
}

fn run(dir: &Path, config: &str, script: &str) -> Run {
    let (cfg, scr) = (dir.join("station.toml"), dir.join("script.toml"));
    std::fs::write(&cfg, config).unwrap();
    std::fs::write(&scr, script).unwrap();
    let db = dir.join("records.db");
    let out = flashline(&[
        "run",
        "--sim",
        "--json",
        "--config",
        cfg.to_str().unwrap(),
        "--script",
        scr.to_str().unwrap(),
        "--records",
        db.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    Run {
        units: doc["units"].as_array().unwrap().clone(),
        stderr,
    }
}

/// `flashline records ARGS --records DIR/records.db`.
fn records(dir: &Path, args: &[&str]) -> std::process::Output {
    let db = dir.join("records.db");
    let mut all = vec!["records"];
    all.extend_from_slice(args);
    all.extend(["--records", db.to_str().unwrap()]);
    flashline(&all)
}

fn records_json(dir: &Path, args: &[&str]) -> (Value, bool) {
    let out = records(dir, args);
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (v, out.status.success())
}

/// The work order of the issue's "done when": four units on two slots, one fails its
/// tests, one is refused as a duplicate serial.
fn work_order_script() -> String {
    [
        "bundle = \"bundles/example-argon\"\n[[slot]]\nname = \"A\"\n[[slot]]\nname = \"B\"\nfault = \"meas:vin=10.2\"\n".to_string(),
        scan(0, "WO-1"),
        scan(100, "OP-7"),
        seat(500, "seat", "A"),
        scan(600, "WC-0001"),
        seat(1000, "seat", "B"),
        scan(1100, "WC-0002"),
        seat(25000, "unseat", "A"),
        seat(25000, "unseat", "B"),
        seat(26000, "seat", "A"),
        // The same serial on another board: refused before anything is written.
        scan(26100, "WC-0001"),
        seat(27000, "seat", "B"),
        scan(27100, "WC-0003"),
    ]
    .concat()
}

#[test]
fn a_work_order_ends_in_the_right_codes_labels_for_passed_units_and_a_dhr_matching_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let printer = Printer::start();
    let config = format!(
        "{TRACE}[label]\nprinter = \"tcp://127.0.0.1:{}\"\n",
        printer.port
    );
    let r = run(dir.path(), &config, &work_order_script());

    let by_serial =
        |s: &str| -> Vec<&Value> { r.units.iter().filter(|u| u["serial"] == s).collect() };
    assert_eq!(r.units.len(), 4, "{:#?}", r.units);
    let first = by_serial("WC-0001");
    assert_eq!(
        (first[0]["outcome"].as_str(), first[0]["code"].as_str()),
        (Some("pass"), None)
    );
    assert_eq!(first[1]["code"], "E-SERIAL-DUP");
    assert_ne!(first[0]["device_id"], first[1]["device_id"]);
    assert!(
        first[1]["modules"].as_array().unwrap().is_empty(),
        "refused before writing"
    );
    assert!(first[1]["measurements"].as_array().unwrap().is_empty());
    assert_eq!(by_serial("WC-0002")[0]["code"], "E-TEST");
    assert_eq!(by_serial("WC-0003")[0]["outcome"], "pass");
    for u in &r.units {
        assert_eq!(
            (u["work_order"].as_str(), u["operator"].as_str()),
            (Some("WO-1"), Some("OP-7")),
            "{u}"
        );
    }

    // Labels: the two passed units only, each with its serial, device ID (as text and QR),
    // bundle version and date.
    let labels = printer.labels();
    assert_eq!(labels.len(), 2, "{labels:#?}");
    for (label, serial) in labels.iter().zip(["WC-0001", "WC-0003"]) {
        let unit = r
            .units
            .iter()
            .find(|u| u["serial"] == serial && u["outcome"] == "pass")
            .unwrap();
        let id = unit["device_id"].as_str().unwrap();
        assert!(
            label.starts_with("^XA") && label.trim_end().ends_with("^XZ"),
            "{label}"
        );
        assert!(label.contains(&format!("^FD{serial}^FS")), "{label}");
        assert!(label.contains(&format!("^FD{id}^FS")), "{label}");
        assert!(
            label.contains(&format!("^BQN,2,4^FH^FDMA,{id}^FS")),
            "{label}"
        );
        assert!(label.contains("^FDexample-argon 1.0.0^FS") && label.contains("^FDWO-1^FS"));
        let today: String = unit_date(dir.path(), serial);
        assert!(label.contains(&format!("^FD{today}^FS")), "{label}");
    }

    // `records export --json` carries serial, work order, operator per unit.
    let export = dir.path().join("all.json");
    let out = flashline(&[
        "records",
        "export",
        "--json",
        "-o",
        export.to_str().unwrap(),
        "--records",
        dir.path().join("records.db").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let records: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 4);
    for (rec, unit) in records.iter().zip(&r.units) {
        for key in ["serial", "work_order", "operator", "device_id", "code"] {
            assert_eq!(rec[key], unit[key], "{key}");
        }
        assert_eq!(rec["row_hash"].as_str().map(str::len), Some(64));
    }

    // The DHR: one entry per record, every field as recorded.
    let (dhr, ok) = records_json(
        dir.path(),
        &["dhr", "--work-order", "WO-1", "--format", "json"],
    );
    assert!(ok);
    assert_eq!(dhr["work_order"], "WO-1");
    assert_eq!(dhr["summary"]["attempts"], 4);
    assert_eq!(dhr["summary"]["passed"], 2, "WC-0001 and WC-0003");
    assert_eq!(dhr["chain"]["breaks"].as_array().unwrap().len(), 0);
    let units = dhr["units"].as_array().unwrap();
    assert_eq!(units.len(), records.len());
    for (d, rec) in units.iter().zip(records) {
        assert_eq!(d["record"], rec["id"]);
        for key in [
            "serial",
            "device_id",
            "outcome",
            "code",
            "reason",
            "station",
            "slot",
            "operator",
            "rework_by",
            "duration_ms",
            "flashed_by",
            "device_os",
            "row_hash",
            "modules",
            "measurements",
        ] {
            assert_eq!(d[key], rec[key], "record {}: {key}", rec["id"]);
        }
        assert_eq!(d["finished_utc"], rec["time_utc"]);
        assert_eq!(d["bundle"]["lock_hash"], rec["lock_hash"]);
        assert_eq!(d["bundle"]["version"], rec["bundle_version"]);
    }
    let passed = units.iter().find(|u| u["serial"] == "WC-0001").unwrap();
    assert_eq!(passed["outcome"], "pass");
    let modules = passed["modules"].as_array().unwrap();
    let lock = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bundles/example-argon/bundle.lock"
    ))
    .unwrap();
    assert_eq!(modules.len(), 4, "{modules:?}");
    for m in modules {
        assert_eq!(m["sha256"].as_str().unwrap().len(), 64);
        assert!(
            lock.contains(m["sha256"].as_str().unwrap()),
            "the lock's hash: {m}"
        );
    }
    assert!(
        modules
            .iter()
            .any(|m| m["module"] == "user-part#1" && m["version"] == 6),
        "the final firmware, as it went on: {modules:?}"
    );
    let vin = &units.iter().find(|u| u["serial"] == "WC-0002").unwrap()["measurements"][0];
    assert_eq!(
        (
            vin["value"].as_f64(),
            vin["low"].as_f64(),
            vin["high"].as_f64()
        ),
        (Some(10.2), Some(11.4), Some(12.6))
    );

    // CSV and HTML are the same document for a spreadsheet and a printer.
    let db = dir.path().join("records.db");
    let csv = flashline(&[
        "records",
        "dhr",
        "--work-order",
        "WO-1",
        "--format",
        "csv",
        "--records",
        db.to_str().unwrap(),
    ]);
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.contains(",measurement,vin,10.2,V,11.4,12.6,false,")),
        "{csv}"
    );
    let html = flashline(&[
        "records",
        "dhr",
        "--work-order",
        "WO-1",
        "--format",
        "html",
        "--records",
        db.to_str().unwrap(),
    ]);
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(
        html.contains("@media print")
            && html.contains("E-SERIAL-DUP")
            && html.contains("Hash chain intact")
    );

    let (v, ok) = records_json(dir.path(), &["verify", "--json"]);
    assert!(ok && v["breaks"].as_array().unwrap().is_empty(), "{v}");
    assert!(!r.stderr.contains("E-LABEL"), "{}", r.stderr);
}

/// The CSV export is what the station's menu writes to the USB stick: an auditor reads each
/// unit's serial, work order and operator there, not only in the DHR.
#[test]
fn the_csv_export_names_each_units_serial_work_order_and_operator() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), TRACE, &work_order_script());
    let (header, rows) = csv_export(dir.path());
    // Existing columns keep their places; the trace columns follow them, before the
    // measurements (whose number varies with the records).
    assert_eq!(header[19], "attempt_id");
    assert_eq!(
        &header[20..24],
        &["serial", "work_order", "operator", "rework_by"]
    );
    assert!(header[24].starts_with("m:"), "{header:?}");
    assert_eq!(rows.len(), 4);
    for (row, unit) in rows.iter().zip(&r.units) {
        assert_eq!(row.len(), header.len(), "{row:?}");
        let cell = |name: &str| row[header.iter().position(|h| h == name).unwrap()].clone();
        for key in ["serial", "work_order", "operator", "device_id"] {
            assert_eq!(
                Some(cell(key).as_str()),
                unit[key].as_str(),
                "{key}: {row:?}"
            );
        }
        assert_eq!(cell("rework_by"), "", "no rework in this work order");
    }

    // `records list` shows the serial of each unit, in a column of its own.
    let out = records(dir.path(), &["list"]);
    let list = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = list.lines().take(4).collect();
    for (line, unit) in lines.iter().zip(&r.units) {
        assert!(line.contains(unit["serial"].as_str().unwrap()), "{list}");
    }
    let at = |l: &str| l.find("WC-").unwrap();
    assert!(
        lines.iter().all(|l| at(l) == at(lines[0])),
        "aligned: {list}"
    );
}

/// `records export --csv -o -`: the header and the rows, each split into its cells (RFC 4180:
/// a quoted cell may hold commas and doubled quotes).
fn csv_export(dir: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let out = records(dir, &["export", "--csv", "-o", "-"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rows = text.split_terminator("\r\n").map(|line| {
        let (mut cells, mut cell, mut quoted) = (Vec::new(), String::new(), false);
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cell.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => cells.push(std::mem::take(&mut cell)),
                _ => cell.push(c),
            }
        }
        cells.push(cell);
        cells
    });
    let header = rows.next().unwrap();
    (header, rows.collect())
}

fn unit_date(dir: &Path, serial: &str) -> String {
    let (list, _) = records_json(dir, &["list", "--json"]);
    let rec = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["serial"] == serial)
        .unwrap()
        .clone();
    rec["time_utc"].as_str().unwrap()[..10].to_string()
}

#[test]
fn a_supervisor_badge_confirms_a_rework_and_the_record_says_who() {
    let dir = tempfile::tempdir().unwrap();
    let script = [
        scan(0, "OP-7"),
        event(0, "seat", ""),
        scan(100, "WC-0001"),
        event(25000, "unseat", ""),
        event(26000, "seat", ""),
        scan(26100, "WC-0001"),
        // An operator's badge confirms nothing; the supervisor's does.
        scan(27000, "OP-8"),
        scan(28000, "OP-900"),
        event(55000, "unseat", ""),
        // The first board back, labelled with another serial: refused as a relabel.
        event(56000, "reseat", ""),
        scan(56100, "WC-0002"),
    ]
    .concat();
    let r = run(dir.path(), TRACE, &script);
    let codes: Vec<&str> = r
        .units
        .iter()
        .map(|u| u["code"].as_str().unwrap_or("PASS"))
        .collect();
    assert_eq!(
        codes,
        ["PASS", "E-SERIAL-DUP", "PASS", "E-DEVICE-DUP"],
        "{:#?}",
        r.units
    );
    assert_eq!(r.units[2]["rework_by"], "OP-900");
    assert_eq!(r.units[2]["operator"], "OP-8", "who ran it");
    assert_eq!(
        r.units[1]["device_id"], r.units[2]["device_id"],
        "the refused board"
    );
    assert!(r.units[1]["rework_by"].is_null() && r.units[3]["rework_by"].is_null());
    assert!(r.stderr.contains("confirmed by OP-900"), "{}", r.stderr);
    let (header, rows) = csv_export(dir.path());
    let rework = header.iter().position(|h| h == "rework_by").unwrap();
    let by: Vec<&str> = rows.iter().map(|row| row[rework].as_str()).collect();
    assert_eq!(
        by,
        ["", "", "OP-900", ""],
        "the CSV says who confirmed the rework"
    );
}

#[test]
fn require_serial_flashes_nothing_until_the_serial_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), TRACE, &event(0, "seat", ""));
    assert!(r.units.is_empty(), "waited: {:?}", r.units);
    let r = run(
        dir.path(),
        TRACE,
        &[event(0, "seat", ""), scan(5000, "WC-0042")].concat(),
    );
    assert_eq!(r.units.len(), 1);
    assert_eq!(
        (
            r.units[0]["serial"].as_str(),
            r.units[0]["outcome"].as_str()
        ),
        (Some("WC-0042"), Some("pass"))
    );
    assert!(r.units[0]["work_order"].is_null(), "none scanned");
}

#[test]
fn a_printer_that_refuses_or_hangs_up_costs_a_notice_not_the_record() {
    for case in ["refused", "hangs-up"] {
        let dir = tempfile::tempdir().unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        match case {
            "refused" => drop(l),
            _ => {
                std::thread::spawn(move || {
                    for c in l.incoming().take(1) {
                        drop(c);
                    }
                });
            }
        }
        let config = format!("{TRACE}[label]\nprinter = \"tcp://127.0.0.1:{port}\"\n");
        let r = run(
            dir.path(),
            &config,
            &[event(0, "seat", ""), scan(100, "WC-0001")].concat(),
        );
        assert_eq!(r.units[0]["outcome"], "pass", "{case}");
        assert!(
            r.stderr.contains("E-LABEL") && r.stderr.contains("not printed"),
            "{case}: {}",
            r.stderr
        );
        let (list, _) = records_json(dir.path(), &["list", "--json"]);
        assert_eq!(
            list.as_array().unwrap().len(),
            1,
            "{case}: the record is there"
        );

        // Printer fixed: `records reprint` sends the same label.
        let printer = Printer::start();
        let db = dir.path().join("records.db");
        let out = flashline(&[
            "records",
            "reprint",
            "--serial",
            "WC-0001",
            "--printer",
            &format!("tcp://127.0.0.1:{}", printer.port),
            "--records",
            db.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("label of WC-0001 (record 1) sent"),
            "{stdout}"
        );
        let labels = printer.labels();
        assert_eq!(labels.len(), 1);
        assert!(labels[0].contains("^FDWC-0001^FS"), "{}", labels[0]);
    }
}

#[test]
fn a_tampered_row_is_found_by_records_verify() {
    let dir = tempfile::tempdir().unwrap();
    let script = [
        event(0, "seat", ""),
        scan(100, "WC-0001"),
        event(25000, "unseat", ""),
        event(26000, "seat", ""),
        scan(26100, "WC-0002"),
    ]
    .concat();
    run(dir.path(), TRACE, &script);
    let db = dir.path().join("records.db");
    let verify = || flashline(&["records", "verify", "--records", db.to_str().unwrap()]);
    let out = verify();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Hash chain intact: 2 chained record(s)"));
    {
        // Someone "fixes" a failed measurement in the file itself.
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "DROP TRIGGER measurements_no_update;
             UPDATE measurements SET value = 12.3 WHERE unit_id = 1 AND name = 'vin';",
        )
        .unwrap();
    }
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("record 1: hash differs"), "{text}");
    assert!(
        text.contains("HASH CHAIN BROKEN: 1 break(s), the first at record 1"),
        "{text}"
    );
    assert_eq!(text.matches("hash differs").count(), 1, "said once: {text}");
    let dhr = flashline(&[
        "records",
        "dhr",
        "--work-order",
        "none",
        "--records",
        db.to_str().unwrap(),
    ]);
    assert!(!dhr.status.success(), "no such work order");
}

#[test]
fn a_bundle_carries_its_label_template_checked_at_lock_and_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b");
    common::copy_example(&bundle);
    let toml = std::fs::read_to_string(bundle.join("bundle.toml")).unwrap();
    std::fs::write(
        bundle.join("bundle.toml"),
        format!("{toml}label = \"label.zpl\"\n"),
    )
    .unwrap();
    let lock = || flashline(&["bundle", "lock", bundle.to_str().unwrap()]);
    // A placeholder in a field without ^FH could not be escaped: refused when locked.
    std::fs::write(
        bundle.join("label.zpl"),
        "^XA^FO10,10^A0N,30,30^FD{serial}^FS^XZ\n",
    )
    .unwrap();
    let out = lock();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("label.zpl") && err.contains("^FH"), "{err}");
    std::fs::write(
        bundle.join("label.zpl"),
        "^XA^FO10,10^A0N,30,30^FH^FDSN {serial}^FS^XZ\n",
    )
    .unwrap();
    assert!(lock().status.success());
    assert!(std::fs::read_to_string(bundle.join("bundle.lock"))
        .unwrap()
        .contains("[label]"));
    let png = dir.path().join("label.png");
    let zpl = dir.path().join("label.zpl");
    let out = flashline(&[
        "label",
        "preview",
        "--bundle",
        bundle.to_str().unwrap(),
        "-o",
        png.to_str().unwrap(),
        "--zpl",
        zpl.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("bundle label.zpl template"));
    assert_eq!(
        std::fs::read_to_string(&zpl).unwrap(),
        "^XA^FO10,10^A0N,30,30^FH^FDSN WC-0001^FS^XZ\n"
    );
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    // Changed after locking: the bundle no longer loads.
    std::fs::write(bundle.join("label.zpl"), "^XA^XZ\n").unwrap();
    let out = flashline(&["bundle", "verify", bundle.to_str().unwrap()]);
    assert!(!out.status.success());
}
