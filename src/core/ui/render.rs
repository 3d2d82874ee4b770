//! Drawing a `UiState` on a 128×64 one-bit display. Legible from a metre: verdicts 40 px tall,
//! nothing a status depends on smaller than the 6×10 font.

use embedded_graphics::mono_font::ascii::{FONT_10X20, FONT_6X10};
use embedded_graphics::mono_font::{MonoFont, MonoTextStyle};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Alignment, Baseline, Text, TextStyleBuilder};

use super::state::{SlotPhase, SlotView, UiState};
use super::Screen;

const W: i32 = 128;

/// Draws the whole screen (clearing it first).
pub fn render<D: DrawTarget<Color = BinaryColor>>(ui: &UiState, d: &mut D) -> Result<(), D::Error> {
    d.clear(BinaryColor::Off)?;
    if let Some(notice) = &ui.notice {
        title_band(d, &notice.title)?;
        for (i, line) in notice.lines.iter().take(4).enumerate() {
            small(d, line, Point::new(0, 24 + 10 * i as i32))?;
        }
        return Ok(());
    }
    if let Some(menu) = &ui.menu {
        title_band(d, "MENU")?;
        for (i, item) in menu.items.iter().take(3).enumerate() {
            let marker = if i == menu.selected { ">" } else { " " };
            small(
                d,
                &format!("{marker} {item}"),
                Point::new(0, 24 + 10 * i as i32),
            )?;
        }
        return small(d, "short:next long:ok", Point::new(0, 54));
    }
    let Some(bundle) = &ui.bundle else {
        centered(d, "NO BUNDLE", &FONT_10X20, 8)?;
        small(d, "insert the USB stick", Point::new(4, 38))?;
        return small(d, "with a signed bundle", Point::new(4, 50));
    };
    match ui.screen {
        Screen::Counters => {
            title_band(d, "TODAY")?;
            big_line(d, &format!("PASS {}", ui.counters.pass), 20)?;
            let y = ui
                .counters
                .yield_percent()
                .map_or("-".into(), |p| format!("{p}%"));
            return small(
                d,
                &format!("fail {}  yield {y}", ui.counters.fail),
                Point::new(0, 50),
            );
        }
        Screen::Bundle => {
            title_band(d, "BUNDLE")?;
            small(d, &bundle.name, Point::new(0, 22))?;
            small(
                d,
                &format!("v{}  {}", bundle.version, bundle.platform),
                Point::new(0, 34),
            )?;
            let hash: String = bundle.lock_hash.chars().take(16).collect();
            return small(d, &format!("lock {hash}"), Point::new(0, 46));
        }
        Screen::Status => {}
    }
    match ui.slots.as_slice() {
        [] => centered(d, "NO SLOTS", &FONT_10X20, 20),
        [one] => single_slot(d, ui, one),
        [a, b] => {
            slot_cell(d, a, Rectangle::new(Point::new(0, 0), Size::new(63, 64)))?;
            divider(d, Rectangle::new(Point::new(63, 0), Size::new(1, 64)))?;
            slot_cell(d, b, Rectangle::new(Point::new(65, 0), Size::new(63, 64)))
        }
        many => {
            for (i, s) in many.iter().take(4).enumerate() {
                let origin =
                    Point::new(if i % 2 == 0 { 0 } else { 65 }, if i < 2 { 0 } else { 33 });
                slot_quarter(d, s, origin)?;
            }
            divider(d, Rectangle::new(Point::new(63, 0), Size::new(1, 64)))?;
            divider(d, Rectangle::new(Point::new(0, 31), Size::new(128, 1)))
        }
    }
}

