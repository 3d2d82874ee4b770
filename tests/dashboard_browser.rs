//! The dashboard in a real browser (headless Chromium) against real databases: the page's
//! numbers are `line report --json`'s, the charts render, a request without the token is
//! refused, the database is never written; and a station's own page serves `/state` and
//! `/screen.png` while it runs.

#[path = "support/browser.rs"]
mod browser;
#[path = "support/common.rs"]
mod common;
#[path = "support/postgres.rs"]
mod postgres_server;

use common::{flashline, line_script, run_script_in};
use postgres_server::{skip, Pg};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_flashline");
const TOKEN: &str = "f1a5h11e-dashboard-test-token";

/// A scripted station `name` in `dir/name/`, its records there.
fn run_station(dir: &Path, name: &str, units: u64, extra: &[&str]) -> PathBuf {
    let home = dir.join(name);
    std::fs::create_dir_all(&home).unwrap();
    let mut more = vec!["--station", name];
    more.extend_from_slice(extra);
    let out = run_script_in(&home, &line_script(units, Some("meas:vin=10.2")), &more);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    home.join("records.db")
}

struct Served(Child, u16);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
            panic!("the server exited ({status}): {err}");
        }
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn dashboard(source: &[&str], token_file: &Path) -> Served {
    let port = free_port();
    let mut child = Command::new(BIN)
        .args([
            "dashboard",
            "--since",
            "2000-01-01",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--token-file")
        .arg(token_file)
        .args(source)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_listening(port, &mut child);
    Served(child, port)
}

/// One plain request (the test's own client; the server parses with tiny_http).
fn get(port: u16, path: &str, auth: Option<&str>) -> (u16, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = auth
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, raw[head_end + 4..].to_vec())
}

/// `data-k` cells of the row `data-group="key"` in table `data-table="table"`.
fn cells(dom: &str, table: &str, key: &str) -> Vec<(String, String)> {
    let start = dom
        .find(&format!("data-table=\"{table}\""))
        .expect("the table");
    let table_html = &dom[start..start + dom[start..].find("</table>").unwrap()];
    let row_at = table_html
        .find(&format!("data-group=\"{key}\""))
        .unwrap_or_else(|| panic!("no row {key}"));
    let row = &table_html[row_at..row_at + table_html[row_at..].find("</tr>").unwrap()];
    row.split("data-k=\"")
        .skip(1)
        .map(|part| {
            let (k, rest) = part.split_once('"').unwrap();
            let v = rest[1..rest.find('<').unwrap()].to_string();
            (k.to_string(), v)
        })
        .collect()
}

fn expected(group: &serde_json::Value, k: &str) -> String {
    let v = &group[k];
    match k {
        "first_pass_yield" => v.as_f64().map_or("-".into(), |p| format!("{p:.1}%")),
        "units_per_hour" => v.as_f64().map_or("-".into(), |p| format!("{p:.1}")),
        _ => v.to_string(),
    }
}

/// The page against `line report --json` over the same rows, the charts in a screenshot, and
/// the token rules; returns the screenshot.
fn check_page(chromium: &Path, source: &[&str], dir: &Path) -> PathBuf {
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let served = dashboard(source, &token_file);
    let port = served.1;
    let mut args = vec!["line", "report", "--json", "--since", "2000-01-01"];
    args.extend_from_slice(source);
    let out = flashline(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let url = format!("http://127.0.0.1:{port}/?token={TOKEN}");
    let dom = browser::dump_dom(chromium, &url);
    assert!(
        dom.contains("First-pass yield over time"),
        "not the dashboard: {dom}"
    );
    let mut groups: Vec<&serde_json::Value> =
        report["stations"].as_array().unwrap().iter().collect();
    groups.push(&report["line"]);
    assert!(groups.len() >= 2);
    for g in groups {
        let key = g["key"].as_str().unwrap();
        let shown = cells(&dom, "station", key);
        assert_eq!(shown.len(), 7, "{key}: {shown:?}");
        for (k, v) in shown {
            assert_eq!(v, expected(g, &k), "{key} {k}: the page says {v}");
        }
    }
    println!(
        "page numbers = line report --json for {} station(s)",
        report["stations"].as_array().unwrap().len()
    );

    let png = dir.join("dashboard.png");
    browser::screenshot(chromium, &url, &png, 1280, 1100);
    let (green, red, colours) = colours_of(&png);
    println!(
        "screenshot {}: {colours} colours, {green} yield-line pixels, {red} Pareto-bar pixels",
        png.display()
    );
    assert!(colours > 20, "a blank page");
    assert!(green > 200, "the yield chart's line is not drawn");
    assert!(red > 500, "the Pareto chart's bars are not drawn");

    // Without the token: refused, to a browser and to a plain client; with it, answered.
    let refused = browser::dump_dom(chromium, &format!("http://127.0.0.1:{port}/"));
    assert!(
        refused.contains("Token needed") && !refused.contains("data-k"),
        "{refused}"
    );
    assert_eq!(get(port, "/", None).0, 401);
    assert_eq!(
        get(port, "/records.csv", Some("not-the-token-at-all")).0,
        401
    );
    assert_eq!(get(port, "/report.json", Some(TOKEN)).0, 200);
    let (status, csv) = get(port, "/records.csv", Some(TOKEN));
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(
        csv.lines().count() as u64,
        report["line"]["units"].as_u64().unwrap() + 1
    );
    assert_eq!(get(port, "/", Some(TOKEN)).0, 200);
    // A unit's page: the failed vin measurement against its limits.
    let failed = csv
        .lines()
        .find(|l| l.contains(",E-TEST,"))
        .expect("the vin failure is in the CSV");
    let device = failed.split(',').nth(3).unwrap();
    let (status, page) = get(port, &format!("/unit/{device}"), Some(TOKEN));
    let page = String::from_utf8_lossy(&page);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("vin") && page.contains("11.4") && page.contains("12.6"),
        "{page}"
    );
    assert_eq!(get(port, "/unit/no-such-unit", Some(TOKEN)).0, 404);
    png
}

fn colours_of(path: &Path) -> (usize, usize, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    let mut seen = std::collections::HashSet::new();
    let (mut green, mut red) = (0, 0);
    for px in buf[..info.buffer_size()].chunks(step) {
        let (r, g, b) = (px[0], px[1], px[2]);
        seen.insert((r, g, b));
        let near = |c: (u8, u8, u8)| {
            (r as i32 - c.0 as i32).abs() < 24
                && (g as i32 - c.1 as i32).abs() < 24
                && (b as i32 - c.2 as i32).abs() < 24
        };
        green += usize::from(near((0x17, 0x82, 0x3b)));
        red += usize::from(near((0xb4, 0x23, 0x18)));
    }
    (green, red, seen.len())
}

#[test]
fn the_dashboard_on_a_stations_records_shows_what_line_report_says() {
    let Some(chromium) = browser::chromium() else {
        return skip(
            "dashboard_sqlite",
            "Chromium is not installed (apt-get install chromium)",
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let db = run_station(dir.path(), "st-a", 8, &[]);
    let before = std::fs::read(&db).unwrap();
    check_page(&chromium, &["--records", db.to_str().unwrap()], dir.path());
    assert!(
        std::fs::read(&db).unwrap() == before,
        "the dashboard wrote the records"
    );
}

#[test]
fn the_line_dashboard_on_postgresql_shows_two_stations_as_line_report_does() {
    let Some(chromium) = browser::chromium() else {
        return skip(
            "dashboard_postgres",
            "Chromium is not installed (apt-get install chromium)",
        );
    };
    let Some(pg) = Pg::start("dashboard_postgres") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url();
    run_station(dir.path(), "line-1", 10, &["--line-db", &url]);
    run_station(dir.path(), "line-2", 8, &["--line-db", &url]);
    let units_before = pg.count("SELECT COUNT(*) FROM flashline.units");
    let png = check_page(&chromium, &["--line-db", &url], dir.path());
    assert_eq!(units_before, 18);
    let changed = pg.count("SELECT COUNT(*) FROM flashline.units WHERE sends > 1");
    assert_eq!(
        (pg.count("SELECT COUNT(*) FROM flashline.units"), changed),
        (18, 0)
    );
    // Kept for a look after the run (the README's picture is made the same way).
    let _ = std::fs::copy(
        &png,
        concat!(env!("CARGO_TARGET_TMPDIR"), "/dashboard-line.png"),
    );
}

#[test]
fn off_localhost_the_dashboard_will_not_listen_without_a_token() {
    let out = flashline(&[
        "dashboard",
        "--records",
        "/nonexistent.db",
        "--listen",
        "0.0.0.0:0",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no records") || err.contains("refusing"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = run_station(dir.path(), "st-t", 2, &[]);
    let out = flashline(&[
        "dashboard",
        "--records",
        db.to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on 0.0.0.0:0 without a token"),
        "{err}"
    );
}

#[test]
fn a_running_station_serves_its_state_and_its_screen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, line_script(2, None)).unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--sim", "--speed", "2", "--script"])
        .arg(&path)
        .arg("--records")
        .arg(dir.path().join("st.db"))
        .args([
            "--station",
            "st-page",
            "--dashboard",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_listening(port, &mut child);
    let served = Served(child, port);
    let deadline = Instant::now() + Duration::from_secs(30);
    let state = loop {
        let (status, body) = get(port, "/state", None);
        assert_eq!(status, 200);
        let state: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if state["ui"]["slots"]
            .as_array()
            .is_some_and(|s| s.len() == 2)
        {
            break state;
        }
        assert!(Instant::now() < deadline, "no state: {state}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(state["station"], "st-page");
    let (status, png) = get(port, "/screen.png", None);
    assert_eq!(status, 200);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (status, page) = get(port, "/", None);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("flashline station st-page"));
    drop(served);
}
