//! Stations against a real PostgreSQL (started by the test, no mock): two simulated stations'
//! units appear on the line once each and the report is the same from either database; a
//! server stopped mid-run and started again loses and doubles nothing; a station killed
//! (SIGKILL) mid-push resumes without gaps.

#[path = "support/common.rs"]
mod common;
#[path = "support/postgres.rs"]
mod postgres_server;

use common::{flashline, line_script};
use postgres_server::Pg;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flashline::records::{Filter, Records};

const BIN: &str = env!("CARGO_BIN_EXE_flashline");

fn station(dir: &Path, name: &str, script: &str, url: &str, extra: &[&str]) -> Child {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, script).unwrap();
    let records = dir.join(format!("{name}.db"));
    Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--sim", "--json", "--script"])
        .arg(&path)
        .arg("--records")
        .arg(&records)
        .args(["--station", name, "--line-db", url])
        .args(extra)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a station")
}

fn finish(child: Child) -> (serde_json::Value, String) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "station failed: {stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

/// The attempt ids `station` recorded in its own SQLite.
fn local_attempts(db: &Path, station: &str) -> BTreeSet<String> {
    Records::open(db)
        .unwrap()
        .list(&Filter::default())
        .unwrap()
        .into_iter()
        .filter(|r| r.station == station)
        .map(|r| r.attempt_id)
        .collect()
}