fn single_slot<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    ui: &UiState,
    s: &SlotView,
) -> Result<(), D::Error> {
    match &s.phase {
        SlotPhase::Empty | SlotPhase::Ready => {
            let bundle = ui
                .bundle
                .as_ref()
                .map(|b| format!("{} {}", b.name, b.version))
                .unwrap_or_default();
            small(d, &bundle, Point::new(0, 0))?;
            divider(d, Rectangle::new(Point::new(0, 11), Size::new(128, 1)))?;
            let word = if s.phase == SlotPhase::Empty {
                "SEAT BOARD"
            } else {
                "PRESS START"
            };
            centered(d, word, &FONT_10X20, 16)?;
            let y = ui
                .counters
                .yield_percent()
                .map_or("-".into(), |p| format!("{p}%"));
            small(
                d,
                &format!("pass {}  fail {}  {y}", ui.counters.pass, ui.counters.fail),
                Point::new(0, 52),
            )
        }
        SlotPhase::Working {
            stage,
            detail,
            percent,
            elapsed_s,
        } => {
            small(d, &format!("{} {stage}", s.name), Point::new(0, 0))?;
            right(d, &clock(*elapsed_s), 0)?;
            small(d, detail, Point::new(0, 14))?;
            progress_bar(
                d,
                Rectangle::new(Point::new(0, 28), Size::new(128, 10)),
                *percent,
            )?;
            centered(d, &format!("{percent}%"), &FONT_10X20, 42)
        }
        SlotPhase::Pass { device_id, seconds } => {
            big_centered(d, "PASS", 0, false)?;
            small(
                d,
                &format!("{} {}", s.name, short_id(device_id)),
                Point::new(0, 44),
            )?;
            small(d, &format!("{seconds} s"), Point::new(0, 54))
        }
        SlotPhase::Fail { code, reason } => {
            big_centered(d, "FAIL", 0, true)?;
            small(d, code, Point::new(0, 43))?;
            small(d, reason, Point::new(0, 54))
        }
    }
}

/// Half the screen: slot name, a 10×20 state word, one detail line.
fn slot_cell<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    s: &SlotView,
    area: Rectangle,
) -> Result<(), D::Error> {
    let x = area.top_left.x;
    small(d, &s.name, Point::new(x + 1, 0))?;
    let (word, detail, inverted) = cell_text(s);
    let band = Rectangle::new(Point::new(x, 14), Size::new(area.size.width, 22));
    let style = word_style(d, band, inverted)?;
    let center = TextStyleBuilder::new()
        .alignment(Alignment::Center)
        .baseline(Baseline::Top)
        .build();
    Text::with_text_style(
        &word,
        Point::new(x + area.size.width as i32 / 2, 15),
        style,
        center,
    )
    .draw(d)?;
    let mut lines = detail.iter();
    if let Some(l) = lines.next() {
        small(d, l, Point::new(x + 1, 40))?;
    }
    if let Some(l) = lines.next() {
        small(d, l, Point::new(x + 1, 52))?;
    }
    Ok(())
}

/// A quarter of the screen for 3–4 slots: `A PASS` in 10×20, one 6×10 detail line.
fn slot_quarter<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    s: &SlotView,
    at: Point,
) -> Result<(), D::Error> {
    let (word, detail, inverted) = cell_text(s);
    let text = format!("{} {word}", s.name);
    let style = word_style(d, Rectangle::new(at, Size::new(63, 20)), inverted)?;
    Text::with_baseline(&text, at + Point::new(1, 0), style, Baseline::Top).draw(d)?;
    small(
        d,
        detail.first().map_or("", String::as_str),
        at + Point::new(1, 20),
    )
}

/// The 10×20 style for a slot's state word; an inverted word (FAIL) gets a lit band behind it.
fn word_style<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    band: Rectangle,
    inverted: bool,
) -> Result<MonoTextStyle<'static, BinaryColor>, D::Error> {
    if !inverted {
        return Ok(MonoTextStyle::new(&FONT_10X20, BinaryColor::On));
    }
    band.into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
        .draw(d)?;
    Ok(MonoTextStyle::new(&FONT_10X20, BinaryColor::Off))
}

