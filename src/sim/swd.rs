//! A simulated debug probe wired to one fixture's board.

use super::SimArgon;
use crate::core::image::Region;
use crate::ports::{FicrDeviceId, SwdError, SwdProbe, SwdProgress};

pub struct SimProbe {
    serial: String,
    /// The board on the probe's pins; none when the fixture is empty.
    board: Option<SimArgon>,
    allow_erase_all: bool,
}

impl SimProbe {
    pub fn new(serial: &str, board: Option<SimArgon>, allow_erase_all: bool) -> Self {
        SimProbe {
            serial: serial.into(),
            board,
            allow_erase_all,
        }
    }

    fn board(&self) -> Result<&SimArgon, SwdError> {
        self.board
            .as_ref()
            .ok_or_else(|| SwdError::TargetNotFound("no board in the fixture".into()))
    }
}

impl SwdProbe for SimProbe {
    fn name(&self) -> String {
        self.serial.clone()
    }

    fn attach(&mut self) -> Result<FicrDeviceId, SwdError> {
        self.board()?.swd_attach(self.allow_erase_all)
    }

    fn program(
        &mut self,
        regions: &[Region],
        progress: &mut dyn FnMut(SwdProgress),
    ) -> Result<(), SwdError> {
        self.board()?.swd_program(regions, progress)
    }

    fn read(&mut self, address: u32, len: usize) -> Result<Vec<u8>, SwdError> {
        self.board()?.swd_read(address, len)
    }

    fn release(&mut self) -> Result<(), SwdError> {
        self.board()?.swd_release();
        Ok(())
    }
}
