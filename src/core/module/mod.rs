//! The Particle module binary format, whole: a 24-byte prefix that says where the module goes
//! and what it needs (with TLV extensions when flagged), the body (raw, or compressed, or
//! followed by another module when combined), and a suffix — extensions, product data, a
//! SHA-256, its own size — ending in a big-endian CRC-32.
//!
//! Sources: Device OS `dynalib/inc/module_info.h` @ v6.2.0; binary-version-reader
//! `lib/HalModuleParser.js` (`_readPrefix`, `_readSuffix`, `_readExtension`) and
//! `lib/moduleEncoding.js` (compress, combine, assets). Parsing never panics: every length is
//! checked before it is sliced (see the property tests and tests/fuzz.rs).

mod compressed;
mod error;
pub mod extension;
mod function;
mod prefix;
pub mod reseal;

pub use crate::core::target::platform::{Platform, PARTICLE_VID};
pub use compressed::{CompressedHeader, MAX_ORIGINAL_SIZE};
pub use error::ModuleError;
pub use extension::{AssetDependency, Extension};
pub use function::ModuleFunction;
pub use prefix::{Dependency, Flags, ModulePrefix, PREFIX_LEN};

use prefix::find_prefix;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::sync::Arc;

/// The fixed suffix: u16 reserved, SHA-256, u16 size (`module_info_suffix_base_t`).
const MIN_SUFFIX_LEN: usize = 36;
/// Up to 40 the suffix is fixed (36, or 40 with a u16 product id and version before it);
/// past 40, extensions start at len − 4 − suffix size (binary-version-reader `_readSuffix`).
const FIXED_SUFFIX_MAX: usize = 40;
pub const CRC_LEN: usize = 4;
/// Kept for callers that test the flag byte directly; see [`Flags`].
pub const FLAG_DROP_MODULE_INFO: u8 = Flags::DROP_MODULE_INFO;
/// Device OS applies at most two modules of a combined file (`MAX_COMBINED_MODULE_COUNT`,
/// hal/src/nRF52840/ota_flash_hal.cpp:578 @ v6.2.0); a file of more is read, not sent.
pub const MAX_COMBINED_APPLIED: usize = 2;
/// A combined file of more parts than this is not one Particle's tools make.
const MAX_COMBINED_PARTS: usize = 16;

/// The shape a module file has, which decides how it can reach a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModuleForm {
    /// The bytes that land in flash, as they are (maybe without the prefix).
    Plain,
    /// Raw deflate Device OS inflates when it installs the module.
    Compressed,
    /// Several modules in one file, each with its own prefix, suffix and CRC.
    Combined,
    /// Only rtl872x Device OS decrypts it.
    Encrypted,
}

/// Product id and version as binary-version-reader reads them: the u16 pair just before the
/// fixed suffix when the suffix size is 40 or more (a product data extension lands there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Product {
    pub id: u16,
    pub version: u16,
}

/// What a compressed module holds.
#[derive(Debug, Clone)]
pub struct Compressed {
    pub header: CompressedHeader,
    /// Bytes of deflate data between the header and the suffix.
    pub data_len: usize,
    /// The inflated module (or, for an asset, its payload's hash), or why it could not be had.
    pub inner: Result<Inner, String>,
}

#[derive(Debug, Clone)]
pub enum Inner {
    /// A whole module: prefix, body, suffix and its own CRC — checked like any module.
    Module(Box<Module>),
    /// The payload of a drop-module-info module (an asset): only its SHA-256 is kept.
    Payload { sha256: [u8; 32] },
}

/// A parsed, structurally sound module file. Integrity (CRC, SHA-256, the inflated module)
/// is recorded rather than refused so `inspect` can show a damaged file; `check_integrity`
/// refuses it.
#[derive(Debug, Clone)]
pub struct Module {
    pub prefix: ModulePrefix,
    pub prefix_offset: usize,
    pub platform: Platform,
    /// The prefix with its extensions, if any.
    prefix_size: usize,
    pub suffix_len: u16,
    stored_crc: u32,
    computed_crc: u32,
    stored_sha: [u8; 32],
    sha_ok: bool,
    /// SHA-256 of the whole file: what a bundle lock pins.
    pub file_sha256: [u8; 32],
    extensions: Vec<Extension>,
    product: Option<Product>,
    compressed: Option<Compressed>,
    /// A combined file's modules, the first included; empty otherwise.
    parts: Vec<Module>,
    bytes: Arc<[u8]>,
}

impl Module {
    pub fn parse(bytes: impl Into<Arc<[u8]>>) -> Result<Module, ModuleError> {
        let bytes: Arc<[u8]> = bytes.into();
        match find_prefix(&bytes) {
            Ok((p, _)) if p.flags().combined() => parse_combined(bytes),
            _ => parse_one(bytes, false),
        }
    }

