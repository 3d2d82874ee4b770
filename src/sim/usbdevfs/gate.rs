//! The device node itself: a FIFO whose writability says "an URB is ready to reap".
//!
//! libusb waits for a usbfs file to poll writable (POLLOUT) before it reaps
//! (linux_usbfs.c: initialize_handle → usbi_add_event_source(fd, POLLOUT)). umockdev makes USB
//! nodes plain files, which always poll ready, so a waiting libusb would spin on
//! REAPURBNDELAY. A FIFO shrunk to one page is writable exactly when it is empty: the emulation
//! keeps one byte in it while nothing is ready and takes it out when something is.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

pub struct Gate {
    fd: OwnedFd,
    ready: bool,
}

impl Gate {
    /// Makes the FIFO at `path` (the node a client opens), closed.
    pub fn create(path: &Path) -> io::Result<Gate> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: plain syscalls on a path we own.
        unsafe {
            if libc::mkfifo(c.as_ptr(), 0o666) != 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = libc::open(
                c.as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            );
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = OwnedFd::from_raw_fd(fd);
            // One page: a single byte makes it full.
            if libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut gate = Gate { fd, ready: true };
            gate.set(false);
            Ok(gate)
        }
    }

    /// Opens (something to reap) or closes the gate.
    pub fn set(&mut self, ready: bool) {
        if ready == self.ready {
            return;
        }
        let fd = self.fd.as_raw_fd();
        if ready {
            let mut buf = [0u8; 64];
            // SAFETY: non-blocking reads into a local buffer until the FIFO is empty.
            while unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        } else {
            // SAFETY: a one-byte non-blocking write.
            unsafe { libc::write(fd, [0u8].as_ptr().cast(), 1) };
        }
        self.ready = ready;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writable(path: &Path) -> bool {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let mut p = libc::pollfd {
            fd: f.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one pollfd, no wait.
        unsafe { libc::poll(&mut p, 1, 0) };
        p.revents & libc::POLLOUT != 0
    }

    #[test]
    fn the_node_polls_writable_only_while_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bus/usb/001/002");
        let mut gate = Gate::create(&path).unwrap();
        assert!(!writable(&path));
        gate.set(true);
        assert!(writable(&path));
        gate.set(true);
        gate.set(false);
        assert!(!writable(&path));
    }
}
