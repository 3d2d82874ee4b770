//! A tar reader for archives off a USB stick. They are read before their signature is
//! checked, so this reads no entry's data at all: it indexes the archive (name, offset, size
//! of each plain file) and seeks over the data. Every byte it does read is bounded before it
//! is read — headers by count, GNU long names and pax records by size — so indexing any
//! archive reads at most [`MAX_INDEX_READ`] bytes, whatever the archive claims. (The tar
//! crate reads a long name whole, however long: a 1 GiB name of NULs took 13 GB.)
//!
//! What a bundle archive can hold: plain files with flat names (no directories, links,
//! devices, sparse files), at most [`MAX_ENTRIES`] of them. Headers are ustar, GNU or v7;
//! GNU long names and pax `path`/`size` records are honoured, other pax keys ignored.

use std::io::{Read, Seek, SeekFrom};

use crate::core::bundle::MAX_FILE_BYTES;

/// Files in one archive: a bundle is a handful of modules, its manifest, lock and signature.
pub const MAX_ENTRIES: usize = 64;
/// The longest entry name: bundle files are flat names like `argon-system-part1@1.5.0.bin`.
pub const MAX_NAME: usize = 128;
/// The largest pax header (a few records: path, mtime, perhaps xattrs).
pub const MAX_PAX: u64 = 4096;
/// All entries' data together.
pub const MAX_TOTAL: u64 = 64 * 1024 * 1024;
/// Long-name and pax headers: one of each per entry, and a few global ones.
const MAX_META: usize = 2 * MAX_ENTRIES + 4;
const BLOCK: u64 = 512;
/// The most indexing ever reads: every header block, and every long name or pax record at
/// its largest.
pub const MAX_INDEX_READ: u64 =
    (MAX_ENTRIES + MAX_META + 1) as u64 * BLOCK + MAX_META as u64 * MAX_PAX;

/// A plain file in the archive: where its data is and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

/// Why an archive was refused, in words for the log (input is quoted short, never whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refuse<T>(why: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(why.into()))
}

/// Input quoted in an error: escaped, and cut to 40 characters.
pub fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
        .escape_default()
        .to_string();
    let more = if bytes.len() > 40 { "…" } else { "" };
    format!("{text}{more}")
}

/// Indexes the archive in `r`, which is `len` bytes long.
pub fn index<R: Read + Seek>(r: &mut R, len: u64) -> Result<Vec<Entry>, Refused> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut total = 0u64;
    let mut meta = 0usize;
    let mut pending = Pending::default();
    let mut pos = 0u64;
    let io = |e: std::io::Error| Refused(format!("reading: {e}"));
    loop {
        if pos == len {
            break; // no end-of-archive blocks: the tar crate and GNU tar accept this too
        }
        let mut block = [0u8; BLOCK as usize];
        if pos + BLOCK > len {
            return refuse(format!("cut short inside a header at byte {pos}"));
        }
        r.seek(SeekFrom::Start(pos)).map_err(io)?;
        r.read_exact(&mut block).map_err(io)?;
        if block.iter().all(|b| *b == 0) {
            break;
        }
        check_checksum(&block, pos)?;
        let kind = block[156];
        let header_size = parse_size(&block[124..136])
            .ok_or_else(|| Refused(format!("the header at byte {pos} has no valid size")))?;
        let data_at = pos + BLOCK;
        let is_meta = matches!(kind, b'L' | b'x' | b'g');
        if is_meta {
            meta += 1;
            if meta > MAX_META {
                return refuse(format!("more than {MAX_META} long-name and pax headers"));
            }
            let max = if kind == b'L' {
                MAX_NAME as u64 + 1
            } else {
                MAX_PAX
            };
            if header_size > max {
                let what = if kind == b'L' {
                    format!("a long name of {header_size} bytes (names are at most {MAX_NAME})")
                } else {
                    format!("a pax header of {header_size} bytes (at most {MAX_PAX})")
                };
                return refuse(what);
            }
            let data = read_meta(r, data_at, header_size, len)?;
            pending.take(kind, &data)?;
            pos = next_header(data_at, header_size, len)?;
            continue;
        }
        let size = pending.size.take().unwrap_or(header_size);
        let name = match pending.name.take() {
            Some(n) => n,
            None => header_name(&block),
        };
        let name = plain_name(&name)?;
        if !matches!(kind, b'0' | 0) {
            return refuse(format!(
                "entry `{name}` is not a regular file (links, directories and devices are refused)"
            ));
        }
        if entries.len() >= MAX_ENTRIES {
            return refuse(format!("more than {MAX_ENTRIES} entries"));
        }
        if entries.iter().any(|e| e.name == name) {
            return refuse(format!("entry `{name}` appears twice"));
        }
        total = total.saturating_add(size);
        if size > MAX_FILE_BYTES || total > MAX_TOTAL {
            return refuse(format!(
                "entry `{name}` makes the archive too large ({size} bytes; files are at most \
                 {MAX_FILE_BYTES}, all together {MAX_TOTAL})"
            ));
        }
        pos = next_header(data_at, size, len)?;
        entries.push(Entry {
            name,
            offset: data_at,
            size,
        });
    }
    if pending.name.is_some() || pending.size.is_some() {
        return refuse("a long-name or pax header names no entry after it");
    }
    Ok(entries)
}