    pub fn crc_ok(&self) -> bool {
        match self.parts.is_empty() {
            true => self.stored_crc == self.computed_crc,
            false => self.parts.iter().all(Module::crc_ok),
        }
    }

    /// Whether the stored SHA-256 matches what Particle's tools hash (see `sha_candidates`).
    pub fn sha_ok(&self) -> bool {
        match self.parts.is_empty() {
            true => self.sha_ok,
            false => self.parts.iter().all(Module::sha_ok),
        }
    }

    /// Refuses a module whose CRC, SHA-256, inflated module or asset hash does not match.
    pub fn check_integrity(&self) -> Result<(), ModuleError> {
        if !self.parts.is_empty() {
            for (i, part) in self.parts.iter().enumerate() {
                part.check_integrity()
                    .map_err(|source| ModuleError::in_part(i, source))?;
            }
            return Ok(());
        }
        if self.stored_crc != self.computed_crc {
            return Err(ModuleError::CrcMismatch {
                stored: self.stored_crc,
                computed: self.computed_crc,
            });
        }
        if !self.sha_ok {
            return Err(ModuleError::ShaMismatch {
                stored: hex::encode(self.stored_sha),
                computed: hex::encode(Sha256::digest(&self.bytes[..self.bytes.len() - 38])),
            });
        }
        match self.compressed.as_ref().map(|c| &c.inner) {
            None => Ok(()),
            Some(Err(reason)) => Err(ModuleError::Inflated(reason.clone())),
            Some(Ok(Inner::Module(inner))) => inner
                .check_integrity()
                .map_err(|e| ModuleError::Inflated(e.to_string())),
            Some(Ok(Inner::Payload { sha256 })) => match self.asset_hash() {
                Some(hash) if hash != sha256 => Err(ModuleError::Inflated(format!(
                    "the asset's contents hash to {}, its hash extension says {}",
                    hex::encode(sha256),
                    hex::encode(hash)
                ))),
                _ => Ok(()),
            },
        }
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

    pub fn flags(&self) -> Flags {
        self.prefix.flags()
    }

    /// The prefix's size with its extensions (24 without).
    pub fn prefix_size(&self) -> usize {
        self.prefix_size
    }

    pub fn stored_sha(&self) -> [u8; 32] {
        self.stored_sha
    }

    pub fn form(&self) -> ModuleForm {
        let flags = || std::iter::once(self).chain(&self.parts).map(Module::flags);
        if flags().any(Flags::encrypted) {
            ModuleForm::Encrypted
        } else if !self.parts.is_empty() {
            ModuleForm::Combined
        } else if self.flags().compressed() {
            ModuleForm::Compressed
        } else {
            ModuleForm::Plain
        }
    }

    pub fn compressed(&self) -> Option<&Compressed> {
        self.compressed.as_ref()
    }

    /// A combined file's modules, in file order; `None` for a file of one module.
    pub fn combined_parts(&self) -> Option<&[Module]> {
        (!self.parts.is_empty()).then_some(self.parts.as_slice())
    }

    /// Prefix extensions, then suffix extensions, in file order.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    pub fn product(&self) -> Option<Product> {
        self.product
    }

    /// The NAME extension (an asset's file name).
    pub fn name(&self) -> Option<&str> {
        self.extensions.iter().find_map(|e| match e {
            Extension::Name { name } => Some(name.as_str()),
            _ => None,
        })
    }

    /// The HASH extension: the SHA-256 of an asset's contents.
    pub fn asset_hash(&self) -> Option<&[u8]> {
        self.extensions.iter().find_map(|e| match e {
            Extension::Hash { hash, .. } => Some(hash.as_slice()),
            _ => None,
        })
    }

    /// The assets an application needs on the board (ASSET_DEPENDENCY extensions).
    pub fn asset_dependencies(&self) -> Vec<&AssetDependency> {
        self.extensions
            .iter()
            .filter_map(|e| match e {
                Extension::AssetDependency(a) => Some(a),
                _ => None,
            })
            .collect()
    }

    /// The SECURITY_MODE extension's mode (1: protected) and certificate length.
    pub fn security_mode(&self) -> Option<(u8, usize)> {
        self.extensions.iter().find_map(|e| match e {
            Extension::SecurityMode {
                mode,
                certificate_len,
            } => Some((*mode, *certificate_len)),
            _ => None,
        })
    }

    /// A bootloader made for a protected device (Device Protection).
    pub fn is_protected(&self) -> bool {
        self.security_mode()
            .is_some_and(|(mode, _)| mode == extension::SECURITY_MODE_PROTECTED)
    }

