//! The simulated USB bus: boards on ports, handles that go stale when a board resets or is
//! unplugged, and the cost of every control transfer charged to the board's clock.

use std::time::Duration;

use super::argon::{dfu_device, Presence, SimArgon};
use crate::core::dfu::request::{CLASS_IN, CLASS_OUT};
use crate::ports::{ControlSetup, DeviceInfo, PortPath, UsbBus, UsbDevice, UsbError};

#[derive(Clone, Default)]
pub struct SimBus {
    boards: Vec<SimArgon>,
}

impl SimBus {
    pub fn new(boards: Vec<SimArgon>) -> Self {
        SimBus { boards }
    }
}

impl UsbBus for SimBus {
    fn list(&mut self) -> Result<Vec<DeviceInfo>, UsbError> {
        let found = self
            .boards
            .iter()
            .filter_map(|b| {
                let info = {
                    let mut board = b.lock();
                    board.settle();
                    board.info()
                };
                b.pay();
                info
            })
            .collect();
        Ok(found)
    }

    fn open(&mut self, port: &PortPath) -> Result<Box<dyn UsbDevice>, UsbError> {
        for b in &self.boards {
            let mut board = b.lock();
            board.settle();
            if &board.port == port {
                let info = board.info().ok_or(UsbError::NoDevice)?;
                let generation = board.generation;
                drop(board);
                return Ok(Box::new(SimHandle {
                    board: b.clone(),
                    generation,
                    info,
                }));
            }
        }
        Err(UsbError::NoDevice)
    }
}

/// An open simulated device. Like a libusb handle, it is dead once the board re-enumerates.
pub struct SimHandle {
    board: SimArgon,
    generation: u64,
    info: DeviceInfo,
}

/// What libusb's synchronous calls wait for when no timeout is given to the port.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

impl SimHandle {
    fn with_board<T>(
        &mut self,
        data_len: usize,
        timeout: Duration,
        f: impl FnOnce(&mut super::argon::Board) -> Result<T, UsbError>,
    ) -> Result<T, UsbError> {
        let result = {
            let mut board = self.board.lock();
            board.settle();
            if board.generation != self.generation {
                Err(UsbError::NoDevice)
            } else {
                // The bootloader does its work in the USB interrupt (usbd_device.cpp:381-393):
                // until it ends, the next control transfer is not answered.
                let wait = board.dfu.busy_until.saturating_sub(board.now());
                if wait > timeout {
                    board.hold(timeout);
                    Err(UsbError::Timeout)
                } else {
                    board.hold(wait);
                    let cost = board.timing.transfer(data_len);
                    board.spend(cost);
                    f(&mut board)
                }
            }
        };
        self.board.pay();
        result
    }
}

impl UsbDevice for SimHandle {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn control_in(&mut self, setup: ControlSetup, timeout: Duration) -> Result<Vec<u8>, UsbError> {
        self.with_board(usize::from(setup.length), timeout, |b| {
            match (b.presence, setup.request_type) {
                (Presence::Dfu, CLASS_IN) => b.dfu_in(setup),
                (Presence::Firmware { .. }, _) => b.control_in(setup),
                _ => Err(UsbError::Stall),
            }
        })
    }

    fn control_out(
        &mut self,
        setup: ControlSetup,
        data: &[u8],
        timeout: Duration,
    ) -> Result<(), UsbError> {
        self.with_board(data.len(), timeout, |b| {
            match (b.presence, setup.request_type) {
                (Presence::Dfu, CLASS_OUT) => b.dfu_out(setup, data),
                (Presence::Firmware { .. }, _) => b.control_out(setup, data),
                _ => Err(UsbError::Stall),
            }
        })
    }

    fn set_alt_setting(&mut self, interface: u8, alt: u8) -> Result<(), UsbError> {
        self.with_board(0, DEFAULT_TIMEOUT, |b| {
            // SET_INTERFACE (usbd_dfu.cpp:101-107): any alt below 3.
            if b.presence != Presence::Dfu || interface != 0 || usize::from(alt) >= 3 {
                return Err(UsbError::Stall);
            }
            b.dfu.alt = alt;
            Ok(())
        })
    }

    fn alt_setting_names(&mut self, interface: u8) -> Result<Vec<(u8, String)>, UsbError> {
        self.with_board(64, DEFAULT_TIMEOUT, |b| {
            if b.presence != Presence::Dfu || interface != 0 {
                return Ok(Vec::new());
            }
            Ok(b.alt_names()
                .iter()
                .enumerate()
                .map(|(i, n)| (i as u8, n.to_string()))
                .collect())
        })
    }

    fn dfu_functional_descriptor(&mut self, _interface: u8) -> Result<Option<Vec<u8>>, UsbError> {
        self.with_board(9, DEFAULT_TIMEOUT, |b| {
            Ok((b.presence == Presence::Dfu)
                .then(|| dfu_device::functional_descriptor().to_bytes().to_vec()))
        })
    }
}
