//! The barcode scanner: a USB HID keyboard read through its evdev node
//! (`/dev/input/by-id/usb-…-event-kbd`), grabbed (`EVIOCGRAB`) so its keystrokes never reach
//! a console or login prompt. Its own thread joins keys into lines (`core::scan`) and sends
//! each as `Input::Scanned` to the main loop, which drains it every tick. A scanner that is
//! missing or unplugged is logged once and reopened every few seconds; flashing goes on.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use crate::core::scan::{KeyEvent, LineJoiner};
use crate::core::station::Input;
use crate::ports::{Clock, KeySource};

/// `EV_KEY` in Linux `include/uapi/linux/input-event-codes.h`.
const EV_KEY: u16 = 0x01;
/// `EVIOCGRAB` = `_IOW('E', 0x90, int)` in `include/uapi/linux/input.h`: the same number on
/// aarch64 and x86_64 (both use the generic ioctl encoding).
const EVIOCGRAB: u64 = (1 << 30) | (4 << 16) | ((b'E' as u64) << 8) | 0x90;
const RETRY_EVERY: Duration = Duration::from_secs(5);

pub struct EvdevKeys {
    file: File,
}

impl EvdevKeys {
    /// Opens and grabs the device: from now on only flashline sees its keys.
    pub fn open(path: &Path) -> std::io::Result<EvdevKeys> {
        let file = File::open(path)?;
        // SAFETY: EVIOCGRAB takes an int by value on an open evdev fd; no memory is passed.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), EVIOCGRAB as _, 1 as libc::c_int) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(EvdevKeys { file })
    }
}

impl KeySource for EvdevKeys {
    fn next_key(&mut self) -> std::io::Result<KeyEvent> {
        // `struct input_event` as this architecture lays it out (its time is a timeval).
        const SIZE: usize = std::mem::size_of::<libc::input_event>();
        let mut buf = [0u8; SIZE];
        loop {
            self.file.read_exact(&mut buf)?;
            // SAFETY: input_event is plain old data and `buf` holds exactly one.
            let ev: libc::input_event = unsafe { std::ptr::read_unaligned(buf.as_ptr().cast()) };
            if ev.type_ == EV_KEY {
                return Ok(KeyEvent {
                    code: ev.code,
                    value: ev.value,
                });
            }
        }
    }
}

/// Reads keys until the source fails or nobody listens; each finished line goes out as a
/// scan.
pub fn pump(source: &mut dyn KeySource, clock: &dyn Clock, to: &Sender<Input>) -> std::io::Error {
    let mut joiner = LineJoiner::default();
    loop {
        let key = match source.next_key() {
            Ok(k) => k,
            Err(e) => return e,
        };
        if let Some(line) = joiner.key(key, clock.now()) {
            log::info!("scanner: `{line}`");
            if to.send(Input::Scanned(line)).is_err() {
                return std::io::Error::other("the station stopped");
            }
        }
    }
}

/// The scanner's thread: open, grab, pump; on failure say so once (log and OLED) and retry.
pub fn start(
    path: PathBuf,
    clock: Arc<dyn Clock>,
    to: Sender<Input>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("scanner".into())
        .spawn(move || {
            let mut said: Option<String> = None;
            loop {
                let problem = match EvdevKeys::open(&path) {
                    Ok(mut keys) => {
                        log::info!("scanner: reading {}", path.display());
                        said = None;
                        pump(&mut keys, clock.as_ref(), &to)
                    }
                    Err(e) => e,
                };
                let text = problem.to_string();
                if text == "the station stopped" {
                    return;
                }
                if said.as_deref() != Some(text.as_str()) {
                    log::error!(
                        "scanner {}: {text}; retrying every {} s",
                        path.display(),
                        RETRY_EVERY.as_secs()
                    );
                    let notice = Input::Notify {
                        title: "NO SCANNER".into(),
                        lines: vec![text.chars().take(21).collect()],
                    };
                    if to.send(notice).is_err() {
                        return;
                    }
                    said = Some(text);
                }
                std::thread::sleep(RETRY_EVERY);
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::scan::keys_for;
    use crate::sim::clock::VirtualClock;

    struct Keys(std::vec::IntoIter<KeyEvent>);

    impl KeySource for Keys {
        fn next_key(&mut self) -> std::io::Result<KeyEvent> {
            self.0
                .next()
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
        }
    }

    #[test]
    fn keys_become_scans_on_the_channel_until_the_device_goes() {
        let mut keys = keys_for("WC-0001");
        keys.extend(keys_for("OP-7"));
        let (tx, rx) = std::sync::mpsc::channel();
        let clock = VirtualClock::new();
        let end = pump(&mut Keys(keys.into_iter()), &clock, &tx);
        assert_eq!(end.kind(), std::io::ErrorKind::UnexpectedEof);
        let got: Vec<Input> = rx.try_iter().collect();
        assert_eq!(
            got,
            [
                Input::Scanned("WC-0001".into()),
                Input::Scanned("OP-7".into())
            ]
        );
    }

    #[test]
    fn the_grab_request_is_the_kernels_number() {
        assert_eq!(EVIOCGRAB, 0x4004_4590);
    }

    #[test]
    fn a_missing_scanner_is_an_error_not_a_panic() {
        let e = EvdevKeys::open(Path::new("/dev/input/by-id/no-such-scanner")).err();
        assert_eq!(e.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    }
}
