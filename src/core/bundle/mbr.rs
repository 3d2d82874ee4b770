//! Nordic's MBR, when a bundle carries it: a raw binary for 0x0..0x1000 that only a debug
//! probe writes. It is checked for the shape of a Cortex-M vector table, so a wrong file (a
//! Particle module, an Intel hex file, a whole-chip dump) is refused when the bundle is locked.

use std::path::Path;

use super::{read_file, BundleError};
use crate::core::flash_map::MBR;

/// The MBR's bytes, as pinned in the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleMbr {
    pub file: String,
    pub bytes: Vec<u8>,
}

pub fn load_mbr(dir: &Path, file: &str) -> Result<BundleMbr, BundleError> {
    let path = dir.join(file);
    let bytes = read_file(&path)?;
    if let Some(reason) = mbr_problem(&bytes) {
        return Err(BundleError::Manifest { path, reason });
    }
    Ok(BundleMbr {
        file: file.into(),
        bytes,
    })
}

/// Why these bytes cannot be an MBR, if they cannot.
pub fn mbr_problem(bytes: &[u8]) -> Option<String> {
    let limit = (MBR.end - MBR.start) as usize;
    if bytes.len() < 8 || bytes.len() > limit {
        return Some(format!(
            "an MBR is a raw binary of at most {limit} bytes for 0x0; this is {} bytes",
            bytes.len()
        ));
    }
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let (stack, reset) = (word(0), word(4));
    // nRF52840 RAM is 0x2000_0000..0x2004_0000; the reset handler is Thumb code inside the MBR.
    if !(0x2000_0000..=0x2004_0000).contains(&stack) {
        return Some(format!(
            "not a vector table: initial stack pointer {stack:#010x} is not in RAM"
        ));
    }
    if reset & 1 == 0 || u64::from(reset) >= MBR.end {
        return Some(format!(
            "not a vector table: reset handler {reset:#010x} is not Thumb code inside the MBR"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal vector table: stack at the top of RAM, reset handler at 0xA81.
    pub fn plausible_mbr() -> Vec<u8> {
        let mut b = vec![0xFF; 0xB00];
        b[..4].copy_from_slice(&0x2000_0400u32.to_le_bytes());
        b[4..8].copy_from_slice(&0x0000_0A81u32.to_le_bytes());
        b
    }

    #[test]
    fn a_vector_table_passes_and_other_files_are_refused_with_a_reason() {
        assert_eq!(mbr_problem(&plausible_mbr()), None);
        assert!(mbr_problem(&vec![0; 0x1001])
            .unwrap()
            .contains("at most 4096"));
        let mut thumbless = plausible_mbr();
        thumbless[4] = 0x80;
        assert!(mbr_problem(&thumbless).unwrap().contains("reset handler"));
        let module = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/bundles/example-argon/tinker-0.8.0-rc.27-argon.bin"
        ))
        .unwrap();
        assert!(mbr_problem(&module).is_some(), "a user part is not an MBR");
        assert!(mbr_problem(b":020000040000FA\n").unwrap().contains("stack"));
    }
}
