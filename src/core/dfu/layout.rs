//! DfuSe memory-layout strings: `@Internal Flash  /0x00000000/1*004Ka,47*004Kg`.
//! Each segment's letter − 'a' + 1 is a bit set: 1 readable, 2 erasable, 4 writable.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub start: u32,
    pub page_size: u32,
    pub pages: u32,
    pub readable: bool,
    pub erasable: bool,
    pub writable: bool,
}

impl Segment {
    pub fn range(&self) -> Range<u64> {
        let start = u64::from(self.start);
        start..start + u64::from(self.page_size) * u64::from(self.pages)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryLayout {
    pub name: String,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad DfuSe memory layout {text:?}: {reason}")]
pub struct LayoutError {
    pub text: String,
    pub reason: String,
}

impl MemoryLayout {
    pub fn parse(text: &str) -> Result<MemoryLayout, LayoutError> {
        let err = |reason: &str| LayoutError {
            text: text.chars().take(200).collect(),
            reason: reason.into(),
        };
        let body = text
            .strip_prefix('@')
            .ok_or_else(|| err("does not start with '@'"))?;
        let mut parts = body.split('/');
        let name = parts.next().unwrap_or_default().trim().to_string();
        let rest: Vec<&str> = parts.collect();
        if rest.is_empty() || rest.len() % 2 != 0 {
            return Err(err("expected /ADDRESS/SEGMENTS groups"));
        }
        let mut segments = Vec::new();
        for group in rest.chunks(2) {
            let hex = group[0].trim();
            let hex = hex
                .strip_prefix("0x")
                .or_else(|| hex.strip_prefix("0X"))
                .ok_or_else(|| err("address is not 0x…"))?;
            let mut address =
                u64::from(u32::from_str_radix(hex, 16).map_err(|_| err("bad address"))?);
            for entry in group[1].split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let segment = parse_entry(entry, address)
                    .ok_or_else(|| err(&format!("bad segment `{entry}`")))?;
                address = segment.range().end;
                if address > 1 << 32 {
                    return Err(err("segments run past 4 GiB"));
                }
                segments.push(segment);
            }
        }
        Ok(MemoryLayout { name, segments })
    }

    /// The segments `range` touches, or `None` if any byte of it is outside the layout.
    pub fn segments_covering(&self, range: &Range<u64>) -> Option<Vec<&Segment>> {
        let mut covered = range.start;
        let mut found = Vec::new();
        for s in &self.segments {
            let r = s.range();
            if r.start <= covered && covered < r.end {
                found.push(s);
                covered = r.end;
                if covered >= range.end {
                    return Some(found);
                }
            }
        }
        (range.is_empty()).then_some(found)
    }

    pub fn all_writable(&self, range: &Range<u64>) -> bool {
        self.segments_covering(range)
            .is_some_and(|s| s.iter().all(|s| s.writable && s.erasable))
    }

    pub fn all_readable(&self, range: &Range<u64>) -> bool {
        self.segments_covering(range)
            .is_some_and(|s| s.iter().all(|s| s.readable))
    }

    /// Start addresses of the pages `range` touches, in order.
    pub fn pages_covering(&self, range: &Range<u64>) -> Vec<u32> {
        let mut pages = Vec::new();
        for s in self.segments_covering(range).unwrap_or_default() {
            let size = u64::from(s.page_size);
            let r = s.range();
            let first = range.start.max(r.start);
            let mut page = r.start + (first - r.start) / size * size;
            while page < range.end.min(r.end) {
                pages.push(page as u32);
                page += size;
            }
        }
        pages
    }
}

fn parse_entry(entry: &str, start: u64) -> Option<Segment> {
    let (count, rest) = entry.split_once('*')?;
    let pages: u32 = count.trim().parse().ok()?;
    let letter = rest.chars().last()?;
    let size_text = &rest[..rest.len() - letter.len_utf8()];
    let (digits, multiplier) = match size_text.chars().last()? {
        'K' => (&size_text[..size_text.len() - 1], 1024),
        'M' => (&size_text[..size_text.len() - 1], 1024 * 1024),
        'B' | ' ' => (&size_text[..size_text.len() - 1], 1),
        _ => (size_text, 1),
    };
    let page_size = digits.trim().parse::<u32>().ok()?.checked_mul(multiplier)?;
    if !letter.is_ascii_lowercase() || letter > 'g' || page_size == 0 || pages == 0 {
        return None;
    }
    let bits = letter as u8 - b'a' + 1;
    Some(Segment {
        start: u32::try_from(start).ok()?,
        page_size,
        pages,
        readable: bits & 1 != 0,
        erasable: bits & 2 != 0,
        writable: bits & 4 != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub const ARGON_ALT0: &str =
        "@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka";

    #[test]
    fn parses_the_argon_internal_flash() {
        let l = MemoryLayout::parse(ARGON_ALT0).unwrap();
        assert_eq!(l.name, "Internal Flash");
        assert_eq!(l.segments.len(), 6);
        assert_eq!(l.segments[0].range(), 0..0x1000);
        assert!(l.segments[0].readable && !l.segments[0].writable);
        assert_eq!(l.segments[5].range(), 0xF8000..0x100000);
        assert!(l.all_writable(&(0x30000..0xCAF44)));
        assert!(!l.all_writable(&(0x0..0x2000)), "the MBR page is read-only");
        assert!(
            !l.all_writable(&(0xF4000..0xFE3DC)),
            "0xF8000.. is read-only"
        );
        assert!(!l.all_writable(&(0xFF000..0x101000)), "past the end");
        assert_eq!(l.pages_covering(&(0x1000..0x2001)), vec![0x1000, 0x2000]);
    }

    #[test]
    fn parses_several_groups_and_multipliers() {
        let l =
            MemoryLayout::parse("@Flash /0x08000000/04*016Kg,01*064Kg/0x1FFF0000/1*512 a").unwrap();
        assert_eq!(l.segments.len(), 3);
        assert_eq!(l.segments[1].range(), 0x0801_0000..0x0802_0000);
        assert_eq!(l.segments[2].page_size, 512);
        let dct = MemoryLayout::parse("@DCT Flash   /0x00000000/1*016Ke").unwrap();
        assert!(dct.segments[0].writable && !dct.segments[0].erasable);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "Internal",
            "@x/0x0",
            "@x/zz/1*4Ka",
            "@x/0x0/1*4Kz",
            "@x/0x0/0*4Ka",
            "@x/0xFFFFFFFF/2*4Ka",
        ] {
            assert!(MemoryLayout::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = MemoryLayout::parse(&s);
        }

        #[test]
        fn never_panics_on_near_misses(s in "@[a-z ]{0,5}/0x[0-9a-fA-F]{1,9}/[0-9]{1,4}\\*[0-9]{1,4}[KMB ]?[a-h]") {
            let _ = MemoryLayout::parse(&s);
        }
    }
}
