//! `station.toml`: the station's hardware and paths (design §2). Every error names the file,
//! the key and its line. The station reads the data partition's copy first
//! (`/var/lib/flashline/station.toml`: the image's root is read-only), then `/etc/flashline/`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::label::{LabelConfig, PrinterAddr};
use super::station::StationOptions;
use super::trace::{Patterns, TraceConfig};

/// Where the station looks for its configuration, first found wins.
pub const SEARCH_PATHS: [&str; 2] = [
    "/var/lib/flashline/station.toml",
    "/etc/flashline/station.toml",
];

/// The configuration the station would use: the first of `SEARCH_PATHS` that exists.
pub fn default_path() -> PathBuf {
    SEARCH_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(SEARCH_PATHS[1]))
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StationConfig {
    /// Names this station in records and on the line (several stations share one line
    /// database); the machine's hostname when left out.
    #[serde(default)]
    pub station: String,
    #[serde(default)]
    pub display: DisplayConfig,
    pub buttons: ButtonConfig,
    #[serde(default)]
    pub paths: PathsConfig,
    #[serde(default)]
    pub stick: StickConfig,
    /// Start flashing as soon as a fixture closes (otherwise wait for START).
    #[serde(default = "yes")]
    pub auto_start: bool,
    /// The optional stack light and buzzer.
    #[serde(default)]
    pub lights: LightsConfig,
    /// The line's PostgreSQL, to which this station replicates its records.
    #[serde(default)]
    pub line: LineConfig,
    /// The station's own status page.
    #[serde(default)]
    pub dashboard: DashboardConfig,
    /// Serials, work orders, operators (scans and their patterns).
    #[serde(default)]
    pub trace: TraceConfig,
    /// Where labels of passed units are printed, and from which template.
    #[serde(default)]
    pub label: LabelConfig,
    #[serde(rename = "slot")]
    pub slots: Vec<SlotConfig>,
}

/// `[lights]`: a stack light (green PASS, amber busy, red FAIL) and a buzzer on FAIL, each an
/// optional BCM output pin. Slots may have their own lamps (`lights = { green = 12, … }`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LightsConfig {
    pub green: Option<u8>,
    pub amber: Option<u8>,
    pub red: Option<u8>,
    pub buzzer: Option<u8>,
    /// The outputs light at the low level (a sinking driver or a relay board); every light
    /// of the station, slot lamps included.
    #[serde(default)]
    pub active_low: bool,
    #[serde(default = "default_buzzer_ms")]
    pub buzzer_ms: u64,
}

impl Default for LightsConfig {
    fn default() -> Self {
        LightsConfig {
            green: None,
            amber: None,
            red: None,
            buzzer: None,
            active_low: false,
            buzzer_ms: default_buzzer_ms(),
        }
    }
}

fn default_buzzer_ms() -> u64 {
    500
}

/// A slot's own lamps.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LampPins {
    pub green: Option<u8>,
    pub amber: Option<u8>,
    pub red: Option<u8>,
}

/// The station's name when station.toml gives none: the machine's hostname, which on a line
/// of Pis is what each one is already called.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "station".into())
}

