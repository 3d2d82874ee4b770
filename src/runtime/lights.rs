//! The stack light, slot lamps and buzzer: `core::lights`' signals on whatever outputs are
//! wired. Without outputs (the simulator, a station without lights) the signals are still
//! worked out, so the terminal view and `--frames` show them.

use std::time::Duration;

use crate::core::lights::{Light, Signaller, Signals};
use crate::core::ui::UiState;
use crate::ports::{DigitalOutput, LightOutputs, StationOutputs};

pub struct Lights {
    signaller: Signaller,
    outputs: Option<StationOutputs>,
    last: Option<Signals>,
    /// The last output error, logged once rather than every change.
    failing: Option<String>,
}

impl Lights {
    pub fn new(buzz_for: Duration, outputs: Option<StationOutputs>) -> Self {
        Lights {
            signaller: Signaller::new(buzz_for),
            outputs,
            last: None,
            failing: None,
        }
    }

    /// The signals for this moment; the outputs follow when they change.
    pub fn update(&mut self, ui: &UiState, now: Duration) -> Signals {
        let signals = self.signaller.update(ui, now);
        if self.last.as_ref() != Some(&signals) {
            self.drive(&signals);
            self.last = Some(signals.clone());
        }
        signals
    }

    fn drive(&mut self, s: &Signals) {
        let Some(out) = self.outputs.as_mut() else {
            return;
        };
        let mut errors = Vec::new();
        let mut set = |pin: &mut Option<Box<dyn DigitalOutput>>, on: bool| {
            if let Some(Err(e)) = pin.as_mut().map(|p| p.set(on)) {
                errors.push(e.to_string());
            }
        };
        let mut lamps = |pins: &mut LightOutputs, light: &Light| {
            set(&mut pins.green, light.green);
            set(&mut pins.amber, light.amber);
            set(&mut pins.red, light.red);
        };
        lamps(&mut out.station, &s.station);
        for (pins, light) in out.slots.iter_mut().zip(&s.slots) {
            lamps(pins, light);
        }
        set(&mut out.buzzer, s.buzzer);
        let error = errors.into_iter().next();
        if error != self.failing {
            if let Some(e) = &error {
                // A dead lamp must not stop the line: the OLED still says it all.
                log::error!("lights: {e}");
            }
            self.failing = error;
        }
    }
}
