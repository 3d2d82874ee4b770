//! Sending label bytes to a printer: a network printer's raw port (`tcp://host:9100`) or a
//! USB printer's character device (`/dev/usb/lp0`). A translation only; what to print is
//! `core::label`'s.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::core::label::PrinterAddr;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const IO_TIMEOUT: Duration = Duration::from_secs(5);
const RESET_SETTLE: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("printer {printer}: {during}: {source}")]
    Io {
        printer: String,
        during: &'static str,
        source: std::io::Error,
    },
    #[error("printer {printer}: it closed the connection without taking the label ({cause})")]
    Closed { printer: String, cause: String },
}

pub fn send(printer: &PrinterAddr, bytes: &[u8]) -> Result<(), PrintError> {
    let name = printer.to_string();
    let io = |during| {
        let printer = name.clone();
        move |source| PrintError::Io {
            printer,
            during,
            source,
        }
    };
    match printer {
        PrinterAddr::Device(path) => {
            // No `create`: a printer that is not plugged in is an error, not a new file.
            let mut dev = std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(io("opening"))?;
            dev.write_all(bytes).map_err(io("writing"))?;
            dev.flush().map_err(io("writing"))
        }
        PrinterAddr::Tcp(addr) => {
            let mut stream = connect(addr).map_err(io("connecting"))?;
            stream
                .set_write_timeout(Some(IO_TIMEOUT))
                .and_then(|()| stream.set_read_timeout(Some(IO_TIMEOUT)))
                .map_err(io("connecting"))?;
            stream.write_all(bytes).map_err(io("sending"))?;
            stream.flush().map_err(io("sending"))?;
            confirm(stream, &name)
        }
    }
}

/// Whether the printer is there (a connection accepted, the device openable), printing
/// nothing: for `selftest`.
pub fn reachable(printer: &PrinterAddr) -> Result<(), PrintError> {
    let io = |source| PrintError::Io {
        printer: printer.to_string(),
        during: "connecting",
        source,
    };
    match printer {
        PrinterAddr::Device(path) => std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(io),
        PrinterAddr::Tcp(addr) => connect(addr).map(drop).map_err(io),
    }
}

fn connect(addr: &str) -> std::io::Result<TcpStream> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no address")))
}

/// A raw-port printer reads to the end of what we send and then closes; one that closed
/// before reading it all answers our bytes with a reset, which shows as an error on the
/// read, or — when its close reached us first — as the socket's pending error a moment
/// after the end of the stream. Silence until the timeout means it kept the connection
/// open after taking the bytes: printed.
fn confirm(mut stream: TcpStream, printer: &str) -> Result<(), PrintError> {
    let closed = |cause: String| PrintError::Closed {
        printer: printer.into(),
        cause,
    };
    stream
        .shutdown(Shutdown::Write)
        .map_err(|e| closed(e.to_string()))?;
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => {
                // The reset our bytes caused, if the printer had closed, is one round trip
                // behind its close.
                std::thread::sleep(RESET_SETTLE);
                break;
            }
            // A status reply, if the printer sends one: not ours to read.
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break
            }
            Err(e) => return Err(closed(e.to_string())),
        }
    }
    match stream.take_error() {
        Ok(Some(e)) => Err(closed(e.to_string())),
        Ok(None) | Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn listener() -> (TcpListener, PrinterAddr) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = PrinterAddr::Tcp(l.local_addr().unwrap().to_string());
        (l, addr)
    }

    #[test]
    fn a_network_printer_gets_the_bytes_and_the_end_of_the_job() {
        let (l, addr) = listener();
        let got = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut bytes = Vec::new();
            s.read_to_end(&mut bytes).unwrap();
            bytes
        });
        send(&addr, b"^XA^FDWC-0001^FS^XZ").unwrap();
        assert_eq!(got.join().unwrap(), b"^XA^FDWC-0001^FS^XZ");
    }

    #[test]
    fn a_printer_that_is_not_there_is_an_error_naming_it() {
        let (l, addr) = listener();
        drop(l);
        let e = send(&addr, b"^XA^XZ").unwrap_err().to_string();
        assert!(
            e.contains("connecting") && e.contains(&addr.to_string()),
            "{e}"
        );
    }

    #[test]
    fn a_printer_that_accepts_and_closes_at_once_did_not_print() {
        for _ in 0..20 {
            let (l, addr) = listener();
            let closer = std::thread::spawn(move || drop(l.accept().unwrap()));
            let label = vec![b'x'; 300];
            let e = send(&addr, &label).unwrap_err();
            assert!(
                matches!(e, PrintError::Closed { .. } | PrintError::Io { .. }),
                "{e}"
            );
            closer.join().unwrap();
        }
    }

    #[test]
    fn a_usb_printer_is_a_device_that_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let lp = dir.path().join("lp0");
        let missing = PrinterAddr::Device(lp.clone());
        assert!(send(&missing, b"^XA^XZ")
            .unwrap_err()
            .to_string()
            .contains("opening"));
        std::fs::write(&lp, b"").unwrap();
        send(&PrinterAddr::Device(lp.clone()), b"^XA^XZ").unwrap();
        assert_eq!(std::fs::read(&lp).unwrap(), b"^XA^XZ");
    }
}
