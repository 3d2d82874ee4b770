//! The device history record of one work order: every unit (each attempt, passed or not)
//! with its serial, device ID, what went on it (modules with their SHA-256), each
//! measurement with its limits, verdict, code, station, operator and times — as JSON for
//! tools, CSV for a spreadsheet and HTML to print. Built from the records alone.

use serde::Serialize;
use std::time::Duration;

use super::chain::Verification;
use super::export::push_row;
use super::store::Record;
use crate::core::board_test::Measurement;
use crate::core::trace::REFUSALS;
use crate::core::unit::FlashedModule;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Dhr {
    pub work_order: String,
    pub generated_utc: String,
    pub summary: Summary,
    /// The records' hash chain when the document was made.
    pub chain: Verification,
    pub units: Vec<DhrUnit>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Attempts recorded.
    pub attempts: usize,
    /// Units (by serial, else device ID) whose last attempt passed.
    pub passed: usize,
    /// Units whose last attempt did not pass.
    pub not_passed: usize,
    /// Boards refused for a serial/device mix-up (E-SERIAL-DUP, E-DEVICE-DUP): not
    /// attempts of the unit whose serial they were scanned with.
    pub refused: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DhrBundle {
    pub name: Option<String>,
    pub version: Option<String>,
    pub lock_hash: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DhrUnit {
    pub record: i64,
    pub serial: Option<String>,
    pub device_id: Option<String>,
    pub outcome: String,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub station: String,
    pub slot: String,
    pub operator: Option<String>,
    pub rework_by: Option<String>,
    pub started_utc: String,
    pub finished_utc: String,
    pub duration_ms: i64,
    pub bundle: DhrBundle,
    pub flashed_by: Option<String>,
    pub device_os: Option<String>,
    pub modules: Vec<FlashedModule>,
    pub board_modules: Vec<String>,
    pub measurements: Vec<Measurement>,
    pub row_hash: Option<String>,
}

fn started(finished: &str, duration_ms: i64) -> String {
    humantime::parse_rfc3339(finished)
        .ok()
        .and_then(|t| t.checked_sub(Duration::from_millis(duration_ms.max(0) as u64)))
        .map(|t| humantime::format_rfc3339_millis(t).to_string())
        .unwrap_or_default()
}

impl DhrUnit {
    fn of(r: &Record) -> DhrUnit {
        DhrUnit {
            record: r.id,
            serial: r.serial.clone(),
            device_id: r.device_id.clone(),
            outcome: r.outcome.clone(),
            code: r.code.clone(),
            reason: r.reason.clone(),
            station: r.station.clone(),
            slot: r.slot.clone(),
            operator: r.operator.clone(),
            rework_by: r.rework_by.clone(),
            started_utc: started(&r.time_utc, r.duration_ms),
            finished_utc: r.time_utc.clone(),
            duration_ms: r.duration_ms,
            bundle: DhrBundle {
                name: r.bundle_name.clone(),
                version: r.bundle_version.clone(),
                lock_hash: r.lock_hash.clone(),
            },
            flashed_by: r.flashed_by.clone(),
            device_os: r.device_os.clone(),
            modules: r.modules.clone(),
            board_modules: r
                .board_modules
                .as_deref()
                .map(|m| m.split("; ").map(String::from).collect())
                .unwrap_or_default(),
            measurements: r.measurements.clone(),
            row_hash: r.row_hash.clone(),
        }
    }
}

impl Dhr {
    /// `records` are the work order's, in id order.
    pub fn new(
        work_order: &str,
        records: &[Record],
        chain: Verification,
        generated_utc: String,
    ) -> Dhr {
        let refusal = |r: &&Record| {
            r.code
                .as_deref()
                .is_some_and(|c| REFUSALS.iter().any(|x| x.as_str() == c))
        };
        let mut last: Vec<(String, bool)> = Vec::new();
        for r in records.iter().filter(|r| !refusal(r)) {
            let key = r.serial.clone().or(r.device_id.clone()).unwrap_or_default();
            let passed = r.outcome == "pass";
            match last.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = passed,
                None => last.push((key, passed)),
            }
        }
        let passed = last.iter().filter(|(_, p)| *p).count();
        Dhr {
            work_order: work_order.into(),
            generated_utc,
            summary: Summary {
                attempts: records.len(),
                passed,
                not_passed: last.len() - passed,
                refused: records.iter().filter(refusal).count(),
            },
            chain,
            units: records.iter().map(DhrUnit::of).collect(),
        }
    }

    /// One row per line item: the unit itself, each module, each measurement.
    pub fn to_csv(&self) -> String {
        const HEADER: [&str; 20] = [
            "record",
            "serial",
            "device_id",
            "outcome",
            "code",
            "reason",
            "station",
            "slot",
            "operator",
            "rework_by",
            "started_utc",
            "finished_utc",
            "item",
            "name",
            "value",
            "unit",
            "low",
            "high",
            "passed",
            "sha256",
        ];
        let mut out = String::new();
        let mut row = |cells: Vec<String>| push_row(&mut out, &cells);
        row(HEADER.iter().map(|h| h.to_string()).collect());
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        for u in &self.units {
            let head = vec![
                u.record.to_string(),
                opt(&u.serial),
                opt(&u.device_id),
                u.outcome.clone(),
                opt(&u.code),
                opt(&u.reason),
                u.station.clone(),
                u.slot.clone(),
                opt(&u.operator),
                opt(&u.rework_by),
                u.started_utc.clone(),
                u.finished_utc.clone(),
            ];
            let with = |item: &str, rest: [String; 7]| {
                let mut cells = head.clone();
                cells.push(item.into());
                cells.extend(rest);
                cells
            };
            let bundle = format!("{} {}", opt(&u.bundle.name), opt(&u.bundle.version));
            row(with(
                "unit",
                [
                    bundle,
                    u.duration_ms.to_string(),
                    "ms".into(),
                    String::new(),
                    String::new(),
                    (u.outcome == "pass").to_string(),
                    opt(&u.bundle.lock_hash),
                ],
            ));
            for m in &u.modules {
                let what = if m.written {
                    "written"
                } else {
                    "already on board"
                };
                row(with(
                    "module",
                    [
                        m.module.clone(),
                        m.version.to_string(),
                        what.into(),
                        String::new(),
                        String::new(),
                        String::new(),
                        m.sha256.clone(),
                    ],
                ));
            }
            for m in &u.measurements {
                row(with(
                    "measurement",
                    [
                        m.name.clone(),
                        m.value.map_or(m.detail.clone(), |v| v.to_string()),
                        opt(&m.unit),
                        num(m.low),
                        num(m.high),
                        m.passed.to_string(),
                        String::new(),
                    ],
                ));
            }
        }
        out
    }

    /// A printable page: one block per unit, kept on one sheet where it fits.
    pub fn to_html(&self) -> String {
        let h = html_escape;
        let opt = |v: &Option<String>| h(v.as_deref().unwrap_or("–"));
        let mut out = String::new();
        out.push_str(&format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
             <title>Device history record {wo}</title>\n<style>{STYLE}</style></head><body>\n\
             <h1>Device history record — work order {wo}</h1>\n\
             <p class=\"meta\">Generated {gen} from the station records. {attempts} record(s); \
             {passed} unit(s) passed, {np} not passed, {refused} board(s) refused as mix-ups.</p>\n",
            wo = h(&self.work_order),
            gen = h(&self.generated_utc),
            attempts = self.summary.attempts,
            passed = self.summary.passed,
            np = self.summary.not_passed,
            refused = self.summary.refused,
        ));
        out.push_str(&format!(
            "<p class=\"chain\">{}</p>\n",
            h(&chain_line(&self.chain))
        ));
        for u in &self.units {
            let verdict = match &u.code {
                Some(code) => format!("FAIL {code}"),
                None => "PASS".into(),
            };
            out.push_str(&format!(
                "<section class=\"unit {cls}\">\n<h2>Serial {serial} · device {device} · \
                 <span class=\"verdict\">{verdict}</span></h2>\n<table class=\"facts\">\n\
                 <tr><th>record</th><td>{record}</td><th>station / slot</th><td>{station} / {slot}</td></tr>\n\
                 <tr><th>operator</th><td>{operator}</td><th>rework confirmed by</th><td>{rework}</td></tr>\n\
                 <tr><th>started</th><td>{started}</td><th>finished</th><td>{finished}</td></tr>\n\
                 <tr><th>bundle</th><td>{bundle} {version}</td><th>lock</th><td class=\"hash\">{lock}</td></tr>\n\
                 <tr><th>flashed by</th><td>{by}</td><th>Device OS reported</th><td>{os}</td></tr>\n\
                 <tr><th>reason</th><td colspan=\"3\">{reason}</td></tr>\n</table>\n",
                cls = if u.code.is_none() { "pass" } else { "fail" },
                serial = opt(&u.serial),
                device = opt(&u.device_id),
                verdict = h(&verdict),
                record = u.record,
                station = h(&u.station),
                slot = h(&u.slot),
                operator = opt(&u.operator),
                rework = opt(&u.rework_by),
                started = h(&u.started_utc),
                finished = h(&u.finished_utc),
                bundle = opt(&u.bundle.name),
                version = opt(&u.bundle.version),
                lock = opt(&u.bundle.lock_hash),
                by = opt(&u.flashed_by),
                os = opt(&u.device_os),
                reason = opt(&u.reason),
            ));
            if !u.modules.is_empty() {
                out.push_str(
                    "<table class=\"items\"><tr><th>module</th><th>version</th><th>file</th>\
                     <th>SHA-256 (bundle lock)</th><th></th></tr>\n",
                );
                for m in &u.modules {
                    out.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"hash\">{}</td><td>{}</td></tr>\n",
                        h(&m.module),
                        m.version,
                        h(&m.file),
                        h(&m.sha256),
                        if m.written { "written" } else { "already on board" }
                    ));
                }
                out.push_str("</table>\n");
            }
            if !u.measurements.is_empty() {
                out.push_str(
                    "<table class=\"items\"><tr><th>test</th><th>value</th><th>low</th>\
                     <th>high</th><th>result</th></tr>\n",
                );
                for m in &u.measurements {
                    let value = m.value.map_or(m.detail.clone(), |v| {
                        format!("{v} {}", m.unit.as_deref().unwrap_or(""))
                    });
                    let limit = |l: Option<f64>| l.map_or("–".into(), |l| l.to_string());
                    out.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                        h(&m.name),
                        h(value.trim()),
                        limit(m.low),
                        limit(m.high),
                        if m.passed { "pass" } else { "FAIL" }
                    ));
                }
                out.push_str("</table>\n");
            }
            out.push_str(&format!(
                "<p class=\"hash\">record seal {}</p>\n</section>\n",
                opt(&u.row_hash)
            ));
        }
        out.push_str("</body></html>\n");
        out
    }
}

