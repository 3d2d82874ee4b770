use super::*;
use crate::core::operator_code::OperatorCode;
use crate::records::schema::MIGRATIONS;

#[test]
fn a_database_of_an_older_schema_is_upgraded_and_keeps_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // A station that ran the release before: schema version 2, one unit.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);
             INSERT INTO schema_version VALUES (1), (2);",
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(MIGRATIONS[1]).unwrap();
        conn.execute(
            "INSERT INTO units (time_utc, station, slot, outcome, duration_ms, final_code)
             VALUES ('2026-11-01T08:00:00Z', 'line-1', 'A', 'pass', 17615, NULL)",
            [],
        )
        .unwrap();
    }
    let mut records = Records::open(&path).unwrap();
    let unit = UnitRecord {
        outcome: crate::core::unit::Outcome::Pass,
        flashed_by: Some("swd".into()),
        device_os: Some("1.5.0".into()),
        board_modules: vec!["bootloader#0 v501".into(), "user-part#1 v6".into()],
        ..UnitRecord::new("B")
    };
    records
        .insert(&Context::default(), "2026-11-26T08:00:00Z", &unit)
        .unwrap();
    let all = records.list(&Filter::default()).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!((all[0].slot.as_str(), all[0].duration_ms), ("A", 17615));
    assert_eq!(all[0].flashed_by, None, "unknown for the old record");
    assert_eq!(all[1].flashed_by.as_deref(), Some("swd"));
    assert_eq!(all[1].device_os.as_deref(), Some("1.5.0"));
    assert_eq!(
        all[1].board_modules.as_deref(),
        Some("bootloader#0 v501; user-part#1 v6")
    );
}

#[test]
fn stations_opening_a_new_database_at_once_all_get_the_whole_schema() {
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("new-{round}.db"));
        let start = std::sync::Arc::new(std::sync::Barrier::new(8));
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    Records::open(&path).map(|_| ()).map_err(|e| e.to_string())
                })
            })
            .collect();
        for o in openers {
            o.join().unwrap().unwrap();
        }
        let versions = Records::open(&path).unwrap().schema_versions().unwrap();
        let all: Vec<i64> = (1..=MIGRATIONS.len() as i64).collect();
        assert_eq!(versions, all, "each migration once");
    }
}

#[test]
fn an_upgraded_database_keeps_its_rows_outside_the_chain_and_chains_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);
             INSERT INTO schema_version VALUES (1), (2), (3);",
        )
        .unwrap();
        for m in &MIGRATIONS[..3] {
            conn.execute_batch(m).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO units (time_utc, station, slot, outcome, duration_ms)
             VALUES ('2026-11-01T08:00:00Z', 'line-1', 'A', 'pass', 1),
                    ('2026-11-01T08:01:00Z', 'line-1', 'A', 'pass', 2);",
        )
        .unwrap();
    }
    let mut r = Records::open(&path).unwrap();
    let unit = UnitRecord {
        outcome: crate::core::unit::Outcome::Pass,
        ..UnitRecord::new("A")
    };
    r.insert(&Context::default(), "2026-12-01T08:00:00Z", &unit)
        .unwrap();
    let v = r.verify_chain().unwrap();
    assert!(v.intact(), "{v:?}");
    assert_eq!((v.rows, v.before_chain, v.chained), (3, 2, 1));
    let e = Connection::open(&path)
        .unwrap()
        .execute("UPDATE units SET outcome = 'fail' WHERE id = 1", [])
        .unwrap_err();
    assert!(
        e.to_string().contains("append-only"),
        "older rows are kept too"
    );
}

#[test]
fn a_serial_pairs_with_one_device_refusals_aside_until_a_rework_is_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Records::open(&dir.path().join("r.db")).unwrap();
    let put = |r: &mut Records,
               serial: &str,
               device: &str,
               code: Option<OperatorCode>,
               by: Option<&str>| {
        let mut u = UnitRecord::new("A");
        u.device_id = Some(device.into());
        u.trace.serial = Some(serial.into());
        u.trace.rework_by = by.map(String::from);
        match code {
            Some(c) => u.fail(c, "x".into()),
            None => u.outcome = crate::core::unit::Outcome::Pass,
        }
        r.insert(&Context::default(), "2026-12-01T08:00:00Z", &u)
            .unwrap()
    };
    let first = put(&mut r, "WC-0001", "d1", None, None);
    assert_eq!(
        r.seen("WC-0001", "D1").unwrap(),
        Seen::default(),
        "IDs in any case"
    );
    let seen = r.seen("WC-0001", "d2").unwrap();
    assert_eq!(seen.serial_elsewhere, Some(("d1".into(), first)));
    let refused = put(&mut r, "WC-0002", "d1", Some(OperatorCode::DeviceDup), None);
    assert_eq!(
        r.seen("WC-0003", "d1").unwrap().device_elsewhere,
        Some(("WC-0001".into(), first)),
        "refusal {refused} pairs nothing"
    );
    put(&mut r, "WC-0001", "d2", None, Some("OP-900"));
    assert!(r.seen("WC-0001", "d2").unwrap().confirmed);
    assert!(
        !r.seen("WC-0001", "d1").unwrap().confirmed,
        "only the reworked pairing"
    );
    assert_eq!(r.work_order_passed("WO-1").unwrap(), Vec::<String>::new());
}
