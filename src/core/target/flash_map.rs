//! The internal flash map of Gen3 (nRF52840) Device OS, per version: which region each module
//! function owns. A bundle's map is chosen once from its Device OS (`Bundle::flash_map`);
//! nothing after that matches on versions.
//!
//! Rows, each from Device OS at the tag it names:
//! - before 3.1: `hal/src/nRF52840/ota_module_bounds.c` @ v1.5.0 / v3.0.0 (system part
//!   0x30000..0xD4000, user part #1 0xD4000/128 KiB, radio stack 0x1000..0x30000);
//! - 3.1: ota_module_bounds.c @ v3.1.0 / v4.1.0 (user part #2 0xB4000/256 KiB, the 128 KiB
//!   compat slot #1 at 0xD4000, system part up to 0xB4000; commit 70edb002f);
//! - 6.2: `build/arm/linker/nrf52840/platform_flash.ld:108-111,161-168` and ota_module_bounds.c
//!   @ v6.2.0 (system part 0x28000, 560 KiB; the MBR parameter page moves to 0x27000 —
//!   `platform/MCU/nRF52840/src/hw_config.c:60-61,94-110`; commit f27e6281d).
//!
//! The MBR parameter page (UICR NRFFW[1]) is 0x2F000 = APP_CODE_BASE − 4 KiB from Device OS
//! 2.0 (hw_config.c @ v2.0.0); 1.x leaves NRFFW[1] unset, and the page is still no module's.

use serde::Serialize;
use std::fmt;
use std::ops::Range;

use super::device_os::DeviceOs;
use super::platform::LayoutFamily;
use crate::core::module::{Module, ModuleFunction};

pub const INTERNAL_FLASH: Range<u64> = 0..0x10_0000;
/// Nordic's master boot record: no module may land here; only SWD writes it, and only the MBR
/// a bundle carries (`mbr = FILE`).
pub const MBR: Range<u64> = 0..0x1000;
/// The Particle bootloader's region (platform_flash.ld:66-68, the same in every row).
pub const BOOTLOADER: Range<u64> = 0xF_4000..0x10_0000;
/// nRF52840 flash is erased by page: a page two modules touch is lost to one of them.
pub const PAGE_SIZE: u32 = 4096;

/// A half-open range of internal flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Area {
    pub start: u32,
    pub end: u32,
}

const fn area(start: u32, end: u32) -> Area {
    Area { start, end }
}

impl Area {
    pub fn range(self) -> Range<u64> {
        u64::from(self.start)..u64::from(self.end)
    }

    pub fn contains(self, r: &Range<u64>) -> bool {
        contains(&self.range(), r)
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:05x}..0x{:05x}", self.start, self.end)
    }
}

/// Where a user part of one index goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Slot {
    pub index: u8,
    pub area: Area,
}

/// One row: the map of every Device OS from `since` up to the next row of its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FlashMap {
    pub family: LayoutFamily,
    pub since: DeviceOs,
    pub mbr: Area,
    /// What the radio stack (Nordic's SoftDevice, prefix dropped) may fill.
    pub softdevice: Area,
    /// The MBR's parameter page, used by the bootloader update (SD_MBR_COMMAND_COPY_BL).
    pub mbr_params: Area,
    pub system_part: Area,
    pub user_part: Slot,
    /// The 128 KiB slot of older applications, still run when valid (it wins:
    /// ota_flash_hal.cpp:187-197 @ v6.2.0). Inside `user_part`'s area.
    pub user_part_compat: Option<Slot>,
    pub bootloader: Area,
    /// The bootloader's DfuSe layout of DFU alt 0 (`INTERNAL_FLASH_IF_STRING`,
    /// bootloader/src/nRF52840/usbd_dfu_mal.h:27, the same string at v1.5.0, v3.1.0, v6.2.0).
    pub dfuse_internal: &'static str,
    /// Where the row comes from, for people reading errors and the table.
    pub source: &'static str,
}

const NRF_DFUSE: &str =
    "@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka";
const NRF_MBR: Area = area(0x0, 0x1000);
const NRF_BOOTLOADER: Area = area(0xF_4000, 0x10_0000);
/// From 3.1: `module_user`, 256 KiB at 0xB4000, index 2 (ota_module_bounds.c @ v3.1.0).
const NRF_USER_PART_256K: Slot = Slot {
    index: 2,
    area: area(0xB_4000, 0xF_4000),
};
const NRF_COMPAT: Slot = Slot {
    index: 1,
    area: area(0xD_4000, 0xF_4000),
};

