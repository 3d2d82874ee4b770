//! A picture of a label as its ZPL lays it out: text, boxes and the QR code, one pixel per
//! printer dot, black on white — for the README, reviews and tests, without a printer or an
//! online renderer. The printer's font 0 is proportional; the preview uses the fixed-width
//! font of nearest height, so text runs a little longer or shorter than on paper.

use embedded_graphics::mono_font::ascii::{
    FONT_10X20, FONT_4X6, FONT_5X7, FONT_5X8, FONT_6X10, FONT_6X12, FONT_6X13, FONT_6X9, FONT_7X13,
    FONT_7X14, FONT_8X13, FONT_9X15, FONT_9X18,
};
use embedded_graphics::mono_font::{MonoFont, MonoTextStyle};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Line, PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Baseline, Text};

use super::zpl::{Element, Layout};
use crate::core::ui::Scaled;

/// The label's size in dots: `^PW` × `^LL`, or 4 × 2 inches at 203 dpi.
pub fn preview_size(layout: &Layout) -> Size {
    Size::new(
        layout.width.unwrap_or(812).clamp(8, 4000),
        layout.height.unwrap_or(406).clamp(8, 4000),
    )
}

const FONTS: [&MonoFont<'static>; 13] = [
    &FONT_4X6,
    &FONT_5X7,
    &FONT_5X8,
    &FONT_6X9,
    &FONT_6X10,
    &FONT_6X12,
    &FONT_6X13,
    &FONT_7X13,
    &FONT_7X14,
    &FONT_8X13,
    &FONT_9X15,
    &FONT_9X18,
    &FONT_10X20,
];

/// The font and whole-number scale whose glyph height is nearest `height` dots.
fn font_for(height: u32) -> (&'static MonoFont<'static>, i32) {
    let mut best = (FONTS[0], 1, u32::MAX);
    for font in FONTS {
        for factor in 1..=12u32 {
            let h = font.character_size.height * factor;
            let miss = h.abs_diff(height);
            if miss < best.2 {
                best = (font, factor as i32, miss);
            }
        }
    }
    (best.0, best.1)
}

/// Draws the label, printed dots as `On`.
pub fn draw<D: DrawTarget<Color = BinaryColor>>(
    layout: &Layout,
    d: &mut D,
) -> Result<(), D::Error> {
    d.clear(BinaryColor::Off)?;
    let ink = PrimitiveStyle::with_fill(BinaryColor::On);
    for e in &layout.elements {
        match e {
            Element::Text {
                x, y, height, text, ..
            } => {
                let (font, factor) = font_for(*height);
                let mut scaled = Scaled {
                    inner: d,
                    origin: Point::new(*x, *y),
                    factor,
                };
                let style = MonoTextStyle::new(font, BinaryColor::On);
                Text::with_baseline(text, Point::zero(), style, Baseline::Top).draw(&mut scaled)?;
            }
            Element::Box {
                x,
                y,
                width,
                height,
                thickness,
            } => {
                let at = Point::new(*x, *y);
                if thickness * 2 >= (*width).min(*height) {
                    Rectangle::new(at, Size::new(*width, *height))
                        .into_styled(ink)
                        .draw(d)?;
                } else {
                    let t = *thickness;
                    for (dx, dy, w, h) in [
                        (0, 0, *width, t),
                        (0, *height as i32 - t as i32, *width, t),
                        (0, 0, t, *height),
                        (*width as i32 - t as i32, 0, t, *height),
                    ] {
                        Rectangle::new(at + Point::new(dx, dy), Size::new(w, h))
                            .into_styled(ink)
                            .draw(d)?;
                    }
                }
            }
            Element::Qr {
                x,
                y,
                magnification,
                ec,
                data,
            } => qr(d, Point::new(*x, *y), *magnification, *ec, data)?,
            Element::DataMatrix { x, y, module, .. } => {
                // No DataMatrix encoder here: its place, crossed.
                let side = 18 * module;
                let r = Rectangle::new(Point::new(*x, *y), Size::new(side, side));
                r.into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 2))
                    .draw(d)?;
                let (a, b) = (
                    r.top_left,
                    r.top_left + Point::new(side as i32, side as i32),
                );
                Line::new(a, b)
                    .into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
                    .draw(d)?;
            }
        }
    }
    Ok(())
}

fn qr<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    at: Point,
    magnification: u32,
    ec: char,
    data: &str,
) -> Result<(), D::Error> {
    use qrcode::{EcLevel, QrCode};
    let level = match ec {
        'H' => EcLevel::H,
        'M' => EcLevel::M,
        'L' => EcLevel::L,
        _ => EcLevel::Q,
    };
    let Ok(code) = QrCode::with_error_correction_level(data.as_bytes(), level) else {
        // Too long for any QR version: the printer would print nothing either.
        return Ok(());
    };
    let width = code.width();
    let m = magnification.max(1);
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == qrcode::Color::Dark {
            let p = at
                + Point::new(
                    ((i % width) as u32 * m) as i32,
                    ((i / width) as u32 * m) as i32,
                );
            Rectangle::new(p, Size::new(m, m))
                .into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
                .draw(d)?;
        }
    }
    Ok(())
}
