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
