//! The nRF52840 internal flash map of Gen3 Device OS: which regions a bundle may own.

use std::ops::Range;

use super::module::{Module, ModuleFunction};

pub const INTERNAL_FLASH: Range<u64> = 0..0x10_0000;
/// Nordic's master boot record: no module may land here; only SWD writes it, and only the MBR
/// a bundle carries (`mbr = FILE`).
pub const MBR: Range<u64> = 0..0x1000;
/// The Particle bootloader's region; reachable by the control-request update, or over SWD.
pub const BOOTLOADER: Range<u64> = 0xF_4000..0x10_0000;
pub const PAGE_SIZE: u32 = 4096;

/// Why a module may not land where its prefix says.
pub fn placement_problem(module: &Module) -> Option<String> {
    let range = module.image_range();
    match module.function() {
        // The ESP32's firmware lives in the NCP's own flash, not in the nRF52's.
        ModuleFunction::NcpFirmware => None,
        ModuleFunction::Bootloader => (!contains(&BOOTLOADER, &range)).then(|| {
            format!(
                "bootloader at {} lies outside the bootloader region {}",
                hex(&range),
                hex(&BOOTLOADER)
            )
        }),
        _ if overlaps(&range, &MBR) => Some(format!(
            "{} would land in the MBR {}",
            hex(&range),
            hex(&MBR)
        )),
        _ if overlaps(&range, &BOOTLOADER) => Some(format!(
            "{} would land in the bootloader region {}",
            hex(&range),
            hex(&BOOTLOADER)
        )),
        _ if !contains(&INTERNAL_FLASH, &range) => Some(format!(
            "{} lies outside internal flash {}",
            hex(&range),
            hex(&INTERNAL_FLASH)
        )),
        _ => None,
    }
}

/// Whether two modules would share flash (NCP firmware lives elsewhere).
pub fn modules_overlap(a: &Module, b: &Module) -> bool {
    let ncp = |m: &Module| m.function() == ModuleFunction::NcpFirmware;
    !ncp(a) && !ncp(b) && overlaps(&a.image_range(), &b.image_range())
}

pub fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

pub fn contains(outer: &Range<u64>, inner: &Range<u64>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

pub fn hex(r: &Range<u64>) -> String {
    format!("0x{:05x}..0x{:05x}", r.start, r.end)
}