    /// Whether the module lives in the nRF52840's internal flash (NCP firmware lives on the
    /// coprocessor, assets in the asset store on external flash).
    pub fn in_internal_flash(&self) -> bool {
        !matches!(
            self.function(),
            ModuleFunction::NcpFirmware | ModuleFunction::Asset
        )
    }

    /// The bytes that land in flash when written as they are: the whole file, or the file
    /// without its prefix when flagged "drop module info" (the softdevice; particle-cli does
    /// the same). Only a plain module is written this way.
    pub fn image(&self) -> &[u8] {
        if self.prefix.drops_prefix() && self.parts.is_empty() {
            &self.bytes[self.prefix_size..]
        } else {
            &self.bytes
        }
    }

    /// Flash address of the first byte of `image()`.
    pub fn image_address(&self) -> u32 {
        self.prefix.start_address
    }

    /// Half-open flash range `image()` covers.
    pub fn image_range(&self) -> Range<u64> {
        let start = u64::from(self.image_address());
        start..start + self.image().len() as u64
    }

    /// The internal flash this module occupies once installed, whatever its form: a
    /// compressed module its inflated size; `None` for a combined file (see its parts) and
    /// for what lives outside internal flash.
    pub fn footprint(&self) -> Option<Range<u64>> {
        if !self.in_internal_flash() || !self.parts.is_empty() {
            return None;
        }
        match &self.compressed {
            Some(c) => {
                let start = u64::from(self.image_address());
                Some(start..start + u64::from(c.header.original_size))
            }
            None => Some(self.image_range()),
        }
    }

    /// `system-part#1`: what the module is, without its version.
    pub fn slot_label(&self) -> String {
        format!("{}#{}", self.function(), self.index())
    }

