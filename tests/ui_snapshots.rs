//! Every OLED screen, rendered and compared with its ASCII snapshot in tests/snapshots/ui/.
//! After an intended change: `UPDATE_SNAPSHOTS=1 cargo test --test ui_snapshots`, then look at
//! the diff (and `flashline screenshot --all docs/screens`).

use flashline::core::ui::{frame_of, samples, SlotPhase, SlotView, UiState};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/ui");

#[test]
fn every_screen_matches_its_snapshot() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut mismatched = Vec::new();
    for (name, ui) in samples() {
        let ascii = frame_of(&ui).to_ascii();
        let path = format!("{DIR}/{name}.txt");
        if update {
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
fn screens_differ_and_verdicts_are_big() {
    let frames: Vec<_> = samples()
        .into_iter()
        .map(|(n, ui)| (n, frame_of(&ui)))
        .collect();
    for (i, (a, fa)) in frames.iter().enumerate() {
        assert!(fa.lit() > 50, "{a} is nearly empty");
        for (b, fb) in &frames[i + 1..] {
            assert_ne!(fa, fb, "{a} and {b} look the same");
        }
    }
    // The PASS verdict's glyphs span at least 30 rows: legible from a metre.
    let pass = &frames.iter().find(|(n, _)| *n == "pass").unwrap().1;
    let rows = (0..64)
        .filter(|y| (0..128).any(|x| pass.get(x, *y)))
        .count();
    assert!(rows >= 30, "{rows}");
}

#[test]
fn long_texts_are_clipped_not_wrapped_or_panicking() {
    let ui = UiState {
        slots: vec![SlotView {
            name: "A".into(),
            phase: SlotPhase::Fail {
                code: "E-".repeat(50),
                reason: "x".repeat(500),
            },
        }],
        ..samples()[0].1.clone()
    };
    let _ = frame_of(&ui);
}
