//! The board's USB serial (CDC ACM) on Linux: the tty is found by the slot's USB port path
//! through sysfs (`/sys/bus/usb/devices/1-1.2:1.0/tty/ttyACM0`), so it needs no libudev, and it
//! is looked up again at every open because the number changes when the board re-enumerates.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::core::board_test::MAX_LINE;
use crate::ports::{PortPath, SerialError, SerialLink, SerialPorts};

pub struct UsbSerialPorts {
    sysfs: PathBuf,
}

impl Default for UsbSerialPorts {
    fn default() -> Self {
        UsbSerialPorts {
            sysfs: "/sys/bus/usb/devices".into(),
        }
    }
}

/// The `/dev/ttyACM*` of the CDC interface of the device on `port`, looking under `sysfs`.
pub fn tty_for(sysfs: &Path, port: &PortPath) -> Option<PathBuf> {
    // The CDC control interface is the first interface of a Particle board in normal mode.
    let dir = sysfs.join(format!("{}:1.0", port.0)).join("tty");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("tty"))
        .collect();
    names.sort();
    names.first().map(|n| Path::new("/dev").join(n))
}

impl SerialPorts for UsbSerialPorts {
    fn touch(&mut self, port: &PortPath, baud: u32) -> Result<(), SerialError> {
        let path = tty_for(&self.sysfs, port).ok_or_else(|| SerialError::NotFound(port.clone()))?;
        let tty = serialport::new(path.to_string_lossy(), baud)
            .open()
            .map_err(|e| SerialError::Other(format!("{}: {e}", path.display())))?;
        drop(tty);
        Ok(())
    }

    fn open(&mut self, port: &PortPath) -> Result<Box<dyn SerialLink>, SerialError> {
        let path = tty_for(&self.sysfs, port).ok_or_else(|| SerialError::NotFound(port.clone()))?;
        let tty = serialport::new(path.to_string_lossy(), 115_200)
            .timeout(Duration::from_millis(20))
            .open()
            .map_err(|e| SerialError::Other(format!("{}: {e}", path.display())))?;
        Ok(Box::new(Tty {
            tty,
            pending: Vec::new(),
        }))
    }
}

struct Tty {
    tty: Box<dyn serialport::SerialPort>,
    pending: Vec<u8>,
}

fn io_error(e: std::io::Error) -> SerialError {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::NotConnected
        | std::io::ErrorKind::UnexpectedEof => SerialError::Gone,
        _ if e.raw_os_error() == Some(5) || e.raw_os_error() == Some(19) => SerialError::Gone, // EIO, ENODEV
        _ => SerialError::Other(e.to_string()),
    }
}

impl SerialLink for Tty {
    fn write_line(&mut self, line: &str) -> Result<(), SerialError> {
        self.tty
            .write_all(format!("{line}\n").as_bytes())
            .map_err(io_error)?;
        self.tty.flush().map_err(io_error)
    }

    fn read_line(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, SerialError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = take_line(&mut self.pending)? {
                return Ok(Some(line));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            let mut buf = [0u8; 256];
            match self.tty.read(&mut buf) {
                Ok(0) => return Err(SerialError::Gone),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(io_error(e)),
            }
        }
    }
}

/// Splits one line off `pending`; a line longer than MAX_LINE is an error and is dropped,
/// so a board that floods the port cannot grow memory.
pub fn take_line(pending: &mut Vec<u8>) -> Result<Option<Vec<u8>>, SerialError> {
    match pending.iter().position(|b| *b == b'\n') {
        Some(i) if i > MAX_LINE => {
            pending.drain(..=i);
            Err(SerialError::LineTooLong(MAX_LINE))
        }
        Some(i) => {
            let mut line: Vec<u8> = pending.drain(..=i).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            Ok(Some(line))
        }
        None if pending.len() > MAX_LINE => {
            pending.clear();
            Err(SerialError::LineTooLong(MAX_LINE))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_tty_of_a_port_in_sysfs() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("1-1.2:1.0/tty/ttyACM3")).unwrap();
        assert_eq!(
            tty_for(root.path(), &PortPath("1-1.2".into())),
            Some(PathBuf::from("/dev/ttyACM3"))
        );
        assert_eq!(tty_for(root.path(), &PortPath("1-1.3".into())), None);
    }

    #[test]
    fn lines_are_split_and_floods_are_bounded() {
        let mut p = b"OK 1 V\r\nREADY\npart".to_vec();
        assert_eq!(take_line(&mut p).unwrap(), Some(b"OK 1 V".to_vec()));
        assert_eq!(take_line(&mut p).unwrap(), Some(b"READY".to_vec()));
        assert_eq!(take_line(&mut p).unwrap(), None);
        let mut flood = vec![b'x'; MAX_LINE + 10];
        assert_eq!(
            take_line(&mut flood),
            Err(SerialError::LineTooLong(MAX_LINE))
        );
        assert!(flood.is_empty());
    }
}
