//! What a simulated board is, as data: its platform, the bootloader it left the factory with,
//! the Device OS a previous life left on it, and states that stay with the board (a locked
//! chip, no bootloader, Device Protection). Faults (sim/fault.rs) are what happens to a board
//! while it is flashed; this is what the board is.
//!
//! `argon`, `boron@6.2`, `argon@1.5.0,bootloader=1100`, `tracker,ncp=3`, `argon,protected`:
//! `PLATFORM[@DEVICE_OS][,OPTION...]` (scripts' `board = "…"`, `flash --sim-board`).

use std::sync::Arc;

use crate::core::module::{Dependency, Module, ModuleFunction, Platform};
use crate::core::target::{DeviceOs, FlashMap, Release, RELEASES};
use crate::ports::Clock;
use crate::sim::fault::Fault;

use super::SimBoard;

/// The bootloader a blank sim board leaves the factory with, unless the spec says otherwise.
pub const FACTORY_BOOTLOADER_VERSION: u16 = 501;

/// The NCP firmware a board of each platform with an updatable coprocessor ships with:
/// the Argon's ESP32 0.0.5 (module version 5, the only one released: binary-version-reader's
/// argon-ncp-firmware-0.0.5 fixture), the Tracker's ESP32 ≥ 7 (ESP32_NCP_DEPENDENCY = 7,
/// "Device should be above 3.0.0-alpha.2 to already have latest ESP32 NCP firmware",
/// modules/shared/system_module_version.mk:70-74 @ v6.2.0).
const SHIPPED_NCP: &[(&str, u16)] = &[("argon", 5), ("asom", 5), ("tracker", 7)];

const OPTIONS: &str =
    "bootloader=VERSION, ncp=VERSION|none, locked, bricked, protected, service-mode, reset-disabled";

#[derive(Debug, Clone)]
pub struct SimBoardSpec {
    pub platform: Platform,
    /// The bootloader's module version when the board holds no bootloader file.
    pub factory_bootloader: u16,
    /// The Device OS release it runs: its bootloader, and stand-in system part and radio
    /// stack at that release's versions and addresses (stand_in.rs).
    pub device_os: Option<&'static Release>,
    /// Real modules written in before it is seated (another bundle, `--sim-preload`).
    pub modules: Vec<Module>,
    /// The coprocessor's firmware version, as Device OS reports the NCP; `None` for none.
    pub ncp: Option<u16>,
    /// APPROTECT set: SWD may only erase the chip whole.
    pub locked: bool,
    /// No working bootloader: nothing runs and nothing enumerates (until SWD writes one).
    pub bricked: bool,
    /// A Protected Device (Device Protection, security mode 1, Device OS ≥ 6.1.1).
    pub protected: bool,
    /// Protected, with the protection overridden for service (`security_mode_is_overridden`).
    pub service_mode: bool,
    /// The app disables resets (System.disableReset()): a pending shutdown never happens.
    pub resets_disabled: bool,
}

impl SimBoardSpec {
    /// A blank board of `platform`: the factory bootloader, nothing else, in DFU mode.
    pub fn of(platform: Platform) -> SimBoardSpec {
        let ncp = SHIPPED_NCP
            .iter()
            .find(|(name, _)| *name == platform.name)
            .map(|(_, v)| *v)
            .filter(|_| platform.quirks.updatable_ncp.is_some());
        SimBoardSpec {
            platform,
            factory_bootloader: FACTORY_BOOTLOADER_VERSION,
            device_os: None,
            modules: Vec::new(),
            ncp,
            locked: false,
            bricked: false,
            protected: false,
            service_mode: false,
            resets_disabled: false,
        }
    }

    pub fn argon() -> SimBoardSpec {
        SimBoardSpec::of(platform("argon"))
    }

    pub fn factory_bootloader(mut self, version: u16) -> Self {
        self.factory_bootloader = version;
        self
    }

