//! Raw control transfers to a simulated board, for tests that check its answers one request at
//! a time.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use flashline::core::control::service::{ServiceReply, VENDOR_IN, VENDOR_OUT};
use flashline::core::dfu::request::{self, CLASS_IN, CLASS_OUT};
use flashline::core::dfu::{DfuState, DfuStatus, DfuStatusCode};
use flashline::ports::{Clock, ControlSetup, UsbBus, UsbDevice, UsbError};
use flashline::sim::{Fault, SimArgon, SimBus, VirtualClock};

pub const T: Duration = Duration::from_secs(5);

pub struct Raw {
    pub clock: VirtualClock,
    pub board: SimArgon,
    pub bus: SimBus,
    pub dev: Box<dyn UsbDevice>,
}

/// A blank board with `faults`, made ready by `prepare`, then opened.
pub fn board_with(faults: &str, prepare: impl FnOnce(&SimArgon)) -> Raw {
    let clock = VirtualClock::new();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let board = SimArgon::blank(shared, "1-1", 3, Fault::parse_list(faults).unwrap());
    prepare(&board);
    let mut bus = SimBus::new(vec![board.clone()]);
    let dev = bus.open(&board.port()).unwrap();
    Raw {
        clock,
        board,
        bus,
        dev,
    }
}

/// A blank board (it sits in DFU mode) running bootloader `bootloader`, opened.
pub fn dfu_board(bootloader: u16, faults: &str) -> Raw {
    board_with(faults, |b| b.set_factory_bootloader(bootloader))
}

impl Raw {
    pub fn reopen(&mut self) {
        self.dev = self.bus.open(&self.board.port()).unwrap();
    }

    pub fn dnload(&mut self, block: u16, data: &[u8]) -> Result<(), UsbError> {
        self.dev
            .control_out(request::out(request::DNLOAD, block, 0, data.len()), data, T)
    }

    pub fn command(&mut self, cmd: u8, address: u32) -> Result<(), UsbError> {
        self.dnload(0, &request::dfuse_command(cmd, address))
    }

    pub fn status(&mut self) -> Result<DfuStatus, UsbError> {
        let bytes = self
            .dev
            .control_in(request::input(request::GETSTATUS, 0, 0, 6), T)?;
        Ok(DfuStatus::parse(&bytes).unwrap())
    }

    pub fn expect(&mut self, status: DfuStatusCode, state: DfuState) {
        let s = self.status().unwrap();
        assert_eq!((s.status, s.state), (status, state), "{s:?}");
        assert_eq!(s.poll_timeout_ms, 0, "bwPollTimeout is always 0");
    }

    pub fn class_out(&mut self, req: u8) -> Result<(), UsbError> {
        self.dev.control_out(request::out(req, 0, 0, 0), &[], T)
    }

    pub fn upload(&mut self, block: u16, len: u16) -> Result<Vec<u8>, UsbError> {
        self.dev
            .control_in(request::input(request::UPLOAD, block, 0, len), T)
    }

    pub fn get_state(&mut self) -> Result<u8, UsbError> {
        Ok(self
            .dev
            .control_in(request::input(request::GETSTATE, 0, 0, 1), T)?[0])
    }

    /// A vendor IN request (service protocol or raw 0x50).
    pub fn vendor_in(
        &mut self,
        req: u8,
        value: u16,
        index: u16,
        len: u16,
    ) -> Result<Vec<u8>, UsbError> {
        self.dev.control_in(
            ControlSetup {
                request_type: VENDOR_IN,
                request: req,
                value,
                index,
                length: len,
            },
            T,
        )
    }

    pub fn vendor_out(&mut self, req: u8, index: u16, data: &[u8]) -> Result<(), UsbError> {
        self.dev.control_out(
            ControlSetup {
                request_type: VENDOR_OUT,
                request: req,
                value: 0,
                index,
                length: data.len() as u16,
            },
            data,
            T,
        )
    }

    pub fn service(&mut self, req: u8, value: u16, index: u16) -> ServiceReply {
        ServiceReply::parse(&self.vendor_in(req, value, index, 64).unwrap()).unwrap()
    }
}

/// Setup packets the sim's class requests use, re-exported for tests.
pub fn class_setup(req: u8, out: bool) -> ControlSetup {
    ControlSetup {
        request_type: if out { CLASS_OUT } else { CLASS_IN },
        request: req,
        value: 0,
        index: 0,
        length: 0,
    }
}
