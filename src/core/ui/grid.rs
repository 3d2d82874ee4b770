//! Five to eight slots on one 128×64 screen: a cell of 31×31 pixels each, four across and two
//! down, so every slot is always on the screen (a station may have eight: station.toml's
//! limit) and a FAIL is never off it. Three lines of the 6×10 font, five characters each: the
//! slot's name, what it is doing, and one detail; a failed slot's cell is lit, its code in
//! dark letters across the lower two lines.

use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use super::state::{SlotPhase, SlotView};
use super::text::{band, small_in};

const ON: BinaryColor = BinaryColor::On;
const OFF: BinaryColor = BinaryColor::Off;
/// Characters a cell's line holds: 5 × 6 px in 31.
const CELL_CHARS: usize = 5;
const COLUMNS: usize = 4;

pub fn grid<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    slots: &[SlotView],
) -> Result<(), D::Error> {
    for (i, s) in slots.iter().take(2 * COLUMNS).enumerate() {
        let at = Point::new(32 * (i % COLUMNS) as i32, 33 * (i / COLUMNS) as i32);
        cell(d, s, at)?;
    }
    for x in [31, 63, 95] {
        band(d, Rectangle::new(Point::new(x, 0), Size::new(1, 64)))?;
    }
    band(d, Rectangle::new(Point::new(0, 31), Size::new(128, 1)))
}

fn cell<D: DrawTarget<Color = BinaryColor>>(
    d: &mut D,
    s: &SlotView,
    at: Point,
) -> Result<(), D::Error> {
    let failed = matches!(s.phase, SlotPhase::Fail { .. });
    let color = match failed {
        true => OFF,
        false => ON,
    };
    if failed {
        band(d, Rectangle::new(at, Size::new(31, 31)))?;
    }
    let line = |d: &mut D, row: i32, text: &str| {
        small_in(d, text, at + Point::new(1, 1 + 10 * row), CELL_CHARS, color)
    };
    line(d, 0, &s.name)?;
    let [word, detail] = lines(&s.phase);
    line(d, 1, &word)?;
    line(d, 2, &detail)
}

/// What a cell says under the slot's name.
fn lines(phase: &SlotPhase) -> [String; 2] {
    match phase {
        SlotPhase::Empty => ["----".into(), String::new()],
        SlotPhase::Ready => ["READY".into(), "START".into()],
        SlotPhase::Waiting { chosen, .. } => [
            "SCAN".into(),
            match chosen {
                true => "next".into(),
                false => String::new(),
            },
        ],
        SlotPhase::Working { stage, percent, .. } => [format!("{percent}%"), stage.clone()],
        SlotPhase::Pass { device_id, .. } => {
            let id: Vec<char> = device_id.chars().collect();
            [
                "PASS".into(),
                id[id.len().saturating_sub(4)..].iter().collect(),
            ]
        }
        // The lit cell says FAIL; both lines carry the code (`SERIAL-DUP` whole, longer ones
        // end in an ellipsis: the log and the FUNC screens have it whole).
        SlotPhase::Fail { code, .. } => {
            let code: Vec<char> = code.trim_start_matches("E-").chars().collect();
            let (first, rest) = code.split_at(code.len().min(CELL_CHARS));
            [first.iter().collect(), rest.iter().collect()]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_runs_over_both_lines_and_a_longer_one_is_cut_by_the_line() {
        let fail = |code: &str| SlotPhase::Fail {
            code: code.into(),
            reason: String::new(),
            detail: String::new(),
            device_id: None,
        };
        assert_eq!(lines(&fail("E-SERIAL-DUP")), ["SERIA", "L-DUP"]);
        assert_eq!(lines(&fail("E-TEST")), ["TEST", ""]);
        // `small_in` fits the second line to five characters, with an ellipsis.
        assert_eq!(lines(&fail("E-WRONG-PLATFORM"))[1], "-PLATFORM");
        let pass = SlotPhase::Pass {
            device_id: "e00fce68f372fe94a3fad5fb".into(),
            seconds: 18,
        };
        assert_eq!(lines(&pass), ["PASS", "d5fb"]);
    }
}
