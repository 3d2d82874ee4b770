//! The dashboard's pages, rendered on the server from a `line::Report` and the rows it came
//! from. Every number a test compares carries `data-k` (and `data-group`) so the page is read
//! by what it says, not by where a cell sits.

use super::html::{esc, num, opt, page, path_segment, pct, secs};
use super::svg;
use crate::line::{Group, Report};
use crate::records::Record;
use crate::replica::LineStatus;

/// How often the overview reloads itself.
pub const REFRESH_S: u32 = 10;
/// The last units listed on the overview.
const LAST_UNITS: usize = 20;

pub struct Overview<'a> {
    pub report: &'a Report,
    pub records: &'a [Record],
    /// Set when a station serves its own page: its name, and its replication.
    pub station: Option<&'a str>,
    pub line: Option<LineStatus>,
    pub updated_utc: &'a str,
}

pub fn overview(o: &Overview) -> String {
    let r = o.report;
    let mut b = String::new();
    let title = match o.station {
        Some(s) => format!("flashline station {s}"),
        None => "flashline line".into(),
    };
    b.push_str(&format!(
        "<h1>{}</h1><p class=\"muted\">{} · since {} · updated {} · \
         <a href=\"/records.csv\">CSV</a> · <a href=\"/report.json\">JSON</a></p>",
        esc(&title),
        esc(&r.source),
        esc(r.since.as_deref().unwrap_or("the first record")),
        esc(o.updated_utc),
    ));
    if o.station.is_some() {
        b.push_str(&station_box(o.line.as_ref()));
    }
    b.push_str(&format!(
        "<h2>Stations</h2>{}<h2>Bundles</h2>{}",
        groups_table("station", &r.stations, Some(&r.line)),
        groups_table("bundle", &r.bundles, None)
    ));
    b.push_str(&format!(
        "<div class=\"charts\"><div><h2>First-pass yield over time</h2>{}\
         <p class=\"muted\">per {} · bars: units</p></div>\
         <div><h2>Failures by code (Pareto)</h2>{}</div></div>",
        svg::yield_chart(&r.timeline),
        esc(&humantime::format_duration(std::time::Duration::from_secs(r.bucket_s)).to_string()),
        svg::pareto_chart(&r.line.pareto)
    ));
    b.push_str(&last_units(o.records));
    page(&title, Some(REFRESH_S), &b)
}

fn station_box(line: Option<&LineStatus>) -> String {
    let line = match line {
        None => "no line database".to_string(),
        Some(s) => format!(
            "line database {}: <span data-k=\"backlog\">{}</span> to send, {} sent{}",
            esc(&s.target),
            s.backlog,
            s.sent,
            s.error
                .as_deref()
                .map(|e| format!(" — <span class=\"fail\">{}</span>", esc(e)))
                .unwrap_or_default()
        ),
    };
    format!(
        "<div class=\"card\"><img src=\"/screen.png\" width=\"256\" height=\"128\" \
         alt=\"the station's OLED\" style=\"image-rendering:pixelated;background:#000\"> \
         <p>{line} · <a href=\"/state\">state</a></p></div>"
    )
}

fn groups_table(kind: &str, groups: &[Group], total: Option<&Group>) -> String {
    let mut t = format!(
        "<table data-table=\"{kind}\"><tr><th>{kind}</th><th>units</th><th>pass</th>\
         <th>fail</th><th>first-pass yield</th><th>retests</th><th>devices</th>\
         <th>units/h</th><th>slowest stage</th><th>top failure</th></tr>"
    );
    for g in groups.iter().chain(total) {
        let top = g
            .pareto
            .first()
            .map(|c| format!("{} ×{}", esc(&c.code), c.count))
            .unwrap_or_default();
        let slowest = g
            .slowest_stage
            .as_ref()
            .map(|s| format!("{} {}", esc(&s.stage), secs(s.mean_ms)))
            .unwrap_or_default();
        let k = esc(&g.key);
        t.push_str(&format!(
            "<tr data-group=\"{k}\"><td>{k}</td><td data-k=\"units\">{}</td>\
             <td data-k=\"pass\">{}</td><td data-k=\"fail\">{}</td>\
             <td data-k=\"first_pass_yield\">{}</td><td data-k=\"retests\">{}</td>\
             <td data-k=\"devices\">{}</td><td data-k=\"units_per_hour\">{}</td>\
             <td>{slowest}</td><td>{top}</td></tr>",
            g.units,
            g.pass,
            g.fail,
            pct(g.first_pass_yield),
            g.retests,
            g.devices,
            num(g.units_per_hour)
        ));
    }
    t.push_str("</table>");
    t
}

