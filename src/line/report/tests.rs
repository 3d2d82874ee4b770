use super::*;

fn rec(station: &str, id: i64, t: &str, device: Option<&str>, code: Option<&str>) -> Record {
    Record {
        id,
        attempt_id: format!("{station}-{id}"),
        time_utc: t.into(),
        station: station.into(),
        slot: "A".into(),
        device_id: device.map(str::to_string),
        bundle_name: Some("wheelchair-ctl".into()),
        bundle_version: Some("3.2.1".into()),
        lock_hash: None,
        outcome: if code.is_none() { "pass" } else { "fail" }.into(),
        code: code.map(str::to_string),
        reason: None,
        duration_ms: 60_000,
        flash_ms: Some(15_000),
        test_ms: Some(20_000 + id * 1000),
        final_ms: None,
        final_code: None,
        flashed_by: None,
        device_os: None,
        board_modules: None,
        serial: None,
        work_order: None,
        operator: None,
        rework_by: None,
        modules: Vec::new(),
        row_hash: None,
        measurements: Vec::new(),
    }
}

#[test]
fn first_pass_yield_counts_a_device_once_wherever_it_was_first() {
    let rows = vec![
        // d1 fails at st-a, then passes at st-b: a retest at st-b, not a first attempt there.
        rec(
            "st-a",
            1,
            "2026-12-01T08:01:00.000Z",
            Some("d1"),
            Some("E-TEST"),
        ),
        rec("st-b", 1, "2026-12-01T08:02:00.000Z", Some("d1"), None),
        rec("st-a", 2, "2026-12-01T08:03:00.000Z", Some("d2"), None),
        rec(
            "st-b",
            2,
            "2026-12-01T08:04:00.000Z",
            Some("d3"),
            Some("E-TEST"),
        ),
        rec(
            "st-b",
            3,
            "2026-12-01T08:05:00.000Z",
            None,
            Some("E-NO-BOARD"),
        ),
        rec("st-a", 3, "2026-12-01T08:06:00.000Z", Some("d4"), None),
    ];
    let r = Report::of(&rows, "test", None);
    let l = &r.line;
    assert_eq!((l.units, l.pass, l.fail, l.devices), (6, 3, 3, 4));
    assert_eq!((l.first_attempts, l.first_pass, l.retests), (5, 2, 1));
    assert_eq!(l.first_pass_yield, Some(40.0));
    let a = &r.stations[0];
    assert_eq!(a.key, "st-a");
    assert_eq!((a.units, a.first_attempts, a.first_pass), (3, 3, 2));
    assert_eq!(a.first_pass_yield, Some(66.7));
    let b = &r.stations[1];
    assert_eq!((b.units, b.first_attempts, b.retests), (3, 2, 1));
    assert_eq!(b.first_pass_yield, Some(0.0));
    assert_eq!(r.bundles.len(), 1);
    assert_eq!(r.bundles[0].key, "wheelchair-ctl 3.2.1");
    // Six units from 08:00 (the first one's start) to 08:06: 60 per hour.
    assert_eq!(l.units_per_hour, Some(60.0));
}

#[test]
fn pareto_is_most_first_with_cumulative_share_and_the_slowest_stage_is_named() {
    let rows = vec![
        rec("s", 1, "2026-12-01T08:00:00Z", Some("a"), Some("E-VERIFY")),
        rec("s", 2, "2026-12-01T08:01:00Z", Some("b"), Some("E-TEST")),
        rec("s", 3, "2026-12-01T08:02:00Z", Some("c"), Some("E-TEST")),
        rec("s", 4, "2026-12-01T08:03:00Z", Some("d"), Some("E-TEST")),
    ];
    let g = Report::of(&rows, "test", None).line;
    let codes: Vec<(&str, u64, f64, f64)> = g
        .pareto
        .iter()
        .map(|c| (c.code.as_str(), c.count, c.percent, c.cumulative_percent))
        .collect();
    assert_eq!(
        codes,
        [("E-TEST", 3, 75.0, 75.0), ("E-VERIFY", 1, 25.0, 100.0)]
    );
    let slowest = g.slowest_stage.unwrap();
    assert_eq!(
        (slowest.stage.as_str(), slowest.mean_ms, slowest.max_ms),
        ("test", 22_500, 24_000)
    );
    assert_eq!(g.stages.len(), 2, "final never ran");
}

#[test]
fn the_timeline_buckets_first_pass_yield_and_keeps_empty_buckets() {
    let rows = vec![
        rec("s", 1, "2026-12-01T08:00:05Z", Some("a"), None),
        rec("s", 2, "2026-12-01T08:00:30Z", Some("b"), Some("E-TEST")),
        rec("s", 3, "2026-12-01T08:03:10Z", Some("b"), None),
    ];
    let r = Report::of(&rows, "test", None);
    assert_eq!(r.bucket_s, 10);
    assert_eq!(r.timeline.len(), 20);
    assert_eq!(r.timeline[0].start_utc, "2026-12-01T08:00:00Z");
    assert_eq!(r.timeline[0].first_pass_yield, Some(100.0));
    assert_eq!(r.timeline[3].first_pass_yield, Some(0.0));
    assert_eq!(r.timeline[1].units, 0);
    let last = &r.timeline[19];
    assert_eq!(
        (last.units, last.first_attempts, last.first_pass_yield),
        (1, 0, None)
    );
    let day: Vec<Record> = (0..30)
        .map(|h| {
            rec(
                "s",
                h,
                &format!("2026-12-{:02}T{:02}:00:00Z", 1 + h / 24, h % 24),
                None,
                None,
            )
        })
        .collect();
    assert_eq!(Report::of(&day, "t", None).bucket_s, 3600);
}

#[test]
fn an_empty_selection_has_no_yield_and_no_rate() {
    let r = Report::of(&[], "test", Some("2026-12-01"));
    assert_eq!(r.line.units, 0);
    assert_eq!(r.line.first_pass_yield, None);
    assert_eq!(r.line.units_per_hour, None);
    assert!(r.stations.is_empty() && r.timeline.is_empty());
}
