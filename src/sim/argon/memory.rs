//! Flash as NOR behaves: erase sets a page to 0xFF, programming can only clear bits. A host
//! that forgets to erase gets corrupt data, exactly as on the nRF52840.

#[derive(Debug, Clone)]
pub struct NorFlash {
    bytes: Vec<u8>,
    page_size: usize,
}

impl NorFlash {
    pub fn erased(size: usize, page_size: usize) -> Self {
        NorFlash {
            bytes: vec![0xFF; size],
            page_size,
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Erases the page holding `offset`; false if outside.
    pub fn erase_page(&mut self, offset: usize) -> bool {
        let start = offset / self.page_size * self.page_size;
        match self.bytes.get_mut(start..start + self.page_size) {
            Some(page) => {
                page.fill(0xFF);
                true
            }
            None => false,
        }
    }

    /// ANDs `data` into flash at `offset`; false if it does not fit.
    pub fn program(&mut self, offset: usize, data: &[u8]) -> bool {
        match self.bytes.get_mut(offset..offset + data.len()) {
            Some(dst) => {
                dst.iter_mut().zip(data).for_each(|(d, s)| *d &= s);
                true
            }
            None => false,
        }
    }

    /// Overwrites without NOR semantics: for memories the bootloader manages itself (DCT).
    pub fn overwrite(&mut self, offset: usize, data: &[u8]) -> bool {
        match self.bytes.get_mut(offset..offset + data.len()) {
            Some(dst) => {
                dst.copy_from_slice(data);
                true
            }
            None => false,
        }
    }

    pub fn read(&self, offset: usize, len: usize) -> Option<&[u8]> {
        self.bytes.get(offset..offset.checked_add(len)?)
    }

    pub fn flip_bit(&mut self, offset: usize) {
        if let Some(b) = self.bytes.get_mut(offset) {
            *b ^= 0x01;
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
        assert_eq!(f.read(10, 1), Some(&[0x00][..]), "no implicit erase");
        assert!(f.erase_page(4095));
        assert_eq!(f.read(10, 1), Some(&[0xFF][..]));
        assert!(!f.program(8190, &[0, 0, 0]));
        assert!(f.read(usize::MAX, 2).is_none());
    }
}
