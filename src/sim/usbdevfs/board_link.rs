//! The little the emulated bus needs from a simulated board beyond the `UsbBus` port that
//! `SimBus` offers: which enumeration it is in (bumped at every reset and unplug), so a reset
//! that brings it back in the same mode is still a new device on the bus.

use crate::core::module::Platform;
use crate::ports::DeviceInfo;
use crate::sim::SimArgon;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enumeration {
    pub generation: u64,
    pub info: DeviceInfo,
    pub platform: Platform,
}

impl Enumeration {
    pub fn dfu(&self) -> bool {
        self.platform.usb_pid_dfu == Some(self.info.pid)
    }
}

impl SimArgon {
    /// What the board shows on USB now (after letting time settle it), if anything.
    pub(crate) fn enumeration(&self) -> Option<Enumeration> {
        let result = {
            let mut board = self.lock();
            board.settle();
            board.info().map(|info| Enumeration {
                generation: board.generation,
                info,
                platform: board.platform,
            })
        };
        self.pay();
        result
    }
}
