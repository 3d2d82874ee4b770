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
    /// Set by `check` when the script named no slot and got the default one.
    #[serde(skip)]
    pub default_slot: bool,
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
    /// What the slot's boards are: `PLATFORM[@DEVICE_OS][,OPTION...]`, e.g. `boron@6.2`
    /// (sim/argon/spec.rs). Default: a blank board of the bundle's platform.
    #[serde(default)]
    pub board: Option<String>,
    /// The serial of a simulated debug probe on the fixture: the slot flashes over SWD and
    /// finds its board on USB by device ID (as a station.toml slot with `probe` and no port).
    #[serde(default)]
    pub probe: Option<String>,
}

impl ScriptSlot {
    /// A slot of blank boards of the bundle's platform, no fault, no probe.
    pub fn named(name: impl Into<String>) -> ScriptSlot {
        ScriptSlot {
            name: name.into(),
            fault: None,
            preload: None,
            board: None,
            probe: None,
        }
    }
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
    /// A barcode scan (`code`); with `slot`, the serial goes to that slot (as FUNC chooses).
    Scan,
}

/// What a script's events act on: simulated boards in fixtures (`--sim`), or only the fixture
/// switches and buttons of a station whose boards are on its USB ports (`--sim-io`).
pub trait ScriptWorld {
    fn slot_index(&self, name: &str) -> Option<usize>;
    fn seat(&mut self, slot: usize);
    fn unseat(&mut self, slot: usize);
    fn reseat(&mut self, slot: usize);
    fn press(&mut self, button: super::sim_world::SimButton, now: Duration, hold: Duration);
    /// Presses and releases buttons whose time has come.
    fn tick(&mut self, now: Duration);
    /// A barcode scan, typed as the scanner types it; a world without a scanner ignores it.
    fn scan(&mut self, code: &str, _now: Duration) {
        log::warn!("script: no simulated scanner here to scan `{code}` with");
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScriptEvent {
    pub at_ms: u64,
    pub action: Action,
    #[serde(default)]
    pub slot: Option<String>,
    /// What a `scan` reads.
    #[serde(default)]
    pub code: Option<String>,
}

impl ScriptEvent {
    pub fn at(&self) -> Duration {
        Duration::from_millis(self.at_ms)
    }
}

/// The latest an event may come: one hour of virtual time. A script plays a session on the
/// virtual clock, whose loop ticks every 10 ms whether or not anything happens, so an idle
/// hour is 360 000 ticks (≈5 s here); an hour holds over a hundred units per slot. `at_ms =
/// 1e15` would tick for years.
pub const MAX_AT_MS: u64 = 60 * 60 * 1000;
/// A script is a few hundred lines at most.
const MAX_SCRIPT_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ScriptError {
    pub path: PathBuf,
    pub reason: String,
}

impl Script {
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        Self::load_with_slots(path, &[])
    }

    /// Like `load`; a script that names no slot gets these (station.toml's, under `--sim
    /// --config`) instead of the default one.
    pub fn load_with_slots(path: &Path, default_slots: &[String]) -> Result<Script, ScriptError> {
        let err = |reason: String| ScriptError {
            path: path.to_path_buf(),
            reason,
        };
        let text = crate::core::regular_file::read_text(path, MAX_SCRIPT_BYTES)
            .map_err(|e| err(e.to_string()))?;
        let mut script: Script = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        if script.slots.is_empty() && !default_slots.is_empty() {
            script.default_slot = true;
            script.slots = default_slots.iter().map(ScriptSlot::named).collect();
        }
        // Relative paths in a script are relative to the directory it is run from, like the CLI's.
        script.check().map_err(err)?;
        Ok(script)
    }

    /// Fills in the default slot and checks that every event names a slot that exists.
    pub fn check(&mut self) -> Result<(), String> {
        if self.slots.is_empty() {
            self.default_slot = true;
            self.slots.push(ScriptSlot::named("A"));
        }
        // The station's own limits: what station.toml allows, a script allows.
        crate::core::config::check_slots(
            self.slots
                .iter()
                .map(|s| (s.name.as_str(), s.probe.as_deref())),
        )?;
        let names: Vec<&str> = self.slots.iter().map(|s| s.name.as_str()).collect();
        for (i, e) in self.events.iter().enumerate() {
            if e.at_ms > MAX_AT_MS {
                return Err(format!(
                    "event {}: at_ms = {} is later than a script may run ({MAX_AT_MS} ms, one hour)",
                    i + 1,
                    e.at_ms
                ));
            }
            match (e.action, &e.slot) {
                (Action::Seat | Action::Unseat | Action::Reseat, None) if names.len() > 1 => {
                    return Err(format!(
                        "event {}: `{:?}` needs `slot` (one of {})",
                        i + 1,
                        e.action,
                        names.join(", ")
                    ))
                }
                (Action::Scan, _) if e.code.is_none() => {
                    return Err(format!("event {}: `scan` needs `code`", i + 1))
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
            code: None,
        };
        Script {
            bundle: None,
            slots: vec![ScriptSlot::named("A")],
            events: vec![
                ev(0, Action::Seat),
                ev(20_000, Action::Unseat),
                ev(22_000, Action::Seat),
                ev(27_000, Action::Unseat),
                ev(29_000, Action::Seat),
            ],
            default_slot: false,
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
        let mut s: Script = toml::from_str("[[event]]\nat_ms = 1\naction = \"scan\"\n").unwrap();
        assert!(s.check().unwrap_err().contains("`scan` needs `code`"));
    }

    #[test]
    fn scripts_get_the_stations_limits() {
        let check = |text: &str| toml::from_str::<Script>(text).unwrap().check();
        let slots: String = (0..9)
            .map(|i| format!("[[slot]]\nname = \"S{i}\"\n"))
            .collect();
        assert!(check(&slots).unwrap_err().contains("at most 8 slots"));
        let eight: String = (0..8)
            .map(|i| format!("[[slot]]\nname = \"S{i}\"\n"))
            .collect();
        check(&eight).unwrap();
        let late = "[[event]]\nat_ms = 1000000000000000\naction = \"func\"\n";
        assert!(check(late).unwrap_err().contains("at_ms"));
        check("[[event]]\nat_ms = 3600000\naction = \"func\"\n").unwrap();
        let twice = "[[slot]]\nname = \"A\"\n[[slot]]\nname = \"A\"\n";
        assert!(check(twice).unwrap_err().contains("`A` is used twice"));
        let probes =
            "[[slot]]\nname = \"A\"\nprobe = \"0E23\"\n[[slot]]\nname = \"B\"\nprobe = \"0e23\"\n";
        assert!(check(probes).unwrap_err().contains("used twice"));
    }
}
