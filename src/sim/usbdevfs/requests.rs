//! The device side of a control transfer: the USB stack's standard requests (descriptors,
//! configuration, interface, status), CDC's line coding in normal mode, and everything else —
//! DFU class requests, Particle's vendor requests — handed to the simulated board through the
//! same `UsbDevice` port `SimBus` gives out, so the board's own model answers them.

use crate::core::flash::DFU_BAUD;
use crate::ports::{ControlSetup, UsbDevice, UsbError};

use super::descriptors::{Descriptors, Mode};
use super::usbfs::errno;

const GET_STATUS: u8 = 0;
const CLEAR_FEATURE: u8 = 1;
const SET_FEATURE: u8 = 3;
const GET_DESCRIPTOR: u8 = 6;
const GET_CONFIGURATION: u8 = 8;
const SET_CONFIGURATION: u8 = 9;
const GET_INTERFACE: u8 = 10;
const SET_INTERFACE: u8 = 11;

/// CDC PSTN requests (USB CDC PSTN 1.2 §6.3).
const SET_LINE_CODING: u8 = 0x20;
const GET_LINE_CODING: u8 = 0x21;
const SET_CONTROL_LINE_STATE: u8 = 0x22;

const DESCRIPTOR_DEVICE: u8 = 1;
const DESCRIPTOR_CONFIG: u8 = 2;
const DESCRIPTOR_STRING: u8 = 3;
const DESCRIPTOR_DFU_FUNCTIONAL: u8 = 0x21;

/// What a control transfer did to the device beyond its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    AltSetting {
        interface: u8,
        alt: u8,
    },
    /// The host set the CDC line coding to this rate (14400 baud asks Device OS for DFU).
    LineCoding(u32),
}

/// How a transfer ended, as the URB status tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Done; the IN data (empty for OUT).
    Data(Vec<u8>),
    /// The device stalled (-EPIPE).
    Stall,
    /// The device stopped answering in the middle (-EPROTO): it reset or was pulled.
    Lost,
}

impl Reply {
    pub fn status(&self) -> i32 {
        match self {
            Reply::Data(_) => 0,
            Reply::Stall => -errno::EPIPE,
            Reply::Lost => -errno::EPROTO,
        }
    }

    fn of(r: Result<Vec<u8>, UsbError>) -> Reply {
        match r {
            Ok(d) => Reply::Data(d),
            Err(UsbError::Stall) => Reply::Stall,
            Err(_) => Reply::Lost,
        }
    }
}

/// The device's current line coding (CDC §6.3.11: dwDTERate, stop bits, parity, data bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCoding(pub [u8; 7]);

impl Default for LineCoding {
    fn default() -> Self {
        let mut b = [0u8; 7];
        b[..4].copy_from_slice(&9600u32.to_le_bytes());
        b[6] = 8;
        LineCoding(b)
    }
}

impl LineCoding {
    pub fn rate(&self) -> u32 {
        u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }
}

pub fn is_dfu_request(rate: u32) -> bool {
    rate == DFU_BAUD
}

/// Serves one control transfer. `alt` gives an interface's current alternate setting.
pub fn control(
    d: &Descriptors,
    alt: &dyn Fn(u8) -> u8,
    line: &mut LineCoding,
    board: &mut dyn UsbDevice,
    setup: ControlSetup,
    out: &[u8],
) -> (Reply, Effect) {
    let kind = setup.request_type & 0x60;
    let recipient = setup.request_type & 0x1f;
    let len = usize::from(setup.length);
    let reply = |mut data: Vec<u8>| {
        data.truncate(len);
        (Reply::Data(data), Effect::None)
    };
    let stall = (Reply::Stall, Effect::None);
    match (kind, setup.request) {
        (0x00, GET_DESCRIPTOR) => match descriptor(d, setup) {
            Some(bytes) => reply(bytes),
            None => stall,
        },
        (0x00, GET_STATUS) => {
            // Self-powered is bit 0 of a device's status; interfaces and endpoints report 0.
            let self_powered = recipient == 0 && d.config_attributes & 0x40 != 0;
            reply(vec![u8::from(self_powered), 0])
        }
        (0x00, GET_CONFIGURATION) => reply(vec![1]),
        (0x00, SET_CONFIGURATION) if setup.value <= 1 => (Reply::Data(Vec::new()), Effect::None),
        (0x00, GET_INTERFACE) => reply(vec![alt(setup.index as u8)]),
        (0x00, SET_INTERFACE) => set_interface(d, board, setup.index as u8, setup.value as u8),
        (0x00, CLEAR_FEATURE | SET_FEATURE) => (Reply::Data(Vec::new()), Effect::None),
        (0x00, _) => stall,
        (0x20, _) if d.mode == Mode::Normal && recipient == 1 && setup.index == 0 => {
            cdc(line, setup, out)
        }
        _ => {
            let r = if setup.request_type & 0x80 != 0 {
                board.control_in(setup, std::time::Duration::from_secs(5))
            } else {
                board
                    .control_out(setup, out, std::time::Duration::from_secs(5))
                    .map(|()| Vec::new())
            };
            let mut r = Reply::of(r);
            if let Reply::Data(data) = &mut r {
                data.truncate(len);
            }
            (r, Effect::None)
        }
    }
}

