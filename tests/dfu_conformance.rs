//! Our DFU host against an implementation nobody here wrote: the device side of the
//! `usbd-dfu` crate (used on real microcontrollers), on an in-memory `usb-device` bus.
//!
//! Where usbd-dfu's DfuSe dialect differs from Particle's bootloader (docs/dfu-host.md):
//! its wTransferSize is 256 (usb-device's control buffer), not 4096; it reports every
//! error one GETSTATUS late; it stays enumerated after manifestation. The host handles all
//! three; what is tested is the common ground: set address, erase, download, status,
//! CLRSTATUS recovery, upload, leave.

#[path = "support/usbd_dfu_device.rs"]
mod usbd_dfu_device;

use std::sync::mpsc::{channel, Sender};
use std::thread;
use std::time::Duration;

use flashline::core::dfu::{DfuError, DfuOptions, DfuSession, DfuStatusCode};
use flashline::ports::{ControlSetup, DeviceInfo, PortPath, UsbDevice, UsbError};
use flashline::sim::VirtualClock;
use usbd_dfu_device::{DfuDeviceHarness, Setup, XferError};

const BASE: u32 = 0x0800_0000;
const SIZE: usize = 64 * 1024;

enum Call {
    In(Setup, Sender<Result<Vec<u8>, XferError>>),
    Out(Setup, Vec<u8>, Sender<Result<(), XferError>>),
    Memory(Sender<Vec<u8>>),
    FailNextWrite,
}

/// The usbd-dfu device lives on its own thread (it is !Send); this handle is our port.
struct UsbdDfu {
    calls: Sender<Call>,
    info: DeviceInfo,
    layout: String,
    functional: Vec<u8>,
}

fn start() -> UsbdDfu {
    let (calls, inbox) = channel::<Call>();
    let (ready_tx, ready_rx) = channel();
    thread::spawn(move || {
        let mut device = DfuDeviceHarness::new(BASE, SIZE);
        let info = device.interface_descriptor_strings().clone();
        let fd = info.functional;
        let functional = vec![
            9,
            0x21,
            fd.bm_attributes,
            fd.w_detach_timeout as u8,
            (fd.w_detach_timeout >> 8) as u8,
            fd.w_transfer_size as u8,
            (fd.w_transfer_size >> 8) as u8,
            fd.bcd_dfu_version as u8,
            (fd.bcd_dfu_version >> 8) as u8,
        ];
        ready_tx
            .send((info.interface_string.clone(), functional))
            .unwrap();
        for call in inbox {
            match call {
                Call::In(s, reply) => drop(reply.send(device.control_in(s))),
                Call::Out(s, data, reply) => drop(reply.send(device.control_out(s, &data))),
                Call::Memory(reply) => drop(reply.send(device.memory().to_vec())),
                Call::FailNextWrite => device.inject_write_error(true),
            }
        }
    });
    let (layout, functional) = ready_rx.recv().unwrap();
    let info = DeviceInfo {
        vid: 0x1209,
        pid: 0x0001,
        port: PortPath("mem".into()),
        serial: None,
        address: None,
    };
    UsbdDfu {
        calls,
        info,
        layout,
        functional,
    }
}

fn setup(s: ControlSetup) -> Setup {
    Setup {
        request_type: s.request_type,
        request: s.request,
        value: s.value,
        index: s.index,
        length: s.length,
    }
}

fn usb(e: XferError) -> UsbError {
    match e {
        XferError::Stall => UsbError::Stall,
        XferError::Other(m) => UsbError::Other(m),
    }
}

impl UsbdDfu {
    fn memory(&self) -> Vec<u8> {
        let (tx, rx) = channel();
        self.calls.send(Call::Memory(tx)).unwrap();
        rx.recv().unwrap()
    }
}

impl UsbDevice for UsbdDfu {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn control_in(&mut self, s: ControlSetup, _t: Duration) -> Result<Vec<u8>, UsbError> {
        let (tx, rx) = channel();
        self.calls
            .send(Call::In(setup(s), tx))
            .map_err(|_| UsbError::NoDevice)?;
        rx.recv().map_err(|_| UsbError::NoDevice)?.map_err(usb)
    }

