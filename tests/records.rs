//! Records as a quality engineer uses them, and their survival when the process dies.

#[path = "support/common.rs"]
mod common;
use common::flashline;

const SHIFT: &str = r#"
[[slot]]
name = "A"
fault = "meas:vin=10.2"
[[slot]]
name = "B"
[[event]]
at_ms = 0
action = "seat"
slot = "A"
[[event]]
at_ms = 1000
action = "seat"
slot = "B"
[[event]]
at_ms = 20000
action = "unseat"
slot = "A"
[[event]]
at_ms = 21000
action = "seat"
slot = "A"
"#;

#[test]
fn a_simulated_shift_leaves_records_to_list_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.db");
    let script = dir.path().join("shift.toml");
    std::fs::write(&script, SHIFT).unwrap();
    let db_s = db.to_str().unwrap();
    let out = flashline(&[
        "run",
        "--sim",
        "--json",
        "--script",
        script.to_str().unwrap(),
        "--records",
        db_s,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = flashline(&["records", "list", "--records", db_s, "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3, "one row per attempt, the failed one too");
    let failed = list.iter().find(|r| r["outcome"] == "fail").unwrap();
    assert_eq!(failed["code"], "E-TEST");
    assert_eq!(failed["measurements"][0]["value"], 10.2);
    assert!(failed["device_id"].is_string());
    assert_eq!(failed["bundle_name"], "example-argon");
    assert_eq!(failed["lock_hash"].as_str().unwrap().len(), 64);
    let passed = list
        .iter()
        .find(|r| r["outcome"] == "pass")
        .expect("a passing unit");
    assert_eq!(passed["flashed_by"], "dfu");
    assert!(passed["device_os"].is_string(), "{passed}");
    let modules = passed["board_modules"].as_str().unwrap();
    assert!(
        modules.contains("system-part#1 v1502") && modules.contains("user-part#1 v6"),
        "after the final stage the board runs the product firmware: {modules}"
    );

    let csv = dir.path().join("out.csv");
    let out = flashline(&[
        "records",
        "export",
        "--csv",
        "-o",
        csv.to_str().unwrap(),
        "--records",
        db_s,
    ]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 4, "header + 3 rows");
    let header: Vec<&str> = rows[0].split(',').collect();
    assert_eq!(&header[..4], &["time_utc", "station", "slot", "device_id"]);
    assert!(header.contains(&"m:vin"));
    assert!(
        rows[1..]
            .iter()
            .all(|r| r.split(',').count() == header.len()),
        "every row has every column"
    );
    assert!(rows
        .iter()
        .any(|r| r.contains(",10.2,") || r.ends_with(",10.2")));

    let ids = dir.path().join("ids.txt");
    flashline(&[
        "records",
        "export",
        "--device-ids",
        "-o",
        ids.to_str().unwrap(),
        "--records",
        db_s,
    ]);
    let ids = std::fs::read_to_string(ids).unwrap();
    assert_eq!(ids.lines().count(), 2, "the two units that passed: {ids}");

    let out = flashline(&[
        "records",
        "list",
        "--records",
        db_s,
        "--device",
        failed["device_id"].as_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 record(s)"));
}

#[test]
fn counters_on_the_oled_come_from_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.db");
    let script = dir.path().join("one.toml");
    std::fs::write(&script, "[[event]]\nat_ms = 0\naction = \"seat\"\n").unwrap();
    for _ in 0..2 {
        let out = flashline(&[
            "run",
            "--sim",
            "--script",
            script.to_str().unwrap(),
            "--records",
            db.to_str().unwrap(),
        ]);
        assert!(out.status.success());
    }
    let store = flashline::records::Records::open(&db).unwrap();
    let lock = store.list(&Default::default()).unwrap()[0]
        .lock_hash
        .clone()
        .unwrap();
    let today: String = flashline::records::now_utc().chars().take(10).collect();
    assert_eq!(
        store.counts(&lock, &today).unwrap(),
        (2, 0),
        "today, this bundle"
    );
    assert_eq!(store.counts("another-bundle", &today).unwrap(), (0, 0));
    assert_eq!(
        store.counts(&lock, "2999-01-01").unwrap(),
        (0, 0),
        "not today"
    );
}

#[test]
fn stations_opening_one_new_database_at_once_all_start_and_share_one_schema() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(format!("shared-{round}.db"));
        let openers: Vec<_> = (0..6)
            .map(|_| {
                std::process::Command::new(env!("CARGO_BIN_EXE_flashline"))
                    .args(["records", "stress", "--count", "1", "--records"])
                    .arg(&db)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for o in openers {
            let out = o.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let store = flashline::records::Records::open(&db).unwrap();
        let versions = store.schema_versions().unwrap();
        let once: Vec<i64> = (1..=versions.len() as i64).collect();
        assert_eq!(versions, once, "each schema upgrade applied once");
        assert_eq!(store.list(&Default::default()).unwrap().len(), 6);
        let out = flashline(&["records", "list", "--records", db.to_str().unwrap()]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("6 record(s)"));
    }
}
