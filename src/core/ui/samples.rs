//! One `UiState` per screen: the snapshot tests render them, `flashline screenshot --all`
//! writes them as PNG for the README.

use super::state::*;

fn bundle() -> Option<BundleLabel> {
    Some(BundleLabel {
        name: "example-argon".into(),
        version: "1.0.0".into(),
        lock_hash: "21f799c2c9164da70d5f60125da1dbed".into(),
        platform: "argon".into(),
    })
}

fn one(phase: SlotPhase) -> UiState {
    UiState {
        bundle: bundle(),
        slots: vec![SlotView {
            name: "A".into(),
            phase,
        }],
        counters: Counters { pass: 41, fail: 2 },
        ..UiState::default()
    }
}

fn working(stage: &str, detail: &str, percent: u8, elapsed_s: u32) -> SlotPhase {
    SlotPhase::Working {
        stage: stage.into(),
        detail: detail.into(),
        percent,
        elapsed_s,
    }
}

pub fn samples() -> Vec<(&'static str, UiState)> {
    let pass = SlotPhase::Pass {
        device_id: "e00fce68f372fe94a3fad5fb".into(),
        seconds: 17,
    };
    let fail = SlotPhase::Fail {
        code: "E-DFU-WRITE".into(),
        reason: "errWRITE system-part".into(),
    };
    vec![
        ("idle", one(SlotPhase::Empty)),
        ("ready", one(SlotPhase::Ready)),
        (
            "flashing",
            one(working("FLASH", "system-part#1 v1502", 47, 9)),
        ),
        ("testing", one(working("TEST 2/5", "vin", 40, 21))),
        ("final", one(working("FINAL", "user-part#1 v7", 80, 24))),
        ("pass", one(pass.clone())),
        ("fail", one(fail.clone())),
        (
            "counters",
            UiState {
                screen: Screen::Counters,
                ..one(SlotPhase::Empty)
            },
        ),
        (
            "bundle",
            UiState {
                screen: Screen::Bundle,
                ..one(SlotPhase::Empty)
            },
        ),
        (
            "menu",
            UiState {
                menu: Some(MenuView {
                    items: vec![
                        "abort".into(),
                        "import bundle".into(),
                        "export records".into(),
                    ],
                    selected: 1,
                }),
                ..one(SlotPhase::Empty)
            },
        ),
        (
            "no-bundle",
            UiState {
                bundle: None,
                ..one(SlotPhase::Empty)
            },
        ),
        (
            "stick-offer",
            UiState {
                notice: Some(Notice {
                    title: "IMPORT?".into(),
                    lines: vec![
                        "wheelchair-ctl 3.2.1".into(),
                        "signature ok".into(),
                        "FUNC long: import".into(),
                        "FUNC short: cancel".into(),
                    ],
                }),
                ..one(SlotPhase::Empty)
            },
        ),
        (
            "two-slots",
            UiState {
                slots: vec![
                    SlotView {
                        name: "A".into(),
                        phase: working("FLASH", "system-part#1", 63, 11),
                    },
                    SlotView {
                        name: "B".into(),
                        phase: fail.clone(),
                    },
                ],
                ..one(SlotPhase::Empty)
            },
        ),
        (
            "four-slots",
            UiState {
                slots: vec![
                    SlotView {
                        name: "A".into(),
                        phase: pass,
                    },
                    SlotView {
                        name: "B".into(),
                        phase: working("FLASH", "radio-stack#0", 12, 3),
                    },
                    SlotView {
                        name: "C".into(),
                        phase: fail,
                    },
                    SlotView {
                        name: "D".into(),
                        phase: SlotPhase::Empty,
                    },
                ],
                ..one(SlotPhase::Empty)
            },
        ),
    ]
}
