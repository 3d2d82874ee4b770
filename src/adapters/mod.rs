//! Real hardware behind the ports, and decorators over any port implementation.
pub mod display;
pub mod gpio;
pub mod printer;
pub mod scanner;
pub mod serial;
#[cfg(feature = "swd")]
pub mod swd;
pub mod trace;
pub mod usb;
