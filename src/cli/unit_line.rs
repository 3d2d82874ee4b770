//! One line per finished unit, as `run` prints it, and what a run's exit code says.

use std::process::ExitCode;

use crate::core::unit::UnitRecord;
use crate::runtime::RunSummary;

pub fn unit_line(u: &UnitRecord) -> String {
    let secs = u.duration_ms as f64 / 1000.0;
    match &u.code {
        None => format!(
            "slot {}  PASS  {}  {secs:.1} s",
            u.slot,
            u.device_id.as_deref().unwrap_or("?")
        ),
        Some(code) => format!(
            "slot {}  FAIL  {code}  {}  {secs:.1} s",
            u.slot,
            u.reason.as_deref().unwrap_or("")
        ),
    }
}

/// A slot whose record could not be written.
pub fn held_line(slot: &str, cause: &str) -> String {
    format!("slot {slot}  E-RECORDS  record not saved: {cause}")
}

/// A run fails when a unit's record could not be written by its end (the log holds the unit).
pub fn exit_code(summary: &RunSummary) -> ExitCode {
    if summary.unrecorded.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "E-RECORDS: {} unit(s) could not be recorded; each is in the log as `unit NOT recorded`",
        summary.unrecorded.len()
    );
    ExitCode::FAILURE
}