/// Every row, per family, oldest first. Only the nRF52840 has rows: flashline flashes Gen3.
pub const FLASH_MAPS: &[FlashMap] = &[
    FlashMap {
        family: LayoutFamily::Nrf52840,
        since: DeviceOs(0),
        mbr: NRF_MBR,
        softdevice: area(0x1000, 0x2_F000),
        mbr_params: area(0x2_F000, 0x3_0000),
        system_part: area(0x3_0000, 0xD_4000),
        user_part: NRF_COMPAT,
        user_part_compat: None,
        bootloader: NRF_BOOTLOADER,
        dfuse_internal: NRF_DFUSE,
        source: "hal/src/nRF52840/ota_module_bounds.c @ v1.5.0, v3.0.0",
    },
    FlashMap {
        family: LayoutFamily::Nrf52840,
        since: DeviceOs::line(3, 1),
        mbr: NRF_MBR,
        softdevice: area(0x1000, 0x2_F000),
        mbr_params: area(0x2_F000, 0x3_0000),
        system_part: area(0x3_0000, 0xB_4000),
        user_part: NRF_USER_PART_256K,
        user_part_compat: Some(NRF_COMPAT),
        bootloader: NRF_BOOTLOADER,
        dfuse_internal: NRF_DFUSE,
        source: "hal/src/nRF52840/ota_module_bounds.c @ v3.1.0, v4.1.0, v6.1.0",
    },
    FlashMap {
        family: LayoutFamily::Nrf52840,
        since: DeviceOs::line(6, 2),
        mbr: NRF_MBR,
        softdevice: area(0x1000, 0x2_7000),
        mbr_params: area(0x2_7000, 0x2_8000),
        system_part: area(0x2_8000, 0xB_4000),
        user_part: NRF_USER_PART_256K,
        user_part_compat: Some(NRF_COMPAT),
        bootloader: NRF_BOOTLOADER,
        dfuse_internal: NRF_DFUSE,
        source: "build/arm/linker/nrf52840/platform_flash.ld, ota_module_bounds.c @ v6.2.0",
    },
];

