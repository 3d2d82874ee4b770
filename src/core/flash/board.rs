//! Finding a board on its slot's USB port, and waiting for it to come back after a reset.
//! Always by port path: several slots share one Pi, and a board's PID changes with its mode.

use std::time::Duration;

use super::FlashError;
use crate::core::module::{Platform, PARTICLE_VID};
use crate::ports::clock::Deadline;
use crate::ports::{Clock, DeviceInfo, PortPath, UsbBus};

/// How often the bus is looked at while waiting (particle-cli reopens every 500 ms).
pub const POLL_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Dfu,
    Firmware,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Dfu => "DFU mode",
            Mode::Firmware => "running firmware",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FoundBoard {
    pub info: DeviceInfo,
    pub platform: Platform,
    pub mode: Mode,
}

/// A Particle board on `port`, if one is enumerated there now.
pub fn look(bus: &mut dyn UsbBus, port: &PortPath) -> Option<FoundBoard> {
    boards(bus).into_iter().find(|b| &b.info.port == port)
}

/// The Particle board whose USB serial number (its device ID) is `device_id`, on any port:
/// how a slot with a debug probe and no configured port finds its board.
pub fn look_by_id(bus: &mut dyn UsbBus, device_id: &str) -> Option<FoundBoard> {
    boards(bus).into_iter().find(|b| b.has_id(device_id))
}

/// Every Particle board on USB now, of a platform flashline knows.
pub fn boards(bus: &mut dyn UsbBus) -> Vec<FoundBoard> {
    let devices = match bus.list() {
        Ok(d) => d,
        Err(e) => {
            log::debug!("listing USB devices: {e}");
            return Vec::new();
        }
    };
    devices
        .into_iter()
        .filter(|info| info.vid == PARTICLE_VID)
        .filter_map(|info| {
            let (platform, dfu) = Platform::by_usb_pid(info.pid)?;
            Some(FoundBoard {
                info,
                platform,
                mode: if dfu { Mode::Dfu } else { Mode::Firmware },
            })
        })
        .collect()
}

impl FoundBoard {
    pub fn has_id(&self, device_id: &str) -> bool {
        self.info
            .serial
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(device_id))
    }

    /// Whether this is a later enumeration than `before`: another mode (PID), or a new USB
    /// device address — the kernel numbers every enumeration anew, so a board that reset
    /// and came back has another address however short its absence was.
    pub fn is_new_since(&self, before: &DeviceInfo) -> bool {
        self.info.pid != before.pid
            || matches!((self.info.address, before.address), (Some(a), Some(b)) if a != b)
    }
}

/// Waits for a board that was asked to reset (`before` is how it was enumerated then) to
/// leave and come back on `port`, in `want` mode if given. A real board keeps running and
/// stays on USB for a while after the request (Device OS: a second after reset or enter-DFU,
/// system_control_internal.cpp:170-197; the bootloader: 500 ms after dfuMANIFEST,
/// usbd_dfu.cpp:562-567), so the board still there is not the reset one: only a new
/// enumeration, or having seen the port empty, counts. Still the same enumeration after
/// `leave_timeout`: `NoReset`; gone and not back within `return_timeout` of leaving:
/// `NoReenumerate`.
pub fn wait_for_reenumeration(
    bus: &mut dyn UsbBus,
    clock: &dyn Clock,
    port: &PortPath,
    before: &DeviceInfo,
    want: Option<Mode>,
    leave_timeout: Duration,
    return_timeout: Duration,
) -> Result<FoundBoard, FlashError> {
    let started = clock.now();
    let mut left_at: Option<Duration> = None;
    loop {
        match look(bus, port) {
            None => {
                left_at.get_or_insert(clock.now());
            }
            Some(b) if left_at.is_some() || b.is_new_since(before) => {
                left_at.get_or_insert(clock.now());
                if want.is_none_or(|m| b.mode == m) {
                    return Ok(b);
                }
            }
            Some(_) => {
                let waited = clock.now() - started;
                if waited >= leave_timeout {
                    return Err(FlashError::NoReset {
                        port: port.clone(),
                        address: before.address,
                        waited_ms: waited.as_millis() as u64,
                    });
                }
            }
        }
        let waited = clock.now() - started;
        if left_at.is_some_and(|at| clock.now() - at >= return_timeout) {
            return Err(FlashError::NoReenumerate {
                port: port.clone(),
                expected: want.map_or("a Particle board", Mode::name),
                waited_ms: waited.as_millis() as u64,
            });
        }
        clock.sleep(POLL_EVERY);
    }
}

/// Waits until the board with `device_id` is on USB, anywhere, in either mode.
pub fn wait_for_id(
    bus: &mut dyn UsbBus,
    clock: &dyn Clock,
    device_id: &str,
    timeout: Duration,
) -> Result<FoundBoard, FlashError> {
    poll(clock, timeout, || look_by_id(bus, device_id)).map_err(|waited_ms| FlashError::NoBoard {
        port: PortPath(format!("any port (device {device_id})")),
        waited_ms,
    })
}

/// Waits until a board is on `port` (in `want` mode, if given).
pub fn wait_for(
    bus: &mut dyn UsbBus,
    clock: &dyn Clock,
    port: &PortPath,
    want: Option<Mode>,
    timeout: Duration,
) -> Result<FoundBoard, FlashError> {
    let found = poll(clock, timeout, || {
        look(bus, port).filter(|b| want.is_none_or(|m| b.mode == m))
    });
    found.map_err(|waited_ms| match want {
        None => FlashError::NoBoard {
            port: port.clone(),
            waited_ms,
        },
        Some(mode) => FlashError::NoReenumerate {
            port: port.clone(),
            expected: mode.name(),
            waited_ms,
        },
    })
}

/// Looks every `POLL_EVERY` until `look` finds something or `timeout` passes (then the
/// milliseconds waited).
fn poll<T>(
    clock: &dyn Clock,
    timeout: Duration,
    mut look: impl FnMut() -> Option<T>,
) -> Result<T, u64> {
    let started = clock.now();
    let deadline = Deadline::after(clock, timeout);
    loop {
        if let Some(found) = look() {
            return Ok(found);
        }
        if deadline.passed(clock) {
            return Err((clock.now() - started).as_millis() as u64);
        }
        clock.sleep(POLL_EVERY);
    }
}
