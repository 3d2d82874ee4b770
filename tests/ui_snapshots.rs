//! Every OLED screen, made from the example bundle, rendered and compared with its ASCII
//! snapshot in tests/snapshots/ui/; and docs/screens/ is what `flashline screenshot --all`
//! renders from the example bundle today. After an intended change:
//! `UPDATE_SNAPSHOTS=1 cargo test --release --test ui_snapshots` (it rewrites both), then look
//! at the diff.

#[path = "support/common.rs"]
mod common;

use flashline::core::bundle::Bundle;
use flashline::core::ui::{frame_of, samples, Frame, SampleBundle, SlotPhase, SlotView, UiState};
use std::path::Path;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/ui");
const SCREENS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/screens");

fn example_samples() -> Vec<(&'static str, UiState)> {
    let bundle = Bundle::load(Path::new(common::EXAMPLE)).unwrap();
    samples(&SampleBundle::from(&bundle))
}

fn update() -> bool {
    std::env::var_os("UPDATE_SNAPSHOTS").is_some()
}

#[test]
fn every_screen_matches_its_snapshot() {
    let mut mismatched = Vec::new();
    for (name, ui) in example_samples() {
        let ascii = frame_of(&ui).to_ascii();
        let path = format!("{DIR}/{name}.txt");
        if update() {
            std::fs::create_dir_all(DIR).unwrap();
            std::fs::write(&path, &ascii).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == ascii => {}
            Ok(_) => mismatched.push(format!("{name}: differs\n{ascii}")),
            Err(e) => mismatched.push(format!("{path}: {e}")),
        }
    }
    assert!(mismatched.is_empty(), "{}", mismatched.join("\n"));
}

#[test]
fn docs_screens_are_rendered_from_the_example_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::flashline(&["screenshot", "--all", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rendered: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    rendered.sort();
    if update() {
        for f in std::fs::read_dir(SCREENS).unwrap() {
            std::fs::remove_file(f.unwrap().path()).unwrap();
        }
        for name in &rendered {
            std::fs::copy(dir.path().join(name), Path::new(SCREENS).join(name)).unwrap();
        }
    }
    let mut committed: Vec<String> = std::fs::read_dir(SCREENS)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    committed.sort();
    assert_eq!(
        committed, rendered,
        "docs/screens/ has other screens than are rendered"
    );
    for name in &rendered {
        let now = std::fs::read(dir.path().join(name)).unwrap();
        let doc = std::fs::read(Path::new(SCREENS).join(name)).unwrap();
        assert!(
            now == doc,
            "docs/screens/{name} is not what the example bundle renders"
        );
    }
}

fn rows_lit(f: &Frame, ys: std::ops::Range<u32>) -> usize {
    ys.filter(|y| (0..128).any(|x| f.get(x, *y))).count()
}

#[test]
fn screens_differ_verdicts_are_big_and_the_code_is_large() {
    let frames: Vec<_> = example_samples()
        .into_iter()
        .map(|(n, ui)| (n, frame_of(&ui)))
        .collect();
    for (i, (a, fa)) in frames.iter().enumerate() {
        assert!(fa.lit() > 50, "{a} is nearly empty");
        for (b, fb) in &frames[i + 1..] {
            assert_ne!(fa, fb, "{a} and {b} look the same");
        }
    }
    let frame = |name: &str| &frames.iter().find(|(n, _)| *n == name).unwrap().1;
    // The PASS verdict's glyphs span at least 30 rows: legible from a metre.
    assert!(rows_lit(frame("pass"), 0..64) >= 30);
    // The failure code is drawn in the 10×20 font (13 rows of capitals), not the 8-px one.
    assert!(rows_lit(frame("fail"), 23..43) >= 12);
}

/// Whether the three dots of an ellipsis are at the character cell from `(x, y)`.
fn ellipsis_at(f: &Frame, x: u32, y: u32) -> bool {
    [0, 2, 4]
        .iter()
        .all(|d| f.get(x + d, y + 6) && f.get(x + d, y + 7))
        && [1, 3].iter().all(|d| !f.get(x + d, y + 6))
}

fn working(doing: &str) -> SlotPhase {
    SlotPhase::Working {
        stage: "FLASH".into(),
        doing: doing.into(),
        percent: 40,
        remaining_s: 9,
        waiting_s: None,
        elapsed_s: 3,
        device_id: None,
    }
}

#[test]
fn a_long_line_ends_in_an_ellipsis_at_a_word_in_every_view() {
    let base = example_samples()[0].1.clone();
    let slot = |phase| SlotView {
        name: "A".into(),
        phase,
    };
    // Two slots: ten characters; `writing radio stack` → `writing…` (the cut falls mid-word).
    let two = UiState {
        slots: vec![slot(working("writing radio stack")), slot(SlotPhase::Empty)],
        ..base.clone()
    };
    assert!(
        ellipsis_at(&frame_of(&two), 1 + 6 * 7, 40),
        "{:?}",
        frame_of(&two)
    );
    // One slot: 21 characters.
    let one = UiState {
        slots: vec![slot(working("writing the radio stack of the board"))],
        ..base.clone()
    };
    assert!(
        ellipsis_at(&frame_of(&one), 6 * 17, 22),
        "{:?}",
        frame_of(&one)
    );
    // Nothing longer than the screen wraps or panics.
    let long = UiState {
        slots: vec![slot(SlotPhase::Fail {
            code: "E-".repeat(50),
            reason: "x".repeat(500),
            detail: "y ".repeat(300),
            device_id: Some("z".repeat(100)),
        })],
        ..base
    };
    let _ = frame_of(&long);
}

#[test]
fn the_menu_shows_all_four_items() {
    let menu = example_samples()
        .into_iter()
        .find(|(n, _)| *n == "menu")
        .unwrap()
        .1;
    let f = frame_of(&menu);
    // Items at rows 13, 23, 33 and 43; `close` (selected) is the fourth.
    for top in [13, 23, 33, 43] {
        assert!(rows_lit(&f, top..top + 10) > 4, "item at row {top}\n{f:?}");
    }
}

/// A station may have 8 slots (station.toml allows 1..=8): every one of them is on the screen,
/// so a FAIL on slot H is never off it.
#[test]
fn every_slot_of_eight_is_on_the_screen() {
    let base = example_samples()[0].1.clone();
    let names = ["A", "B", "C", "D", "E", "F", "G", "H"];
    let station = |failing: Option<usize>| UiState {
        slots: names
            .iter()
            .enumerate()
            .map(|(i, n)| SlotView {
                name: (*n).into(),
                phase: match failing == Some(i) {
                    true => SlotPhase::Fail {
                        code: "E-TEST".into(),
                        reason: "vin 10.2V < 11.4".into(),
                        detail: String::new(),
                        device_id: None,
                    },
                    false => SlotPhase::Empty,
                },
            })
            .collect(),
        ..base.clone()
    };
    let empty = frame_of(&station(None));
    for (i, name) in names.iter().enumerate() {
        assert_ne!(
            frame_of(&station(Some(i))),
            empty,
            "a FAIL on slot {name} does not show:\n{empty:?}"
        );
    }
}
