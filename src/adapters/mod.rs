//! Real hardware behind the ports, and decorators over any port implementation.
pub mod display;
pub mod gpio;
pub mod serial;
pub mod trace;
pub mod usb;