/// The word for a slot's cell, up to two detail lines of ≤ 10 characters, and whether to invert.
fn cell_text(s: &SlotView) -> (String, Vec<String>, bool) {
    let fit = |t: &str| t.chars().take(10).collect::<String>();
    match &s.phase {
        SlotPhase::Empty => ("----".into(), vec!["seat board".into()], false),
        SlotPhase::Ready => ("READY".into(), vec!["START".into()], false),
        SlotPhase::Working {
            stage,
            detail,
            percent,
            elapsed_s,
        } => {
            let short_clock = format!("{}:{:02}", elapsed_s / 60, elapsed_s % 60);
            (
                format!("{percent}%"),
                vec![fit(&format!("{stage} {short_clock}")), fit(detail)],
                false,
            )
        }
        SlotPhase::Pass { device_id, seconds } => (
            "PASS".into(),
            vec![short_id(device_id), format!("{seconds} s")],
            false,
        ),
        SlotPhase::Fail { code, reason } => (
            "FAIL".into(),
            vec![fit(code.trim_start_matches("E-")), fit(reason)],
            true,
        ),
    }
}

fn short_id(id: &str) -> String {
    id.chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

fn clock(seconds: u32) -> String {
    format!("{:02}:{:02}", seconds / 60, seconds % 60)
}

fn small<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    text: &str,
    at: Point,
) -> Result<(), D::Error> {
    let fitted: String = text
        .chars()
        .take(((W - at.x) / 6).max(0) as usize)
        .collect();
    Text::with_baseline(
        &fitted,
        at,
        MonoTextStyle::new(&FONT_6X10, BinaryColor::On),
        Baseline::Top,
    )
    .draw(d)?;
    Ok(())
}

fn right<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    text: &str,
    y: i32,
) -> Result<(), D::Error> {
    small(d, text, Point::new(W - 6 * text.len() as i32, y))
}

fn centered<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    text: &str,
    font: &MonoFont<'_>,
    y: i32,
) -> Result<(), D::Error> {
    let style = TextStyleBuilder::new()
        .alignment(Alignment::Center)
        .baseline(Baseline::Top)
        .build();
    Text::with_text_style(
        text,
        Point::new(W / 2, y),
        MonoTextStyle::new(font, BinaryColor::On),
        style,
    )
    .draw(d)?;
    Ok(())
}

fn big_line<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    text: &str,
    y: i32,
) -> Result<(), D::Error> {
    centered(d, text, &FONT_10X20, y)
}

/// 10×20 glyphs drawn at twice their size: 40 px tall, for the verdict.
fn big_centered<D: DrawTarget<Color = BinaryColor>>(
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

fn title_band<D: DrawTarget<Color = BinaryColor>>(d: &mut D, title: &str) -> Result<(), D::Error> {
    Rectangle::new(Point::zero(), Size::new(128, 20))
        .into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
        .draw(d)?;
    let style = TextStyleBuilder::new()
        .alignment(Alignment::Center)
        .baseline(Baseline::Top)
        .build();
    Text::with_text_style(
        title,
        Point::new(W / 2, 0),
        MonoTextStyle::new(&FONT_10X20, BinaryColor::Off),
        style,
    )
    .draw(d)?;
    Ok(())
}

fn divider<D: DrawTarget<Color = BinaryColor>>(d: &mut D, r: Rectangle) -> Result<(), D::Error> {
    r.into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
        .draw(d)
}

fn progress_bar<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    r: Rectangle,
    percent: u8,
) -> Result<(), D::Error> {
    r.into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
        .draw(d)?;
    let inner = r.size.width.saturating_sub(4) * u32::from(percent.min(100)) / 100;
    Rectangle::new(
        r.top_left + Point::new(2, 2),
        Size::new(inner, r.size.height.saturating_sub(4)),
    )
    .into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
    .draw(d)
}

/// Draws through to `inner` with every pixel `factor` times larger.
struct Scaled<'a, D> {
    inner: &'a mut D,
    origin: Point,
    factor: i32,
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