impl FlashMap {
    /// The nRF52840 map of a Device OS version (a version older than every row gets the first).
    pub fn for_version(os: DeviceOs) -> &'static FlashMap {
        Self::for_target(LayoutFamily::Nrf52840, os).unwrap_or(&FLASH_MAPS[0])
    }

    /// The map of a family at a version; `None` for a family flashline has no map of.
    pub fn for_target(family: LayoutFamily, os: DeviceOs) -> Option<&'static FlashMap> {
        let rows = || FLASH_MAPS.iter().filter(move |m| m.family == family);
        rows().rfind(|m| m.since <= os).or_else(|| rows().next())
    }

    fn rows(&self) -> impl Iterator<Item = &'static FlashMap> + '_ {
        FLASH_MAPS.iter().filter(move |m| m.family == self.family)
    }

    /// "before Device OS 3.1", "Device OS 3.1 – 6.1", "from Device OS 6.2".
    pub fn name(&self) -> String {
        let next = self.rows().find(|m| m.since > self.since);
        match (self.since == DeviceOs(0), next) {
            (true, Some(n)) => format!("before Device OS {}", n.since.line_name()),
            (true, None) => "every Device OS".into(),
            (false, None) => format!("from Device OS {}", self.since.line_name()),
            (false, Some(n)) => format!(
                "Device OS {} up to {}",
                self.since.line_name(),
                n.since.line_name()
            ),
        }
    }

    /// The regions a bundle's modules may own, in address order (the compat slot lies inside
    /// the user part's area and is not listed apart).
    pub fn regions(&self) -> [(&'static str, Area); 6] {
        [
            ("MBR", self.mbr),
            ("radio-stack", self.softdevice),
            ("MBR parameter page", self.mbr_params),
            ("system-part#1", self.system_part),
            ("user-part", self.user_part.area),
            ("bootloader", self.bootloader),
        ]
    }

    /// One line listing the map, for error hints.
    pub fn describe(&self) -> String {
        let mut regions: Vec<String> = self
            .regions()
            .iter()
            .map(|(name, a)| match name {
                &"user-part" => format!("user-part#{} {a}", self.user_part.index),
                _ => format!("{name} {a}"),
            })
            .collect();
        if let Some(c) = self.user_part_compat {
            regions.push(format!("compat user-part#{} {}", c.index, c.area));
        }
        format!(
            "flash map {} ({}): {}",
            self.name(),
            self.source,
            regions.join(", ")
        )
    }

    /// The DfuSe layout string the bootloader gives DFU alt 0.
    pub fn dfuse_layout(&self) -> &'static str {
        self.dfuse_internal
    }

    /// Where a module of this function and index goes in internal flash; `None` for modules
    /// that live elsewhere (NCP firmware on the coprocessor, assets in the asset store) or
    /// that the map has no slot for.
    pub fn area_of(&self, function: ModuleFunction, index: u8) -> Option<Area> {
        use ModuleFunction as F;
        match (function, index) {
            (F::Bootloader, 0) => Some(self.bootloader),
            (F::RadioStack, 0) => Some(self.softdevice),
            (F::SystemPart, 1) => Some(self.system_part),
            // ota_module_bounds.c module_user_mono: the system part's start to the bootloader.
            (F::Monolithic, _) => Some(area(self.system_part.start, self.bootloader.start)),
            (F::UserPart, _) => [Some(self.user_part), self.user_part_compat]
                .into_iter()
                .flatten()
                .find(|s| s.index == index)
                .map(|s| s.area),
            _ => Option::None,
        }
    }

    /// Why a module may not land where its prefix says on this map: it must start where
    /// Device OS links modules of its function (the region's start) and end inside it, at
    /// its installed size (a compressed module's inflated size). NCP firmware and assets do
    /// not live in internal flash; a combined file is checked part by part.
    pub fn placement_problem(&self, module: &Module) -> Option<String> {
        if let Some(parts) = module.combined_parts() {
            return parts.iter().find_map(|p| self.placement_problem(p));
        }
        let function = module.function();
        let range = module.footprint()?;
        let label = module.slot_label();
        let Some(expected) = self.area_of(function, module.index()) else {
            return Some(self.no_slot(module) + &self.over_others(&range, None));
        };
        if range.start != u64::from(expected.start) {
            return Some(format!(
                "{label} at 0x{:05x}; {} it goes at 0x{:05x}{}",
                range.start,
                self.span_of(function, module.index(), expected.start),
                expected.start,
                self.over_others(&range, Some(expected))
            ));
        }
        (!expected.contains(&range)).then(|| {
            format!(
                "{label} {} is {} bytes; {} its region is {expected} ({} bytes){}",
                hex(&range),
                range.end - range.start,
                self.span_of(function, module.index(), expected.start),
                expected.end - expected.start,
                self.over_others(&range, Some(expected))
            )
        })
    }

    /// ", over the MBR 0x00000..0x01000" when a misplaced module would cover another region.
    fn over_others(&self, range: &Range<u64>, own: Option<Area>) -> String {
        self.regions()
            .into_iter()
            .filter(|(_, a)| Some(*a) != own && !own.is_some_and(|o| o.contains(&a.range())))
            .find(|(_, a)| overlaps(&a.range(), range))
            .map(|(name, a)| format!(", over the {name} region {a}"))
            .unwrap_or_default()
    }

    fn no_slot(&self, module: &Module) -> String {
        let label = module.slot_label();
        let first = self
            .rows()
            .find(|m| m.area_of(module.function(), module.index()).is_some());
        match first {
            Some(row) if row.since > self.since => format!(
                "{label} needs Device OS {} or later; this bundle's flash map is {}'s",
                row.since.line_name(),
                self.name()
            ),
            Some(_) => format!(
                "{label} has no slot from Device OS {} on",
                self.since.line_name()
            ),
            None => format!("{label} has no place in Gen3 internal flash"),
        }
    }

    /// The rows around this one that put this function at the same address, as words:
    /// "from Device OS 3.1", "before Device OS 6.2", "on every Device OS".
    fn span_of(&self, function: ModuleFunction, index: u8, start: u32) -> String {
        let same = |m: &FlashMap| m.area_of(function, index).map(|a| a.start) == Some(start);
        let rows: Vec<&FlashMap> = self.rows().collect();
        let at = rows.iter().position(|m| m.since == self.since).unwrap_or(0);
        let first = (0..=at)
            .rev()
            .take_while(|&i| same(rows[i]))
            .last()
            .unwrap_or(at);
        let after = (at..rows.len()).find(|&i| !same(rows[i]));
        match (first, after) {
            (0, None) => "on every Device OS".into(),
            (0, Some(n)) => format!("before Device OS {}", rows[n].since.line_name()),
            (f, None) => format!("from Device OS {}", rows[f].since.line_name()),
            (f, Some(n)) => format!(
                "from Device OS {} up to {}",
                rows[f].since.line_name(),
                rows[n].since.line_name()
            ),
        }
    }
}

/// Why a module may not land where its prefix says on any Gen3 map: for callers that hold a
/// module but not its bundle. With a bundle, use `bundle.flash_map.placement_problem`.
pub fn placement_problem(module: &Module) -> Option<String> {
    let mut problems = FLASH_MAPS
        .iter()
        .filter(|m| m.family == LayoutFamily::Nrf52840)
        .map(|m| m.placement_problem(module));
    let first = problems.next().flatten()?;
    problems.all(|p| p.is_some()).then_some(first)
}

/// The 4 KiB pages a range of flash touches (page numbers, half-open).
pub fn pages(r: &Range<u64>) -> Range<u64> {
    let page = u64::from(PAGE_SIZE);
    r.start / page..r.end.div_ceil(page)
}

