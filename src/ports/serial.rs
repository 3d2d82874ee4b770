//! The board's USB serial port (CDC ACM), line by line, found by the slot's USB port path.

use std::time::Duration;

use super::PortPath;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerialError {
    #[error("no serial port for USB port {0}")]
    NotFound(PortPath),
    #[error("serial port went away")]
    Gone,
    #[error("line longer than {0} bytes")]
    LineTooLong(usize),
    #[error("serial: {0}")]
    Other(String),
}

pub trait SerialLink: Send {
    fn write_line(&mut self, line: &str) -> Result<(), SerialError>;
    /// The next line without its terminator, or `None` when none came within `timeout`.
    fn read_line(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, SerialError>;
}

pub trait SerialPorts: Send {
    fn open(&mut self, port: &PortPath) -> Result<Box<dyn SerialLink>, SerialError>;
    /// Opens the port at `baud` and closes it again: the line-coding change is the message
    /// (14400 baud asks Device OS to reset into DFU).
    fn touch(&mut self, port: &PortPath, baud: u32) -> Result<(), SerialError>;
}
