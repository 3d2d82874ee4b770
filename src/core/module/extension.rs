//! Module info extensions: TLV records {u16 type, u16 length (header included), data} after
//! the prefix (flag 0x10) or before the suffix (suffix size > 40). Types and layouts:
//! Device OS `dynalib/inc/module_info.h:213-300` @ v6.2.0; ASSET_TYPE (0x14) is only in
//! binary-version-reader (`lib/ModuleInfo.js`, `moduleEncoding.js` encodeModuleExtension).
//!
//! Reading follows binary-version-reader's `_readExtension` and stops where it stops; where it
//! would read past a record's end or throw, this returns an error instead. Never panics.

use serde::Serialize;

pub const END: u16 = 0x0000;
pub const PRODUCT_DATA: u16 = 0x0001;
pub const DYNAMIC_LOCATION: u16 = 0x0002;
pub const DEPENDENCY: u16 = 0x0003;
pub const HASH: u16 = 0x0010;
pub const NAME: u16 = 0x0011;
pub const ASSET_DEPENDENCY: u16 = 0x0012;
pub const SECURITY_MODE: u16 = 0x0013;
pub const ASSET_TYPE: u16 = 0x0014;
pub const INVALID: u16 = 0xffff;
const HEADER: usize = 4;

/// `module_info_security_mode`: 1 is PROTECTED (module_info.h:268-272).
pub const SECURITY_MODE_PROTECTED: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Extension {
    End {
        length: u16,
    },
    /// binary-version-reader reads the upper 16 bits of Device OS's u32 id (it skips two
    /// bytes), and that is what it and particle-cli report: so do we.
    ProductData {
        id: u16,
        version: u16,
    },
    DynamicLocation {
        module_start: u32,
        dynalib_load: u32,
        dynalib_start: u32,
    },
    Dependency {
        function: u8,
        index: u8,
        version: u16,
        target_id: u32,
    },
    /// The SHA-256 of an asset's contents (asset modules).
    Hash {
        hash_type: u8,
        #[serde(with = "hex_bytes")]
        hash: Vec<u8>,
    },
    Name {
        name: String,
    },
    AssetDependency(AssetDependency),
    SecurityMode {
        mode: u8,
        certificate_len: usize,
    },
    AssetType {
        asset_type: u8,
    },
    Unknown {
        code: u16,
        length: u16,
    },
}

/// An application's need for an asset: its name and the SHA-256 of its contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetDependency {
    pub name: String,
    pub hash_type: u8,
    #[serde(with = "hex_bytes")]
    pub hash: Vec<u8>,
}

impl Extension {
    pub fn code(&self) -> u16 {
        match self {
            Extension::End { .. } => END,
            Extension::ProductData { .. } => PRODUCT_DATA,
            Extension::DynamicLocation { .. } => DYNAMIC_LOCATION,
            Extension::Dependency { .. } => DEPENDENCY,
            Extension::Hash { .. } => HASH,
            Extension::Name { .. } => NAME,
            Extension::AssetDependency(_) => ASSET_DEPENDENCY,
            Extension::SecurityMode { .. } => SECURITY_MODE,
            Extension::AssetType { .. } => ASSET_TYPE,
            Extension::Unknown { code, .. } => *code,
        }
    }
}

/// Reads extensions from `bytes[start..limit]` until END, an INVALID type, or the limit, and
/// returns them with the offset just past the last one. `need_end` (prefix extensions)
/// refuses a list that stops without END, as Device OS and binary-version-reader do.
pub fn read_all(
    bytes: &[u8],
    start: usize,
    limit: usize,
    need_end: bool,
) -> Result<(Vec<Extension>, usize), String> {
    let limit = limit.min(bytes.len());
    let mut at = start;
    let mut out = Vec::new();
    while at + HEADER <= limit {
        let code = u16_at(bytes, at);
        let length = u16_at(bytes, at + 2);
        if code == INVALID {
            break;
        }
        let len = usize::from(length);
        if len < HEADER {
            return Err(format!(
                "extension at offset {at} has length {length}, shorter than its own header"
            ));
        }
        let Some(data) = bytes
            .get(at + HEADER..at + len)
            .filter(|_| at + len <= limit)
        else {
            return Err(format!(
                "extension 0x{code:04x} at offset {at} runs {len} bytes, past the end of its area (offset {limit})"
            ));
        };
        let ext = parse_one(code, length, data).ok_or_else(|| {
            format!("extension 0x{code:04x} at offset {at} is too short ({len} bytes)")
        })?;
        out.push(ext);
        at += len;
        if code == END {
            return Ok((out, at));
        }
    }
    if need_end {
        return Err("prefix extensions do not end with an END extension".into());
    }
    Ok((out, at))
}

