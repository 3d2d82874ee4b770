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
