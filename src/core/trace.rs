//! Traceability (`[trace]` in station.toml): what a scan is — a product serial, a work order,
//! an operator's or a supervisor's badge — and whether a serial and a device ID may go
//! together, given what the records already pair them with. Pure: the records are asked by
//! the caller.

use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use std::path::PathBuf;

use super::operator_code::OperatorCode;

/// A scan is one line from a keyboard-like scanner; anything longer is not a label.
pub const MAX_SCAN_CHARS: usize = 128;

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TraceConfig {
    /// A seated board waits ("SCAN SERIAL") until its serial is scanned.
    #[serde(default)]
    pub require_serial: bool,
    #[serde(default)]
    pub patterns: PatternConfig,
    /// The scanner's evdev node, e.g. `/dev/input/by-id/usb-…-event-kbd` (grabbed, so its
    /// keystrokes never reach a console).
    #[serde(default)]
    pub scanner: Option<PathBuf>,
    /// Supervisor badges (besides `patterns.supervisor`): they confirm a rework.
    #[serde(default)]
    pub supervisors: Vec<String>,
    /// Work orders and operators the menu offers, for a line without a scanner at hand.
    #[serde(default)]
    pub work_orders: Vec<String>,
    #[serde(default)]
    pub operators: Vec<String>,
}

/// Regular expressions (Rust `regex` syntax), each anchored by its author (`^…$`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PatternConfig {
    #[serde(default = "default_serial")]
    pub serial: String,
    /// A group named `planned` (`^(?P<id>WO-\d+)/(?P<planned>\d+)$`) gives the planned
    /// quantity, and one named `id` the work order's name; otherwise the whole scan is it.
    #[serde(default = "default_work_order")]
    pub work_order: String,
    #[serde(default = "default_operator")]
    pub operator: String,
    #[serde(default)]
    pub supervisor: Option<String>,
}

fn default_serial() -> String {
    "^[A-Za-z0-9][A-Za-z0-9._/-]{2,39}$".into()
}
fn default_work_order() -> String {
    "^WO-[A-Za-z0-9-]+$".into()
}
fn default_operator() -> String {
    "^OP-[A-Za-z0-9-]+$".into()
}

impl Default for PatternConfig {
    fn default() -> Self {
        PatternConfig {
            serial: default_serial(),
            work_order: default_work_order(),
            operator: default_operator(),
            supervisor: None,
        }
    }
}

/// What a scan was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    Serial(String),
    WorkOrder {
        id: String,
        planned: Option<u32>,
    },
    Operator(String),
    Supervisor(String),
    /// Matches no pattern (shown, then ignored).
    Unknown(String),
}

/// A pattern that does not compile, by its key (`trace.patterns.serial`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key `{key}`: {reason}")]
pub struct PatternError {
    pub key: &'static str,
    pub reason: String,
}

/// The compiled patterns. A badge is a supervisor's first (it may also look like an
/// operator's), then operator, work order, serial.
#[derive(Debug, Clone)]
pub struct Patterns {
    serial: Regex,
    work_order: Regex,
    operator: Regex,
    supervisor: Option<Regex>,
    supervisors: Vec<String>,
}

impl Patterns {
    /// Errors name the key (`trace.patterns.serial`).
    pub fn compile(config: &TraceConfig) -> Result<Patterns, PatternError> {
        let re = |key: &'static str, text: &str| {
            RegexBuilder::new(text)
                // Bounded: a pattern is a few dozen characters, never a program.
                .size_limit(1 << 20)
                .build()
                .map_err(|e| PatternError {
                    key,
                    reason: e.to_string(),
                })
        };
        let p = &config.patterns;
        Ok(Patterns {
            serial: re("trace.patterns.serial", &p.serial)?,
            work_order: re("trace.patterns.work_order", &p.work_order)?,
            operator: re("trace.patterns.operator", &p.operator)?,
            supervisor: p
                .supervisor
                .as_deref()
                .map(|s| re("trace.patterns.supervisor", s))
                .transpose()?,
            supervisors: config.supervisors.clone(),
        })
    }

    pub fn classify(&self, code: &str) -> Scan {
        let code = code.trim();
        if self.supervisors.iter().any(|s| s == code)
            || self.supervisor.as_ref().is_some_and(|r| r.is_match(code))
        {
            return Scan::Supervisor(code.into());
        }
        if self.operator.is_match(code) {
            return Scan::Operator(code.into());
        }
        if let Some(c) = self.work_order.captures(code) {
            let id = c.name("id").map_or(code, |m| m.as_str());
            let planned = c.name("planned").and_then(|m| m.as_str().parse().ok());
            return Scan::WorkOrder {
                id: id.into(),
                planned,
            };
        }
        if self.serial.is_match(code) {
            return Scan::Serial(code.into());
        }
        Scan::Unknown(code.into())
    }
}

