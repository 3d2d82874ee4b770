//! Text on the OLED: fitting a line to its width (cut at a word, with an ellipsis), the 6×10
//! font's `.` and `:` put on the baseline, the largest font a code fits in, and glyphs drawn at
//! twice their size for the verdict.

use embedded_graphics::mono_font::ascii::{
    FONT_10X20, FONT_6X10, FONT_6X13_BOLD, FONT_7X13_BOLD, FONT_8X13_BOLD, FONT_9X18_BOLD,
};
use embedded_graphics::mono_font::{MonoFont, MonoTextStyle};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Alignment, Baseline, Text, TextStyleBuilder};

pub const W: i32 = 128;
/// The small font's cell width: a 128-pixel line holds 21 characters.
pub const SMALL_W: i32 = 6;
/// Stands for the cut-off rest of a line (drawn as three dots: the fonts are ASCII).
pub const ELLIPSIS: char = '…';

/// `text` in at most `max` characters. A longer text is cut after the last whole word that
/// fits (mid-word only when the first word alone is too long) and ends in an ellipsis.
pub fn fit(text: &str, max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let room = max - 1;
    let cut = match chars[room] == ' ' {
        true => room,
        false => chars[..room]
            .iter()
            .rposition(|c| *c == ' ')
            .filter(|at| *at > 0)
            .unwrap_or(room),
    };
    let kept: String = chars[..cut].iter().collect();
    format!(
        "{}{ELLIPSIS}",
        kept.trim_end_matches([' ', ',', ';', ':', '-'])
    )
}

/// One line of the 6×10 font at `at` (top-left), cut to fit the screen's width from there.
pub fn small<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    text: &str,
    at: Point,
) -> Result<(), D::Error> {
    let max = ((W - at.x) / SMALL_W).max(0) as usize;
    small_in(d, text, at, max, BinaryColor::On)
}

/// Like `small`, in at most `max` characters and in `color` (`Off` on a lit band).
pub fn small_in<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    text: &str,
    at: Point,
    max: usize,
    color: BinaryColor,
) -> Result<(), D::Error> {
    let fitted = fit(text, max);
    let style = MonoTextStyle::new(&FONT_6X10, color);
    // The font's `.` and `:` are 3×3 crosses centred on the baseline, one row below the
    // letters: draw them as dots on the baseline instead (rows 6–7 of the cell, where `a`
    // ends), and the ellipsis as three of them.
    let plain: String = fitted
        .chars()
        .map(|c| {
            if matches!(c, '.' | ':' | ELLIPSIS) {
                ' '
            } else {
                c
            }
        })
        .collect();
    Text::with_baseline(&plain, at, style, Baseline::Top).draw(d)?;
    let dot = |d: &mut D, x: i32, y: i32, w: u32| {
        Rectangle::new(Point::new(x, at.y + y), Size::new(w, 2))
            .into_styled(PrimitiveStyle::with_fill(color))
            .draw(d)
    };
    for (i, c) in fitted.chars().enumerate() {
        let x = at.x + SMALL_W * i as i32;
        match c {
            '.' => dot(d, x + 2, 6, 2)?,
            ':' => {
                dot(d, x + 2, 2, 2)?;
                dot(d, x + 2, 6, 2)?;
            }
            ELLIPSIS => {
                for n in 0..3 {
                    dot(d, x + 2 * n, 6, 1)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A small line ending at the right edge.
pub fn right<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    text: &str,
    y: i32,
) -> Result<(), D::Error> {
    let len = text.chars().count().min(21) as i32;
    small(d, text, Point::new(W - SMALL_W * len, y))
}

pub fn centered<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    text: &str,
    font: &MonoFont<'_>,
    x_center: i32,
    y: i32,
    color: BinaryColor,
) -> Result<(), D::Error> {
    let style = TextStyleBuilder::new()
        .alignment(Alignment::Center)
        .baseline(Baseline::Top)
        .build();
    Text::with_text_style(
        text,
        Point::new(x_center, y),
        MonoTextStyle::new(font, color),
        style,
    )
    .draw(d)?;
    Ok(())
}

pub fn big<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    text: &str,
    at: Point,
    color: BinaryColor,
) -> Result<(), D::Error> {
    Text::with_baseline(
        text,
        at,
        MonoTextStyle::new(&FONT_10X20, color),
        Baseline::Top,
    )
    .draw(d)?;
    Ok(())
}

/// Fonts for a failure code, largest first, all legible at a metre (bold below 10×20).
const CODE_FONTS: [&MonoFont<'static>; 5] = [
    &FONT_10X20,
    &FONT_9X18_BOLD,
    &FONT_8X13_BOLD,
    &FONT_7X13_BOLD,
    &FONT_6X13_BOLD,
];

/// The largest font `text` fits `width` pixels in, and its height.
pub fn code_font(text: &str, width: u32, max_height: u32) -> Option<&'static MonoFont<'static>> {
    let n = text.chars().count() as u32;
    CODE_FONTS.into_iter().find(|f| {
        n * (f.character_size.width + f.character_spacing) <= width + f.character_spacing
            && f.character_size.height <= max_height
    })
}

/// A lit band across `area`.
pub fn band<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    area: Rectangle,
) -> Result<(), D::Error> {
    area.into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
        .draw(d)
}

/// 10×20 glyphs drawn at twice their size: 40 px tall, for the verdict.
pub fn huge_centered<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    text: &str,
    y: i32,
    inverted: bool,
) -> Result<(), D::Error> {
    let (fg, bg) = if inverted {
        (BinaryColor::Off, BinaryColor::On)
    } else {
        (BinaryColor::On, BinaryColor::Off)
    };
    Rectangle::new(Point::new(0, y), Size::new(128, 41))
        .into_styled(PrimitiveStyle::with_fill(bg))
        .draw(d)?;
    let width = 20 * text.len() as i32;
    let mut scaled = Scaled {
        inner: d,
        origin: Point::new((W - width) / 2, y + 1),
        factor: 2,
    };
    Text::with_baseline(
        text,
        Point::zero(),
        MonoTextStyle::new(&FONT_10X20, fg),
        Baseline::Top,
    )
    .draw(&mut scaled)?;
    Ok(())
}