    /// The board runs `release` (its bootloader and stand-ins of its system part and radio
    /// stack).
    pub fn running(mut self, release: &'static Release) -> Self {
        self.device_os = Some(release);
        self.factory_bootloader = release.bootloader;
        self
    }

    pub fn preload(mut self, modules: Vec<Module>) -> Self {
        self.modules.extend(modules);
        self
    }

    pub fn ncp(mut self, version: Option<u16>) -> Self {
        self.ncp = version;
        self
    }

    pub fn locked(mut self, on: bool) -> Self {
        self.locked = on;
        self
    }

    pub fn bricked(mut self, on: bool) -> Self {
        self.bricked = on;
        self
    }

    pub fn protected(mut self, on: bool) -> Self {
        self.protected = on;
        self
    }

    pub fn resets_disabled(mut self, on: bool) -> Self {
        self.resets_disabled = on;
        self
    }

    /// The words of `--sim=` that say what the board is rather than what happens to it
    /// (`wrong-platform`, `no-bootloader`, `swd-locked`, `reset-disabled`) become the spec's;
    /// the rest are returned as the faults they are.
    pub fn with_words(mut self, faults: Vec<Fault>) -> (SimBoardSpec, Vec<Fault>) {
        let mut rest = Vec::new();
        for f in faults {
            match f {
                Fault::WrongPlatform => self.platform = other_platform(self.platform),
                Fault::NoBootloader => self.bricked = true,
                Fault::SwdLocked => self.locked = true,
                Fault::ResetDisabled => self.resets_disabled = true,
                f => rest.push(f),
            }
        }
        if self.ncp.is_some() && self.platform.quirks.updatable_ncp.is_none() {
            self.ncp = None;
        }
        (self, rest)
    }

    /// `PLATFORM[@DEVICE_OS][,OPTION...]`.
    pub fn parse(text: &str) -> Result<SimBoardSpec, String> {
        let mut words = text.split(',').map(str::trim);
        let head = words.next().unwrap_or_default();
        let (name, os) = match head.split_once('@') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (head, None),
        };
        let platform = Platform::by_name(name)
            .filter(Platform::is_nrf52840)
            .ok_or_else(|| {
                let known: Vec<&str> = Platform::all()
                    .iter()
                    .filter(|p| p.is_nrf52840())
                    .map(|p| p.name)
                    .collect();
                format!(
                    "board `{text}`: not a simulated platform (one of {})",
                    known.join(", ")
                )
            })?;
        let mut spec = SimBoardSpec::of(platform);
        if let Some(v) = os {
            let release = release_of(v).ok_or_else(|| {
                let known: Vec<&str> = RELEASES.iter().map(|r| r.semver).collect();
                format!(
                    "board `{text}`: no Device OS release `{v}` is known (known: {})",
                    known.join(", ")
                )
            })?;
            spec = spec.running(release);
        }
        for word in words.filter(|w| !w.is_empty()) {
            let number = |v: &str| {
                v.parse::<u16>()
                    .map_err(|_| format!("board `{text}`: `{word}`: `{v}` is not a module version"))
            };
            match word.split_once('=') {
                Some(("bootloader", v)) => spec.factory_bootloader = number(v)?,
                Some(("ncp", "none")) => spec.ncp = None,
                Some(("ncp", v)) => spec.ncp = Some(number(v)?),
                None if word == "locked" => spec.locked = true,
                None if word == "bricked" => spec.bricked = true,
                None if word == "protected" => spec.protected = true,
                None if word == "service-mode" => {
                    spec.protected = true;
                    spec.service_mode = true;
                }
                None if word == "reset-disabled" => spec.resets_disabled = true,
                _ => {
                    return Err(format!(
                        "board `{text}`: unknown option `{word}` (known: {OPTIONS})"
                    ))
                }
            }
        }
        Ok(spec)
    }

    /// The board, seated on `port`; `seed` makes its device ID.
    pub fn build(
        &self,
        clock: Arc<dyn Clock>,
        port: &str,
        seed: u64,
        faults: Vec<Fault>,
    ) -> SimBoard {
        let board = SimBoard::from_spec(self, clock, port, seed, faults);
        let mut modules = self.stand_ins();
        modules.extend(self.modules.iter().cloned());
        if !modules.is_empty() || self.device_os.is_some() {
            board.install(&modules, self.device_os.is_some());
        }
        board
    }

    /// Stand-ins of the running release's system part (radio stack: see `SimBoard::install`).
    fn stand_ins(&self) -> Vec<Module> {
        let Some(release) = self.device_os else {
            return Vec::new();
        };
        let map = FlashMap::for_version(DeviceOs(release.system_part));
        let deps = [
            Dependency {
                function: ModuleFunction::Bootloader,
                index: 0,
                version: release.bootloader,
            },
            Dependency {
                function: ModuleFunction::RadioStack,
                index: 0,
                version: super::boot::S140_7_0_1,
            },
        ];
        super::stand_in::system_part(self.platform.id, release.system_part, &deps, map)
            .map(|m| vec![m])
            .unwrap_or_else(|e| unreachable!("a stand-in system part is a module: {e}"))
    }
}

