//! Running a test plan over the board's serial port: wait for the ready line, then each test
//! in order, each with its own timeout and retries. Every measurement is kept, pass or fail
//! (OpenHTF's lesson: the record is the product).

use serde::Serialize;
use std::time::Duration;

use super::plan::{Check, TestPlan, TestSpec};
use super::reply::{self, Reply};
use crate::core::operator_code::OperatorCode;
use crate::ports::clock::Deadline;
use crate::ports::{Clock, PortPath, SerialError, SerialLink, SerialPorts};

/// One test's result, as records and `--json` keep it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    pub name: String,
    pub passed: bool,
    pub value: Option<f64>,
    pub unit: Option<String>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// The reply text, or what went wrong.
    pub detail: String,
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestFailure {
    pub code: OperatorCode,
    /// One line for the OLED, starting with the test's name.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestReport {
    pub measurements: Vec<Measurement>,
    /// The first failure, if any.
    pub failure: Option<TestFailure>,
}

/// Progress: (index of the test starting, count, its name).
pub type TestProgress<'a> = &'a mut dyn FnMut(usize, usize, &str);

/// How long the port may take to appear after the post-flash reset.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run_tests(
    plan: &TestPlan,
    ports: &mut dyn SerialPorts,
    port: &PortPath,
    clock: &dyn Clock,
    progress: TestProgress<'_>,
) -> TestReport {
    let mut report = TestReport {
        measurements: Vec::new(),
        failure: None,
    };
    let fail = |report: &mut TestReport, code, reason: String| {
        if report.failure.is_none() {
            report.failure = Some(TestFailure { code, reason });
        }
    };
    let mut link = match open(ports, port, clock) {
        Ok(l) => l,
        Err(e) => {
            fail(
                &mut report,
                OperatorCode::TestSerial,
                format!("no serial: {e}"),
            );
            return report;
        }
    };
    if let Some((expect, timeout)) = &plan.ready {
        match wait_ready(link.as_mut(), expect, *timeout, clock) {
            Ok(true) => {}
            Ok(false) => {
                fail(
                    &mut report,
                    OperatorCode::TestReady,
                    format!("no {expect} in {}s", timeout.as_secs()),
                );
                return report;
            }
            Err(e) => {
                fail(
                    &mut report,
                    OperatorCode::TestSerial,
                    format!("serial: {e}"),
                );
                return report;
            }
        }
    }
    for (i, spec) in plan.tests.iter().enumerate() {
        progress(i, plan.tests.len(), &spec.name);
        let (m, failure) = run_one(link.as_mut(), spec);
        log::info!(
            "test {}: {} ({})",
            m.name,
            if m.passed { "pass" } else { "FAIL" },
            m.detail
        );
        report.measurements.push(m);
        if let Some((code, reason)) = failure {
            let gone = code == OperatorCode::TestSerial;
            fail(&mut report, code, reason);
            if spec.stop_on_fail || gone {
                break;
            }
        }
    }
    report
}

fn open(
    ports: &mut dyn SerialPorts,
    port: &PortPath,
    clock: &dyn Clock,
) -> Result<Box<dyn SerialLink>, SerialError> {
    let deadline = Deadline::after(clock, OPEN_TIMEOUT);
    loop {
        match ports.open(port) {
            Ok(link) => return Ok(link),
            Err(e) if deadline.passed(clock) => return Err(e),
            Err(_) => clock.sleep(Duration::from_millis(200)),
        }
    }
}

fn wait_ready(
    link: &mut dyn SerialLink,
    expect: &str,
    timeout: Duration,
    clock: &dyn Clock,
) -> Result<bool, SerialError> {
    let deadline = Deadline::after(clock, timeout);
    let started = clock.now();
    while !deadline.passed(clock) {
        let left = timeout.saturating_sub(clock.now() - started);
        match link.read_line(left)? {
            Some(line) if String::from_utf8_lossy(&line).trim() == expect => return Ok(true),
            // Boot chatter before the ready line is normal.
            Some(_) => {}
            None => return Ok(false),
        }
    }
    Ok(false)
}

fn run_one(
    link: &mut dyn SerialLink,
    spec: &TestSpec,
) -> (Measurement, Option<(OperatorCode, String)>) {
    let (low, high) = match &spec.check {
        Check::Range { low, high, .. } => (*low, *high),
        _ => (None, None),
    };
    let mut m = Measurement {
        name: spec.name.clone(),
        passed: false,
        value: None,
        unit: None,
        low,
        high,
        detail: String::new(),
        attempts: 0,
    };
    let mut failure = None;
    for _ in 0..=spec.retries {
        m.attempts += 1;
        let line = link
            .write_line(&spec.send)
            .and_then(|()| link.read_line(spec.timeout));
        let (code, reason) = match line {
            Err(e) => (OperatorCode::TestSerial, format!("{}: {e}", spec.name)),
            Ok(None) => {
                m.detail = format!("no reply in {:.1} s", spec.timeout.as_secs_f64());
                (
                    OperatorCode::TestTimeout,
                    format!("{}: no reply", spec.name),
                )
            }
            Ok(Some(bytes)) => match judge(spec, reply::parse(&bytes), &mut m) {
                Ok(()) => {
                    m.passed = true;
                    return (m, None);
                }
                Err(reason) => (OperatorCode::Test, format!("{} {reason}", spec.name)),
            },
        };
        if m.detail.is_empty() || code == OperatorCode::TestSerial {
            m.detail = reason.clone();
        }
        failure = Some((code, reason));
        if code == OperatorCode::TestSerial {
            break;
        }
    }
    (m, failure)
}

/// Fills the measurement from a reply; `Err` says in a few words why it fails.
fn judge(spec: &TestSpec, reply: Reply, m: &mut Measurement) -> Result<(), String> {
    match reply {
        Reply::Err(reason) => {
            m.detail = format!("ERR {reason}");
            Err(format!("ERR {reason}"))
        }
        Reply::Garbled(what) => {
            m.detail = format!("garbled reply: {what}");
            Err("garbled reply".into())
        }
        Reply::Ok { text, value, unit } => {
            m.detail = if text.is_empty() {
                "OK".into()
            } else {
                format!("OK {text}")
            };
            m.value = value;
            m.unit.clone_from(&unit);
            match &spec.check {
                Check::Ok => Ok(()),
                Check::Expect(want) if text == *want => Ok(()),
                Check::Expect(want) => Err(format!("`{text}` not `{want}`")),
                Check::Range {
                    low,
                    high,
                    unit: want_unit,
                } => {
                    let Some(v) = value else {
                        return Err("no value".into());
                    };
                    if let (Some(want), Some(got)) = (want_unit, &unit) {
                        if !want.eq_ignore_ascii_case(got) {
                            return Err(format!("unit {got} not {want}"));
                        }
                    }
                    // Short enough for the OLED's reason line: `vin 10.2V < 11.4`.
                    let u = unit.or(want_unit.clone()).unwrap_or_default();
                    match (low, high) {
                        (Some(l), _) if v < *l => Err(format!("{v}{u} < {l}")),
                        (_, Some(h)) if v > *h => Err(format!("{v}{u} > {h}")),
                        _ => Ok(()),
                    }
                }
            }
        }
    }
}
