//! `line report`: per station, per bundle and for the whole line — units, pass, fail,
//! first-pass yield, retests, units per hour, the failure Pareto by operator code, the slowest
//! stage — and the yield over time the dashboard charts. Definitions (docs/line.md):
//! - a *unit* is one attempt on a fixture (one record); `units = pass + fail`;
//! - a device's *first attempt* is its earliest record in the selection, wherever it was; a
//!   record with no device ID (the board never answered) is a first attempt of its own;
//! - *first-pass yield* = first attempts that passed ÷ first attempts;
//! - *retests* = units that were not a first attempt;
//! - *units per hour* = units ÷ the hours from the first unit's start to the last one's end.

use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

use super::time::parse_utc_ms;
use crate::records::Record;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Where the rows came from.
    pub source: String,
    pub since: Option<String>,
    pub line: Group,
    pub stations: Vec<Group>,
    pub bundles: Vec<Group>,
    /// First-pass yield over time, in buckets of `bucket_s`.
    pub bucket_s: u64,
    pub timeline: Vec<Bucket>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Group {
    pub key: String,
    pub units: u64,
    pub pass: u64,
    pub fail: u64,
    /// Distinct device IDs.
    pub devices: u64,
    pub first_attempts: u64,
    pub first_pass: u64,
    /// Percent, to 0.1; `None` without first attempts.
    pub first_pass_yield: Option<f64>,
    pub retests: u64,
    pub units_per_hour: Option<f64>,
    /// Failed units by code, most first.
    pub pareto: Vec<CodeCount>,
    pub stages: Vec<StageTime>,
    /// The stage with the longest mean time.
    pub slowest_stage: Option<StageTime>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CodeCount {
    pub code: String,
    pub count: u64,
    /// Of the group's failures, to 0.1.
    pub percent: f64,
    pub cumulative_percent: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StageTime {
    pub stage: String,
    pub units: u64,
    pub mean_ms: u64,
    pub max_ms: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bucket {
    pub start_utc: String,
    pub units: u64,
    pub first_attempts: u64,
    pub first_pass: u64,
    pub first_pass_yield: Option<f64>,
}

/// Bucket widths the timeline chooses from: the smallest that gives at most `MAX_BUCKETS`.
const BUCKETS_S: [u64; 8] = [10, 60, 300, 900, 3600, 4 * 3600, 86_400, 7 * 86_400];
const MAX_BUCKETS: i64 = 48;
const STAGES: [&str; 3] = ["flash", "test", "final"];

impl Report {
    /// `records` in any order; the report sorts them by time.
    pub fn of(records: &[Record], source: &str, since: Option<&str>) -> Report {
        let mut rows: Vec<&Record> = records.iter().collect();
        rows.sort_by(|a, b| (&a.time_utc, &a.station, a.id).cmp(&(&b.time_utc, &b.station, b.id)));
        let mut seen = HashSet::new();
        let firsts: Vec<bool> = rows
            .iter()
            .map(|r| r.device_id.as_ref().is_none_or(|d| seen.insert(d.clone())))
            .collect();
        let mut line = Acc::default();
        let mut stations: BTreeMap<String, Acc> = BTreeMap::new();
        let mut bundles: BTreeMap<String, Acc> = BTreeMap::new();
        for (r, &first) in rows.iter().zip(&firsts) {
            line.add(r, first);
            stations.entry(r.station.clone()).or_default().add(r, first);
            bundles.entry(bundle_key(r)).or_default().add(r, first);
        }
        let (bucket_s, timeline) = timeline(&rows, &firsts);
        Report {
            source: source.into(),
            since: since.map(str::to_string),
            line: line.group("line"),
            stations: stations.into_iter().map(|(k, a)| a.group(&k)).collect(),
            bundles: bundles.into_iter().map(|(k, a)| a.group(&k)).collect(),
            bucket_s,
            timeline,
        }
    }
}

fn bundle_key(r: &Record) -> String {
    match (&r.bundle_name, &r.bundle_version) {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n.clone(),
        _ => "(no bundle)".into(),
    }
}

#[derive(Default)]
struct Acc {
    units: u64,
    pass: u64,
    devices: HashSet<String>,
    first_attempts: u64,
    first_pass: u64,
    /// Earliest start and latest end, ms since 1970.
    span: Option<(i64, i64)>,
    codes: BTreeMap<String, u64>,
    /// Per stage: units, sum, max (ms).
    stages: [(u64, u64, u64); 3],
}

impl Acc {
    fn add(&mut self, r: &Record, first: bool) {
        self.units += 1;
        let passed = r.outcome == "pass";
        if passed {
            self.pass += 1;
        } else {
            let code = r.code.clone().unwrap_or_else(|| "(no code)".into());
            *self.codes.entry(code).or_default() += 1;
        }
        if let Some(d) = &r.device_id {
            self.devices.insert(d.clone());
        }
        if first {
            self.first_attempts += 1;
            self.first_pass += u64::from(passed);
        }
        if let Some(end) = parse_utc_ms(&r.time_utc) {
            let start = end - r.duration_ms.max(0);
            self.span = Some(match self.span {
                Some((s, e)) => (s.min(start), e.max(end)),
                None => (start, end),
            });
        }
        for (i, ms) in [r.flash_ms, r.test_ms, r.final_ms].into_iter().enumerate() {
            if let Some(ms) = ms.filter(|ms| *ms >= 0) {
                let s = &mut self.stages[i];
                *s = (s.0 + 1, s.1 + ms as u64, s.2.max(ms as u64));
            }
        }
    }

    fn group(self, key: &str) -> Group {
        let fail = self.units - self.pass;
        let mut pareto: Vec<(String, u64)> = self.codes.into_iter().collect();
        pareto.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut cumulative = 0;
        let pareto = pareto
            .into_iter()
            .map(|(code, count)| {
                cumulative += count;
                CodeCount {
                    code,
                    count,
                    percent: percent(count, fail).unwrap_or(0.0),
                    cumulative_percent: percent(cumulative, fail).unwrap_or(0.0),
                }
            })
            .collect();
        let stages: Vec<StageTime> = STAGES
            .iter()
            .zip(self.stages)
            .filter(|(_, (n, _, _))| *n > 0)
            .map(|(name, (n, sum, max))| StageTime {
                stage: name.to_string(),
                units: n,
                mean_ms: sum / n,
                max_ms: max,
            })
            .collect();
        let slowest_stage = stages.iter().max_by_key(|s| s.mean_ms).cloned();
        let units_per_hour = self
            .span
            .map(|(s, e)| e - s)
            .filter(|ms| *ms > 0)
            .map(|ms| round1(self.units as f64 * 3_600_000.0 / ms as f64));
        Group {
            key: key.into(),
            units: self.units,
            pass: self.pass,
            fail,
            devices: self.devices.len() as u64,
            first_attempts: self.first_attempts,
            first_pass: self.first_pass,
            first_pass_yield: percent(self.first_pass, self.first_attempts),
            retests: self.units - self.first_attempts,
            units_per_hour,
            pareto,
            stages,
            slowest_stage,
        }
    }
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round1(part as f64 * 100.0 / whole as f64))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// First-pass yield per bucket of time, at most `MAX_BUCKETS` of them, empty ones included.
fn timeline(rows: &[&Record], firsts: &[bool]) -> (u64, Vec<Bucket>) {
    let times: Vec<Option<i64>> = rows.iter().map(|r| parse_utc_ms(&r.time_utc)).collect();
    let (Some(lo), Some(hi)) = (
        times.iter().flatten().min().copied(),
        times.iter().flatten().max().copied(),
    ) else {
        return (BUCKETS_S[0], Vec::new());
    };
    let width_s = BUCKETS_S
        .into_iter()
        .find(|w| (hi / 1000 / *w as i64) - (lo / 1000 / *w as i64) < MAX_BUCKETS)
        .unwrap_or(BUCKETS_S[BUCKETS_S.len() - 1]);
    let width = width_s as i64 * 1000;
    let first_bucket = lo.div_euclid(width);
    let count = (hi.div_euclid(width) - first_bucket + 1) as usize;
    let mut buckets: Vec<(u64, u64, u64)> = vec![(0, 0, 0); count];
    for ((t, r), &first) in times.iter().zip(rows).zip(firsts) {
        let Some(t) = t else { continue };
        let b = &mut buckets[(t.div_euclid(width) - first_bucket) as usize];
        b.0 += 1;
        if first {
            b.1 += 1;
            b.2 += u64::from(r.outcome == "pass");
        }
    }
    let timeline = buckets
        .into_iter()
        .enumerate()
        .map(|(i, (units, first_attempts, first_pass))| {
            let start = (first_bucket + i as i64) * width;
            let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(start.max(0) as u64);
            Bucket {
                start_utc: humantime::format_rfc3339_seconds(at).to_string(),
                units,
                first_attempts,
                first_pass,
                first_pass_yield: percent(first_pass, first_attempts),
            }
        })
        .collect();
    (width_s, timeline)
}

#[cfg(test)]
mod tests;
