//! Digital inputs: buttons and fixture switches. The adapter reports the *logical* level
//! (active = pressed / board seated), having applied its wiring's polarity; debouncing and
//! long-press timing live in `core::debounce`, against the `Clock`.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GPIO: {0}")]
pub struct GpioError(pub String);

pub trait DigitalInput: Send {
    fn is_active(&mut self) -> Result<bool, GpioError>;
}

/// Every input the station reads, sampled together each tick.
pub struct StationInputs {
    pub start: Box<dyn DigitalInput>,
    pub func: Box<dyn DigitalInput>,
    /// One per slot, in the order of station.toml; `None` when a slot has no fixture switch.
    pub fixtures: Vec<Option<Box<dyn DigitalInput>>>,
}

/// A digital output: a lamp of the stack light, a per-slot LED, the buzzer. The adapter
/// applies its wiring's polarity (`set(true)` lights it, whatever the level that takes).
pub trait DigitalOutput: Send {
    fn set(&mut self, active: bool) -> Result<(), GpioError>;
}

/// A green/amber/red light; any lamp may be left unwired.
#[derive(Default)]
pub struct LightOutputs {
    pub green: Option<Box<dyn DigitalOutput>>,
    pub amber: Option<Box<dyn DigitalOutput>>,
    pub red: Option<Box<dyn DigitalOutput>>,
}

/// Every output the station drives: the stack light, the buzzer, a light per slot (in the
/// order of station.toml).
#[derive(Default)]
pub struct StationOutputs {
    pub station: LightOutputs,
    pub buzzer: Option<Box<dyn DigitalOutput>>,
    pub slots: Vec<LightOutputs>,
}
