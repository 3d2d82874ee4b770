//! The simulator's screen at a terminal of any size: the OLED as large as the terminal allows
//! (half blocks, 128×32 characters; braille, 64×16, pixel for pixel; or one line per slot),
//! the lights in colour, the keys, then the log. Pure: lines from a size.

use crate::core::lights::{Light, Signals};
use crate::core::ui::{fit, short_id, Frame, SlotPhase, UiState};

pub struct View<'a> {
    pub ui: &'a UiState,
    pub frame: &'a Frame,
    pub signals: &'a Signals,
    pub keys: &'a str,
    /// A line said at once (quitting).
    pub status: Option<&'a str>,
    /// Log lines and finished units, oldest first.
    pub messages: &'a [String],
}

/// Which drawing of the OLED fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    HalfBlocks,
    Braille,
    Text,
}

/// Lines under the screen: lights, keys, and at least this many of the log.
const BELOW: usize = 2;
const MIN_LOG: usize = 2;

pub fn scale_for(width: usize, height: usize) -> Scale {
    if width >= 130 && height >= 34 + BELOW + MIN_LOG {
        Scale::HalfBlocks
    } else if width >= 66 && height >= 18 + BELOW + MIN_LOG {
        Scale::Braille
    } else {
        Scale::Text
    }
}

/// The lines to draw, each at most `width` visible characters, at most `height` of them.
pub fn lines(v: &View<'_>, width: usize, height: usize) -> Vec<String> {
    let width = width.max(20);
    let mut out: Vec<String> = match scale_for(width, height) {
        Scale::HalfBlocks => boxed(v.frame.to_blocks(), 128),
        Scale::Braille => boxed(v.frame.to_braille(), 64),
        Scale::Text => text_view(v.ui, width),
    };
    out.push(lights_line(v.signals, v.ui, width));
    out.push(fit(v.keys, width));
    if let Some(status) = v.status {
        out.push(fit(status, width));
    }
    let room = height.saturating_sub(out.len());
    let start = v.messages.len().saturating_sub(room);
    out.extend(v.messages[start..].iter().map(|m| fit(m, width)));
    out.truncate(height);
    out
}

fn boxed(rows: Vec<String>, inner: usize) -> Vec<String> {
    let border = format!("+{}+", "-".repeat(inner));
    let mut out = vec![border.clone()];
    out.extend(rows.into_iter().map(|r| format!("|{r}|")));
    out.push(border);
    out
}

/// One line per slot, for a terminal too small for any drawing.
fn text_view(ui: &UiState, width: usize) -> Vec<String> {
    ui.slots
        .iter()
        .map(|s| {
            let line = match &s.phase {
                SlotPhase::Empty => format!("{} insert board", s.name),
                SlotPhase::Ready => format!("{} press START", s.name),
                SlotPhase::Waiting { what, .. } => format!("{} scan {what}", s.name),
                SlotPhase::Working {
                    stage,
                    doing,
                    percent,
                    remaining_s,
                    ..
                } => format!(
                    "{} {stage} {percent}% {doing}, {remaining_s} s left",
                    s.name
                ),
                SlotPhase::Pass { device_id, .. } => {
                    format!("{} PASS {}", s.name, short_id(device_id))
                }
                SlotPhase::Fail { code, reason, .. } => format!("{} FAIL {code} {reason}", s.name),
            };
            fit(&line, width)
        })
        .collect()
}

fn lamp(light: &Light) -> String {
    let colour = match light.word() {
        "red" => "31",
        "amber" => "33",
        "green" => "32",
        _ => "90",
    };
    format!("\x1b[{colour}m●\x1b[0m {}", light.word())
}

/// `lights: station ● red  A ● green  B ● red  buzzer ON`, in colour.
fn lights_line(s: &Signals, ui: &UiState, width: usize) -> String {
    let mut parts = vec![format!("station {}", lamp(&s.station))];
    for (slot, light) in ui.slots.iter().zip(&s.slots) {
        parts.push(format!("{} {}", slot.name, lamp(light)));
    }
    parts.push(format!("buzzer {}", if s.buzzer { "ON" } else { "off" }));
    // Colour codes take no room; cut by visible width, slot by slot.
    let mut line = String::from("lights:");
    let mut visible = line.len();
    for p in parts {
        let w = visible_width(&p) + 2;
        if visible + w > width {
            break;
        }
        line.push_str("  ");
        line.push_str(&p);
        visible += w;
    }
    line
}

/// Characters a line takes on the terminal (colour codes take none).
pub fn visible_width(line: &str) -> usize {
    super::log_tap::strip_ansi(line).chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lights::Signaller;
    use crate::core::ui::{frame_of, samples, SampleBundle};

    fn sample() -> (UiState, Frame, Signals) {
        let bundle = crate::core::bundle::Bundle::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/bundles/example-argon"
        )))
        .unwrap();
        let ui = samples(&SampleBundle::from(&bundle))
            .into_iter()
            .find(|(n, _)| *n == "four-slots")
            .unwrap()
            .1;
        let signals = Signaller::new(std::time::Duration::ZERO).update(&ui, Default::default());
        (ui.clone(), frame_of(&ui), signals)
    }

    #[test]
    fn the_screen_fits_every_common_terminal_without_wrapping() {
        let (ui, frame, signals) = sample();
        let messages: Vec<String> = (0..50)
            .map(|i| format!("log line {i} {}", "x".repeat(200)))
            .collect();
        let v = View {
            ui: &ui,
            frame: &frame,
            signals: &signals,
            keys: "keys: s START  f FUNC  g FUNC held  1-4 seat/unseat A-D  q quit",
            status: Some("quitting: stopping the running slots"),
            messages: &messages,
        };
        for (w, h, scale) in [
            (80, 24, Scale::Braille),
            (120, 40, Scale::Braille),
            (132, 43, Scale::HalfBlocks),
            (40, 10, Scale::Text),
        ] {
            assert_eq!(scale_for(w, h), scale, "{w}x{h}");
            let out = lines(&v, w, h);
            assert!(out.len() <= h, "{w}x{h}: {} lines", out.len());
            for l in &out {
                assert!(visible_width(l) <= w, "{w}x{h}: {l}");
            }
            assert!(
                out.iter().any(|l| l.contains("log line 49")),
                "{w}x{h}: the newest log line shows"
            );
        }
    }
}
