//! The stack light and buzzer: what a production fixture signals so nobody has to read a
//! screen from across the bench. Per slot and for the station: green PASS, amber busy, red
//! FAIL, and the buzzer for a moment when a slot fails. Pure: from the UI state and `now`.

use serde::Serialize;
use std::time::Duration;

use super::ui::{SlotPhase, UiState};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Light {
    pub green: bool,
    pub amber: bool,
    pub red: bool,
}

impl Light {
    pub const OFF: Light = Light {
        green: false,
        amber: false,
        red: false,
    };

    pub fn of(phase: &SlotPhase) -> Light {
        let mut l = Light::OFF;
        match phase {
            SlotPhase::Working { .. } => l.amber = true,
            SlotPhase::Pass { .. } => l.green = true,
            SlotPhase::Fail { .. } => l.red = true,
            SlotPhase::Empty | SlotPhase::Ready | SlotPhase::Waiting { .. } => {}
        }
        l
    }

    /// The station's light for all its slots: red while any failed, else amber while any
    /// works, else green while any passed.
    fn worst(slots: &[Light]) -> Light {
        let mut l = Light::OFF;
        if slots.iter().any(|s| s.red) {
            l.red = true;
        } else if slots.iter().any(|s| s.amber) {
            l.amber = true;
        } else if slots.iter().any(|s| s.green) {
            l.green = true;
        }
        l
    }

    /// One word for a terminal or a log: `green`, `amber`, `red`, `off`.
    pub fn word(&self) -> &'static str {
        match (self.red, self.amber, self.green) {
            (true, _, _) => "red",
            (_, true, _) => "amber",
            (_, _, true) => "green",
            _ => "off",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Signals {
    pub station: Light,
    pub slots: Vec<Light>,
    pub buzzer: bool,
}

/// Turns UI states into signals; it remembers which slots were failing, so the buzzer
/// sounds once per new failure.
#[derive(Debug, Clone)]
pub struct Signaller {
    buzz_for: Duration,
    failing: Vec<bool>,
    buzz_until: Duration,
}

pub const DEFAULT_BUZZ: Duration = Duration::from_millis(500);

impl Signaller {
    pub fn new(buzz_for: Duration) -> Self {
        Signaller {
            buzz_for,
            failing: Vec::new(),
            buzz_until: Duration::ZERO,
        }
    }

    pub fn update(&mut self, ui: &UiState, now: Duration) -> Signals {
        let slots: Vec<Light> = ui.slots.iter().map(|s| Light::of(&s.phase)).collect();
        self.failing.resize(slots.len(), false);
        for (was, light) in self.failing.iter_mut().zip(&slots) {
            if light.red && !*was {
                self.buzz_until = now + self.buzz_for;
            }
            *was = light.red;
        }
        Signals {
            station: Light::worst(&slots),
            slots,
            buzzer: now < self.buzz_until,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ui::SlotView;

    fn ui(phases: Vec<SlotPhase>) -> UiState {
        UiState {
            slots: phases
                .into_iter()
                .map(|phase| SlotView {
                    name: "A".into(),
                    phase,
                })
                .collect(),
            ..UiState::default()
        }
    }

    fn fail() -> SlotPhase {
        SlotPhase::Fail {
            code: "E-TEST".into(),
            reason: String::new(),
            detail: String::new(),
            device_id: None,
        }
    }

    fn pass() -> SlotPhase {
        SlotPhase::Pass {
            device_id: "x".into(),
            seconds: 1,
        }
    }

    #[test]
    fn each_slot_shows_its_state_and_the_station_the_worst() {
        let mut s = Signaller::new(DEFAULT_BUZZ);
        let signals = s.update(&ui(vec![pass(), SlotPhase::Empty]), Duration::ZERO);
        assert_eq!(signals.station.word(), "green");
        assert_eq!(
            (signals.slots[0].word(), signals.slots[1].word()),
            ("green", "off")
        );
        let signals = s.update(&ui(vec![pass(), fail()]), Duration::ZERO);
        assert_eq!(
            (signals.station.word(), signals.slots[1].word()),
            ("red", "red")
        );
    }

    #[test]
    fn the_buzzer_sounds_for_a_moment_once_per_new_failure() {
        let mut s = Signaller::new(Duration::from_millis(500));
        let at = Duration::from_millis;
        assert!(!s.update(&ui(vec![pass()]), at(0)).buzzer);
        assert!(s.update(&ui(vec![fail()]), at(100)).buzzer);
        assert!(s.update(&ui(vec![fail()]), at(550)).buzzer);
        assert!(
            !s.update(&ui(vec![fail()]), at(700)).buzzer,
            "once, not for ever"
        );
        assert!(!s.update(&ui(vec![SlotPhase::Empty]), at(800)).buzzer);
        assert!(
            s.update(&ui(vec![fail()]), at(900)).buzzer,
            "the next failure"
        );
    }
}
