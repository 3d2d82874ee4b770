//! Key events from a keyboard-like device (a barcode scanner): the evdev node on the station,
//! a list in tests.

use crate::core::scan::KeyEvent;

pub trait KeySource: Send {
    /// The next key press, release or repeat; an error when the device is gone.
    fn next_key(&mut self) -> std::io::Result<KeyEvent>;
}