/// What long-name and pax headers said about the next entry.
#[derive(Default)]
struct Pending {
    name: Option<Vec<u8>>,
    size: Option<u64>,
}

impl Pending {
    fn take(&mut self, kind: u8, data: &[u8]) -> Result<(), Refused> {
        match kind {
            b'L' => {
                if self.name.is_some() {
                    return refuse("two long names for one entry");
                }
                // GNU writes the name and a NUL; everything from the first NUL on is padding.
                let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
                self.name = Some(data[..end].to_vec());
            }
            b'x' => {
                for (key, value) in pax_records(data)? {
                    match key {
                        b"path" => self.name = Some(value.to_vec()),
                        b"size" => self.size = Some(pax_number(value)?),
                        k if k.starts_with(b"GNU.sparse.") => {
                            return refuse("a sparse file (refused)")
                        }
                        _ => {} // mtime, uid, xattrs…: nothing a bundle file needs
                    }
                }
            }
            _ => {
                // A global header applies to every entry after it: honouring one that renames
                // or resizes is more than a bundle needs, and ignoring it would misread.
                if pax_records(data)?
                    .iter()
                    .any(|(k, _)| *k == b"path" || *k == b"size")
                {
                    return refuse("a global pax header that sets `path` or `size`");
                }
            }
        }
        Ok(())
    }
}

fn read_meta<R: Read + Seek>(r: &mut R, at: u64, size: u64, len: u64) -> Result<Vec<u8>, Refused> {
    if at + size > len {
        return refuse(format!("cut short inside the header data at byte {at}"));
    }
    let mut data = vec![0u8; size as usize];
    r.read_exact(&mut data)
        .map_err(|e| Refused(format!("reading: {e}")))?;
    Ok(data)
}

/// Where the next header starts: after the data, padded to a block.
fn next_header(data_at: u64, size: u64, len: u64) -> Result<u64, Refused> {
    let padded = size.div_ceil(BLOCK) * BLOCK;
    match data_at.checked_add(padded) {
        Some(next) if next <= len => Ok(next),
        _ => refuse(format!(
            "an entry of {size} bytes at byte {data_at} runs past the end ({len} bytes)"
        )),
    }
}

/// The header's checksum: the sum of its bytes with the checksum field counted as spaces
/// (unsigned, as POSIX says; some old writers summed signed bytes, accepted too).
fn check_checksum(block: &[u8; 512], pos: u64) -> Result<(), Refused> {
    let stored = parse_octal(&block[148..156]);
    let field = 148..156;
    let unsigned: u64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| if field.contains(&i) { 32 } else { *b as u64 })
        .sum();
    let signed: i64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if field.contains(&i) {
                32
            } else {
                *b as i8 as i64
            }
        })
        .sum();
    match stored {
        Some(s) if s == unsigned || s as i64 == signed => Ok(()),
        _ => refuse(format!(
            "not a tar archive (the header at byte {pos} fails its checksum)"
        )),
    }
}

/// A size field: octal digits, or GNU's base-256 (high bit set) for large values.
fn parse_size(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let (high, low) = field.split_at(field.len() - 8);
        if high[0] != 0x80 || high[1..].iter().any(|b| *b != 0) {
            return None;
        }
        return Some(u64::from_be_bytes(low.try_into().ok()?));
    }
    parse_octal(field)
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let text: &[u8] = {
        let start = field.iter().position(|b| *b != b' ').unwrap_or(field.len());
        let rest = &field[start..];
        let end = rest
            .iter()
            .position(|b| *b == 0 || *b == b' ')
            .unwrap_or(rest.len());
        &rest[..end]
    };
    text.iter().try_fold(0u64, |n, d| match d {
        b'0'..=b'7' => n.checked_mul(8)?.checked_add((d - b'0') as u64),
        _ => None,
    })
}

/// The name a header gives: ustar's prefix and name, or the name alone (GNU, v7).
fn header_name(block: &[u8; 512]) -> Vec<u8> {
    let field = |range: std::ops::Range<usize>| -> &[u8] {
        let f = &block[range];
        &f[..f.iter().position(|b| *b == 0).unwrap_or(f.len())]
    };
    let name = field(0..100);
    let posix = &block[257..263] == b"ustar\0";
    let prefix = if posix { field(345..500) } else { &[] };
    if prefix.is_empty() {
        name.to_vec()
    } else {
        [prefix, b"/", name].concat()
    }
}

/// A name that can only mean a file beside the others: UTF-8, no directories, no `..`, not
/// hidden, at most [`MAX_NAME`] bytes.
fn plain_name(raw: &[u8]) -> Result<String, Refused> {
    let bad = || Refused(format!("entry `{}` is not a plain file name", shown(raw)));
    let name = std::str::from_utf8(raw).map_err(|_| bad())?;
    let plain = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && !name.chars().any(char::is_control);
    if plain {
        Ok(name.to_string())
    } else {
        Err(bad())
    }
}

