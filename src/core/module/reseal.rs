//! Re-sealing a module after its bytes changed: recompute the SHA-256 and CRC-32 the way
//! Device OS does. Used to derive test modules (another platform, another version) from real
//! ones, and by the simulator; never on a bundle's own files.

use sha2::{Digest, Sha256};

use super::{find_prefix, ModuleError, PREFIX_LEN};

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

/// Recomputes the stored SHA-256 (over every byte before it, or the payload for a module
/// whose prefix is dropped) and the big-endian CRC-32 of everything before the CRC.
pub fn reseal(bytes: &mut [u8]) -> Result<(), ModuleError> {
    let len = bytes.len();
    let need = PREFIX_LEN + 40;
    if len < need {
        return Err(ModuleError::Truncated { len, need });
    }
    let (prefix, offset) = find_prefix(bytes)?;
    let suffix_len = usize::from(u16::from_le_bytes([bytes[len - 6], bytes[len - 5]]));
    let sha_at = len - 4 - 2 - 32;
    let suffix_start = len
        .checked_sub(suffix_len + 4)
        .filter(|&s| s >= offset + PREFIX_LEN)
        .ok_or(ModuleError::BadSuffix(suffix_len as u16))?;
    let sha = if prefix.drops_prefix() {
        Sha256::digest(&bytes[offset + PREFIX_LEN..suffix_start])
    } else {
        Sha256::digest(&bytes[..sha_at])
    };
    bytes[sha_at..sha_at + 32].copy_from_slice(&sha);
    let crc = crc32fast::hash(&bytes[..len - 4]);
    bytes[len - 4..].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// Prefix byte offsets, for `edit_prefix` callers.
pub mod field {
    pub const VERSION: usize = 10;
    pub const PLATFORM: usize = 12;
    pub const FUNCTION: usize = 14;
    pub const INDEX: usize = 15;
    pub const DEP1: usize = 16;
    pub const DEP2: usize = 20;
}
