//! Re-sealing a module after its bytes changed: recompute the SHA-256 and CRC-32 the way
//! Particle's tools do. Used to derive test modules (another platform, another version, an
//! added extension) from real ones, and by the simulator; never on a bundle's own files.

use sha2::{Digest, Sha256};

use super::{find_prefix, payload_hashed, ModuleError, CRC_LEN, PREFIX_LEN};

/// Rewrites the prefix fields `edit` changes, then re-seals SHA-256 and CRC.
pub fn edit_prefix(
    bytes: &mut [u8],
    edit: impl FnOnce(&mut [u8; PREFIX_LEN]),
) -> Result<(), ModuleError> {
    let (_, offset) = find_prefix(bytes)?;
    let len = bytes.len();
    let prefix: &mut [u8; PREFIX_LEN] = (&mut bytes[offset..offset + PREFIX_LEN])
        .try_into()
        .map_err(|_| ModuleError::Truncated {
            len,
            need: offset + PREFIX_LEN,
        })?;
    edit(prefix);
    reseal(bytes)
}

/// Recomputes the stored SHA-256 (over every byte before it, or the payload for the modules
/// `create_module.py` wraps) and the big-endian CRC-32 of everything before the CRC.
pub fn reseal(bytes: &mut [u8]) -> Result<(), ModuleError> {
    let len = bytes.len();
    let need = PREFIX_LEN + 40;
    if len < need {
        return Err(ModuleError::Truncated { len, need });
    }
    let (prefix, offset) = find_prefix(bytes)?;
    let suffix_len = u16::from_le_bytes([bytes[len - 6], bytes[len - 5]]);
    let sha_at = len - CRC_LEN - 2 - 32;
    let suffix_start = len
        .checked_sub(usize::from(suffix_len) + CRC_LEN)
        .filter(|&s| s >= offset + PREFIX_LEN)
        .ok_or(ModuleError::BadSuffix {
            size: suffix_len,
            len,
        })?;
    let sha = if payload_hashed(prefix.function) {
        Sha256::digest(&bytes[offset + PREFIX_LEN..suffix_start])
    } else {
        Sha256::digest(&bytes[..sha_at])
    };
    bytes[sha_at..sha_at + 32].copy_from_slice(&sha);
    let crc = crc32fast::hash(&bytes[..len - CRC_LEN]);
    bytes[len - CRC_LEN..].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// A copy of a module with suffix extensions put before its fixed suffix, as
/// binary-version-reader's `addModuleExtensions` does on Gen3 (the suffix grows, the end
/// address moves, SHA-256 and CRC are redone). `records` are whole encoded extensions
/// (`extension::encode`); an END record is appended. The module must have a 40-byte suffix.
pub fn with_suffix_extensions(bytes: &[u8], records: &[Vec<u8>]) -> Result<Vec<u8>, ModuleError> {
    let len = bytes.len();
    let suffix_len = usize::from(u16::from_le_bytes([bytes[len - 6], bytes[len - 5]]));
    if suffix_len != 40 {
        return Err(ModuleError::BadSuffix {
            size: suffix_len as u16,
            len,
        });
    }
    let mut exts: Vec<u8> = records.concat();
    exts.extend(super::extension::encode(super::extension::END, &[]));
    let suffix_start = len - CRC_LEN - suffix_len;
    let mut out = bytes[..suffix_start].to_vec();
    out.extend_from_slice(&exts);
    out.extend_from_slice(&bytes[suffix_start..]);
    let new_suffix =
        u16::try_from(suffix_len + exts.len()).map_err(|_| ModuleError::BadSuffix {
            size: u16::MAX,
            len: out.len(),
        })?;
    let n = out.len();
    out[n - 6..n - 4].copy_from_slice(&new_suffix.to_le_bytes());
    let (prefix, offset) = find_prefix(&out)?;
    let end = prefix.start_address + (n - CRC_LEN) as u32;
    out[offset + 4..offset + 8].copy_from_slice(&end.to_le_bytes());
    reseal(&mut out)?;
    Ok(out)
}

/// Prefix byte offsets, for `edit_prefix` callers.
pub mod field {
    pub const START: usize = 0;
    pub const END: usize = 4;
    pub const MCU_TARGET: usize = 8;
    pub const FLAGS: usize = 9;
    pub const VERSION: usize = 10;
    pub const PLATFORM: usize = 12;
    pub const FUNCTION: usize = 14;
    pub const INDEX: usize = 15;
    pub const DEP1: usize = 16;
    pub const DEP2: usize = 20;
}

/// Moves a module to `start` (start and end address), re-sealed.
pub fn move_to(bytes: &mut [u8], start: u32) -> Result<(), ModuleError> {
    let len = bytes.len() as u32;
    edit_prefix(bytes, |p| {
        p[field::START..field::START + 4].copy_from_slice(&start.to_le_bytes());
        p[field::END..field::END + 4]
            .copy_from_slice(&(start + len - CRC_LEN as u32).to_le_bytes());
    })
}
