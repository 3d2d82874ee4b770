//! The Particle module binary format: a 24-byte prefix that says where the module goes and
//! what it needs, and a suffix ending in a SHA-256 and a big-endian CRC-32.
//!
//! Parsing never panics: every length is checked before it is sliced (see the property test).

mod function;
mod platform;
pub mod reseal;

pub use function::ModuleFunction;
pub use platform::{Platform, PARTICLE_VID};

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;

pub const PREFIX_LEN: usize = 24;
/// Suffix sizes Device OS writes: 36 (reserved, sha, size) and 40 (product id/version added).
const MIN_SUFFIX_LEN: usize = 36;
pub const CRC_LEN: usize = 4;
/// Prefix flag: the prefix is not part of the image and is dropped when written (softdevice).
pub const FLAG_DROP_MODULE_INFO: u8 = 0x01;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModuleError {
    #[error("truncated: {len} bytes is too short for a module (need at least {need})")]
    Truncated { len: usize, need: usize },
    #[error("unknown module function: no known prefix at 0x0 (function byte {at_0}) or 0x200 (function byte {at_200:?})")]
    UnknownFunction { at_0: u8, at_200: Option<u8> },
    #[error("unknown platform id {0}")]
    UnknownPlatform(u16),
    #[error("end address 0x{end:x} disagrees with the file length: start 0x{start:x} + length {len} - 4 = 0x{expected:x}")]
    EndAddressMismatch {
        start: u32,
        end: u32,
        len: usize,
        expected: u64,
    },
    #[error("bad suffix size {0} (expected 36..=40 and inside the file)")]
    BadSuffix(u16),
    #[error("CRC mismatch: stored 0x{stored:08x}, computed 0x{computed:08x}")]
    CrcMismatch { stored: u32, computed: u32 },
    #[error("SHA-256 mismatch: stored {stored}, computed {computed}")]
    ShaMismatch { stored: String, computed: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Dependency {
    pub function: ModuleFunction,
    pub index: u8,
    pub version: u16,
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{} >= {}", self.function, self.index, self.version)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModulePrefix {
    pub start_address: u32,
    pub end_address: u32,
    pub flags: u8,
    pub version: u16,
    pub platform_id: u16,
    pub function: ModuleFunction,
    pub index: u8,
    pub dependencies: Vec<Dependency>,
}

impl ModulePrefix {
    /// The prefix of a module image that starts at `bytes[0]` (at offset 0 or 0x200, as its
    /// function puts it), e.g. read back from a board's flash.
    pub fn find(bytes: &[u8]) -> Option<(ModulePrefix, usize)> {
        find_prefix(bytes).ok()
    }

    /// Reads a prefix from its 24 bytes (more are ignored). `None` when too short, or when
    /// the function or a dependency function byte is not one Device OS defines.
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b: &[u8; PREFIX_LEN] = b.get(..PREFIX_LEN)?.try_into().ok()?;
        Self::read(b)
    }

    fn read(b: &[u8; PREFIX_LEN]) -> Option<Self> {
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let function = ModuleFunction::from_byte(b[14])?;
        let mut dependencies = Vec::new();
        for at in [16, 20] {
            let dep_function = ModuleFunction::from_byte(b[at])?;
            if dep_function != ModuleFunction::None {
                dependencies.push(Dependency {
                    function: dep_function,
                    index: b[at + 1],
                    version: u16_at(at + 2),
                });
            }
        }
        Some(ModulePrefix {
            start_address: u32_at(0),
            end_address: u32_at(4),
            flags: b[9],
            version: u16_at(10),
            platform_id: u16_at(12),
            function,
            index: b[15],
            dependencies,
        })
    }

    pub fn drops_prefix(&self) -> bool {
        self.flags & FLAG_DROP_MODULE_INFO != 0
    }
}

/// A parsed, structurally sound module file. Integrity (`crc_ok`, `sha_ok`) is recorded
/// rather than refused so `inspect` can show a damaged file; `check_integrity` refuses it.
#[derive(Debug, Clone)]
pub struct Module {
    pub prefix: ModulePrefix,
    pub prefix_offset: usize,
    pub platform: Platform,
    pub suffix_len: u16,
    pub stored_crc: u32,
    pub computed_crc: u32,
    pub stored_sha: [u8; 32],
    pub sha_ok: bool,
    /// SHA-256 of the whole file: what a bundle lock pins.
    pub file_sha256: [u8; 32],
    bytes: Arc<[u8]>,
}

impl Module {
    pub fn parse(bytes: impl Into<Arc<[u8]>>) -> Result<Module, ModuleError> {
        let bytes: Arc<[u8]> = bytes.into();
        let len = bytes.len();
        let need = PREFIX_LEN + MIN_SUFFIX_LEN + CRC_LEN;
        if len < need {
            return Err(ModuleError::Truncated { len, need });
        }
        let (prefix, prefix_offset) = find_prefix(&bytes)?;
        let platform = Platform::by_id(prefix.platform_id)
            .ok_or(ModuleError::UnknownPlatform(prefix.platform_id))?;
        let expected = u64::from(prefix.start_address) + len as u64 - CRC_LEN as u64;
        if u64::from(prefix.end_address) != expected {
            return Err(ModuleError::EndAddressMismatch {
                start: prefix.start_address,
                end: prefix.end_address,
                len,
                expected,
            });
        }
        let suffix_len = u16::from_le_bytes([bytes[len - 6], bytes[len - 5]]);
        let suffix_start = len
            .checked_sub(usize::from(suffix_len) + CRC_LEN)
            .filter(|&s| s >= prefix_offset + PREFIX_LEN);
        let suffix_start = match suffix_start {
            Some(s) if usize::from(suffix_len) >= MIN_SUFFIX_LEN && suffix_len <= 40 => s,
            _ => return Err(ModuleError::BadSuffix(suffix_len)),
        };
        let crc_at = len - CRC_LEN;
        let stored_crc = u32::from_be_bytes([
            bytes[crc_at],
            bytes[crc_at + 1],
            bytes[crc_at + 2],
            bytes[crc_at + 3],
        ]);
        let computed_crc = crc32fast::hash(&bytes[..crc_at]);
        let sha_at = len - CRC_LEN - 2 - 32;
        let mut stored_sha = [0u8; 32];
        stored_sha.copy_from_slice(&bytes[sha_at..sha_at + 32]);
        let sha_ok = sha_candidates(&bytes, &prefix, prefix_offset, suffix_start, sha_at)
            .any(|range| Sha256::digest(range).as_slice() == stored_sha);
        let file_sha256 = Sha256::digest(&bytes).into();
        Ok(Module {
            prefix,
            prefix_offset,
            platform,
            suffix_len,
            stored_crc,
            computed_crc,
            stored_sha,
            sha_ok,
            file_sha256,
            bytes,
        })
    }

    pub fn crc_ok(&self) -> bool {
        self.stored_crc == self.computed_crc
    }

    /// Refuses a module whose CRC or SHA-256 does not match its contents.
    pub fn check_integrity(&self) -> Result<(), ModuleError> {
        if !self.crc_ok() {
            return Err(ModuleError::CrcMismatch {
                stored: self.stored_crc,
                computed: self.computed_crc,
            });
        }
        if !self.sha_ok {
            return Err(ModuleError::ShaMismatch {
                stored: hex::encode(self.stored_sha),
                computed: "(no known range matches)".into(),
            });
        }
        Ok(())
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn function(&self) -> ModuleFunction {
        self.prefix.function
    }

    pub fn index(&self) -> u8 {
        self.prefix.index
    }

    pub fn version(&self) -> u16 {
        self.prefix.version
    }

    /// The bytes that land in flash: the whole file, or the file without its prefix when the
    /// prefix is flagged "drop module info" (the softdevice; particle-cli does the same).
    pub fn image(&self) -> &[u8] {
        if self.prefix.drops_prefix() {
            &self.bytes[PREFIX_LEN..]
        } else {
            &self.bytes
        }
    }

    /// Flash address of the first byte of `image()`.
    pub fn image_address(&self) -> u32 {
        self.prefix.start_address
    }

    /// Half-open flash range `image()` covers.
    pub fn image_range(&self) -> std::ops::Range<u64> {
        let start = u64::from(self.image_address());
        start..start + self.image().len() as u64
    }

    /// Short description used in logs and errors: `system-part#1 v1502`.
    pub fn label(&self) -> String {
        format!("{}#{} v{}", self.function(), self.index(), self.version())
    }
}

fn find_prefix(bytes: &[u8]) -> Result<(ModulePrefix, usize), ModuleError> {
    let at = |offset: usize| -> Option<&[u8; PREFIX_LEN]> {
        bytes.get(offset..offset + PREFIX_LEN)?.try_into().ok()
    };
    for offset in [0usize, 0x200] {
        if let Some(prefix) = at(offset).and_then(ModulePrefix::read) {
            if prefix.function != ModuleFunction::None && prefix.function.prefix_offset() == offset
            {
                return Ok((prefix, offset));
            }
        }
    }
    Err(ModuleError::UnknownFunction {
        at_0: bytes.get(14).copied().unwrap_or(0),
        at_200: bytes.get(0x200 + 14).copied(),
    })
}

/// Ranges the stored SHA-256 may cover. Device OS hashes every byte before the hash; the
/// S140 radio stack (prefix dropped when written) hashes only its payload, between prefix and
/// suffix — seen in Particle's published argon-softdevice@1.5.0.bin, see docs/particle-facts.md.
fn sha_candidates<'a>(
    bytes: &'a [u8],
    prefix: &ModulePrefix,
    prefix_offset: usize,
    suffix_start: usize,
    sha_at: usize,
) -> impl Iterator<Item = &'a [u8]> {
    let payload = prefix
        .drops_prefix()
        .then(|| &bytes[prefix_offset + PREFIX_LEN..suffix_start]);
    std::iter::once(&bytes[..sha_at]).chain(payload)
}

#[cfg(test)]
mod tests;