    fn control_out(&mut self, s: ControlSetup, data: &[u8], _t: Duration) -> Result<(), UsbError> {
        let (tx, rx) = channel();
        self.calls
            .send(Call::Out(setup(s), data.to_vec(), tx))
            .map_err(|_| UsbError::NoDevice)?;
        rx.recv().map_err(|_| UsbError::NoDevice)?.map_err(usb)
    }

    fn set_alt_setting(&mut self, _interface: u8, alt: u8) -> Result<(), UsbError> {
        if alt == 0 {
            Ok(())
        } else {
            Err(UsbError::Stall)
        }
    }

    fn alt_setting_names(&mut self, _interface: u8) -> Result<Vec<(u8, String)>, UsbError> {
        Ok(vec![(0, self.layout.clone())])
    }

    fn dfu_functional_descriptor(&mut self, _interface: u8) -> Result<Option<Vec<u8>>, UsbError> {
        Ok(Some(self.functional.clone()))
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn options() -> DfuOptions {
    DfuOptions::default()
}

#[test]
fn downloads_to_a_memory_region_and_reads_it_back() {
    let mut dev = start();
    let clock = VirtualClock::new();
    // 10 KiB + 100 bytes: several 256-byte blocks, a short last block, three 4 KiB pages.
    let data = pattern(10 * 1024 + 100, 7);
    let at = BASE + 0x1000;
    {
        let mut session = DfuSession::open(&mut dev, &clock, 0, options()).unwrap();
        assert_eq!(
            session.transfer_size(),
            256,
            "usbd-dfu's wTransferSize, from its descriptor"
        );
        session.write(at, &data, &mut |_, _, _| {}).unwrap();
        let back = session.read(at, data.len(), &mut |_, _| {}).unwrap();
        assert_eq!(back, data, "UPLOAD returns what DNLOAD wrote");
    }
    let memory = dev.memory();
    assert_eq!(&memory[0x1000..0x1000 + data.len()], &data[..]);
    assert!(
        memory[..0x1000].iter().all(|b| *b == 0xFF),
        "nothing written before the range"
    );
}

#[test]
fn block_numbers_advancing_from_one_address_work_too() {
    let mut dev = start();
    let clock = VirtualClock::new();
    let data = pattern(3000, 3);
    let opts = DfuOptions {
        address_every_block: false,
        ..options()
    };
    let mut session = DfuSession::open(&mut dev, &clock, 0, opts).unwrap();
    session.write(BASE, &data, &mut |_, _, _| {}).unwrap();
    drop(session);
    assert_eq!(&dev.memory()[..data.len()], &data[..]);
}

#[test]
fn a_write_error_is_reported_by_name_and_cleared_with_clrstatus() {
    let mut dev = start();
    let clock = VirtualClock::new();
    dev.calls.send(Call::FailNextWrite).unwrap();
    let data = pattern(1024, 9);
    let mut session = DfuSession::open(&mut dev, &clock, 0, options()).unwrap();
    let err = session.write(BASE, &data, &mut |_, _, _| {}).unwrap_err();
    match &err {
        DfuError::Device { status, .. } => assert_eq!(*status, DfuStatusCode::ErrWrite, "{err}"),
        other => panic!("expected a device status error, got {other}"),
    }
    assert!(err.to_string().contains("errWRITE in dfuERROR"), "{err}");
    // The next write starts with CLRSTATUS out of dfuERROR and succeeds.
    session.write(BASE, &data, &mut |_, _, _| {}).unwrap();
    drop(session);
    assert_eq!(&dev.memory()[..data.len()], &data[..]);
}

#[test]
fn writes_outside_the_layout_are_refused_by_the_host() {
    let mut dev = start();
    let clock = VirtualClock::new();
    let mut session = DfuSession::open(&mut dev, &clock, 0, options()).unwrap();
    let err = session
        .write(BASE + SIZE as u32 - 16, &[0u8; 64], &mut |_, _, _| {})
        .unwrap_err();
    assert!(matches!(err, DfuError::NotWritable { .. }), "{err}");
}

#[test]
fn leave_manifests() {
    let mut dev = start();
    let clock = VirtualClock::new();
    let session = DfuSession::open(&mut dev, &clock, 0, options()).unwrap();
    session.leave().unwrap();
}