fn last_units(records: &[Record]) -> String {
    let mut t = String::from(
        "<h2>Last units</h2><table data-table=\"last\"><tr><th>time (UTC)</th><th>station</th>\
         <th>slot</th><th>device</th><th>verdict</th><th>code</th><th>reason</th><th>time</th></tr>",
    );
    for r in records.iter().rev().take(LAST_UNITS) {
        t.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.time_utc),
            esc(&r.station),
            esc(&r.slot),
            unit_link(r),
            verdict(r),
            opt(&r.code),
            opt(&r.reason),
            secs(r.duration_ms.max(0) as u64)
        ));
    }
    t.push_str("</table>");
    t
}

fn verdict(r: &Record) -> String {
    let class = if r.outcome == "pass" { "pass" } else { "fail" };
    format!(
        "<td class=\"{class}\">{}</td>",
        esc(&r.outcome.to_uppercase())
    )
}

/// A unit is its device; one whose board never answered is its attempt.
fn unit_link(r: &Record) -> String {
    let (key, text) = match &r.device_id {
        Some(d) => (d.as_str(), d.as_str()),
        None => (r.attempt_id.as_str(), "(no device ID)"),
    };
    format!("<a href=\"/unit/{}\">{}</a>", path_segment(key), esc(text))
}

/// Every attempt of a unit, oldest first: stage times, and each measurement against its limits.
pub fn unit(key: &str, attempts: &[&Record]) -> String {
    let mut b = format!(
        "<p><a href=\"/\">← line</a></p><h1>Unit {}</h1><p>{} attempt(s)</p>",
        esc(key),
        attempts.len()
    );
    for (i, r) in attempts.iter().enumerate() {
        b.push_str(&format!(
            "<h2>Attempt {} · {} · station {} slot {}</h2>\
             <table class=\"kv\"><tr><th>verdict</th>{}</tr><tr><th>code</th><td>{}</td></tr>\
             <tr><th>reason</th><td>{}</td></tr><tr><th>bundle</th><td>{} {}</td></tr>\
             <tr><th>device OS</th><td>{}</td></tr><tr><th>flashed by</th><td>{}</td></tr>\
             <tr><th>stage times</th><td>{}</td></tr><tr><th>attempt id</th><td>{}</td></tr></table>",
            i + 1,
            esc(&r.time_utc),
            esc(&r.station),
            esc(&r.slot),
            verdict(r),
            opt(&r.code),
            opt(&r.reason),
            opt(&r.bundle_name),
            opt(&r.bundle_version),
            opt(&r.device_os),
            opt(&r.flashed_by),
            stage_times(r),
            esc(&r.attempt_id),
        ));
        if !r.measurements.is_empty() {
            b.push_str(
                "<table><tr><th>test</th><th>value</th><th>low</th><th>high</th>\
                 <th>result</th><th>reply</th><th>tries</th></tr>",
            );
            for m in &r.measurements {
                let f = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
                let value = m
                    .value
                    .map(|v| format!("{v} {}", m.unit.as_deref().unwrap_or("")))
                    .unwrap_or_default();
                let (class, word) = if m.passed {
                    ("pass", "ok")
                } else {
                    ("fail", "FAIL")
                };
                b.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{word}</td>\
                     <td>{}</td><td>{}</td></tr>",
                    esc(&m.name),
                    esc(value.trim()),
                    f(m.low),
                    f(m.high),
                    esc(&m.detail),
                    m.attempts
                ));
            }
            b.push_str("</table>");
        }
    }
    page(&format!("unit {key}"), None, &b)
}

fn stage_times(r: &Record) -> String {
    let stages = [
        ("flash", r.flash_ms),
        ("test", r.test_ms),
        ("final", r.final_ms),
    ];
    let mut parts: Vec<String> = stages
        .iter()
        .filter_map(|(n, ms)| ms.map(|ms| format!("{n} {}", secs(ms.max(0) as u64))))
        .collect();
    parts.push(format!("total {}", secs(r.duration_ms.max(0) as u64)));
    parts.join(" · ")
}

pub fn refused() -> String {
    page(
        "flashline: token needed",
        None,
        "<h1>Token needed</h1><p>This dashboard asks for its token: open it as \
         <code>/?token=…</code> (the token is in the file given to <code>--token-file</code>).</p>",
    )
}

pub fn not_found(what: &str) -> String {
    page(
        "flashline: not found",
        None,
        &format!(
            "<p><a href=\"/\">← line</a></p><h1>Not found</h1><p>{}</p>",
            esc(what)
        ),
    )
}
