//! What goes where: the one answer both flashing paths use. DFU writes each region through
//! the bootloader; SWD writes the same regions directly, plus the bootloader and the MBR
//! (when the bundle carries one), which only a debug probe may write.

use super::bundle::Bundle;
use super::module::{Module, ModuleFunction};

/// Bytes that belong at an address in the nRF52840's internal flash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub address: u32,
    pub bytes: Vec<u8>,
    pub label: String,
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

/// Where the bundle's MBR goes, and what it is called in plans.
pub const MBR_LABEL: &str = "mbr";

/// The flash image a board should hold for a bundle, in address order. With `by_probe`, the
/// regions only a debug probe may write are included: the bootloader, and the MBR if the
/// bundle carries one. NCP firmware lives in the ESP32's own flash and never appears.
pub fn image_of(bundle: &Bundle, by_probe: bool) -> Vec<Region> {
    let mut regions: Vec<Region> = bundle
        .modules
        .iter()
        .map(|m| &m.module)
        .filter(|m| match m.function() {
            ModuleFunction::NcpFirmware => false,
            ModuleFunction::Bootloader => by_probe,
            _ => true,
        })
        .map(region_of)
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

/// A region cut at flash-page (4 KiB) boundaries: (address, bytes) per page it touches. Both
/// SWD writers compare and write page by page.
pub fn page_chunks(region: &Region) -> impl Iterator<Item = (u32, &[u8])> {
    let page = super::flash_map::PAGE_SIZE as usize;
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
        let sd = &image_of(&b, false)[0];
        assert_eq!(
            sd.bytes.len(),
            153_048 - 24,
            "the softdevice without its prefix"
        );
    }
}
