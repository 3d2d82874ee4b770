//! Sampling the station's GPIO inputs each tick and turning levels into debounced inputs.

use std::sync::mpsc::Receiver;
use std::time::Duration;

use crate::core::debounce::{Button, Debouncer};
use crate::core::station::Input;
use crate::ports::StationInputs;

pub struct DebouncedInputs {
    pins: StationInputs,
    start: Button,
    func: Button,
    fixtures: Vec<Debouncer>,
    /// The last GPIO error, logged once rather than every tick.
    failing: Option<String>,
    /// What the edges send (scanner lines, printer notices), drained each tick.
    edges: Option<Receiver<Input>>,
}

pub const LONG_PRESS: Duration = Duration::from_millis(1000);

impl DebouncedInputs {
    pub fn new(pins: StationInputs, debounce: Duration) -> Self {
        let fixtures = pins
            .fixtures
            .iter()
            .map(|_| Debouncer::new(debounce))
            .collect();
        DebouncedInputs {
            pins,
            start: Button::new(debounce, LONG_PRESS),
            func: Button::new(debounce, LONG_PRESS),
            fixtures,
            failing: None,
            edges: None,
        }
    }

    /// Inputs from the edges' threads (scanner, label printer, a script's scans) join the
    /// pins' each tick, after them.
    pub fn with_edges(mut self, edges: Receiver<Input>) -> Self {
        self.edges = Some(edges);
        self
    }

    pub fn sample(&mut self, now: Duration) -> Vec<Input> {
        let mut inputs = Vec::new();
        let mut errors = Vec::new();
        let mut read = |pin: &mut dyn crate::ports::DigitalInput| match pin.is_active() {
            Ok(level) => level,
            Err(e) => {
                errors.push(e.to_string());
                false
            }
        };
        let start = read(self.pins.start.as_mut());
        let func = read(self.pins.func.as_mut());
        let fixtures: Vec<Option<bool>> = self
            .pins
            .fixtures
            .iter_mut()
            .map(|p| p.as_mut().map(|p| read(p.as_mut())))
            .collect();
        // START acts on press; a long press means the same.
        if self.start.sample(start, now).is_some() {
            inputs.push(Input::Start);
        }
        if let Some(e) = self.func.sample(func, now) {
            inputs.push(Input::Func(e));
        }
        for (i, level) in fixtures.into_iter().enumerate() {
            let Some(level) = level else { continue };
            match self.fixtures[i].sample(level, now) {
                Some(true) => inputs.push(Input::Seated(i)),
                Some(false) => inputs.push(Input::Removed(i)),
                None => {}
            }
        }
        let error = errors.into_iter().next();
        if error != self.failing {
            if let Some(e) = &error {
                log::error!("{e}");
            }
            self.failing = error;
        }
        if let Some(edges) = &self.edges {
            inputs.extend(edges.try_iter());
        }
        inputs
    }
}
