//! Why a file is not a module flashline can use, said so that the user knows what the file is
//! and what to use instead.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModuleError {
    #[error("truncated: {len} bytes is too short for a module (need at least {need})")]
    Truncated { len: usize, need: usize },
    #[error(
        "not a Particle module: no module prefix at 0x0 (function byte {at_0}) or 0x200 \
         (function byte {}); use the .bin files Device OS and particle-cli build (not .hex, .elf or .zip)",
        at_200.map_or("-".to_string(), |b| b.to_string())
    )]
    NotAModule { at_0: u8, at_200: Option<u8> },
    #[error("built for platform id {0}, which flashline does not know (known: {known})", known = crate::core::target::platform::Platform::names().join(", "))]
    UnknownPlatform(u16),
    #[error("{}", length_mismatch(*start, *end, *len))]
    EndAddressMismatch {
        start: u32,
        end: u32,
        len: usize,
        expected: u64,
    },
    #[error("suffix size {size} does not fit a {len}-byte module (the suffix is at least 36 bytes and ends the file before the CRC)")]
    BadSuffix { size: u16, len: usize },
    #[error("{place} extensions: {reason}")]
    BadExtension { place: &'static str, reason: String },
    #[error("compressed module: {0}")]
    BadCompression(String),
    #[error("combined module file: {0}")]
    Combined(String),
    #[error("module {} of the combined file: {source}", part + 1)]
    InPart {
        part: usize,
        source: Box<ModuleError>,
    },
    #[error("CRC mismatch: stored 0x{stored:08x}, computed 0x{computed:08x} (the file was damaged or changed after it was built)")]
    CrcMismatch { stored: u32, computed: u32 },
    #[error("SHA-256 mismatch: the suffix holds {stored}, the module hashes to {computed} (the file was changed after it was built, and its CRC redone)")]
    ShaMismatch { stored: String, computed: String },
    #[error("compressed module, inflated: {0}")]
    Inflated(String),
}

impl ModuleError {
    pub(super) fn in_part(part: usize, source: ModuleError) -> ModuleError {
        ModuleError::InPart {
            part,
            source: Box::new(source),
        }
    }
}

/// A file whose length is not what its module info says: cut short (a failed download, `head
/// -c`) or longer (something appended), with the numbers to check.
fn length_mismatch(start: u32, end: u32, len: usize) -> String {
    let says = u64::from(end.saturating_sub(start)) + 4;
    let what = match (len as u64).cmp(&says) {
        std::cmp::Ordering::Less => "truncated",
        _ => "longer than its module",
    };
    format!(
        "{what}: the file is {len} bytes, its module info says {says} (0x{start:x}..0x{end:x} \
         and a 4-byte CRC)"
    )
}
