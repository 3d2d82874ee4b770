//! `/etc/flashline/station.toml`: the station's hardware and paths (design §2). Every error
//! names the file and the key.

use serde::Deserialize;
use std::path::{Path, PathBuf};

use super::station::StationOptions;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StationConfig {
    /// Names this station in records (several stations may export to one place).
    #[serde(default = "default_station_name")]
    pub station: String,
    #[serde(default)]
    pub display: DisplayConfig,
    pub buttons: ButtonConfig,
    #[serde(default)]
    pub paths: PathsConfig,
    #[serde(default)]
    pub stick: StickConfig,
    #[serde(flatten)]
    pub options: StationOptions,
    #[serde(rename = "slot")]
    pub slots: Vec<SlotConfig>,
}

fn default_station_name() -> String {
    "station-1".into()
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

impl StationConfig {
    pub fn load(path: &Path) -> Result<StationConfig, ConfigError> {
        let err = |reason: String| ConfigError {
            path: path.to_path_buf(),
            reason,
        };
        let text = crate::core::regular_file::read_text(path, MAX_CONFIG_BYTES)
            .map_err(|e| err(e.to_string()))?;
        Self::parse(&text).map_err(err)
    }

    pub fn parse(text: &str) -> Result<StationConfig, String> {
        let config: StationConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        check_slots(
            self.slots
                .iter()
                .map(|s| (s.name.as_str(), s.probe.as_deref())),
        )?;
        let mut pins = vec![
            ("buttons.start", self.buttons.start),
            ("buttons.func", self.buttons.func),
        ];
        for (i, s) in self.slots.iter().enumerate() {
            if s.usb_port.is_none() && s.probe.is_none() {
                return Err(format!(
                    "slot `{}`: needs `usb_port` (DFU), `probe` (SWD) or both",
                    s.name
                ));
            }
            if let Some(port) = &s.usb_port {
                if self.slots[..i]
                    .iter()
                    .any(|o| o.usb_port.as_ref() == Some(port))
                {
                    return Err(format!("key `slot.usb_port`: `{port}` is used twice"));
                }
            }
            if let Some(p) = s.fixture_pin {
                pins.push(("slot.fixture_pin", p));
            }
        }
        for (i, (key, pin)) in pins.iter().enumerate() {
            if *pin > 27 {
                return Err(format!(
                    "key `{key}`: BCM pin {pin} does not exist (0..=27)"
                ));
            }
            if let Some((other, _)) = pins[..i].iter().find(|(_, p)| p == pin) {
                return Err(format!("key `{key}`: BCM pin {pin} is also `{other}`"));
            }
        }
        if self.display.address > 0x7F {
            return Err(format!(
                "key `display.address`: 0x{:x} is not a 7-bit I2C address",
                self.display.address
            ));
        }
        Ok(())
    }
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
        assert!(c.options.auto_start);
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
    fn a_probe_named_twice_in_another_case_is_refused() {
        // probe-rs matches serials ignoring case (src/adapters/swd.rs): both slots would open one probe.
        let e = StationConfig::parse(
            "buttons = { start = 17, func = 27 }\n[[slot]]\nname = \"A\"\nprobe = \"0E23\"\n[[slot]]\nname = \"B\"\nprobe = \"0e23\"\n",
        )
        .unwrap_err();
        assert!(e.contains("slot.probe") && e.contains("used twice"), "{e}");
    }
}
