//! A 128×64 one-bit frame in memory: what the OLED shows, drawn once, shown anywhere
//! (SSD1306, terminal block characters, PNG, ASCII snapshot).

use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;

pub const WIDTH: u32 = 128;
pub const HEIGHT: u32 = 64;

#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pixels: Vec<bool>,
}

impl Default for Frame {
    fn default() -> Self {
        Frame {
            pixels: vec![false; (WIDTH * HEIGHT) as usize],
        }
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\n{}", self.to_ascii())
    }
}

impl Frame {
    pub fn get(&self, x: u32, y: u32) -> bool {
        x < WIDTH && y < HEIGHT && self.pixels[(y * WIDTH + x) as usize]
    }

    fn set(&mut self, x: i32, y: i32, on: bool) {
        if (0..WIDTH as i32).contains(&x) && (0..HEIGHT as i32).contains(&y) {
            self.pixels[(y as u32 * WIDTH + x as u32) as usize] = on;
        }
    }

    /// `#` for lit pixels, `.` for dark, one line per row: the snapshot format.
    pub fn to_ascii(&self) -> String {
        let mut out = String::with_capacity(((WIDTH + 1) * HEIGHT) as usize);
        for y in 0..HEIGHT {
            out.extend((0..WIDTH).map(|x| if self.get(x, y) { '#' } else { '.' }));
            out.push('\n');
        }
        out
    }

    /// Two pixel rows per text line with half-block characters: 128×32 on a terminal.
    pub fn to_blocks(&self) -> Vec<String> {
        (0..HEIGHT / 2)
            .map(|row| {
                (0..WIDTH)
                    .map(|x| match (self.get(x, row * 2), self.get(x, row * 2 + 1)) {
                        (true, true) => '█',
                        (true, false) => '▀',
                        (false, true) => '▄',
                        (false, false) => ' ',
                    })
                    .collect()
            })
            .collect()
    }

    /// Two pixel columns and four rows per character with Unicode braille: 64×16 on a
    /// terminal, so the whole OLED fits an 80×24 one, pixel for pixel.
    pub fn to_braille(&self) -> Vec<String> {
        // Dot bits of U+2800 by (column, row) in the 2×4 cell.
        const DOTS: [[u32; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
        (0..HEIGHT / 4)
            .map(|row| {
                (0..WIDTH / 2)
                    .map(|col| {
                        let mut bits = 0;
                        for (dx, column) in DOTS.iter().enumerate() {
                            for (dy, bit) in column.iter().enumerate() {
                                if self.get(col * 2 + dx as u32, row * 4 + dy as u32) {
                                    bits |= bit;
                                }
                            }
                        }
                        char::from_u32(0x2800 + bits).unwrap_or(' ')
                    })
                    .collect()
            })
            .collect()
    }

    /// Lit pixel count, for tests.
    pub fn lit(&self) -> usize {
        self.pixels.iter().filter(|p| **p).count()
    }
}

impl OriginDimensions for Frame {
    fn size(&self) -> Size {
        Size::new(WIDTH, HEIGHT)
    }
}

impl DrawTarget for Frame {
    type Color = BinaryColor;
    type Error = core::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<BinaryColor>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), Self::Error> {
        for Pixel(p, c) in pixels {
            self.set(p.x, p.y, c.is_on());
        }
        Ok(())
    }
}