/// Draws through to `inner` with every pixel `factor` times larger (also the label preview's).
pub(crate) struct Scaled<'a, D> {
    pub(crate) inner: &'a mut D,
    pub(crate) origin: Point,
    pub(crate) factor: i32,
}

impl<D: DrawTarget<Color = BinaryColor>> OriginDimensions for Scaled<'_, D> {
    fn size(&self) -> Size {
        let s = self.inner.bounding_box().size;
        Size::new(s.width / self.factor as u32, s.height / self.factor as u32)
    }
}

impl<D: DrawTarget<Color = BinaryColor>> DrawTarget for Scaled<'_, D> {
    type Color = BinaryColor;
    type Error = D::Error;

    fn draw_iter<I: IntoIterator<Item = Pixel<BinaryColor>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), D::Error> {
        let f = self.factor;
        let origin = self.origin;
        let big = pixels.into_iter().flat_map(move |Pixel(p, c)| {
            (0..f * f).map(move |i| Pixel(origin + Point::new(p.x * f + i % f, p.y * f + i / f), c))
        });
        self.inner.draw_iter(big)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ui::Frame;

    #[test]
    fn a_long_line_is_cut_at_a_word_with_an_ellipsis() {
        assert_eq!(fit("reset into firmware", 21), "reset into firmware");
        assert_eq!(fit("writing system firmware", 12), "writing…");
        assert_eq!(fit("E-FINAL-DFU-WRITE", 10), "E-FINAL-D…");
        assert_eq!(fit("board was pulled out", 10), "board was…");
        assert_eq!(fit("abc", 0), "");
    }

    /// The lowest lit row in columns `x..x+w`.
    fn bottom(f: &Frame, x: u32, w: u32) -> Option<u32> {
        (0..64).rev().find(|y| (x..x + w).any(|x| f.get(x, *y)))
    }

    #[test]
    fn dots_and_colons_sit_on_the_baseline() {
        let mut f = Frame::default();
        small(&mut f, "a.b:1…", Point::new(0, 10)).unwrap();
        let baseline = bottom(&f, 0, 6).unwrap();
        for (i, c) in ['.', ':', '…'].iter().enumerate() {
            let x = [6, 18, 30][i];
            assert_eq!(bottom(&f, x, 6), Some(baseline), "`{c}`");
        }
    }

    #[test]
    fn a_code_gets_the_largest_font_it_fits() {
        assert_eq!(
            code_font("E-DFU-WRITE", 128, 20)
                .unwrap()
                .character_size
                .width,
            10
        );
        let long = code_font("E-FINAL-DFU-WRITE", 128, 20).unwrap();
        assert!(long.character_size.width >= 7, "{:?}", long.character_size);
        assert!(code_font(&"X".repeat(40), 128, 20).is_none());
    }
}
