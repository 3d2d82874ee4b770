//! What cdc_acm makes of a board in normal mode: `/dev/ttyACM<n>` and its sysfs entry under
//! the CDC control interface. The node is a pseudo-terminal whose other end this process
//! holds: lines the program writes go to the board's test-firmware model, its replies come
//! back, and setting 14400 baud (what the kernel would pass on as SET_LINE_CODING) asks Device
//! OS for DFU mode. Termios requests run on the real pty (umockdev 0.17's default handler would
//! answer them ENOTTY).

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use super::port::Port;
use super::sysfs;
use super::umockdev::{Client, IoctlHandler, IoctlService, Testbed, UmockdevError};
use crate::ports::{PortPath, SerialLink, SerialPorts};
use crate::sim::serial::SimSerialPorts;
use crate::sim::SimArgon;

/// The preload runs the real ioctl when a handler answers this (libumockdev-preload.c).
const UNHANDLED: i64 = -100;
/// TCSETS2/TCSETSW2/TCSETSF2 (asm-generic/ioctls.h) and `struct termios2`'s c_cflag and
/// c_ospeed; BOTHER in c_cflag means "the rate is in c_ospeed" (how 14400 is set on Linux).
const TCSETS2: [u32; 3] = [0x402c_542b, 0x402c_542c, 0x402c_542d];
const TERMIOS2_SIZE: usize = 44;
const CFLAG_AT: usize = 8;
const OSPEED_AT: usize = 40;
const CBAUD: u32 = 0o10017;
const BOTHER: u32 = 0o10000;

pub(crate) struct Tty {
    pub minor: u32,
    pub syspath: String,
    pub devnode: String,
    link_path: std::path::PathBuf,
    shared: Arc<TtyShared>,
    pump: Option<JoinHandle<()>>,
}

/// What the pump and the ioctl handler share about one tty.
struct TtyShared {
    master: OwnedFd,
    /// Kept open so the master never sees a hang-up while no program has the port open.
    _slave: OwnedFd,
    opens: AtomicUsize,
    stop: AtomicBool,
}

/// The ttys of one port, for its ioctl handler.
#[derive(Default)]
pub(crate) struct TtyTable {
    open: Mutex<Vec<(String, Weak<TtyShared>)>>,
    /// Which tty each open file is on.
    clients: Mutex<Vec<(usize, Weak<TtyShared>)>>,
}

pub(crate) struct TtyService {
    pub port: Weak<Port>,
    pub table: Arc<TtyTable>,
}