    /// Short description used in logs and errors: `system-part#1 v1502`.
    pub fn label(&self) -> String {
        format!("{} v{}", self.slot_label(), self.version())
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

/// One module: the whole of `bytes`. `nested` is set for the inside of a compressed module,
/// which may not be compressed again.
fn parse_one(bytes: Arc<[u8]>, nested: bool) -> Result<Module, ModuleError> {
    let len = bytes.len();
    let need = PREFIX_LEN + MIN_SUFFIX_LEN + CRC_LEN;
    if len < need {
        return Err(ModuleError::Truncated { len, need });
    }
    let (prefix, prefix_offset) = find_prefix(&bytes)?;
    let platform = prefix
        .platform()
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
    let flags = prefix.flags();
    // The fixed suffix (reserved, SHA-256, size) is the last 36 bytes before the CRC.
    let suffix_base = len - CRC_LEN - MIN_SUFFIX_LEN;
    let mut extensions = Vec::new();
    let mut prefix_size = PREFIX_LEN;
    if flags.prefix_extensions() {
        let start = prefix_offset + PREFIX_LEN;
        let (exts, end) =
            extension::read_all(&bytes, start, suffix_base, true).map_err(|reason| {
                ModuleError::BadExtension {
                    place: "prefix",
                    reason,
                }
            })?;
        extensions = exts;
        prefix_size = end - prefix_offset;
    }
    let body_start = prefix_offset + prefix_size;
    let suffix_len = u16_at(&bytes, len - 6);
    let suffix_start = len
        .checked_sub(usize::from(suffix_len) + CRC_LEN)
        .filter(|&s| s >= body_start && usize::from(suffix_len) >= MIN_SUFFIX_LEN)
        .ok_or(ModuleError::BadSuffix {
            size: suffix_len,
            len,
        })?;
    if usize::from(suffix_len) > FIXED_SUFFIX_MAX {
        let (exts, _) =
            extension::read_all(&bytes, suffix_start, suffix_base, false).map_err(|reason| {
                ModuleError::BadExtension {
                    place: "suffix",
                    reason,
                }
            })?;
        extensions.extend(exts);
    }
    let product = (usize::from(suffix_len) >= FIXED_SUFFIX_MAX).then(|| Product {
        id: u16_at(&bytes, len - 44),
        version: u16_at(&bytes, len - 42),
    });
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
    let sha_ok = sha_candidates(&bytes, &prefix, body_start, suffix_start, sha_at)
        .any(|range| Sha256::digest(range).as_slice() == stored_sha);
    let compressed = match flags.compressed() {
        false => None,
        true if nested => {
            return Err(ModuleError::BadCompression(
                "a compressed module inside a compressed module".into(),
            ))
        }
        true => Some(read_compressed(&bytes, &prefix, body_start, suffix_start)?),
    };
    let file_sha256 = Sha256::digest(&bytes).into();
    Ok(Module {
        prefix,
        prefix_offset,
        platform,
        prefix_size,
        suffix_len,
        stored_crc,
        computed_crc,
        stored_sha,
        sha_ok,
        file_sha256,
        extensions,
        product,
        compressed,
        parts: Vec::new(),
        bytes,
    })
}

/// The header and, inflated, what it holds. A broken header is structural (the file is not
/// a module); data that does not inflate is an integrity failure, shown by `inspect`.
fn read_compressed(
    bytes: &[u8],
    outer: &ModulePrefix,
    body_start: usize,
    suffix_start: usize,
) -> Result<Compressed, ModuleError> {
    let header = CompressedHeader::read(bytes, body_start).map_err(ModuleError::BadCompression)?;
    let data_start = body_start + usize::from(header.size);
    let data = bytes.get(data_start..suffix_start).ok_or_else(|| {
        ModuleError::BadCompression(format!(
            "the {}-byte compressed-module header runs into the suffix",
            header.size
        ))
    })?;
    let inner = compressed::inflate(data, header.original_size).and_then(|out| {
        if outer.drops_prefix() {
            return Ok(Inner::Payload {
                sha256: Sha256::digest(&out).into(),
            });
        }
        let inner = parse_one(out.into(), true).map_err(|e| e.to_string())?;
        let same = |p: &ModulePrefix| {
            (
                p.function,
                p.index,
                p.version,
                p.platform_id,
                p.start_address,
            )
        };
        if same(&inner.prefix) != same(outer) {
            return Err(format!(
                "it inflates to {} at 0x{:05x}, but its prefix says {} v{} at 0x{:05x}",
                inner.label(),
                inner.prefix.start_address,
                outer.function,
                outer.version,
                outer.start_address
            ));
        }
        Ok(Inner::Module(Box::new(inner)))
    });
    Ok(Compressed {
        header,
        data_len: data.len(),
        inner,
    })
}

/// A combined file: modules one after another, each but the last flagged COMBINED, each
/// with its own prefix, suffix and CRC (binary-version-reader `combineModules`,
/// `splitCombinedModules`; Device OS `fetchModules`, ota_flash_hal.cpp:468-495 @ v6.2.0).
fn parse_combined(bytes: Arc<[u8]>) -> Result<Module, ModuleError> {
    let mut parts: Vec<Module> = Vec::new();
    let mut at = 0;
    loop {
        let n = parts.len();
        let rest = &bytes[at..];
        let (p, _) = find_prefix(rest).map_err(|e| ModuleError::in_part(n, e))?;
        let size = (p.end_address - p.start_address) as usize + CRC_LEN;
        let part_bytes = rest.get(..size).ok_or_else(|| {
            ModuleError::in_part(
                n,
                ModuleError::Combined(format!(
                    "its prefix says {size} bytes, {} are left in the file",
                    rest.len()
                )),
            )
        })?;
        let part =
            parse_one(Arc::from(part_bytes), false).map_err(|e| ModuleError::in_part(n, e))?;
        let more = part.flags().combined();
        parts.push(part);
        at += size;
        if !more {
            break;
        }
        if at >= bytes.len() {
            return Err(ModuleError::Combined(format!(
                "part {} says another module follows, but the file ends",
                n + 1
            )));
        }
        if parts.len() == MAX_COMBINED_PARTS {
            return Err(ModuleError::Combined(format!(
                "more than {MAX_COMBINED_PARTS} modules in one file"
            )));
        }
    }
    if at != bytes.len() {
        return Err(ModuleError::Combined(format!(
            "{} bytes follow the last module, which does not say another follows",
            bytes.len() - at
        )));
    }
    let first = parts[0].clone();
    Ok(Module {
        file_sha256: Sha256::digest(&bytes).into(),
        bytes,
        parts,
        ..first
    })
}

/// Ranges the stored SHA-256 may cover. Device OS's build and binary-version-reader hash
/// every byte before the hash; the modules Device OS wraps around a raw binary with
/// `build/create_module.py` — the radio stack (Nordic's SoftDevice) and NCP firmware — hash
/// only that binary, the payload between prefix and suffix (create_module.py:200 @ v6.2.0).
/// It is the wrapping tool, not a prefix flag: the Argon NCP module has flags 0x00.
fn sha_candidates<'a>(
    bytes: &'a [u8],
    prefix: &ModulePrefix,
    body_start: usize,
    suffix_start: usize,
    sha_at: usize,
) -> impl Iterator<Item = &'a [u8]> {
    let payload = payload_hashed(prefix.function).then(|| &bytes[body_start..suffix_start]);
    std::iter::once(&bytes[..sha_at]).chain(payload)
}

/// Functions whose modules `create_module.py` makes from a raw binary.
pub(crate) fn payload_hashed(function: ModuleFunction) -> bool {
    matches!(
        function,
        ModuleFunction::RadioStack | ModuleFunction::NcpFirmware
    )
}

#[cfg(test)]
mod tests;
