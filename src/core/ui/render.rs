//! Drawing a `UiState` on a 128×64 one-bit display. Legible from a metre: verdicts 40 px tall,
//! failure codes in the largest font they fit, nothing a status depends on smaller than the
//! 6×10 font, and no line cut without an ellipsis.

use embedded_graphics::mono_font::ascii::{FONT_10X20, FONT_6X10};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};

use super::state::{SlotPhase, SlotView, UiState};
use super::text::{band, big, centered, code_font, huge_centered, right, small, small_in, W};
use super::Screen;

const ON: BinaryColor = BinaryColor::On;
const OFF: BinaryColor = BinaryColor::Off;

/// Draws the whole screen (clearing it first).
pub fn render<D: DrawTarget<Color = BinaryColor>>(ui: &UiState, d: &mut D) -> Result<(), D::Error> {
    d.clear(OFF)?;
    if let Some(notice) = &ui.notice {
        title_band(d, &notice.title)?;
        for (i, line) in notice.lines.iter().take(4).enumerate() {
            small(d, line, Point::new(0, 24 + 10 * i as i32))?;
        }
        return Ok(());
    }
    if let Some(menu) = &ui.menu {
        // A slim title, so four items and the help line fit; the selected one always shows.
        band(d, Rectangle::new(Point::zero(), Size::new(128, 11)))?;
        centered(d, "MENU", &FONT_6X10, W / 2, 0, OFF)?;
        let first = menu.selected.saturating_sub(3);
        for (i, item) in menu.items.iter().enumerate().skip(first).take(4) {
            let marker = if i == menu.selected { ">" } else { " " };
            small(
                d,
                &format!("{marker} {item}"),
                Point::new(0, 13 + 10 * (i - first) as i32),
            )?;
        }
        return small(d, "short:next long:ok", Point::new(0, 54));
    }
    let Some(bundle) = &ui.bundle else {
        centered(d, "NO BUNDLE", &FONT_10X20, W / 2, 8, ON)?;
        small(d, "insert the USB stick", Point::new(4, 38))?;
        return small(d, "with a signed bundle", Point::new(4, 50));
    };
    match ui.screen {
        Screen::Counters => {
            title_band(d, "TODAY")?;
            centered(
                d,
                &format!("PASS {}", ui.counters.pass),
                &FONT_10X20,
                W / 2,
                20,
                ON,
            )?;
            if let Some(line) = &ui.line {
                small(d, &line.text(), Point::new(0, 39))?;
            }
            let y = ui
                .counters
                .yield_percent()
                .map_or("-".into(), |p| format!("{p}%"));
            if let Some(trace) = &ui.trace {
                small(d, &trace.line(), Point::new(0, 40))?;
            }
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
        Screen::Usb => {
            title_band(d, "USB")?;
            let ports = match &ui.ports {
                None => return small(d, "looking at USB...", Point::new(0, 24)),
                Some(p) if p.is_empty() => {
                    small(d, "no Particle board", Point::new(0, 24))?;
                    return small(d, "plug one in a fixture", Point::new(0, 36));
                }
                Some(p) => p,
            };
            for (i, p) in ports.iter().take(4).enumerate() {
                let slot = p.slot.as_deref().unwrap_or("-");
                let line = format!("{:<8} {slot:<2} {}", p.port, p.board);
                small(d, &line, Point::new(0, 22 + 10 * i as i32))?;
            }
            return Ok(());
        }
        Screen::Status => {}
    }
    match ui.slots.as_slice() {
        [] => centered(d, "NO SLOTS", &FONT_10X20, W / 2, 20, ON),
        [one] => single_slot(d, ui, one),
        [a, b] => {
            slot_half(d, a, 0)?;
            divider(d, Rectangle::new(Point::new(63, 0), Size::new(1, 64)))?;
            slot_half(d, b, 65)
        }
        many if many.len() > 4 => super::grid::grid(d, many),
        many => {
            for (i, s) in many.iter().enumerate() {
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
        SlotPhase::Empty | SlotPhase::Ready | SlotPhase::Waiting { .. } => {
            let bundle = ui
                .bundle
                .as_ref()
                .map(|b| format!("{} {}", b.name, b.version))
                .unwrap_or_default();
            small(d, &bundle, Point::new(0, 0))?;
            divider(d, Rectangle::new(Point::new(0, 11), Size::new(128, 1)))?;
            let word = match &s.phase {
                SlotPhase::Empty => "INSERT BOARD".to_string(),
                SlotPhase::Waiting { what, .. } => format!("SCAN {}", what.to_uppercase()),
                _ => "PRESS START".to_string(),
            };
            centered(d, &word, &FONT_10X20, W / 2, 16, ON)?;
            if let Some(trace) = &ui.trace {
                return small(d, &trace.line(), Point::new(0, 52));
            }
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
            doing,
            percent,
            remaining_s,
            waiting_s,
            device_id,
            ..
        } => {
            big(d, stage, Point::new(0, 0), ON)?;
            let p = format!("{percent}%");
            big(d, &p, Point::new(W - 10 * p.len() as i32, 0), ON)?;
            match waiting_s {
                Some(w) => {
                    let waited = format!(" {w}s");
                    small_in(d, doing, Point::new(0, 22), 21 - waited.len(), ON)?;
                    right(d, &waited, 22)?;
                }
                None => small(d, doing, Point::new(0, 22))?,
            }
            progress_bar(
                d,
                Rectangle::new(Point::new(0, 35), Size::new(128, 11)),
                *percent,
            )?;
            let who = match device_id {
                Some(id) => format!("{} {}", s.name, short_id(id)),
                None => s.name.clone(),
            };
            small(d, &who, Point::new(0, 52))?;
            right(d, &format!("{} left", duration(*remaining_s)), 52)
        }
        SlotPhase::Pass { device_id, seconds } => {
            huge_centered(d, "PASS", 0, false)?;
            small(
                d,
                &format!("board {}", short_id(device_id)),
                Point::new(0, 44),
            )?;
            small(
                d,
                &format!("slot {}  {seconds} s", s.name),
                Point::new(0, 54),
            )
        }
        SlotPhase::Fail {
            code,
            reason,
            detail,
            device_id,
        } => {
            band(d, Rectangle::new(Point::zero(), Size::new(128, 21)))?;
            big(d, "FAIL", Point::new(2, 0), OFF)?;
            let id = device_id.as_deref().map(short_id).unwrap_or_default();
            small_in(
                d,
                &format!("slot {}", s.name),
                Point::new(W - 6 * 8, 0),
                8,
                OFF,
            )?;
            small_in(d, &id, Point::new(W - 6 * 8, 10), 8, OFF)?;
            match code_font(code, 128, 20) {
                Some(font) => centered(d, code, font, W / 2, 23, ON)?,
                None => small(d, code, Point::new(0, 28))?,
            }
            small(d, reason, Point::new(0, 43))?;
            small(d, detail, Point::new(0, 54))
        }
    }
}

/// Half the screen for two slots (63 px: ten small characters, six big ones).
fn slot_half<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    s: &SlotView,
    x: i32,
) -> Result<(), D::Error> {
    let line = |d: &mut D, text: &str, y: i32| small_in(d, text, Point::new(x + 1, y), 10, ON);
    let word = |d: &mut D, text: &str| centered(d, text, &FONT_10X20, x + 31, 15, ON);
    match &s.phase {
        SlotPhase::Empty => {
            line(d, &s.name, 0)?;
            word(d, "EMPTY")?;
            line(d, "insert", 40)?;
            line(d, "board", 52)
        }
        SlotPhase::Ready => {
            line(d, &s.name, 0)?;
            word(d, "READY")?;
            line(d, "press", 40)?;
            line(d, "START", 52)
        }
        SlotPhase::Waiting { what, chosen } => {
            line(d, &s.name, 0)?;
            word(d, "SCAN")?;
            line(d, what, 40)?;
            line(d, if *chosen { "next scan" } else { "" }, 52)
        }
        SlotPhase::Working {
            stage,
            doing,
            percent,
            remaining_s,
            waiting_s,
            ..
        } => {
            line(d, &format!("{} {stage}", s.name), 0)?;
            word(d, &format!("{percent}%"))?;
            line(d, doing, 40)?;
            match waiting_s {
                Some(w) => line(d, &format!("waited {w}s"), 52),
                None => line(d, &format!("{} left", duration(*remaining_s)), 52),
            }
        }
        SlotPhase::Pass { device_id, seconds } => {
            line(d, &s.name, 0)?;
            word(d, "PASS")?;
            line(d, &short_id(device_id), 40)?;
            line(d, &format!("{seconds} s"), 52)
        }
        SlotPhase::Fail {
            code,
            reason,
            device_id,
            ..
        } => {
            let id = device_id.as_deref().map(short_id).unwrap_or_default();
            line(d, &format!("{} {id}", s.name), 0)?;
            band(d, Rectangle::new(Point::new(x, 13), Size::new(63, 21)))?;
            centered(d, "FAIL", &FONT_10X20, x + 31, 14, OFF)?;
            let short = code.trim_start_matches("E-");
            match code_font(short, 63, 13) {
                Some(font) => centered(d, short, font, x + 31, 36, ON)?,
                None => line(d, short, 38)?,
            }
            line(d, reason, 53)
        }
    }
}

/// A quarter of the screen for 3–4 slots: `A PASS` in 10×20, one small line under it.
fn slot_quarter<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    s: &SlotView,
    at: Point,
) -> Result<(), D::Error> {
    let line = |d: &mut D, text: &str| small_in(d, text, at + Point::new(1, 20), 10, ON);
    let word = |d: &mut D, text: &str, color| {
        big(
            d,
            &format!("{} {text}", s.name),
            at + Point::new(1, 0),
            color,
        )
    };
    match &s.phase {
        SlotPhase::Empty => {
            word(d, "----", ON)?;
            line(d, "no board")
        }
        SlotPhase::Ready => {
            word(d, "WAIT", ON)?;
            line(d, "press START")
        }
        SlotPhase::Waiting { what, chosen } => {
            word(d, "SCAN", ON)?;
            line(d, if *chosen { "next scan" } else { what })
        }
        SlotPhase::Working {
            stage,
            percent,
            remaining_s,
            waiting_s,
            ..
        } => {
            word(d, &format!("{percent}%"), ON)?;
            match waiting_s {
                Some(w) => line(d, &format!("{stage} wait {w}s")),
                None => line(d, &format!("{stage} {}", duration(*remaining_s))),
            }
        }
        SlotPhase::Pass { device_id, .. } => {
            word(d, "PASS", ON)?;
            line(d, &short_id(device_id))
        }
        SlotPhase::Fail { code, .. } => {
            band(d, Rectangle::new(at, Size::new(63, 20)))?;
            word(d, "FAIL", OFF)?;
            let short = code.trim_start_matches("E-");
            // Capitals of a 13-px font start two rows down: they clear the band.
            match code_font(short, 63, 13) {
                Some(font) => {
                    centered(d, short, font, at.x + 31, at.y + 18, ON)?;
                    Ok(())
                }
                None => line(d, short),
            }
        }
    }
}

/// `..94a3fad5`: the end of the device ID, as the operator compares it with the label.
pub fn short_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    chars[chars.len().saturating_sub(8)..].iter().collect()
}

/// `8 s`, `1:05`.
fn duration(seconds: u32) -> String {
    match seconds {
        0..=59 => format!("{seconds} s"),
        s => format!("{}:{:02}", s / 60, s % 60),
    }
}

fn title_band<D: DrawTarget<Color = BinaryColor>>(d: &mut D, title: &str) -> Result<(), D::Error> {
    band(d, Rectangle::new(Point::zero(), Size::new(128, 20)))?;
    centered(d, title, &FONT_10X20, W / 2, 0, OFF)
}

fn divider<D: DrawTarget<Color = BinaryColor>>(d: &mut D, r: Rectangle) -> Result<(), D::Error> {
    band(d, r)
}

fn progress_bar<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    r: Rectangle,
    percent: u8,
) -> Result<(), D::Error> {
    r.into_styled(PrimitiveStyle::with_stroke(ON, 1)).draw(d)?;
    let inner = r.size.width.saturating_sub(4) * u32::from(percent.min(100)) / 100;
    band(
        d,
        Rectangle::new(
            r.top_left + Point::new(2, 2),
            Size::new(inner, r.size.height.saturating_sub(4)),
        ),
    )
}
