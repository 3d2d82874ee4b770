//! GPIO on the Raspberry Pi header: buttons and fixture switches in, the stack light, slot
//! LEDs and buzzer out.
//!
//! The adapter is written against `embedded_hal::digital::InputPin` rather than rppal, and the
//! port stays a single `is_active`, because rppal's upstream stopped active development in 2025:
//! a gpiocdev-based pin can replace `open_rppal_input` without touching anything else.

use embedded_hal::digital::{InputPin, OutputPin};

use crate::ports::{DigitalInput, DigitalOutput, GpioError};

/// One input pin with its wiring's polarity applied.
pub struct GpioInput<P> {
    pin: P,
    active_low: bool,
    name: String,
}

impl<P> GpioInput<P>
where
    P: InputPin + Send,
{
    /// `name` appears in every error, so it should say which pin this is ("BCM 17").
    pub fn new(pin: P, active_low: bool, name: impl Into<String>) -> Self {
        GpioInput {
            pin,
            active_low,
            name: name.into(),
        }
    }
}

impl<P> DigitalInput for GpioInput<P>
where
    P: InputPin + Send,
{
    fn is_active(&mut self) -> Result<bool, GpioError> {
        let level = if self.active_low {
            self.pin.is_low()
        } else {
            self.pin.is_high()
        };
        // embedded-hal pin errors only promise Debug.
        level.map_err(|e| GpioError(format!("{}: cannot read pin: {e:?}", self.name)))
    }
}

/// Opens BCM pin `bcm` as an input. An active-low input is a switch to ground, so it gets the
/// pull-up; an active-high one gets the pull-down, so an open switch never floats.
pub fn open_rppal_input(
    bcm: u8,
    active_low: bool,
) -> Result<GpioInput<rppal::gpio::InputPin>, GpioError> {
    let name = format!("BCM {bcm}");
    let gpio = rppal::gpio::Gpio::new()
        .map_err(|e| GpioError(format!("{name}: cannot open the GPIO peripheral: {e}")))?;
    let pin = gpio
        .get(bcm)
        .map_err(|e| GpioError(format!("{name}: cannot claim pin: {e}")))?;
    let pin = if active_low {
        pin.into_input_pullup()
    } else {
        pin.into_input_pulldown()
    };
    Ok(GpioInput::new(pin, active_low, name))
}

/// Opens BCM pin `bcm` through the kernel's GPIO character device (`/dev/gpiochip*`), which
/// every current kernel has — Debian's own arm64 kernel included, where rppal cannot map the
/// registers (no /dev/gpiomem, strict /dev/mem). The line is found by its name (`GPIO17` in the
/// Pi's device trees), else as that offset on gpiochip0.
pub fn open_gpiocdev_input(
    bcm: u8,
    active_low: bool,
) -> Result<GpioInput<gpiocdev_embedded_hal::InputPin>, GpioError> {
    use gpiocdev::line::Bias;
    let name = format!("BCM {bcm}");
    let (chip, offset) = match gpiocdev::find_named_line(&format!("GPIO{bcm}")) {
        Some(found) => (found.chip, found.info.offset),
        None => ("/dev/gpiochip0".into(), u32::from(bcm)),
    };
    let request = gpiocdev::Request::builder()
        .on_chip(&chip)
        .with_consumer("flashline")
        .with_line(offset)
        .as_input()
        .with_bias(if active_low {
            Bias::PullUp
        } else {
            Bias::PullDown
        })
        .request()
        .map_err(|e| {
            GpioError(format!(
                "{name}: cannot claim {} line {offset}: {e}",
                chip.display()
            ))
        })?;
    let pin = gpiocdev_embedded_hal::InputPin::try_from(request)
        .map_err(|e| GpioError(format!("{name}: {e}")))?;
    Ok(GpioInput::new(pin, active_low, name))
}

/// An input by whichever way this kernel offers: the character device first, rppal after.
pub fn open_input(bcm: u8, active_low: bool) -> Result<Box<dyn DigitalInput>, GpioError> {
    match open_gpiocdev_input(bcm, active_low) {
        Ok(pin) => Ok(Box::new(pin)),
        Err(cdev) => match open_rppal_input(bcm, active_low) {
            Ok(pin) => Ok(Box::new(pin)),
            Err(rppal) => Err(GpioError(format!(
                "{}; and by registers: {}",
                cdev.0, rppal.0
            ))),
        },
    }
}

/// One output pin with its wiring's polarity applied.
pub struct GpioOutput<P> {
    pin: P,
    active_low: bool,
    name: String,
}

impl<P: OutputPin + Send> GpioOutput<P> {
    pub fn new(pin: P, active_low: bool, name: impl Into<String>) -> Self {
        GpioOutput {
            pin,
            active_low,
            name: name.into(),
        }
    }
}

