//! Flash as NOR behaves: erase sets a page to 0xFF, programming can only clear bits. A host
//! that forgets to erase gets corrupt data, exactly as on the nRF52840.

/// Pages are kept only once written: an erased page is `None`, so a simulated board costs the
/// memory of what was flashed into it, not of its whole 4 MiB external flash.
#[derive(Debug, Clone)]
pub struct NorFlash {
    pages: Vec<Option<Box<[u8]>>>,
    page_size: usize,
}

impl NorFlash {
    pub fn erased(size: usize, page_size: usize) -> Self {
        NorFlash {
            pages: vec![None; size.div_ceil(page_size)],
            page_size,
        }
    }

    pub fn len(&self) -> usize {
        self.pages.len() * self.page_size
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    fn fits(&self, offset: usize, len: usize) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.len())
    }

    /// Erases the page holding `offset`; false if outside.
    pub fn erase_page(&mut self, offset: usize) -> bool {
        match self.pages.get_mut(offset / self.page_size) {
            Some(page) => {
                *page = None;
                true
            }
            None => false,
        }
    }

    fn update(&mut self, offset: usize, data: &[u8], f: impl Fn(&mut u8, u8)) -> bool {
        if !self.fits(offset, data.len()) {
            return false;
        }
        let ps = self.page_size;
        for (i, byte) in data.iter().enumerate() {
            let at = offset + i;
            let page = self.pages[at / ps].get_or_insert_with(|| vec![0xFF; ps].into_boxed_slice());
            f(&mut page[at % ps], *byte);
        }
        true
    }

    /// ANDs `data` into flash at `offset`; false if it does not fit.
    pub fn program(&mut self, offset: usize, data: &[u8]) -> bool {
        self.update(offset, data, |d, s| *d &= s)
    }

    /// Overwrites without NOR semantics: for memories the bootloader manages itself (DCT).
    pub fn overwrite(&mut self, offset: usize, data: &[u8]) -> bool {
        self.update(offset, data, |d, s| *d = s)
    }

    pub fn read(&self, offset: usize, len: usize) -> Option<Vec<u8>> {
        if !self.fits(offset, len) {
            return None;
        }
        let ps = self.page_size;
        Some(
            (offset..offset + len)
                .map(|at| self.pages[at / ps].as_ref().map_or(0xFF, |p| p[at % ps]))
                .collect(),
        )
    }

    pub fn flip_bit(&mut self, offset: usize) {
        if let Some(byte) = self.read(offset, 1) {
            let _ = self.overwrite(offset, &[byte[0] ^ 0x01]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programming_unerased_flash_ands_the_bits() {
        let mut f = NorFlash::erased(8192, 4096);
        assert!(f.program(10, &[0xF0]));
        assert!(f.program(10, &[0x0F]));
        assert_eq!(f.read(10, 1), Some(vec![0x00]), "no implicit erase");
        assert!(f.erase_page(4095));
        assert_eq!(f.read(10, 1), Some(vec![0xFF]));
        assert!(!f.program(8190, &[0, 0, 0]));
        assert!(f.read(usize::MAX, 2).is_none());
    }
}
