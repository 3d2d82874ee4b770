//! A finished unit as the station keeps it: what `run --json` prints, what the records store
//! and what every later sink (labels, replication) gets. Plain data; the job fills it in.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

use super::board_test::Measurement;
use super::operator_code::OperatorCode;
use super::station::Verdict;

/// Serialized `"pass"` / `"fail"`, as the records and `--json` have always had it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
        }
    }
}

/// The code a failed unit shows: an operator code, or for the final stage of a two-stage
/// bundle that code under `E-FINAL-` (`E-FINAL-REENUM`): the board passed its tests and still
/// holds the test firmware. Serialized as the text the OLED shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnitCode {
    pub code: OperatorCode,
    pub final_stage: bool,
}

impl From<OperatorCode> for UnitCode {
    fn from(code: OperatorCode) -> Self {
        UnitCode {
            code,
            final_stage: false,
        }
    }
}

impl UnitCode {
    pub fn final_stage(code: OperatorCode) -> Self {
        UnitCode {
            code,
            final_stage: true,
        }
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.final_stage {
            false => f.write_str(self.code.as_str()),
            true => write!(f, "E-FINAL-{}", self.code.as_str().trim_start_matches("E-")),
        }
    }
}

impl Serialize for UnitCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A finished unit. New fields go here (and, to be stored, in `records::store`'s schema).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnitRecord {
    pub slot: String,
    pub device_id: Option<String>,
    pub outcome: Outcome,
    pub code: Option<UnitCode>,
    pub reason: Option<String>,
    pub duration_ms: u64,
    /// Time spent in each stage that ran.
    pub flash_ms: Option<u64>,
    pub test_ms: Option<u64>,
    /// The final-firmware stage of a two-stage bundle, when it ran.
    pub final_ms: Option<u64>,
    /// The code of a failed final stage (then also `code`).
    pub final_code: Option<UnitCode>,
    pub measurements: Vec<Measurement>,
    /// How the bundle went in: `dfu`, or `swd` on a slot with a debug probe.
    pub flashed_by: Option<String>,
    /// The Device OS version the board reported when last verified (e.g. `1.5.0`).
    pub device_os: Option<String>,
    /// The modules the board reported when last verified, e.g. `user-part#1 v6`.
    pub board_modules: Vec<String>,
    /// What went on the board: each module of the bundle as flashed (for a two-stage bundle,
    /// the final firmware in place of the test firmware), with the lock's SHA-256.
    pub modules: Vec<FlashedModule>,
    /// Who and what the unit is, from the scans (serial, work order, operator).
    #[serde(flatten)]
    pub trace: UnitTrace,
}

/// A module of the bundle on the board, as the device history record lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FlashedModule {
    /// `system-part#1`.
    pub module: String,
    pub version: u16,
    /// SHA-256 of the module file, as pinned in `bundle.lock`.
    pub sha256: String,
    pub file: String,
    /// Written in this attempt (`false`: the board already had it, checked by version and
    /// validity).
    pub written: bool,
}

/// The product's side of a unit: its serial, the work order and the operator when it
/// started, and the supervisor who confirmed a rework (a serial or device seen before).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct UnitTrace {
    pub serial: Option<String>,
    pub work_order: Option<String>,
    pub operator: Option<String>,
    pub rework_by: Option<String>,
}

impl UnitRecord {
    /// A unit on `slot` that has not passed (yet): nothing known, outcome `fail`.
    pub fn new(slot: &str) -> Self {
        UnitRecord {
            slot: slot.into(),
            device_id: None,
            outcome: Outcome::Fail,
            code: None,
            reason: None,
            duration_ms: 0,
            flash_ms: None,
            test_ms: None,
            final_ms: None,
            final_code: None,
            measurements: Vec::new(),
            flashed_by: None,
            device_os: None,
            board_modules: Vec::new(),
            modules: Vec::new(),
            trace: UnitTrace::default(),
        }
    }

    /// A unit that failed with `code`; a final-stage code is also the unit's `final_code`.
    pub fn fail(&mut self, code: impl Into<UnitCode>, reason: String) {
        let code = code.into();
        self.outcome = Outcome::Fail;
        self.code = Some(code);
        self.final_code = code.final_stage.then_some(code);
        self.reason = Some(reason);
    }

    pub fn verdict(&self) -> Verdict {
        match self.outcome {
            Outcome::Pass => Verdict::Pass {
                device_id: self.device_id.clone().unwrap_or_default(),
                duration: Duration::from_millis(self.duration_ms),
            },
            Outcome::Fail => Verdict::Fail {
                code: self.code.map(|c| c.to_string()).unwrap_or_default(),
                reason: self.reason.clone().unwrap_or_default(),
                device_id: self.device_id.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_as_records_and_run_json_have_always_had_it() {
        let mut unit = UnitRecord::new("A");
        let v = serde_json::to_value(&unit).unwrap();
        assert_eq!(
            (v["outcome"].as_str(), v["code"].is_null()),
            (Some("fail"), true)
        );
        unit.fail(
            UnitCode::final_stage(OperatorCode::NoReenumerate),
            "final".into(),
        );
        let v = serde_json::to_value(&unit).unwrap();
        assert_eq!(v["code"], "E-FINAL-REENUM");
        assert_eq!(v["final_code"], "E-FINAL-REENUM");
        unit.fail(OperatorCode::Test, "vin 10.2V < 11.4".into());
        let v = serde_json::to_value(&unit).unwrap();
        assert_eq!(
            (v["code"].as_str(), v["final_code"].is_null()),
            (Some("E-TEST"), true)
        );
        unit.outcome = Outcome::Pass;
        assert_eq!(serde_json::to_value(unit).unwrap()["outcome"], "pass");
    }
}