fn platform(name: &str) -> Platform {
    Platform::by_name(name).unwrap_or_else(|| unreachable!("built-in platform {name}"))
}

/// `wrong-platform`: a board of a platform other than the one expected.
fn other_platform(p: Platform) -> Platform {
    platform(if p.name == "argon" { "boron" } else { "argon" })
}

/// "1.5.0" exactly, or the newest release of a line ("6.2", "4").
pub fn release_of(version: &str) -> Option<&'static Release> {
    let line = format!("{version}.");
    RELEASES
        .iter()
        .rev()
        .find(|r| r.semver == version || r.semver.starts_with(&line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_refuse_what_is_not_a_board() {
        let s = SimBoardSpec::parse("boron@6.2").unwrap();
        assert_eq!(s.platform.name, "boron");
        assert_eq!(s.device_os.unwrap().semver, "6.2.0");
        assert_eq!(s.factory_bootloader, 3100);
        assert_eq!(s.ncp, None, "a Boron has no updatable NCP");
        let s = SimBoardSpec::parse("argon, bootloader=1100, locked, ncp=none").unwrap();
        assert_eq!((s.factory_bootloader, s.locked, s.ncp), (1100, true, None));
        assert_eq!(SimBoardSpec::parse("argon").unwrap().ncp, Some(5));
        assert_eq!(SimBoardSpec::parse("tracker").unwrap().ncp, Some(7));
        assert_eq!(
            SimBoardSpec::parse("argon@1.5.0")
                .unwrap()
                .device_os
                .unwrap()
                .system_part,
            1502
        );
        for (bad, named) in [
            ("p2", "p2"),
            ("argon@9.9", "9.9"),
            ("argon,blue", "blue"),
            ("argon,bootloader=x", "`x`"),
            ("photon", "photon"),
        ] {
            let e = SimBoardSpec::parse(bad).unwrap_err();
            assert!(e.contains(named), "{e}");
        }
    }

    #[test]
    fn identity_words_become_the_board_and_the_rest_stay_faults() {
        let faults = Fault::parse_list("wrong-platform,stall,swd-locked,reset-disabled").unwrap();
        let (spec, rest) = SimBoardSpec::argon().with_words(faults);
        assert_eq!(spec.platform.name, "boron");
        assert!(spec.locked && spec.resets_disabled && !spec.bricked);
        assert_eq!(spec.ncp, None);
        assert_eq!(rest, vec![Fault::Stall]);
        let (spec, _) = SimBoardSpec::of(platform("boron")).with_words(vec![Fault::WrongPlatform]);
        assert_eq!(spec.platform.name, "argon");
    }
}