/// A station's name goes into every record and onto the line's reports: printable, short.
pub fn check_station_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(format!(
            "station name `{}`: 1 to 64 printable characters",
            name.escape_debug()
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    /// `postgresql://user@host/dbname` (docs/line.md); none: this station replicates nowhere.
    pub database: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DashboardConfig {
    /// `127.0.0.1:8080` (this machine only) or `0.0.0.0:8080` (the line: needs `token_file`).
    pub listen: Option<String>,
    /// A file holding the token a browser must present.
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DisplayConfig {
    pub i2c: String,
    pub address: u8,
}

impl Default for DisplayConfig {
    fn default() -> Self {
        DisplayConfig {
            i2c: "/dev/i2c-1".into(),
            address: 0x3C,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ButtonConfig {
    /// BCM pin numbers.
    pub start: u8,
    pub func: u8,
    #[serde(default = "yes")]
    pub active_low: bool,
    #[serde(default = "default_debounce")]
    pub debounce_ms: u64,
}

fn yes() -> bool {
    true
}

fn default_debounce() -> u64 {
    30
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PathsConfig {
    /// One directory per imported bundle and the `active` link.
    pub bundles: PathBuf,
    pub records: PathBuf,
}

impl Default for PathsConfig {
    fn default() -> Self {
        PathsConfig {
            bundles: "/var/lib/flashline/bundles".into(),
            records: "/var/lib/flashline/records.db".into(),
        }
    }
}

impl PathsConfig {
    pub fn active_bundle(&self) -> PathBuf {
        self.bundles.join("active")
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StickConfig {
    pub mount: PathBuf,
    pub pubkey: PathBuf,
}

impl Default for StickConfig {
    fn default() -> Self {
        StickConfig {
            mount: "/media/flashline-stick".into(),
            pubkey: "/etc/flashline/bundle.pub".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    pub name: String,
    /// USB port path of the fixture's cable, e.g. `1-1.2`. A slot with a probe may leave it
    /// out: its board is then found on USB by the device ID the probe reads.
    pub usb_port: Option<String>,
    /// Serial number of a debug probe on the fixture's SWD pins (`flashline probes`): the
    /// slot then writes the bundle over SWD (builds with `--features swd`) and verifies and
    /// tests over USB as usual.
    pub probe: Option<String>,
    pub fixture_pin: Option<u8>,
    #[serde(default = "yes")]
    pub fixture_active_low: bool,
    #[serde(default)]
    pub lights: LampPins,
}

/// The most slots a station has. Eight is what station.toml has always allowed and what
/// `flashline bench` holds to its goals (8 slots at ≥ 7.2× one slot, docs/performance.md); a
/// Pi 4 has four USB ports, so eight already means a hub. Scripts get the same limit: the
/// simulated world's cost grows faster than its slots (here 8 slots take 2.4 s, 16 take 7 s,
/// 64 took 75 s and 128 never finished).
pub const MAX_SLOTS: usize = 8;

/// station.toml is a few dozen lines; this is far more than any station needs.
const MAX_CONFIG_BYTES: u64 = 256 * 1024;

/// Slot names and debug probes each name one thing, in station.toml and in scripts alike:
/// 1..=[`MAX_SLOTS`] slots, no name twice, no probe twice. Probe serials are compared ignoring
/// case, as probe-rs matches them (src/adapters/swd.rs `choose_probe`): `0e23` and `0E23`
/// would open the same probe for two fixtures.
pub fn check_slots<'a>(
    slots: impl Iterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<(), String> {
    let slots: Vec<_> = slots.collect();
    if slots.is_empty() || slots.len() > MAX_SLOTS {
        return Err(format!(
            "key `slot`: {} slot(s); a station has at least 1 and at most {MAX_SLOTS} slots",
            slots.len()
        ));
    }
    for (i, (name, probe)) in slots.iter().enumerate() {
        if slots[..i].iter().any(|(other, _)| other == name) {
            return Err(format!("key `slot.name`: `{name}` is used twice"));
        }
        if let Some(probe) = probe {
            let same = |o: &Option<&str>| o.is_some_and(|o| o.eq_ignore_ascii_case(probe));
            if slots[..i].iter().any(|(_, other)| same(other)) {
                return Err(format!(
                    "key `slot.probe`: `{probe}` is used twice (serials match ignoring case)"
                ));
            }
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ConfigError {
    pub path: PathBuf,
    pub reason: String,
}

/// Where each top-level key's value is in the file, to point a problem at its line.
type Spans = BTreeMap<String, toml::Spanned<toml::Value>>;

/// A problem with one key: its path (`slot.fixture_pin`) and, for a slot, which one.
struct Problem {
    key: &'static str,
    slot: Option<usize>,
    what: String,
}

impl StationConfig {
    pub fn load(path: &Path) -> Result<StationConfig, ConfigError> {
        let err = |reason: String| ConfigError {
            path: path.to_path_buf(),
            reason,
        };
        let text = crate::core::regular_file::read_text(path, MAX_CONFIG_BYTES)
            .map_err(|e| err(e.to_string()))?;
        let mut config = Self::parse(&text).map_err(err)?;
        if config.station.is_empty() {
            config.station = hostname();
        }
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<StationConfig, String> {
        let config: StationConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check().map_err(|p| p.explain(text))?;
        Ok(config)
    }

    pub fn options(&self) -> StationOptions {
        StationOptions {
            auto_start: self.auto_start,
        }
    }

    fn check(&self) -> Result<(), Problem> {
        let problem = |key, slot, what: String| Problem { key, slot, what };
        if !self.station.is_empty() {
            check_station_name(&self.station).map_err(|what| problem("station", None, what))?;
        }
        check_slots(
            self.slots
                .iter()
                .map(|s| (s.name.as_str(), s.probe.as_deref())),
        )
        .map_err(|what| self.slot_problem(what))?;
        let mut pins: Vec<(&'static str, Option<usize>, u8)> = vec![
            ("buttons.start", None, self.buttons.start),
            ("buttons.func", None, self.buttons.func),
        ];
        let l = &self.lights;
        for (key, pin) in [
            ("lights.green", l.green),
            ("lights.amber", l.amber),
            ("lights.red", l.red),
            ("lights.buzzer", l.buzzer),
        ] {
            pins.extend(pin.map(|p| (key, None, p)));
        }
        for (i, s) in self.slots.iter().enumerate() {
            if s.usb_port.is_none() && s.probe.is_none() {
                return Err(problem(
                    "slot",
                    Some(i),
                    "needs `usb_port` (DFU), `probe` (SWD) or both".into(),
                ));
            }
            if let Some(port) = &s.usb_port {
                if self.slots[..i]
                    .iter()
                    .any(|o| o.usb_port.as_ref() == Some(port))
                {
                    return Err(problem(
                        "slot.usb_port",
                        Some(i),
                        format!("`{port}` is used twice"),
                    ));
                }
            }
            pins.extend(s.fixture_pin.map(|p| ("slot.fixture_pin", Some(i), p)));
            for (key, pin) in [
                ("slot.lights.green", s.lights.green),
                ("slot.lights.amber", s.lights.amber),
                ("slot.lights.red", s.lights.red),
            ] {
                pins.extend(pin.map(|p| (key, Some(i), p)));
            }
        }
        for (i, (key, slot, pin)) in pins.iter().enumerate() {
            if *pin > 27 {
                return Err(problem(
                    key,
                    *slot,
                    format!("BCM pin {pin} does not exist (0..=27)"),
                ));
            }
            if let Some((other, other_slot, _)) = pins[..i].iter().find(|(_, _, p)| p == pin) {
                let other = match other_slot {
                    Some(o) => format!("`{other}` of slot `{}`", self.slots[*o].name),
                    None => format!("`{other}`"),
                };
                return Err(problem(
                    key,
                    *slot,
                    format!("BCM pin {pin} is also {other}"),
                ));
            }
        }
        Patterns::compile(&self.trace).map_err(|e| problem(e.key, None, e.reason))?;
        if let Some(p) = &self.label.printer {
            PrinterAddr::parse(p).map_err(|e| problem("label.printer", None, e))?;
        }
        if self.display.address > 0x7F {
            return Err(problem(
                "display.address",
                None,
                format!("0x{:x} is not a 7-bit I2C address", self.display.address),
            ));
        }
        Ok(())
    }
}

impl StationConfig {
    /// A problem `check_slots` found (`key `slot.name`: `A` is used twice`), at the slot that
    /// repeats a name or a probe.
    fn slot_problem(&self, said: String) -> Problem {
        let same_probe = |a: &SlotConfig, b: &SlotConfig| match (&a.probe, &b.probe) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        let repeat = (0..self.slots.len()).find(|&i| {
            self.slots[..i]
                .iter()
                .any(|o| o.name == self.slots[i].name || same_probe(o, &self.slots[i]))
        });
        let (key, what) = match said.strip_prefix("key `").and_then(|r| r.split_once("`: ")) {
            Some(("slot.name", what)) => ("slot.name", what.to_string()),
            Some(("slot.probe", what)) => ("slot.probe", what.to_string()),
            Some((_, what)) => ("slot", what.to_string()),
            None => ("slot", said.clone()),
        };
        Problem {
            key,
            slot: repeat.filter(|_| key != "slot"),
            what,
        }
    }
}

impl Problem {
    /// `line 14: key `slot.fixture_pin` (slot `B`): BCM pin 17 is also `buttons.start``.
    fn explain(&self, text: &str) -> String {
        let line = self
            .line(text)
            .map_or(String::new(), |l| format!("line {l}: "));
        let slot = self
            .slot
            .and_then(|i| slot_names(text).get(i).cloned())
            .map_or(String::new(), |n| format!(" (slot `{n}`)"));
        format!("{line}key `{}`{slot}: {}", self.key, self.what)
    }

    /// The 1-based line of the key's value, found through the parser's spans.
    fn line(&self, text: &str) -> Option<usize> {
        let spans: Spans = toml::from_str(text).ok()?;
        let mut parts = self.key.split('.');
        let first = parts.next()?;
        let top = spans.get(first)?;
        let start = match (first, self.slot) {
            ("slot", Some(i)) => {
                let slots: Vec<BTreeMap<String, toml::Spanned<toml::Value>>> =
                    toml::from_str::<SlotSpans>(text).ok()?.slot;
                let slot = slots.get(i)?;
                match parts.next() {
                    Some(key) => slot.get(key).map(|v| v.span().start),
                    None => slot.values().map(|v| v.span().start).min(),
                }?
            }
            _ => match parts.next() {
                // Within a table, the key's place inside the table's own span.
                Some(key) => {
                    let span = top.span();
                    span.start + text.get(span)?.find(key)?
                }
                None => top.span().start,
            },
        };
        Some(text[..start].matches('\n').count() + 1)
    }
}

#[derive(Deserialize)]
struct SlotSpans {
    #[serde(default)]
    slot: Vec<BTreeMap<String, toml::Spanned<toml::Value>>>,
}

fn slot_names(text: &str) -> Vec<String> {
    #[derive(Deserialize)]
    struct Names {
        #[serde(default)]
        slot: Vec<Name>,
    }
    #[derive(Deserialize)]
    struct Name {
        name: Option<String>,
    }
    toml::from_str::<Names>(text)
        .map(|n| {
            n.slot
                .into_iter()
                .map(|s| s.name.unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../systemd/station.toml");

    #[test]
    fn the_shipped_example_parses() {
        let c = StationConfig::parse(EXAMPLE).unwrap();
        assert_eq!(c.slots[0].usb_port.as_deref(), Some("1-1.2"));
        assert_eq!(c.display.address, 0x3C);
        assert!(c.options().auto_start);
        assert_eq!(c.station, "line-1");
        assert_eq!(c.line.database, None, "replicates nowhere unless told");
        assert_eq!(c.dashboard.listen, None);
    }

    #[test]
    fn the_station_is_named_by_its_hostname_unless_told_and_line_keys_parse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("station.toml");
        let base =
            "buttons = { start = 17, func = 27 }\n[[slot]]\nname = \"A\"\nusb_port = \"1-1\"\n";
        std::fs::write(&path, base).unwrap();
        let c = StationConfig::load(&path).unwrap();
        assert_eq!(c.station, hostname());
        assert!(!c.station.is_empty());
        let named = format!(
            "station = \"line-2\"\n{base}[line]\ndatabase = \"postgresql://flashline@db/line\"\n\
             [dashboard]\nlisten = \"0.0.0.0:8080\"\ntoken_file = \"/etc/flashline/token\"\n"
        );
        let c = StationConfig::parse(&named).unwrap();
        assert_eq!(c.station, "line-2");
        assert_eq!(
            c.line.database.as_deref(),
            Some("postgresql://flashline@db/line")
        );
        assert_eq!(c.dashboard.listen.as_deref(), Some("0.0.0.0:8080"));
        let e = StationConfig::parse(&format!("station = \"a\\tb\"\n{base}")).unwrap_err();
        assert!(e.contains("key `station`"), "{e}");
        let e = StationConfig::parse(&format!("{base}[line]\ndatabse = \"x\"\n")).unwrap_err();
        assert!(e.contains("databse"), "{e}");
    }

    #[test]
    fn errors_name_the_key() {
        let with = |extra: &str| format!("buttons = {{ start = 17, func = 27 }}\n{extra}");
        let e = StationConfig::parse(&with(
            "[[slot]]\nname = \"A\"\nusb_port = \"1-1\"\nfixture_pin = 17\n",
        ))
        .unwrap_err();
        assert!(
            e.contains("slot.fixture_pin") && e.contains("buttons.start"),
            "{e}"
        );
        let e = StationConfig::parse(&with(
            "[[slot]]\nname = \"A\"\nusb_port = \"1-1\"\nfixture_pn = 4\n",
        ))
        .unwrap_err();
        assert!(e.contains("fixture_pn"), "{e}");
        let e = StationConfig::parse(&with("")).unwrap_err();
        assert!(e.contains("slot"), "{e}");
        let two = "[[slot]]\nname = \"A\"\nusb_port = \"1-1\"\n[[slot]]\nname = \"A\"\nusb_port = \"1-2\"\n";
        assert!(StationConfig::parse(&with(two))
            .unwrap_err()
            .contains("used twice"));
    }

    #[test]
    fn a_slot_may_name_a_probe_instead_of_a_port_but_needs_one_of_them() {
        let with = |slots: &str| {
            StationConfig::parse(&format!("buttons = {{ start = 17, func = 27 }}\n{slots}"))
        };
        let c = with("[[slot]]\nname = \"A\"\nprobe = \"0E23\"\n").unwrap();
        assert_eq!(c.slots[0].probe.as_deref(), Some("0E23"));
        assert_eq!(c.slots[0].usb_port, None);
        let e = with("[[slot]]\nname = \"A\"\n").unwrap_err();
        assert!(e.contains("usb_port") && e.contains("probe"), "{e}");
        let e =
            with("[[slot]]\nname = \"A\"\nprobe = \"P\"\n[[slot]]\nname = \"B\"\nprobe = \"P\"\n")
                .unwrap_err();
        assert!(e.contains("slot.probe") && e.contains("used twice"), "{e}");
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_line() {
        // `#[serde(flatten)]` used to let any top-level key through.
        let text = "station = \"l\"\nversion = \"banana\"\nbuttons = { start = 17, func = 27 }\n\
                    [[slot]]\nname = \"A\"\nusb_port = \"1-1\"\n";
        let e = StationConfig::parse(text).unwrap_err();
        assert!(e.contains("version") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn a_problem_points_at_the_slot_and_line_of_its_key() {
        let text = "buttons = { start = 17, func = 27 }\n\
                    [[slot]]\nname = \"A\"\nusb_port = \"1-1\"\nfixture_pin = 22\n\
                    [[slot]]\nname = \"B\"\nusb_port = \"1-2\"\nfixture_pin = 17\n";
        let e = StationConfig::parse(text).unwrap_err();
        assert_eq!(
            e,
            "line 9: key `slot.fixture_pin` (slot `B`): BCM pin 17 is also `buttons.start`"
        );
    }

    #[test]
    fn lights_are_optional_pins_that_must_not_clash() {
        let base = "buttons = { start = 17, func = 27 }\n[[slot]]\nname = \"A\"\n\
                    usb_port = \"1-1\"\nfixture_pin = 22\n";
        let c = StationConfig::parse(&format!(
            "{base}lights = {{ green = 12 }}\n[lights]\nred = 13\nbuzzer = 19\nactive_low = true\n"
        ))
        .unwrap();
        assert_eq!((c.lights.red, c.lights.buzzer), (Some(13), Some(19)));
        assert_eq!(c.slots[0].lights.green, Some(12));
        assert!(c.lights.active_low);
        let e = StationConfig::parse(&format!("{base}[lights]\nred = 22\n")).unwrap_err();
        assert!(
            e.contains("lights.red") && e.contains("fixture_pin") && e.contains("line 5"),
            "{e}"
        );
        assert!(StationConfig::parse(&format!("{base}[lights]\nblue = 5\n"))
            .unwrap_err()
            .contains("blue"));
    }
    #[test]
    fn a_probe_named_twice_in_another_case_is_refused() {
        // probe-rs matches serials ignoring case (src/adapters/swd.rs): both slots would open one probe.
        let e = StationConfig::parse(
            "buttons = { start = 17, func = 27 }\n[[slot]]\nname = \"A\"\nprobe = \"0E23\"\n[[slot]]\nname = \"B\"\nprobe = \"0e23\"\n",
        )
        .unwrap_err();
        assert!(e.contains("slot.probe") && e.contains("used twice"), "{e}");
    }
}