/// One pax record: its key and value.
type PaxRecord<'a> = (&'a [u8], &'a [u8]);

/// pax records: `LEN KEY=VALUE\n`, LEN counting the whole record.
fn pax_records(mut data: &[u8]) -> Result<Vec<PaxRecord<'_>>, Refused> {
    let bad = || Refused("a malformed pax record".into());
    let mut records = Vec::new();
    // GNU tar pads the last block with NULs.
    while let Some(first) = data.first() {
        if *first == 0 {
            break;
        }
        let space = data
            .iter()
            .take(20)
            .position(|b| *b == b' ')
            .ok_or_else(bad)?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|l| *l > space + 2 && *l <= data.len())
            .ok_or_else(bad)?;
        let record = &data[space + 1..len];
        let body = record.strip_suffix(b"\n").ok_or_else(bad)?;
        let eq = body.iter().position(|b| *b == b'=').ok_or_else(bad)?;
        records.push((&body[..eq], &body[eq + 1..]));
        data = &data[len..];
    }
    Ok(records)
}

fn pax_number(value: &[u8]) -> Result<u64, Refused> {
    std::str::from_utf8(value)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Refused("a pax `size` that is not a number".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A header block with any name bytes, size and type (the tar crate's own checksum).
    fn header(name: &[u8], size: u64, kind: u8) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_size(size);
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_cksum();
        h.as_bytes().to_vec()
    }

    fn padded(data: &[u8]) -> Vec<u8> {
        let mut d = data.to_vec();
        d.resize(data.len().div_ceil(512) * 512, 0);
        d
    }

    fn read(archive: &[u8]) -> Result<Vec<Entry>, Refused> {
        index(&mut Cursor::new(archive), archive.len() as u64)
    }

    #[test]
    fn reads_what_the_tar_crate_writes_long_names_included() {
        let long = "m".repeat(120) + ".bin";
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in [("bundle.toml", &b"x = 1\n"[..]), (long.as_str(), b"abc")] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, data).unwrap();
        }
        let bytes = b.into_inner().unwrap();
        let entries = read(&bytes).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].name, long);
        let e = &entries[1];
        assert_eq!(&bytes[e.offset as usize..][..e.size as usize], b"abc");
    }

    #[test]
    fn a_huge_long_name_is_refused_from_its_header() {
        // Claims 1 TiB of name (in base-256, as octal cannot hold it); only the header exists.
        let h = header(b"././@LongLink", 1 << 40, b'L');
        let e = read(&h).unwrap_err().0;
        assert!(e.contains("a long name of 1099511627776 bytes"), "{e}");
    }

    #[test]
    fn pax_path_and_size_are_honoured_and_bounded() {
        let body = "path=argon-bootloader.bin\n";
        let record = format!("{} {body}", body.len() + 3);
        let mut a = header(b"././@PaxHeader", record.len() as u64, b'x');
        a.extend(padded(record.as_bytes()));
        a.extend(header(b"ignored", 3, b'0'));
        a.extend(padded(b"abc"));
        assert_eq!(read(&a).unwrap()[0].name, "argon-bootloader.bin");
        let big = header(b"././@PaxHeader", MAX_PAX + 1, b'x');
        assert!(read(&big)
            .unwrap_err()
            .0
            .contains("a pax header of 4097 bytes"));
        let mut bad = header(b"././@PaxHeader", 9, b'x');
        bad.extend(padded(b"99 path=x"));
        bad.extend(header(b"x", 0, b'0'));
        assert!(read(&bad).unwrap_err().0.contains("malformed pax"));
    }

    #[test]
    fn links_directories_and_unsafe_names_are_refused() {
        for (name, kind, why) in [
            (&b"bundle.lock"[..], b'2', "not a regular file"),
            (b"dir", b'5', "not a regular file"),
            (b"../evil.sh", b'0', "not a plain file name"),
            (b".hidden", b'0', "not a plain file name"),
            (b"a/b", b'0', "not a plain file name"),
        ] {
            let e = read(&header(name, 0, kind)).unwrap_err().0;
            assert!(e.contains(why), "{name:?}: {e}");
        }
    }

    #[test]
    fn counts_sizes_and_checksums_are_checked() {
        let mut many = Vec::new();
        for i in 0..=MAX_ENTRIES {
            many.extend(header(format!("f{i}").as_bytes(), 0, b'0'));
        }
        assert!(read(&many).unwrap_err().0.contains("more than 64 entries"));
        let big = header(b"big.bin", MAX_FILE_BYTES + 1, b'0');
        assert!(read(&big).unwrap_err().0.contains("too large"));
        let mut short = header(b"short.bin", 4096, b'0');
        short.extend([0u8; 100]);
        assert!(read(&short).unwrap_err().0.contains("runs past the end"));
        let mut corrupt = header(b"x", 0, b'0');
        corrupt[0] = b'y';
        assert!(read(&corrupt).unwrap_err().0.contains("checksum"));
        let mut twice = header(b"x", 0, b'0');
        twice.extend(header(b"x", 0, b'0'));
        assert!(read(&twice).unwrap_err().0.contains("appears twice"));
    }
}
