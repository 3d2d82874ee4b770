//! One `UiState` per screen, made from a real bundle (its name, version, lock hash, modules
//! and tests) and the station's own wording: the snapshot tests render them, `flashline
//! screenshot --all` writes them as PNG for the README.

use super::state::*;
use crate::core::board_test::Check;
use crate::core::bundle::Bundle;
use crate::core::operator_code::OperatorCode;
use crate::core::progress::plain_module;

/// What the screens show of a bundle.
#[derive(Debug, Clone)]
pub struct SampleBundle {
    pub label: BundleLabel,
    /// Module labels, in the bundle's order.
    pub modules: Vec<String>,
    /// Test names, and the first test's low limit when it has one (for the FAIL screen).
    pub tests: Vec<String>,
    pub first_low: Option<f64>,
    pub two_stage: bool,
}

impl From<&Bundle> for SampleBundle {
    fn from(b: &Bundle) -> Self {
        let tests = b.tests.as_ref().map(|t| &t.plan.tests[..]).unwrap_or(&[]);
        SampleBundle {
            label: BundleLabel::from(b),
            modules: b.modules.iter().map(|m| m.module.label()).collect(),
            tests: tests.iter().map(|t| t.name.clone()).collect(),
            first_low: tests.first().and_then(|t| match &t.check {
                Check::Range { low, .. } => *low,
                _ => None,
            }),
            two_stage: b.final_firmware.is_some(),
        }
    }
}

/// The first simulated board's device ID (`flashline flash --sim` finds it too).
const DEVICE: &str = "e00fce68f372fe94a3fad5fb";

fn working(stage: &str, doing: &str, percent: u8, remaining_s: u32, elapsed_s: u32) -> SlotPhase {
    SlotPhase::Working {
        stage: stage.into(),
        doing: doing.into(),
        percent,
        remaining_s,
        waiting_s: None,
        elapsed_s,
        device_id: Some(DEVICE.into()),
    }
}

fn fail(code: OperatorCode, unit_reason: &str) -> SlotPhase {
    SlotPhase::Fail {
        code: code.as_str().into(),
        reason: code.says().into(),
        detail: match code.reason_is_plain() {
            true => unit_reason.into(),
            false => code.action().into(),
        },
        device_id: Some(DEVICE.into()),
    }
}

pub fn samples(b: &SampleBundle) -> Vec<(&'static str, UiState)> {
    let one = |phase: SlotPhase| UiState {
        bundle: Some(b.label.clone()),
        slots: vec![SlotView {
            name: "A".into(),
            phase,
        }],
        counters: Counters { pass: 41, fail: 2 },
        ..UiState::default()
    };
    let slot = |name: &str, phase: SlotPhase| SlotView {
        name: name.into(),
        phase,
    };
    let biggest = b
        .modules
        .iter()
        .find(|m| m.starts_with("system-part"))
        .or(b.modules.first())
        .map_or("firmware", |m| plain_module(m));
    let n = b.tests.len().max(1);
    let second = b
        .tests
        .get(1)
        .or(b.tests.first())
        .cloned()
        .unwrap_or_default();
    let first = b.tests.first().cloned().unwrap_or_default();
    let low = b.first_low.unwrap_or(11.4);
    let test_reason = format!("{first} {:.1}V < {low}", low - 1.2);
    let pass = SlotPhase::Pass {
        device_id: DEVICE.into(),
        seconds: 18,
    };
    let write_fail = fail(OperatorCode::DfuWrite, "errWRITE system-part");
    let trace = Some(TraceView {
        work_order: Some("WO-1".into()),
        done: 3,
        planned: Some(10),
        operator: Some("OP-7".into()),
        next_serial: None,
    });
    let mut screens = vec![
        ("idle", one(SlotPhase::Empty)),
        (
            "work-order",
            UiState {
                trace: trace.clone(),
                ..one(SlotPhase::Empty)
            },
        ),
        (
            "scan-serial",
            UiState {
                trace,
                ..one(SlotPhase::Waiting {
                    what: "serial".into(),
                    chosen: false,
                })
            },
        ),
        ("ready", one(SlotPhase::Ready)),
        (
            "flashing",
            one(working("FLASH", &format!("writing {biggest}"), 41, 11, 7)),
        ),
        (
            "waiting",
            one(SlotPhase::Working {
                stage: "FLASH".into(),
                doing: "restarting board".into(),
                percent: 78,
                remaining_s: 5,
                waiting_s: Some(1),
                elapsed_s: 14,
                device_id: Some(DEVICE.into()),
            }),
        ),
        (
            "testing",
            one(working("TEST", &format!("test 2/{n} {second}"), 86, 3, 15)),
        ),
        ("pass", one(pass.clone())),
        ("fail", one(write_fail.clone())),
        ("fail-test", one(fail(OperatorCode::Test, &test_reason))),
        (
            "counters",
            UiState {
                screen: Screen::Counters,
                line: Some(LineView {
                    backlog: 3,
                    up: Some(true),
                }),
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
            "usb",
            UiState {
                screen: Screen::Usb,
                ports: Some(vec![
                    PortView {
                        port: "1-1.2".into(),
                        slot: Some("A".into()),
                        board: "argon".into(),
                    },
                    PortView {
                        port: "1-1.3".into(),
                        slot: None,
                        board: "argon DFU".into(),
                    },
                ]),
                ..one(SlotPhase::Empty)
            },
        ),
        (
            "menu",
            UiState {
                menu: Some(MenuView {
                    items: ["abort", "import bundle", "export records", "close"]
                        .map(String::from)
                        .to_vec(),
                    selected: 3,
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
                        format!("{} {}", b.label.name, b.label.version),
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
                    slot(
                        "A",
                        working("FLASH", &format!("writing {biggest}"), 41, 11, 7),
                    ),
                    slot("B", write_fail.clone()),
                ],
                ..one(SlotPhase::Empty)
            },
        ),
        (
            "four-slots",
            UiState {
                slots: vec![
                    slot("A", pass.clone()),
                    slot("B", working("FLASH", "writing radio stack", 12, 16, 2)),
                    slot("C", write_fail.clone()),
                    slot("D", SlotPhase::Empty),
                ],
                ..one(SlotPhase::Empty)
            },
        ),
        (
            "eight-slots",
            UiState {
                slots: vec![
                    slot("A", pass.clone()),
                    slot("B", working("FLASH", "writing radio stack", 12, 16, 2)),
                    slot("C", write_fail),
                    slot("D", SlotPhase::Empty),
                    slot(
                        "E",
                        working("TEST", &format!("test 2/{n} {second}"), 78, 4, 15),
                    ),
                    slot(
                        "F",
                        fail(OperatorCode::SerialDup, "WC-0001 is on another board"),
                    ),
                    slot("G", SlotPhase::Ready),
                    slot("H", pass),
                ],
                ..one(SlotPhase::Empty)
            },
        ),
    ];
    if b.two_stage {
        screens.insert(
            5,
            (
                "final",
                one(working("FINAL", "writing application", 93, 2, 16)),
            ),
        );
    }
    screens
}