impl<P: OutputPin + Send> DigitalOutput for GpioOutput<P> {
    fn set(&mut self, active: bool) -> Result<(), GpioError> {
        let result = match active != self.active_low {
            true => self.pin.set_high(),
            false => self.pin.set_low(),
        };
        result.map_err(|e| GpioError(format!("{}: cannot set pin: {e:?}", self.name)))
    }
}

/// Opens BCM pin `bcm` as an output, off (its inactive level) from the start: through the
/// GPIO character device first, rppal after (as `open_input`).
pub fn open_output(bcm: u8, active_low: bool) -> Result<Box<dyn DigitalOutput>, GpioError> {
    let name = format!("BCM {bcm}");
    let (chip, offset) = match gpiocdev::find_named_line(&format!("GPIO{bcm}")) {
        Some(found) => (found.chip, found.info.offset),
        None => ("/dev/gpiochip0".into(), u32::from(bcm)),
    };
    // No kernel polarity flag: `Active` is the high level here, and off is high when active-low.
    let off = match active_low {
        true => gpiocdev::line::Value::Active,
        false => gpiocdev::line::Value::Inactive,
    };
    let cdev = gpiocdev::Request::builder()
        .on_chip(&chip)
        .with_consumer("flashline")
        .with_line(offset)
        .as_output(off)
        .request()
        .map_err(|e| format!("{name}: cannot claim {} line {offset}: {e}", chip.display()))
        .and_then(|r| {
            gpiocdev_embedded_hal::OutputPin::try_from(r).map_err(|e| format!("{name}: {e}"))
        });
    match cdev {
        Ok(pin) => Ok(Box::new(GpioOutput::new(pin, active_low, name))),
        Err(cdev) => {
            let pin = rppal::gpio::Gpio::new()
                .and_then(|g| g.get(bcm))
                .map_err(|e| GpioError(format!("{cdev}; and by registers: {e}")))?;
            let pin = match active_low {
                true => pin.into_output_high(),
                false => pin.into_output_low(),
            };
            Ok(Box::new(GpioOutput::new(pin, active_low, name)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::digital::{Mock, State, Transaction};
    use embedded_hal_mock::eh1::MockError;

    #[test]
    fn active_low_input_is_active_when_the_pin_is_low() {
        let mut pin = Mock::new(&[Transaction::get(State::Low), Transaction::get(State::High)]);
        let mut input = GpioInput::new(pin.clone(), true, "BCM 17");
        assert_eq!(input.is_active(), Ok(true));
        assert_eq!(input.is_active(), Ok(false));
        pin.done();
    }

    #[test]
    fn active_high_input_is_active_when_the_pin_is_high() {
        let mut pin = Mock::new(&[Transaction::get(State::High), Transaction::get(State::Low)]);
        let mut input = GpioInput::new(pin.clone(), false, "BCM 27");
        assert_eq!(input.is_active(), Ok(true));
        assert_eq!(input.is_active(), Ok(false));
        pin.done();
    }

    #[test]
    fn a_pin_error_becomes_a_gpio_error_naming_the_pin() {
        let failing = Transaction::get(State::Low)
            .with_error(MockError::Io(std::io::ErrorKind::NotConnected));
        let mut pin = Mock::new(&[failing]);
        let mut input = GpioInput::new(pin.clone(), true, "BCM 22");
        let err = input.is_active().unwrap_err();
        assert!(err.0.starts_with("BCM 22: "), "{err}");
        assert!(err.0.contains("NotConnected"), "{err}");
        pin.done();
    }

    #[test]
    fn an_active_low_output_is_lit_by_the_low_level() {
        let mut pin = Mock::new(&[Transaction::set(State::Low), Transaction::set(State::High)]);
        let mut out = GpioOutput::new(pin.clone(), true, "BCM 5");
        assert_eq!(out.set(true), Ok(()));
        assert_eq!(out.set(false), Ok(()));
        pin.done();
    }

    #[test]
    fn open_rppal_input_fails_cleanly_without_gpio_hardware() {
        let result = open_rppal_input(17, true);
        // On a Pi the pin really opens; everywhere else this must be an error, not a panic.
        let on_a_pi = std::fs::read_to_string("/proc/device-tree/model")
            .is_ok_and(|model| model.contains("Raspberry Pi"));
        if !on_a_pi {
            let err = result.err().expect("no GPIO here, so opening must fail");
            assert!(err.0.starts_with("BCM 17: "), "{err}");
        }
    }
}

#[cfg(test)]
mod open_tests {
    #[test]
    fn opening_a_pin_without_gpio_hardware_is_an_error_naming_both_ways() {
        let on_a_pi = std::fs::read_to_string("/proc/device-tree/model")
            .is_ok_and(|m| m.contains("Raspberry Pi"));
        if !on_a_pi {
            let err = super::open_input(17, true).err().expect("no GPIO here");
            assert!(
                err.0.contains("BCM 17") && err.0.contains("by registers"),
                "{err}"
            );
        }
    }
}