fn line_attempts(pg: &Pg, station: &str) -> BTreeSet<String> {
    pg.client("line")
        .query(
            "SELECT attempt_id::text FROM flashline.units WHERE station = $1",
            &[&station],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// sent (on the station), received (on the line), duplicates and lost, printed and returned.
fn counts(pg: &Pg, station: &str, db: &Path) -> (usize, usize, i64, usize) {
    let sent = local_attempts(db, station);
    let received = line_attempts(pg, station);
    let q = |sql: &str| pg.count(&sql.replace("$S", &format!("'{station}'")));
    let rows = q("SELECT COUNT(*) FROM flashline.units WHERE station = $S");
    let distinct = q("SELECT COUNT(DISTINCT local_id) FROM flashline.units WHERE station = $S");
    let resent =
        q("SELECT COALESCE(SUM(sends - 1), 0)::bigint FROM flashline.units WHERE station = $S");
    let duplicates = rows - distinct;
    let lost = sent.difference(&received).count();
    println!(
        "station {station}: sent {} received {} duplicates {duplicates} lost {lost} \
         (re-sent idempotently: {resent})",
        sent.len(),
        received.len()
    );
    assert!(
        received.is_subset(&sent),
        "the line has attempts the station never made"
    );
    (sent.len(), received.len(), duplicates, lost)
}

fn report(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["line", "report", "--json"];
    all.extend_from_slice(args);
    let out = flashline(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn group<'a>(report: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    report["stations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key)
        .unwrap_or_else(|| panic!("no station {key} in {report}"))
}

#[test]
fn two_stations_meet_in_one_line_database_once_each_and_report_the_same_from_both() {
    let Some(pg) = Pg::start("two_stations") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url();
    let a = station(dir.path(), "st-a", &line_script(6, None), &url, &[]);
    let b = station(dir.path(), "st-b", &line_script(8, None), &url, &[]);
    let (a_units, _) = finish(a);
    let (b_units, _) = finish(b);
    assert_eq!(a_units["units"].as_array().unwrap().len(), 6);
    assert_eq!(b_units["units"].as_array().unwrap().len(), 8);
    for (name, n) in [("st-a", 6), ("st-b", 8)] {
        let db = dir.path().join(format!("{name}.db"));
        assert_eq!(counts(&pg, name, &db), (n, n, 0, 0));
        assert_eq!(
            line_attempts(&pg, name),
            local_attempts(&db, name),
            "the same attempts"
        );
    }
    assert!(
        pg.count("SELECT COUNT(*) FROM flashline.measurements") > 0,
        "measurements go with their units"
    );

    let line = report(&["--line-db", &url]);
    assert_eq!(line["line"]["units"], 14);
    assert_eq!(line["stations"].as_array().unwrap().len(), 2);
    for name in ["st-a", "st-b"] {
        let db = dir.path().join(format!("{name}.db"));
        let local = report(&["--records", db.to_str().unwrap()]);
        assert_eq!(
            group(&line, name),
            group(&local, name),
            "{name}: same numbers from both"
        );
    }
    let st_b = group(&line, "st-b");
    assert_eq!(
        (st_b["fail"].as_u64(), st_b["retests"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(st_b["pareto"][0]["code"], "E-UNPLUGGED");

    // The product import across the line: every passed device once.
    let out = flashline(&["line", "device-ids", "--passed", "--line-db", &url]);
    assert!(out.status.success());
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    let passed: BTreeSet<String> = [a_units, b_units]
        .iter()
        .flat_map(|u| u["units"].as_array().unwrap().clone())
        .filter(|u| u["outcome"] == "pass")
        .map(|u| u["device_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), passed.len(), "once each: {ids:?}");
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), passed);

    let text = flashline(&["line", "report", "--line-db", &url]);
    println!(
        "$ flashline line report --line-db {url}\n{}",
        String::from_utf8_lossy(&text.stdout)
    );

    // A second start against the same server applies no migration again.
    assert_eq!(pg.count("SELECT COUNT(*) FROM flashline.schema_version"), 1);
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn units_on_line(pg: &Pg, station: &str) -> usize {
    let mut client = match std::panic::catch_unwind(|| pg.client("line")) {
        Ok(c) => c,
        Err(_) => return 0,
    };
    client
        .query_one(
            "SELECT COUNT(*) FROM flashline.units WHERE station = $1",
            &[&station],
        )
        .map(|r| r.get::<_, i64>(0) as usize)
        .unwrap_or(0)
}

fn units_recorded(db: &Path) -> usize {
    Records::open(db)
        .and_then(|r| r.list(&Filter::default()))
        .map(|l| l.len())
        .unwrap_or(0)
}

#[test]
fn a_server_stopped_mid_run_and_started_again_loses_and_doubles_nothing() {
    let Some(pg) = Pg::start("outage") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("st-o.db");
    // 16 units in scaled real time (×20: about 12 s), so the outage falls inside the run.
    let run = station(
        dir.path(),
        "st-o",
        &line_script(16, None),
        &pg.url(),
        &["--speed", "20"],
    );
    wait_for(
        "the first units on the line",
        Duration::from_secs(60),
        || units_on_line(&pg, "st-o") >= 2,
    );
    pg.stop();
    let at_stop = units_recorded(&db);
    // The station goes on flashing and recording while the server is down.
    wait_for(
        "units recorded during the outage",
        Duration::from_secs(60),
        || units_recorded(&db) >= at_stop + 2,
    );
    assert!(pg.start_again(), "{}", pg.log());
    let (units, log) = finish(run);
    let n = units["units"].as_array().unwrap().len();
    assert!(n >= 12, "{n} units: the run went on through the outage");
    assert!(
        log.contains("retrying in"),
        "the outage is in the log: {log}"
    );
    let messages = log
        .lines()
        .filter_map(|l| l.split_once("] ").map(|(_, m)| m));
    for m in messages.filter(|m| m.starts_with("line")) {
        println!("station log: {m}");
    }
    let (sent, received, duplicates, lost) = counts(&pg, "st-o", &db);
    assert_eq!((sent, received, duplicates, lost), (16, 16, 0, 0));
    let cursor = Records::open(&db)
        .unwrap()
        .replica_cursor(&flashline::replica::target_of(&pg.url()));
    assert_eq!(cursor.unwrap(), 16, "the cursor reached the last record");
}

#[test]
fn a_station_killed_mid_push_resumes_without_gaps() {
    let Some(pg) = Pg::start("sigkill") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("st-k.db");
    // A station back from a long outage: 1500 records waiting for the line.
    let out = flashline(&[
        "records",
        "stress",
        "--records",
        db.to_str().unwrap(),
        "--count",
        "1500",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = line_script(2, None);
    let run = station(dir.path(), "st-k", &script, &pg.url(), &["--speed", "1"]);
    let mut run = Some(run);
    // One connection, polled as fast as it answers: the kill must land inside the push.
    let mut watcher = pg.client("line");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let on_line: i64 = watcher
            .query_one(
                "SELECT COUNT(*) FROM flashline.units WHERE station = 'stress'",
                &[],
            )
            .map(|r| r.get(0))
            .unwrap_or(0); // before the first station made the schema
        if on_line > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the push never began");
        std::thread::sleep(Duration::from_millis(2));
    }
    let pid = run.as_ref().unwrap().id() as i32;
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = run.take().unwrap().wait();
    let at_kill = units_on_line(&pg, "stress");
    println!("killed with {at_kill} of 1500 on the line");
    assert!(
        at_kill < 1500,
        "the kill came after the push ended ({at_kill}): not mid-push"
    );
    // The station starts again: it resumes where the server's confirmations left it.
    let (_, _) = finish(station(dir.path(), "st-k", &script, &pg.url(), &[]));
    let ids: Vec<i64> = pg
        .client("line")
        .query(
            "SELECT local_id FROM flashline.units WHERE station = 'stress' ORDER BY local_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, (1..=1500).collect::<Vec<i64>>(), "no gap, no double");
    assert_eq!(counts(&pg, "stress", &db), (1500, 1500, 0, 0));
    assert_eq!(
        counts(&pg, "st-k", &db),
        (2, 2, 0, 0),
        "and the units of the restart"
    );
    let resent = pg.count("SELECT COALESCE(SUM(sends - 1), 0)::bigint FROM flashline.units");
    println!(
        "after the restart: received 1500, duplicates 0, lost 0, re-sent idempotently {resent}"
    );
}

#[test]
fn stations_starting_at_once_against_a_new_server_apply_each_migration_once() {
    let Some(pg) = Pg::start("migrations_at_once") else {
        return;
    };
    let config = flashline::replica::pg::config(&pg.url()).unwrap();
    let start = std::sync::Arc::new(std::sync::Barrier::new(8));
    let stations: Vec<_> = (0..8)
        .map(|_| {
            let (config, start) = (config.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                flashline::replica::pg::connect(&config).map(|_| ())
            })
        })
        .collect();
    for s in stations {
        s.join().unwrap().expect("every station connects");
    }
    let versions: Vec<i32> = pg
        .client("line")
        .query(
            "SELECT version FROM flashline.schema_version ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let all: Vec<i32> = (1..=flashline::replica::pg::PG_MIGRATIONS.len() as i32).collect();
    assert_eq!(versions, all, "each migration once");
}
