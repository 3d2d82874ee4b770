//! A station on real USB whose buttons and fixture switches are simulated (`run --sim-io
//! --script FILE`): the boards are whatever is on the slots' USB ports — real ones, or
//! `flashline sim usb`'s emulated ones — and the script only closes and opens the fixture
//! switches and presses the buttons.

use std::time::Duration;

use super::script::ScriptWorld;
use super::sim_world::{SimButton, SimButtons, SimPin};
use crate::ports::StationInputs;

pub struct SimIo {
    names: Vec<String>,
    fixtures: Vec<SimPin>,
    buttons: SimButtons,
}

impl SimIo {
    pub fn new(slot_names: &[String]) -> Self {
        SimIo {
            names: slot_names.to_vec(),
            fixtures: slot_names.iter().map(|_| SimPin::default()).collect(),
            buttons: SimButtons::default(),
        }
    }

    pub fn inputs(&self) -> StationInputs {
        self.buttons.inputs(&self.fixtures)
    }

    fn fixture(&self, slot: usize, closed: bool) {
        if let Some(f) = self.fixtures.get(slot) {
            f.set(closed);
        }
    }
}

impl ScriptWorld for SimIo {
    fn slot_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
    /// The operator closes the fixture over the board on the slot's port.
    fn seat(&mut self, slot: usize) {
        self.fixture(slot, true)
    }
    fn unseat(&mut self, slot: usize) {
        self.fixture(slot, false)
    }
    fn reseat(&mut self, slot: usize) {
        self.fixture(slot, true)
    }
    fn press(&mut self, button: SimButton, now: Duration, hold: Duration) {
        self.buttons.press(button, now, hold)
    }
    fn tick(&mut self, now: Duration) {
        self.buttons.tick(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seating_closes_only_the_named_slots_fixture() {
        let mut io = SimIo::new(&["A".into(), "B".into()]);
        let mut inputs = io.inputs();
        let b = io.slot_index("B").unwrap();
        io.seat(b);
        let level =
            |i: &mut StationInputs, n: usize| i.fixtures[n].as_mut().unwrap().is_active().unwrap();
        assert!(!level(&mut inputs, 0) && level(&mut inputs, 1));
        io.unseat(b);
        assert!(!level(&mut inputs, 1));
        io.press(SimButton::Start, Duration::ZERO, Duration::from_millis(150));
        assert!(inputs.start.is_active().unwrap());
        io.tick(Duration::from_millis(200));
        assert!(!inputs.start.is_active().unwrap());
        assert_eq!(io.slot_index("C"), None);
    }
}