/// SET_INTERFACE, as the control request or the USBDEVFS_SETINTERFACE ioctl sends it.
pub fn set_interface(
    d: &Descriptors,
    board: &mut dyn UsbDevice,
    interface: u8,
    alt: u8,
) -> (Reply, Effect) {
    let known = d
        .interface(interface)
        .is_some_and(|i| i.alts.iter().any(|a| a.setting == alt));
    if !known {
        return (Reply::Stall, Effect::None);
    }
    // Only the bootloader has alternate settings; Device OS's interfaces have one each, which
    // the USB stack accepts without asking the class.
    if d.mode == Mode::Dfu {
        if let Err(e) = board.set_alt_setting(interface, alt) {
            return (Reply::of(Err(e)), Effect::None);
        }
    }
    (
        Reply::Data(Vec::new()),
        Effect::AltSetting { interface, alt },
    )
}

fn descriptor(d: &Descriptors, setup: ControlSetup) -> Option<Vec<u8>> {
    let (kind, index) = ((setup.value >> 8) as u8, setup.value as u8);
    match kind {
        DESCRIPTOR_DEVICE => Some(d.device()),
        DESCRIPTOR_CONFIG if index == 0 => Some(d.config()),
        DESCRIPTOR_STRING => d.string_descriptor(index),
        // The bootloader answers the functional descriptor on its own
        // (usbd_dfu.cpp:80-86 @ v1.5.0).
        DESCRIPTOR_DFU_FUNCTIONAL => d.functional().map(<[u8]>::to_vec),
        _ => None,
    }
}

fn cdc(line: &mut LineCoding, setup: ControlSetup, out: &[u8]) -> (Reply, Effect) {
    match setup.request {
        SET_LINE_CODING if out.len() >= 7 => {
            line.0.copy_from_slice(&out[..7]);
            (Reply::Data(Vec::new()), Effect::LineCoding(line.rate()))
        }
        GET_LINE_CODING => {
            let mut data = line.0.to_vec();
            data.truncate(usize::from(setup.length));
            (Reply::Data(data), Effect::None)
        }
        SET_CONTROL_LINE_STATE => (Reply::Data(Vec::new()), Effect::None),
        _ => (Reply::Stall, Effect::None),
    }
}

#[cfg(test)]
mod tests {
    use super::super::descriptors::{dfu_mode, normal_mode};
    use super::*;
    use crate::core::module::Platform;
    use crate::ports::DeviceInfo;

    /// A board that stalls everything the USB stack does not answer itself.
    struct Stalls(DeviceInfo, Vec<ControlSetup>);

