//! Particle platform ids. The id is stored in every module prefix; a bundle names its
//! platform by name and refuses modules built for any other.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Platform {
    pub id: u16,
    pub name: &'static str,
    /// Gen3 boards are nRF52840-based and share the DFU memory map flashline knows.
    pub gen3: bool,
    /// USB product ids in normal and DFU mode (vendor 0x2b04).
    pub usb_pid_normal: Option<u16>,
    pub usb_pid_dfu: Option<u16>,
}

pub const PARTICLE_VID: u16 = 0x2b04;

/// Known platforms, from Device OS `platforms.h` and particle-usb's device table.
const PLATFORMS: &[Platform] = &[
    p(0, "core", false, None, None),
    p(6, "photon", false, Some(0xc006), Some(0xd006)),
    p(8, "p1", false, Some(0xc008), Some(0xd008)),
    p(10, "electron", false, Some(0xc00a), Some(0xd00a)),
    p(12, "argon", true, Some(0xc00c), Some(0xd00c)),
    p(13, "boron", true, Some(0xc00d), Some(0xd00d)),
    p(14, "xenon", true, Some(0xc00e), Some(0xd00e)),
    p(22, "asom", true, Some(0xc016), Some(0xd016)),
    p(23, "bsom", true, Some(0xc017), Some(0xd017)),
    p(24, "xsom", true, Some(0xc018), Some(0xd018)),
    p(25, "b5som", true, Some(0xc019), Some(0xd019)),
    p(26, "tracker", true, Some(0xc01a), Some(0xd01a)),
    p(28, "esomx", true, Some(0xc01c), Some(0xd01c)),
    p(32, "p2", false, Some(0xc020), Some(0xd020)),
];

const fn p(
    id: u16,
    name: &'static str,
    gen3: bool,
    usb_pid_normal: Option<u16>,
    usb_pid_dfu: Option<u16>,
) -> Platform {
    Platform {
        id,
        name,
        gen3,
        usb_pid_normal,
        usb_pid_dfu,
    }
}

impl Platform {
    pub fn by_id(id: u16) -> Option<Platform> {
        PLATFORMS.iter().copied().find(|p| p.id == id)
    }

    pub fn by_name(name: &str) -> Option<Platform> {
        PLATFORMS
            .iter()
            .copied()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Which platform a Particle USB product id belongs to, and whether it is the DFU one.
    pub fn by_usb_pid(pid: u16) -> Option<(Platform, bool)> {
        PLATFORMS.iter().find_map(|p| {
            if p.usb_pid_normal == Some(pid) {
                Some((*p, false))
            } else if p.usb_pid_dfu == Some(pid) {
                Some((*p, true))
            } else {
                None
            }
        })
    }

    pub fn names() -> Vec<&'static str> {
        PLATFORMS.iter().map(|p| p.name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon_and_boron_are_distinct_gen3_platforms() {
        let argon = Platform::by_name("Argon").unwrap();
        assert_eq!(argon.id, 12);
        assert!(argon.gen3);
        assert_eq!(Platform::by_usb_pid(0xd00c), Some((argon, true)));
        assert_eq!(Platform::by_usb_pid(0xc00d).unwrap().0.name, "boron");
        assert!(Platform::by_id(99).is_none());
    }
}
