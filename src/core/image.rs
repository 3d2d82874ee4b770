//! What goes where: the one answer both flashing paths use. DFU writes each region through
//! the bootloader; SWD writes the same regions directly, plus the bootloader and the MBR
//! (when the bundle carries one), which only a debug probe may write.
//!
//! Flash is erased by 4 KiB page, so a region owns every page it touches: no page may hold
//! two regions (`checked_image_of`), or writing one erases the other.

use super::bundle::Bundle;
use super::module::{Inner, Module, ModuleFunction};
use super::target::flash_map::{hex, shared_page};

/// Bytes that belong at an address in the nRF52840's internal flash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub address: u32,
    pub bytes: Vec<u8>,
    pub label: String,
}

impl Region {
    pub fn range(&self) -> std::ops::Range<u64> {
        let start = u64::from(self.address);
        start..start + self.bytes.len() as u64
    }
}

/// Where a module's bytes land: its image (the file, or the file without its prefix when the
/// prefix is flagged "drop module info", as for the S140 softdevice) at its start address.
pub fn region_of(m: &Module) -> Region {
    Region {
        address: m.image_address(),
        bytes: m.image().to_vec(),
        label: m.label(),
    }
}

/// The regions a module of any form fills once installed: a combined file's parts, a
/// compressed module's inflated module (what Device OS writes when it installs it).
fn installed_regions(m: &Module) -> Vec<(ModuleFunction, Region)> {
    if let Some(parts) = m.combined_parts() {
        return parts.iter().flat_map(installed_regions).collect();
    }
    if !m.in_internal_flash() {
        return Vec::new();
    }
    match m.compressed().map(|c| &c.inner) {
        Some(Ok(Inner::Module(inner))) => vec![(m.function(), region_of(inner))],
        // A module that does not inflate never passed the bundle's checks.
        Some(_) => Vec::new(),
        None => vec![(m.function(), region_of(m))],
    }
}

/// Where the bundle's MBR goes, and what it is called in plans.
pub const MBR_LABEL: &str = "mbr";

/// The flash image a board should hold for a bundle, in address order. With `by_probe`, the
/// regions only a debug probe may write are included: the bootloader, and the MBR if the
/// bundle carries one. NCP firmware and assets live outside internal flash and never appear.
pub fn image_of(bundle: &Bundle, by_probe: bool) -> Vec<Region> {
    let mut regions: Vec<Region> = bundle
        .modules
        .iter()
        .flat_map(|m| installed_regions(&m.module))
        .filter(|(function, _)| by_probe || *function != ModuleFunction::Bootloader)
        .map(|(_, region)| region)
        .collect();
    if let (true, Some(mbr)) = (by_probe, &bundle.mbr) {
        regions.push(Region {
            address: 0,
            bytes: mbr.bytes.clone(),
            label: MBR_LABEL.into(),
        });
    }
    regions.sort_by_key(|r| r.address);
    regions
}

/// Two regions of an image that share a flash page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{first} {} and {second} {} share the flash page at 0x{page:05x}: writing one erases the other",
    hex(first_range),
    hex(second_range)
)]
pub struct SharedPage {
    pub first: String,
    pub first_range: std::ops::Range<u64>,
    pub second: String,
    pub second_range: std::ops::Range<u64>,
    pub page: u64,
}

/// The image, refused when two of its regions touch one page (the page rule a locked bundle
/// already obeys; checked again here because the SWD path writes pages, not modules).
pub fn checked_image_of(bundle: &Bundle, by_probe: bool) -> Result<Vec<Region>, SharedPage> {
    let regions = image_of(bundle, by_probe);
    match page_conflicts(&regions).into_iter().next() {
        Some(conflict) => Err(conflict),
        None => Ok(regions),
    }
}

/// Every pair of regions that share a page, in address order.
pub fn page_conflicts(regions: &[Region]) -> Vec<SharedPage> {
    let mut out = Vec::new();
    for (i, a) in regions.iter().enumerate() {
        for b in &regions[i + 1..] {
            if let Some(page) = shared_page(&a.range(), &b.range()) {
                out.push(SharedPage {
                    first: a.label.clone(),
                    first_range: a.range(),
                    second: b.label.clone(),
                    second_range: b.range(),
                    page,
                });
            }
        }
    }
    out
}

/// A region cut at flash-page (4 KiB) boundaries: (address, bytes) per page it touches. Both
/// SWD writers compare and write page by page.
pub fn page_chunks(region: &Region) -> impl Iterator<Item = (u32, &[u8])> {
    let page = super::target::PAGE_SIZE as usize;
    let start = region.address as usize;
    let end = start + region.bytes.len();
    let mut at = start;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let next = ((at / page) + 1) * page;
        let to = next.min(end);
        let chunk = (at as u32, &region.bytes[at - start..to - start]);
        at = to;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn page_chunks_cut_at_page_boundaries_and_cover_the_region_once() {
        let region = Region {
            address: 0x1000 - 10,
            bytes: (0..5000u32).map(|i| i as u8).collect(),
            label: "x".into(),
        };
        let chunks: Vec<(u32, usize)> = page_chunks(&region).map(|(a, b)| (a, b.len())).collect();
        assert_eq!(chunks, vec![(0xFF6, 10), (0x1000, 4096), (0x2000, 894)]);
        let joined: Vec<u8> = page_chunks(&region).flat_map(|(_, b)| b.to_vec()).collect();
        assert_eq!(joined, region.bytes);
    }

    #[test]
    fn the_example_image_is_radio_stack_system_user_and_the_bootloader_only_for_swd() {
        let b = Bundle::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/bundles/example-argon"
        )))
        .unwrap();
        let addrs: Vec<u32> = image_of(&b, false).iter().map(|r| r.address).collect();
        assert_eq!(addrs, vec![0x1000, 0x30000, 0xD4000]);
        let swd = image_of(&b, true);
        assert_eq!(swd.last().unwrap().address, 0xF4000);
        assert_eq!(checked_image_of(&b, true).unwrap(), swd);
        let sd = &image_of(&b, false)[0];
        assert_eq!(
            sd.bytes.len(),
            153_048 - 24,
            "the softdevice without its prefix"
        );
    }

    #[test]
    fn regions_that_share_a_page_are_refused() {
        let region = |address: u32, len: usize, label: &str| Region {
            address,
            bytes: vec![0; len],
            label: label.into(),
        };
        // The 1.5.0 system part ends at 0xcaf44; a region right after it shares its last page.
        let image = [
            region(0x30000, 634_692, "system-part#1 v1502"),
            region(0xCAF44, 100, "user-part#1 v5"),
        ];
        let conflicts = page_conflicts(&image);
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].page, 0xCA000);
        assert!(
            conflicts[0]
                .to_string()
                .contains("share the flash page at 0xca000"),
            "{}",
            conflicts[0]
        );
        let apart = [region(0x30000, 634_692, "a"), region(0xCB000, 100, "b")];
        assert!(page_conflicts(&apart).is_empty());
    }
}