    impl UsbDevice for Stalls {
        fn info(&self) -> &DeviceInfo {
            &self.0
        }
        fn control_in(
            &mut self,
            s: ControlSetup,
            _: std::time::Duration,
        ) -> Result<Vec<u8>, UsbError> {
            self.1.push(s);
            Err(UsbError::Stall)
        }
        fn control_out(
            &mut self,
            s: ControlSetup,
            _: &[u8],
            _: std::time::Duration,
        ) -> Result<(), UsbError> {
            self.1.push(s);
            Err(UsbError::NoDevice)
        }
        fn set_alt_setting(&mut self, _: u8, alt: u8) -> Result<(), UsbError> {
            if alt > 2 {
                Err(UsbError::Stall)
            } else {
                Ok(())
            }
        }
        fn alt_setting_names(&mut self, _: u8) -> Result<Vec<(u8, String)>, UsbError> {
            Ok(Vec::new())
        }
        fn dfu_functional_descriptor(&mut self, _: u8) -> Result<Option<Vec<u8>>, UsbError> {
            Ok(None)
        }
    }

    fn board() -> Stalls {
        Stalls(
            DeviceInfo {
                vid: 0x2b04,
                pid: 0xd00c,
                port: crate::ports::PortPath("1-1".into()),
                serial: None,
                address: None,
            },
            Vec::new(),
        )
    }

    fn setup(request_type: u8, request: u8, value: u16, index: u16, length: u16) -> ControlSetup {
        ControlSetup {
            request_type,
            request,
            value,
            index,
            length,
        }
    }

    #[test]
    fn strings_and_descriptors_come_from_the_usb_stack_truncated_to_wlength() {
        let argon = Platform::by_name("argon").unwrap();
        let names = vec![(0u8, "@Internal Flash   /0x00000000/1*004Ka".to_string())];
        let d = dfu_mode(
            &argon,
            "e00fce68aa",
            &names,
            &[9, 0x21, 0x0b, 0xff, 0, 0, 0x10, 0x1a, 1],
        );
        let mut b = board();
        let mut line = LineCoding::default();
        let no_alt = |_: u8| 0;
        let mut ask = |s| control(&d, &no_alt, &mut line, &mut b, s, &[]).0;
        assert_eq!(
            ask(setup(0x80, 6, 0x0100, 0, 8)),
            Reply::Data(d.device()[..8].to_vec())
        );
        assert_eq!(
            ask(setup(0x80, 6, 0x0306, 0x0409, 255)),
            Reply::Data(d.string_descriptor(6).unwrap())
        );
        assert_eq!(ask(setup(0x80, 6, 0x0309, 0x0409, 255)), Reply::Stall);
        assert_eq!(
            ask(setup(0x81, 6, 0x2100, 0, 9)),
            Reply::Data(d.trailer.clone())
        );
        assert_eq!(ask(setup(0x80, 0, 0, 0, 2)), Reply::Data(vec![1, 0]));
        // Class requests go to the board, whose answer (here a stall) is the reply.
        assert_eq!(ask(setup(0xa1, 3, 0, 0, 6)), Reply::Stall);
        assert_eq!(ask(setup(0x21, 1, 2, 0, 0)), Reply::Lost);
        assert_eq!(b.1.len(), 2);
        let (r, e) = set_interface(&d, &mut b, 0, 0);
        assert_eq!(
            (r, e),
            (
                Reply::Data(vec![]),
                Effect::AltSetting {
                    interface: 0,
                    alt: 0
                }
            )
        );
        assert_eq!(
            set_interface(&d, &mut b, 0, 1).0,
            Reply::Stall,
            "no such alt"
        );
    }

    #[test]
    fn the_cdc_line_coding_is_kept_and_reported() {
        let d = normal_mode(&Platform::by_name("argon").unwrap(), "id");
        let mut b = board();
        let mut line = LineCoding::default();
        let no_alt = |_: u8| 0;
        let mut coding = 14400u32.to_le_bytes().to_vec();
        coding.extend([0, 0, 8]);
        let (r, e) = control(
            &d,
            &no_alt,
            &mut line,
            &mut b,
            setup(0x21, 0x20, 0, 0, 7),
            &coding,
        );
        assert_eq!((r, e), (Reply::Data(vec![]), Effect::LineCoding(14400)));
        assert!(is_dfu_request(line.rate()));
        let (r, _) = control(
            &d,
            &no_alt,
            &mut line,
            &mut b,
            setup(0xa1, 0x21, 0, 0, 7),
            &[],
        );
        assert_eq!(r, Reply::Data(coding));
        assert!(
            b.1.is_empty(),
            "CDC requests never reach Device OS's control handler"
        );
    }
}
