//! Compressed modules (prefix flag 0x02): after the prefix, a `compressed_module_header`
//! {u16 size, u8 method, u8 window_bits, u32 original_size} (dynalib/inc/module_info.h:171-197
//! @ v6.2.0), then raw deflate, then the original suffix and a CRC over the compressed file.
//! binary-version-reader's `compressModule` writes it; Device OS inflates it when it installs
//! the module from its OTA area. Inflating here is bounded by the header's size and a maximum.

use serde::Serialize;

/// The header's own size, as Device OS and binary-version-reader write it.
pub const HEADER_LEN: usize = 8;
/// No module Device OS can hold inflates past this: the OTA area is 1500 KiB
/// (ota_module_bounds.c, START refuses larger), internal flash 1 MiB.
pub const MAX_ORIGINAL_SIZE: u32 = 2 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CompressedHeader {
    pub size: u16,
    /// 0 = raw deflate, the only method there is.
    pub method: u8,
    /// log2 of the deflate window, 8..=15, or 0 for the default (15).
    pub window_bits: u8,
    pub original_size: u32,
}

impl CompressedHeader {
    /// Reads and checks the header at `bytes[at..]`; the reason says what is wrong.
    pub fn read(bytes: &[u8], at: usize) -> Result<CompressedHeader, String> {
        let b = bytes
            .get(at..at + HEADER_LEN)
            .ok_or("the compressed-module header is cut off")?;
        let h = CompressedHeader {
            size: u16::from_le_bytes([b[0], b[1]]),
            method: b[2],
            window_bits: b[3],
            original_size: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        };
        if usize::from(h.size) < HEADER_LEN {
            return Err(format!(
                "compressed-module header size {} (at least {HEADER_LEN})",
                h.size
            ));
        }
        if h.method != 0 {
            return Err(format!(
                "compression method {} (Device OS and binary-version-reader know only 0, raw deflate)",
                h.method
            ));
        }
        if h.window_bits != 0 && !(8..=15).contains(&h.window_bits) {
            return Err(format!(
                "deflate window of {} bits (8..=15, or 0)",
                h.window_bits
            ));
        }
        if h.original_size > MAX_ORIGINAL_SIZE {
            return Err(format!(
                "inflates to {} bytes, more than any module ({MAX_ORIGINAL_SIZE} max)",
                h.original_size
            ));
        }
        Ok(h)
    }
}

/// Inflates raw deflate data to exactly `original_size` bytes, never more.
pub fn inflate(data: &[u8], original_size: u32) -> Result<Vec<u8>, String> {
    let want = original_size as usize;
    let out =
        miniz_oxide::inflate::decompress_to_vec_with_limit(data, want).map_err(|e| {
            match e.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                    format!("the data inflates past the header's original size {want}")
                }
                status => format!("the deflate data is damaged ({status:?})"),
            }
        })?;
    if out.len() != want {
        return Err(format!(
            "the data inflates to {} bytes, the header says {want}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_checked_and_inflating_stops_at_its_size() {
        let mut h = [8, 0, 0, 0, 0, 0, 0, 0];
        h[4..].copy_from_slice(&5u32.to_le_bytes());
        assert_eq!(CompressedHeader::read(&h, 0).unwrap().original_size, 5);
        let mut bad = h;
        bad[2] = 1;
        assert!(CompressedHeader::read(&bad, 0)
            .unwrap_err()
            .contains("method 1"));
        bad = h;
        bad[4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(CompressedHeader::read(&bad, 0)
            .unwrap_err()
            .contains("more than any module"));
        assert!(CompressedHeader::read(&h[..7], 0).is_err());
        // Raw deflate, one stored block holding "hello".
        let stored = [0x01, 0x05, 0x00, 0xFA, 0xFF, b'h', b'e', b'l', b'l', b'o'];
        assert_eq!(inflate(&stored, 5).unwrap(), b"hello");
        assert!(inflate(&stored, 4).unwrap_err().contains("past"));
        assert!(inflate(&stored, 6).unwrap_err().contains("header says 6"));
        assert!(inflate(&[0xFF; 10], 5).is_err());
    }
}