impl TtyTable {
    fn clients(&self, f: impl FnOnce(&mut Vec<(usize, Weak<TtyShared>)>)) {
        f(&mut self.clients.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn find(&self, devnode: &str) -> Option<Arc<TtyShared>> {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.iter()
            .find(|(d, _)| d == devnode)
            .and_then(|(_, s)| s.upgrade())
    }
}

/// The rate a TCSETS2 request sets, if it names one in c_ospeed.
pub fn termios2_rate(b: &[u8]) -> Option<u32> {
    let word = |at: usize| {
        b.get(at..at + 4)
            .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
    };
    let cflag = word(CFLAG_AT)?;
    (cflag & CBAUD == BOTHER).then(|| word(OSPEED_AT)).flatten()
}

impl IoctlService for TtyService {
    fn ioctl(&self, client: Client) -> bool {
        if TCSETS2.contains(&client.request()) {
            let rate = client
                .arg()
                .resolve(0, TERMIOS2_SIZE)
                .and_then(|d| termios2_rate(d.bytes()));
            if let (Some(rate), Some(port)) = (rate, self.port.upgrade()) {
                port.line_coding(rate);
            }
        }
        client.complete(UNHANDLED, 0);
        true
    }

    fn connected(&self, client: Client) {
        if let Some(t) = self.table.find(&client.devnode()) {
            t.opens.fetch_add(1, Ordering::SeqCst);
            self.table
                .clients(|c| c.push((client.0, Arc::downgrade(&t))));
        }
    }

    fn closed(&self, client: usize) {
        let mut gone = None;
        self.table.clients(|c| {
            if let Some(i) = c.iter().position(|(id, _)| *id == client) {
                gone = c.remove(i).1.upgrade();
            }
        });
        if let Some(t) = gone {
            t.opens.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A new pseudo-terminal: (master, slave, slave's path). posix_openpt and friends are in libc
/// itself (openpty would add libutil to the link line of every build).
fn open_pty() -> std::io::Result<(OwnedFd, OwnedFd, String)> {
    let err = std::io::Error::last_os_error;
    // SAFETY: plain libc calls on fds we own; ptsname_r writes a NUL-terminated path into
    // the buffer it is given.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if m < 0 {
            return Err(err());
        }
        let master = OwnedFd::from_raw_fd(m);
        if libc::grantpt(m) != 0 || libc::unlockpt(m) != 0 {
            return Err(err());
        }
        let mut name = [0 as libc::c_char; 128];
        if libc::ptsname_r(m, name.as_mut_ptr(), name.len()) != 0 {
            return Err(err());
        }
        let name = CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned();
        let path = std::ffi::CString::new(name.clone()).map_err(|_| err())?;
        let s = libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if s < 0 {
            return Err(err());
        }
        let slave = OwnedFd::from_raw_fd(s);
        // Raw on both sides: the board's bytes arrive as sent.
        for fd in [m, s] {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut t) == 0 {
                libc::cfmakeraw(&mut t);
                libc::tcsetattr(fd, libc::TCSANOW, &t);
            }
        }
        let flags = libc::fcntl(m, libc::F_GETFL);
        libc::fcntl(m, libc::F_SETFL, flags | libc::O_NONBLOCK);
        Ok((master, slave, name))
    }
}

impl Tty {
    /// Adds `ttyACM<minor>` under the interface at `iface_path`, served by `handler`.
    pub fn add(
        tb: &Testbed,
        handler: &IoctlHandler,
        table: &Arc<TtyTable>,
        iface_path: &str,
        minor: u32,
        board: SimArgon,
        port: &PortPath,
    ) -> Result<Tty, UmockdevError> {
        let io = |e: std::io::Error| UmockdevError::Call(format!("tty: {e}"));
        let devnode = format!("/dev/ttyACM{minor}");
        let (master, slave, pts) = open_pty().map_err(io)?;
        let link_path = std::path::Path::new(tb.root()).join(devnode.trim_start_matches('/'));
        let _ = std::fs::remove_file(&link_path);
        std::os::unix::fs::symlink(&pts, &link_path).map_err(io)?;
        let shared = Arc::new(TtyShared {
            master,
            _slave: slave,
            opens: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        // Known to the handler before a program can find it in sysfs and open it.
        {
            let mut open = table.open.lock().unwrap_or_else(|p| p.into_inner());
            open.retain(|(_, t)| t.strong_count() > 0);
            open.push((devnode.clone(), Arc::downgrade(&shared)));
        }
        tb.attach_ioctl(&devnode, handler)?;
        let syspath = sysfs::add_acm_tty(tb, iface_path, minor)?;
        let pump = {
            let shared = shared.clone();
            let port = port.clone();
            std::thread::Builder::new()
                .name(format!("sim-usb-tty{minor}"))
                .spawn(move || pump(&shared, &board, &port))
                .map_err(io)?
        };
        tb.uevent(&syspath, "add");
        Ok(Tty {
            minor,
            syspath,
            devnode,
            link_path,
            shared,
            pump: Some(pump),
        })
    }

    /// cdc_acm lets go (the board left, or a program took the interface): the tty goes and a
    /// program that still has it open reads EOF/EIO, as after a hang-up.
    pub fn remove(mut self, tb: &Testbed) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(p) = self.pump.take() {
            let _ = p.join();
        }
        tb.uevent(&self.syspath, "remove");
        tb.remove_device(&self.syspath);
        // The kernel's `tty` class directory under the interface goes with its last tty.
        let dir = std::path::Path::new(tb.root()).join(self.syspath.trim_start_matches('/'));
        if let Some(class_dir) = dir.parent() {
            let _ = std::fs::remove_dir(class_dir);
        }
        tb.detach_ioctl(&self.devnode);
        let _ = std::fs::remove_file(&self.link_path);
        // Dropping `shared` closes the master: the program's end hangs up.
    }
}

/// Carries lines between the pty and the board while a program has the port open.
fn pump(tty: &TtyShared, board: &SimArgon, port: &PortPath) {
    let fd = tty.master.as_raw_fd();
    let mut link: Option<Box<dyn SerialLink>> = None;
    let mut pending: Vec<u8> = Vec::new();
    let mut dead = false;
    while !tty.stop.load(Ordering::SeqCst) {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd on our own fd; a short wait so `stop` is seen soon.
        unsafe { libc::poll(&mut p, 1, 5) };
        let open = tty.opens.load(Ordering::SeqCst) > 0;
        if !open {
            link = None;
            pending.clear();
        } else if link.is_none() && !dead {
            link = SimSerialPorts::new(vec![board.clone()]).open(port).ok();
        }
        if p.revents & libc::POLLIN != 0 {
            let mut buf = [0u8; 512];
            // SAFETY: reading into a local buffer from our non-blocking fd.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 && open {
                pending.extend_from_slice(&buf[..n as usize]);
            }
        }
        let Some(l) = link.as_mut() else { continue };
        while let Some(i) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            let line = String::from_utf8_lossy(&line).trim_end().to_string();
            if l.write_line(&line).is_err() {
                // The serial port vanished (serial-drop): nothing more comes on this tty.
                dead = true;
                break;
            }
        }
        if dead {
            link = None;
            continue;
        }
        while let Ok(Some(mut line)) = l.read_line(Duration::ZERO) {
            line.extend_from_slice(b"\r\n");
            write_all(fd, &line);
        }
    }
}

/// Writes to the pty, waiting a little while its buffer is full; a program that never reads
/// loses what does not fit, as a board's USB serial drops output nobody takes.
fn write_all(fd: i32, mut b: &[u8]) {
    let mut tries = 0;
    while !b.is_empty() && tries < 200 {
        // SAFETY: writing from a live slice to our fd.
        let n = unsafe { libc::write(fd, b.as_ptr().cast(), b.len()) };
        if n <= 0 {
            tries += 1;
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        b = &b[n as usize..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_termios2_with_bother_names_its_rate() {
        let mut t = vec![0u8; TERMIOS2_SIZE];
        t[CFLAG_AT..CFLAG_AT + 4].copy_from_slice(&(BOTHER | 0o60).to_ne_bytes());
        t[OSPEED_AT..OSPEED_AT + 4].copy_from_slice(&14400u32.to_ne_bytes());
        assert_eq!(termios2_rate(&t), Some(14400));
        t[CFLAG_AT..CFLAG_AT + 4].copy_from_slice(&0o10002u32.to_ne_bytes()); // B115200
        assert_eq!(termios2_rate(&t), None);
        assert_eq!(termios2_rate(&[0; 4]), None);
    }
}