/// One sentence on the chain, for the documents and `records verify`.
pub fn chain_line(v: &Verification) -> String {
    let before = match v.before_chain {
        0 => String::new(),
        n => format!(
            " Records 1–{n} were written before the chain began (database upgraded) and are not covered."
        ),
    };
    match v.breaks.first() {
        None => format!(
            "Hash chain intact: {} chained record(s), head {}.{before}",
            v.chained,
            v.head.as_deref().unwrap_or("–")
        ),
        Some(b) => format!(
            "HASH CHAIN BROKEN at record {} ({} break(s)): {}.{before}",
            b.id,
            v.breaks.len(),
            b.problem
        ),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font:11pt/1.35 sans-serif;margin:2em;color:#000}\
h1{font-size:16pt}h2{font-size:12pt;margin:.2em 0}\
.meta,.chain{margin:.3em 0}.chain{font-weight:bold}\
section.unit{border:1px solid #444;padding:.5em .8em;margin:1em 0}\
section.fail .verdict{color:#a00}\
table{border-collapse:collapse;width:100%;margin:.4em 0}\
th,td{border:1px solid #bbb;padding:2px 5px;text-align:left;vertical-align:top}\
th{background:#eee;font-weight:normal}.facts th{width:14%}\
.hash{font-family:monospace;font-size:8pt;word-break:break-all}\
@media print{body{margin:0;font-size:9pt}section.unit{page-break-inside:avoid;break-inside:avoid}\
th{background:none}@page{size:A4;margin:12mm}}";
