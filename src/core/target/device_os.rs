//! Device OS versions as modules carry them: the system part's module version (4100 is
//! 4.1.0). A bundle's Device OS is chosen once, at lock and load, from its system part; code
//! after that takes the `FlashMap` it selects and never matches on versions.

use serde::Serialize;
use std::fmt;

/// A Device OS release line as its system part's module version says it (e.g. 4100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct DeviceOs(pub u16);

/// One published release: its semantic version and the module versions it ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    pub semver: &'static str,
    /// `COMMON_MODULE_VERSION` = the system part's module version.
    pub system_part: u16,
    /// `BOOTLOADER_VERSION`, the bootloader module version it ships.
    pub bootloader: u16,
}

const fn r(semver: &'static str, system_part: u16, bootloader: u16) -> Release {
    Release {
        semver,
        system_part,
        bootloader,
    }
}

/// Releases, oldest first: `modules/shared/system_module_version.mk` (COMMON_MODULE_VERSION,
/// BOOTLOADER_VERSION) and `build/version.mk` (VERSION_STRING) at each tag of particle-iot/
/// device-os; 6.3.4 from Particle's device-restore file (docs `device-restore/6.3.4/argon.json`).
pub const RELEASES: &[Release] = &[
    r("1.2.1", 1213, 311),
    r("1.3.1", 1321, 401),
    r("1.4.0", 1401, 500),
    r("1.4.1", 1403, 500),
    r("1.4.2", 1404, 501),
    r("1.4.3", 1405, 501),
    r("1.4.4", 1406, 501),
    r("1.5.0", 1502, 501),
    r("1.5.1", 1511, 501),
    r("1.5.2", 1512, 502),
    r("2.0.0", 2008, 1003),
    r("2.0.1", 2011, 1005),
    r("2.0.2", 2021, 1005),
    r("2.1.0", 2101, 1005),
    r("2.2.0", 2202, 1006),
    r("2.3.0", 2301, 1006),
    r("2.3.1", 2302, 1006),
    r("3.0.0", 3005, 1005),
    r("3.1.0", 3103, 1100),
    r("3.2.0", 3201, 1100),
    r("3.3.0", 3301, 1100),
    r("3.3.1", 3302, 1100),
    r("4.0.0", 4003, 1101),
    r("4.0.1", 4005, 1101),
    r("4.0.2", 4006, 1101),
    r("4.1.0", 4100, 1200),
    r("4.2.0", 4200, 1200),
    r("5.0.0", 5002, 2000),
    r("5.0.1", 5003, 2001),
    r("5.1.0", 5004, 2001),
    r("5.2.0", 5200, 2002),
    r("5.3.0", 5300, 2100),
    r("5.3.1", 5301, 2101),
    r("5.3.2", 5302, 2102),
    r("5.4.0", 5400, 2200),
    r("5.4.1", 5410, 2210),
    r("5.5.0", 5501, 2300),
    r("5.6.0", 5600, 2400),
    r("5.7.0", 5700, 2500),
    r("5.8.0", 5800, 2600),
    r("5.8.2", 5802, 2601),
    r("5.9.0", 5901, 2700),
    r("6.0.0", 6000, 3000),
    r("6.1.0", 6100, 3000),
    r("6.1.1", 6101, 3001),
    r("6.2.0", 6200, 3100),
    r("6.3.4", 6305, 3200),
];

impl DeviceOs {
    /// The release lines a flash map row starts at: "from 3.1" is every 3.1 build, rc
    /// included (v3.1.0-rc.1 is 3102), so rows start at the line's hundred.
    pub const fn line(major: u16, minor: u16) -> DeviceOs {
        DeviceOs(major * 1000 + minor * 100)
    }

    pub fn module_version(self) -> u16 {
        self.0
    }

    /// The published release with exactly this system-part version, if it is one we know.
    pub fn release(self) -> Option<&'static Release> {
        RELEASES.iter().find(|r| r.system_part == self.0)
    }

    /// "4.1.0" for 4100; `None` for a version no release shipped (an rc, a private build).
    pub fn semver(self) -> Option<&'static str> {
        self.release().map(|r| r.semver)
    }

    /// The Device OS a bootloader module version came with: the first release that ships it
    /// (or a newer one); a version newer than every release is the newest's. Its flash map is
    /// the one that bootloader was built with.
    pub fn of_bootloader(version: u16) -> DeviceOs {
        RELEASES
            .iter()
            .find(|r| r.bootloader >= version)
            .or(RELEASES.last())
            .map_or(DeviceOs(0), |r| DeviceOs(r.system_part))
    }

    /// The release line ("3.1") of the first release at or after this version: how map rows,
    /// which start at a line's hundred, are named. Module versions are not always
    /// major·1000 + minor·100 (5.1.0 is 5004), so the name comes from the table.
    pub fn line_name(self) -> String {
        match RELEASES.iter().find(|r| r.system_part >= self.0) {
            Some(r) => r
                .semver
                .rsplit_once('.')
                .map_or(r.semver, |(line, _)| line)
                .to_string(),
            None => format!("{}.{}", self.0 / 1000, (self.0 % 1000) / 100),
        }
    }
}

impl fmt::Display for DeviceOs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.semver() {
            return f.write_str(s);
        }
        match RELEASES.iter().rev().find(|r| r.system_part < self.0) {
            Some(r) => write!(f, "module version {} (newer than {})", self.0, r.semver),
            None => write!(f, "module version {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_are_sorted_unique_and_numbered_by_their_major() {
        for w in RELEASES.windows(2) {
            assert!(w[0].system_part < w[1].system_part, "{w:?}");
            // 3.0.0 shipped an older bootloader (1005) than 2.3.x (1006).
            assert!(
                w[0].bootloader <= w[1].bootloader || w[1].semver == "3.0.0",
                "{w:?}"
            );
        }
        for r in RELEASES {
            let major: u16 = r.semver.split('.').next().unwrap().parse().unwrap();
            assert_eq!(r.system_part / 1000, major, "{r:?}");
        }
    }

    #[test]
    fn module_versions_name_their_release() {
        assert_eq!(DeviceOs(1502).semver(), Some("1.5.0"));
        assert_eq!(DeviceOs(4100).to_string(), "4.1.0");
        assert_eq!(DeviceOs(6200).release().unwrap().bootloader, 3100);
        assert_eq!(
            DeviceOs(3102).to_string(),
            "module version 3102 (newer than 3.0.0)"
        );
        assert_eq!(DeviceOs(5004).line_name(), "5.1");
        assert_eq!(DeviceOs::line(3, 1).line_name(), "3.1");
        assert_eq!(DeviceOs::line(6, 2).line_name(), "6.2");
        assert!(DeviceOs(3102) >= DeviceOs::line(3, 1));
        assert!(DeviceOs(3005) < DeviceOs::line(3, 1));
    }
}