fn parse_one(code: u16, length: u16, d: &[u8]) -> Option<Extension> {
    let u8_at = |i: usize| d.get(i).copied();
    let u16_ = |i: usize| Some(u16::from_le_bytes(d.get(i..i + 2)?.try_into().ok()?));
    let u32_ = |i: usize| Some(u32::from_le_bytes(d.get(i..i + 4)?.try_into().ok()?));
    Some(match code {
        END => Extension::End { length },
        PRODUCT_DATA => Extension::ProductData {
            id: u16_(2)?,
            version: u16_(4)?,
        },
        DYNAMIC_LOCATION => Extension::DynamicLocation {
            module_start: u32_(0)?,
            dynalib_load: u32_(4)?,
            dynalib_start: u32_(8)?,
        },
        DEPENDENCY => Extension::Dependency {
            function: u8_at(0)?,
            index: u8_at(1)?,
            version: u16_(2)?,
            target_id: u32_(4)?,
        },
        HASH => Extension::Hash {
            hash_type: u8_at(0)?,
            // binary-version-reader takes the rest of the record as the hash.
            hash: d.get(2..)?.to_vec(),
        },
        NAME => Extension::Name {
            name: String::from_utf8_lossy(d).into_owned(),
        },
        ASSET_DEPENDENCY => {
            let hash_len = usize::from(u8_at(1)?);
            Extension::AssetDependency(AssetDependency {
                hash_type: u8_at(0)?,
                hash: d.get(2..2 + hash_len)?.to_vec(),
                name: String::from_utf8_lossy(d.get(2 + hash_len..)?).into_owned(),
            })
        }
        SECURITY_MODE => Extension::SecurityMode {
            mode: u8_at(0)?,
            certificate_len: d.len().saturating_sub(1),
        },
        ASSET_TYPE => Extension::AssetType {
            asset_type: u8_at(0)?,
        },
        _ => Extension::Unknown { code, length },
    })
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

/// Encodes one extension record; for tests and tools that build modules (never a bundle's).
pub fn encode(code: u16, data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(HEADER + data.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(usize::from(len));
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(data);
    out
}

mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_until_end_and_bad_lengths_are_refused() {
        let mut b = encode(NAME, b"hello.txt");
        b.extend(encode(ASSET_TYPE, &[1, 0]));
        b.extend(encode(END, &[]));
        b.extend([0xAA; 8]);
        let (exts, end) = read_all(&b, 0, b.len(), true).unwrap();
        assert_eq!(end, b.len() - 8);
        assert_eq!(exts.len(), 3);
        assert_eq!(
            exts[0],
            Extension::Name {
                name: "hello.txt".into()
            }
        );
        assert_eq!(exts[1], Extension::AssetType { asset_type: 1 });
        let short = encode(PRODUCT_DATA, &[1, 2]);
        assert!(read_all(&short, 0, short.len(), false)
            .unwrap_err()
            .contains("too short"));
        let zero = [0x11, 0, 0, 0];
        assert!(read_all(&zero, 0, 4, false)
            .unwrap_err()
            .contains("shorter than its own header"));
        let long = encode(NAME, b"abc");
        assert!(read_all(&long, 0, long.len() - 1, false)
            .unwrap_err()
            .contains("past the end"));
        let no_end = encode(NAME, b"abc");
        assert!(read_all(&no_end, 0, no_end.len(), true)
            .unwrap_err()
            .contains("END"));
    }
}