/// What the records already pair a serial and a device with (refusals themselves not
/// counted), as the identity check asks them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// The latest record of this serial on another device: (device ID, record id).
    pub serial_elsewhere: Option<(String, i64)>,
    /// The latest record of this device under another serial: (serial, record id).
    pub device_elsewhere: Option<(String, i64)>,
    /// A supervisor confirmed this very pairing before (a record of it has `rework_by`).
    pub confirmed: bool,
}

/// Why a unit is stopped before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: OperatorCode,
    /// For the OLED's reason line.
    pub short: String,
    /// For the log and the record's reason.
    pub detail: String,
}

/// A serial goes with one device, and a device with one serial, unless a supervisor
/// confirmed the pairing (a rework): then and from then on it is accepted.
pub fn judge(serial: &str, device_id: &str, seen: &Seen) -> Result<(), Refusal> {
    if seen.confirmed {
        return Ok(());
    }
    if let Some((other, record)) = &seen.serial_elsewhere {
        return Err(Refusal {
            code: OperatorCode::SerialDup,
            short: format!("{serial} on ..{}", tail(other)),
            detail: format!(
                "serial {serial} is recorded on device {other} (record {record}), this board is \
                 {device_id}: a supervisor badge confirms a rework"
            ),
        });
    }
    if let Some((other, record)) = &seen.device_elsewhere {
        return Err(Refusal {
            code: OperatorCode::DeviceDup,
            short: format!("device was {other}"),
            detail: format!(
                "device {device_id} is recorded as serial {other} (record {record}), now scanned \
                 as {serial}: a supervisor badge confirms a relabel"
            ),
        });
    }
    Ok(())
}

/// The codes of a refusal: such records pair nothing (the unit never ran).
pub const REFUSALS: [OperatorCode; 2] = [OperatorCode::SerialDup, OperatorCode::DeviceDup];

fn tail(id: &str) -> &str {
    &id[id.len().saturating_sub(8)..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> Patterns {
        let config: TraceConfig = toml::from_str(
            r#"
            require_serial = true
            patterns = { serial = "^WC-\\d{4}$", work_order = "^WO-\\d+$", operator = "^OP-\\d+$" }
            supervisors = ["OP-900"]
            "#,
        )
        .unwrap();
        Patterns::compile(&config).unwrap()
    }

    #[test]
    fn scans_are_typed_by_the_contract_patterns_supervisors_first() {
        let p = contract();
        assert_eq!(p.classify("WC-0001"), Scan::Serial("WC-0001".into()));
        assert_eq!(
            p.classify("WO-17"),
            Scan::WorkOrder {
                id: "WO-17".into(),
                planned: None
            }
        );
        assert_eq!(p.classify("OP-7"), Scan::Operator("OP-7".into()));
        assert_eq!(p.classify("OP-900"), Scan::Supervisor("OP-900".into()));
        assert_eq!(p.classify("WC-01"), Scan::Unknown("WC-01".into()));
    }

    #[test]
    fn a_work_order_pattern_may_carry_the_planned_quantity() {
        let config = TraceConfig {
            patterns: PatternConfig {
                work_order: r"^(?P<id>WO-\d+)(/(?P<planned>\d+))?$".into(),
                ..PatternConfig::default()
            },
            ..TraceConfig::default()
        };
        let p = Patterns::compile(&config).unwrap();
        assert_eq!(
            p.classify("WO-7/12"),
            Scan::WorkOrder {
                id: "WO-7".into(),
                planned: Some(12)
            }
        );
    }

    #[test]
    fn a_bad_pattern_names_its_key() {
        let config = TraceConfig {
            patterns: PatternConfig {
                operator: "^OP-(".into(),
                ..PatternConfig::default()
            },
            ..TraceConfig::default()
        };
        let e = Patterns::compile(&config).unwrap_err().to_string();
        assert!(e.contains("trace.patterns.operator"), "{e}");
    }

    #[test]
    fn a_serial_goes_with_one_device_unless_a_supervisor_confirmed_it() {
        let d = "e00fce68f93275e93fc1f8f3";
        assert_eq!(judge("WC-0001", d, &Seen::default()), Ok(()));
        let moved = Seen {
            serial_elsewhere: Some(("e00fce68aaaaaaaaaaaaaaaa".into(), 3)),
            ..Seen::default()
        };
        let r = judge("WC-0001", d, &moved).unwrap_err();
        assert_eq!(r.code, OperatorCode::SerialDup);
        assert!(
            r.detail.contains("record 3") && r.detail.contains(d),
            "{r:?}"
        );
        assert!(r.short.len() <= 21, "{}", r.short);
        let relabelled = Seen {
            device_elsewhere: Some(("WC-0002".into(), 4)),
            ..Seen::default()
        };
        assert_eq!(
            judge("WC-0001", d, &relabelled).unwrap_err().code,
            OperatorCode::DeviceDup
        );
        let confirmed = Seen {
            confirmed: true,
            ..moved
        };
        assert_eq!(judge("WC-0001", d, &confirmed), Ok(()));
    }
}
