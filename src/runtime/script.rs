//! `run --sim --script FILE`: timed events on the virtual clock. Users write these; the format
//! is a contract (see README).

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Default: the configured active bundle.
    pub bundle: Option<PathBuf>,
    #[serde(default, rename = "slot")]
    pub slots: Vec<ScriptSlot>,
    #[serde(default, rename = "event")]
    pub events: Vec<ScriptEvent>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScriptSlot {
    pub name: String,
    /// Same words as `flash --sim=FAULT`; applies to the first board seated in this slot.
    #[serde(default)]
    pub fault: Option<String>,
    /// A bundle whose modules the slot's boards start with.
    #[serde(default)]
    pub preload: Option<PathBuf>,
    /// The serial of a simulated debug probe on the fixture: the slot flashes over SWD and
    /// finds its board on USB by device ID (as a station.toml slot with `probe` and no port).
    #[serde(default)]
    pub probe: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Seat,
    Unseat,
    /// Puts the board last removed from this slot back (the same unit, re-seated).
    Reseat,
    Start,
    Func,
    FuncLong,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScriptEvent {
    pub at_ms: u64,
    pub action: Action,
    #[serde(default)]
    pub slot: Option<String>,
}

impl ScriptEvent {
    pub fn at(&self) -> Duration {
        Duration::from_millis(self.at_ms)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ScriptError {
    pub path: PathBuf,
    pub reason: String,
}

impl Script {
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        let err = |reason: String| ScriptError {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut script: Script = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        // Relative paths in a script are relative to the directory it is run from, like the CLI's.
        script.check().map_err(err)?;
        Ok(script)
    }

    /// Fills in the default slot and checks that every event names a slot that exists.
    pub fn check(&mut self) -> Result<(), String> {
        if self.slots.is_empty() {
            self.slots.push(ScriptSlot {
                name: "A".into(),
                fault: None,
                preload: None,
                probe: None,
            });
        }
        let names: Vec<&str> = self.slots.iter().map(|s| s.name.as_str()).collect();
        for (i, e) in self.events.iter().enumerate() {
            match (e.action, &e.slot) {
                (Action::Seat | Action::Unseat | Action::Reseat, None) if names.len() > 1 => {
                    return Err(format!(
                        "event {}: `{:?}` needs `slot` (one of {})",
                        i + 1,
                        e.action,
                        names.join(", ")
                    ))
                }
                (_, Some(s)) if !names.contains(&s.as_str()) => {
                    return Err(format!(
                        "event {}: no slot `{s}` (slots: {})",
                        i + 1,
                        names.join(", ")
                    ))
                }
                _ => {}
            }
        }
        for s in &self.slots {
            if let Some(f) = &s.fault {
                crate::sim::Fault::parse_list(f)
                    .map_err(|e| format!("slot {}: fault: {e}", s.name))?;
            }
        }
        self.events.sort_by_key(|e| e.at_ms);
        Ok(())
    }

    /// The short demo `run --sim` plays when nobody is at a terminal: a good unit, then one
    /// pulled out mid-flash, then a third that passes.
    pub fn demo() -> Script {
        let ev = |at_ms, action| ScriptEvent {
            at_ms,
            action,
            slot: None,
        };
        Script {
            bundle: None,
            slots: vec![ScriptSlot {
                name: "A".into(),
                fault: None,
                preload: None,
                probe: None,
            }],
            events: vec![
                ev(0, Action::Seat),
                ev(20_000, Action::Unseat),
                ev(22_000, Action::Seat),
                ev(27_000, Action::Unseat),
                ev(29_000, Action::Seat),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_format() {
        let mut s: Script = toml::from_str(
            r#"
            bundle = "bundles/example-argon"
            [[slot]]
            name = "B"
            fault = "unplug-after:200000"
            [[event]]
            at_ms = 3000
            action = "seat"
            slot = "B"
            [[event]]
            at_ms = 0
            action = "func_long"
            "#,
        )
        .unwrap();
        s.check().unwrap();
        assert_eq!(s.events[0].action, Action::FuncLong, "sorted by time");
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let bad: Result<Script, _> = toml::from_str("[[event]]\nat_ms = 1\naction = \"jump\"\n");
        assert!(bad.unwrap_err().to_string().contains("jump"));
        let mut s: Script =
            toml::from_str("[[event]]\nat_ms = 1\naction = \"seat\"\nslot = \"Z\"\n").unwrap();
        assert!(s.check().unwrap_err().contains("no slot `Z`"));
        let mut s: Script = toml::from_str("[[slot]]\nname = \"A\"\nfault = \"zap\"\n").unwrap();
        assert!(s.check().unwrap_err().contains("unknown sim fault `zap`"));
    }
}