/// The first page two ranges both touch: erasing it for one destroys the other.
pub fn shared_page(a: &Range<u64>, b: &Range<u64>) -> Option<u64> {
    let (pa, pb) = (pages(a), pages(b));
    (pa.start < pb.end && pb.start < pa.end && a.start < a.end && b.start < b.end)
        .then(|| pa.start.max(pb.start) * u64::from(PAGE_SIZE))
}

/// Whether two modules would share flash (NCP firmware and assets live elsewhere).
pub fn modules_overlap(a: &Module, b: &Module) -> bool {
    a.in_internal_flash() && b.in_internal_flash() && overlaps(&a.image_range(), &b.image_range())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::target::platform::Platform;

    /// The tables themselves: sorted, inside 1 MiB, page-aligned, no two regions overlapping,
    /// the compat slot inside the user part, and a map for every family a platform flashline
    /// flashes belongs to.
    #[test]
    fn the_flash_maps_are_sound() {
        let mut families: Vec<LayoutFamily> = Platform::all()
            .iter()
            .filter(|p| p.is_nrf52840())
            .map(|p| p.family)
            .collect();
        families.dedup();
        for family in families {
            let rows: Vec<&FlashMap> = FLASH_MAPS.iter().filter(|m| m.family == family).collect();
            assert!(!rows.is_empty(), "no map for {family:?}");
            assert_eq!(
                rows[0].since,
                DeviceOs(0),
                "the first row covers every older version"
            );
            assert!(
                rows.windows(2).all(|w| w[0].since < w[1].since),
                "sorted by version"
            );
        }
        for m in FLASH_MAPS {
            let regions = m.regions();
            for (name, a) in regions {
                assert!(a.start < a.end, "{name} empty in {}", m.name());
                assert!(
                    contains(&INTERNAL_FLASH, &a.range()),
                    "{name} outside 1 MiB"
                );
                assert_eq!(a.start % PAGE_SIZE, 0, "{name} not page-aligned");
                assert_eq!(a.end % PAGE_SIZE, 0, "{name} not page-aligned");
            }
            for w in regions.windows(2) {
                assert!(
                    w[0].1.end <= w[1].1.start,
                    "{} overlaps {} in {}",
                    w[0].0,
                    w[1].0,
                    m.name()
                );
            }
            if let Some(c) = m.user_part_compat {
                assert!(m.user_part.area.contains(&c.area.range()));
                assert_ne!(c.index, m.user_part.index);
            }
            assert_eq!(m.mbr.range(), MBR);
            assert_eq!(m.bootloader.range(), BOOTLOADER);
        }
        let flashed = Platform::all().iter().filter(|p| p.is_nrf52840());
        for p in flashed {
            assert!(
                FlashMap::for_target(p.family, DeviceOs(4100)).is_some(),
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn versions_choose_their_row() {
        assert_eq!(
            FlashMap::for_version(DeviceOs(1502)).user_part.area.start,
            0xD4000
        );
        let v41 = FlashMap::for_version(DeviceOs(4100));
        assert_eq!(
            (v41.user_part.index, v41.user_part.area.start),
            (2, 0xB4000)
        );
        assert_eq!(v41.user_part_compat.unwrap().area.start, 0xD4000);
        assert_eq!(FlashMap::for_version(DeviceOs(3102)).since, DeviceOs(3100));
        let v62 = FlashMap::for_version(DeviceOs(6200));
        assert_eq!(v62.system_part.start, 0x28000);
        assert_eq!(v62.mbr_params.start, 0x27000);
        assert_eq!(
            FlashMap::for_version(DeviceOs(6101)).system_part.start,
            0x30000
        );
        assert_eq!(
            FlashMap::for_target(LayoutFamily::Rtl872x, DeviceOs(6200)),
            None
        );
        assert_eq!(v41.name(), "Device OS 3.1 up to 6.2");
        assert!(
            v41.describe().contains("user-part#2 0xb4000..0xf4000"),
            "{}",
            v41.describe()
        );
        assert!(v62.dfuse_layout().starts_with("@Internal Flash"));
    }

    #[test]
    fn pages_are_shared_when_two_ranges_touch_one() {
        assert_eq!(pages(&(0x1000..0x2001)), 1..3);
        assert_eq!(
            shared_page(&(0x30000..0xCAF44), &(0xCAF44..0xCC000)),
            Some(0xCA000)
        );
        assert_eq!(shared_page(&(0x30000..0xCA000), &(0xCA000..0xCC000)), None);
        assert_eq!(
            shared_page(&(0x1000..0x265C0), &(0x26800..0x30000)),
            Some(0x26000)
        );
    }
}
