//! The kernel's usbdevfs interface as data: ioctl numbers, the URB layout and the errno values
//! a process sees (linux/usbdevice_fs.h; behaviour from drivers/usb/core/devio.c). The ioctl
//! numbers are built with the asm-generic `_IOC` encoding (x86_64, aarch64).

use std::mem::{offset_of, size_of};

const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((b'U' as u32) << 8) | nr
}

/// `struct usbdevfs_ctrltransfer`.
#[repr(C)]
pub struct CtrlTransfer {
    pub request_type: u8,
    pub request: u8,
    pub value: u16,
    pub index: u16,
    pub length: u16,
    pub timeout: u32,
    pub data: usize,
}

/// `struct usbdevfs_urb` without the trailing ISO descriptors.
#[repr(C)]
pub struct Urb {
    pub kind: u8,
    pub endpoint: u8,
    pub status: i32,
    pub flags: u32,
    pub buffer: usize,
    pub buffer_length: i32,
    pub actual_length: i32,
    pub start_frame: i32,
    pub number_of_packets: i32,
    pub error_count: i32,
    pub signr: u32,
    pub usercontext: usize,
}

pub const URB_SIZE: usize = size_of::<Urb>();
pub const URB_BUFFER_AT: usize = offset_of!(Urb, buffer);
pub const URB_STATUS_AT: usize = offset_of!(Urb, status);
pub const URB_ACTUAL_AT: usize = offset_of!(Urb, actual_length);
pub const CTRL_SIZE: usize = size_of::<CtrlTransfer>();
pub const CTRL_DATA_AT: usize = offset_of!(CtrlTransfer, data);
/// `struct usbdevfs_getdriver` / `_disconnect_claim`: the driver name field.
pub const DRIVER_NAME_LEN: usize = 256;
/// `struct usbdevfs_ioctl { int ifno; int ioctl_code; void *data; }`.
pub const IOCTL_SIZE: usize = 8 + size_of::<usize>();

pub const URB_TYPE_ISO: u8 = 0;
pub const URB_TYPE_INTERRUPT: u8 = 1;
pub const URB_TYPE_CONTROL: u8 = 2;
pub const URB_TYPE_BULK: u8 = 3;

/// The requests a program's libusb (or anything else) sends to `/dev/bus/usb/BBB/DDD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Control,
    SetInterface,
    SetConfiguration,
    GetDriver,
    SubmitUrb,
    DiscardUrb,
    ReapUrb,
    ReapUrbNoDelay,
    ClaimInterface,
    ReleaseInterface,
    ConnectInfo,
    Ioctl,
    Reset,
    ClearHalt,
    Disconnect,
    Connect,
    GetCapabilities,
    DisconnectClaim,
    DropPrivileges,
    GetSpeed,
}

/// (request, ioctl number) as `linux/usbdevice_fs.h` defines them.
pub const REQUESTS: &[(Request, u32)] = &[
    (Request::Control, ioc(IOC_READ | IOC_WRITE, 0, CTRL_SIZE)),
    (Request::SetInterface, ioc(IOC_READ, 4, 8)),
    (Request::SetConfiguration, ioc(IOC_READ, 5, 4)),
    (Request::GetDriver, ioc(IOC_WRITE, 8, 4 + DRIVER_NAME_LEN)),
    (Request::SubmitUrb, ioc(IOC_READ, 10, URB_SIZE)),
    (Request::DiscardUrb, ioc(0, 11, 0)),
    (Request::ReapUrb, ioc(IOC_WRITE, 12, size_of::<usize>())),
    (
        Request::ReapUrbNoDelay,
        ioc(IOC_WRITE, 13, size_of::<usize>()),
    ),
    (Request::ClaimInterface, ioc(IOC_READ, 15, 4)),
    (Request::ReleaseInterface, ioc(IOC_READ, 16, 4)),
    (Request::ConnectInfo, ioc(IOC_WRITE, 17, 8)),
    (Request::Ioctl, ioc(IOC_READ | IOC_WRITE, 18, IOCTL_SIZE)),
    (Request::Reset, ioc(0, 20, 0)),
    (Request::ClearHalt, ioc(IOC_READ, 21, 4)),
    (Request::Disconnect, ioc(0, 22, 0)),
    (Request::Connect, ioc(0, 23, 0)),
    (Request::GetCapabilities, ioc(IOC_READ, 26, 4)),
    (
        Request::DisconnectClaim,
        ioc(IOC_READ, 27, 8 + DRIVER_NAME_LEN),
    ),
    (Request::DropPrivileges, ioc(IOC_WRITE, 30, 4)),
    (Request::GetSpeed, ioc(0, 31, 0)),
];

impl Request {
    pub fn from_number(n: u32) -> Option<Request> {
        REQUESTS.iter().find(|(_, v)| *v == n).map(|(r, _)| *r)
    }

    pub fn number(self) -> u32 {
        REQUESTS
            .iter()
            .find(|(r, _)| *r == self)
            .map_or(0, |(_, n)| *n)
    }
}

/// `USBDEVFS_CAP_*` this emulation offers: zero packets, bulk continuation, no packet size
/// limit, reaping after a disconnect. Not MMAP (no usbfs memory), not streams.
pub const CAPABILITIES: u32 = 0x01 | 0x02 | 0x04 | 0x10;
/// `USBDEVFS_DISCONNECT_CLAIM_EXCEPT_DRIVER`.
pub const DISCONNECT_CLAIM_EXCEPT_DRIVER: u32 = 0x02;
/// `USBDEVFS_DISCONNECT_CLAIM_IF_DRIVER`.
pub const DISCONNECT_CLAIM_IF_DRIVER: u32 = 0x01;
/// `enum usb_device_speed`: USB_SPEED_FULL.
pub const SPEED_FULL: i64 = 2;

/// errno values, as the kernel's usbfs returns them (positive; URB statuses are negated).
pub mod errno {
    pub const ENOENT: i32 = libc::ENOENT;
    pub const EAGAIN: i32 = libc::EAGAIN;
    pub const EBUSY: i32 = libc::EBUSY;
    pub const EINVAL: i32 = libc::EINVAL;
    pub const ENODEV: i32 = libc::ENODEV;
    pub const ENOTTY: i32 = libc::ENOTTY;
    pub const EPIPE: i32 = libc::EPIPE;
    pub const ENODATA: i32 = libc::ENODATA;
    pub const EPROTO: i32 = libc::EPROTO;
    pub const ESHUTDOWN: i32 = libc::ESHUTDOWN;
    pub const EOVERFLOW: i32 = libc::EOVERFLOW;
    pub const ETIMEDOUT: i32 = libc::ETIMEDOUT;
}

/// The 8-byte setup packet at the start of a control URB's buffer.
pub fn parse_setup(b: &[u8]) -> Option<crate::ports::ControlSetup> {
    let b = b.get(..8)?;
    Some(crate::ports::ControlSetup {
        request_type: b[0],
        request: b[1],
        value: u16::from_le_bytes([b[2], b[3]]),
        index: u16::from_le_bytes([b[4], b[5]]),
        length: u16::from_le_bytes([b[6], b[7]]),
    })
}

/// The fields of a submitted URB the emulation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrbHead {
    pub kind: u8,
    pub endpoint: u8,
    pub buffer_length: usize,
}

pub fn parse_urb(b: &[u8]) -> Option<UrbHead> {
    if b.len() < URB_SIZE {
        return None;
    }
    let len = i32::from_ne_bytes(b[URB_ACTUAL_AT - 4..URB_ACTUAL_AT].try_into().ok()?);
    Some(UrbHead {
        kind: b[0],
        endpoint: b[1],
        buffer_length: usize::try_from(len).ok()?,
    })
}

/// Writes a finished URB's status and length into its struct.
pub fn finish_urb(b: &mut [u8], status: i32, actual: usize) {
    if b.len() >= URB_SIZE {
        b[URB_STATUS_AT..URB_STATUS_AT + 4].copy_from_slice(&status.to_ne_bytes());
        b[URB_ACTUAL_AT..URB_ACTUAL_AT + 4].copy_from_slice(&(actual as i32).to_ne_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers a C program gets from linux/usbdevice_fs.h on x86_64 and aarch64 (printed
    /// with `printf("%x", USBDEVFS_...)`).
    #[test]
    fn ioctl_numbers_are_the_kernel_headers() {
        let expected: &[(Request, u32)] = &[
            (Request::Control, 0xc018_5500),
            (Request::SetInterface, 0x8008_5504),
            (Request::SetConfiguration, 0x8004_5505),
            (Request::GetDriver, 0x4104_5508),
            (Request::SubmitUrb, 0x8038_550a),
            (Request::DiscardUrb, 0x0000_550b),
            (Request::ReapUrb, 0x4008_550c),
            (Request::ReapUrbNoDelay, 0x4008_550d),
            (Request::ClaimInterface, 0x8004_550f),
            (Request::ReleaseInterface, 0x8004_5510),
            (Request::ConnectInfo, 0x4008_5511),
            (Request::Ioctl, 0xc010_5512),
            (Request::Reset, 0x0000_5514),
            (Request::ClearHalt, 0x8004_5515),
            (Request::Disconnect, 0x0000_5516),
            (Request::Connect, 0x0000_5517),
            (Request::GetCapabilities, 0x8004_551a),
            (Request::DisconnectClaim, 0x8108_551b),
            (Request::DropPrivileges, 0x4004_551e),
            (Request::GetSpeed, 0x0000_551f),
        ];
        assert_eq!(expected.len(), REQUESTS.len());
        for (r, n) in expected {
            assert_eq!(r.number(), *n, "{r:?}");
            assert_eq!(Request::from_number(*n), Some(*r));
        }
        assert_eq!((URB_SIZE, URB_BUFFER_AT, URB_ACTUAL_AT), (56, 16, 28));
    }

    #[test]
    fn urbs_and_setup_packets_are_read_and_finished() {
        let mut urb = vec![0u8; URB_SIZE];
        urb[0] = URB_TYPE_CONTROL;
        urb[1] = 0x80;
        urb[24..28].copy_from_slice(&72i32.to_ne_bytes());
        assert_eq!(
            parse_urb(&urb),
            Some(UrbHead {
                kind: URB_TYPE_CONTROL,
                endpoint: 0x80,
                buffer_length: 72
            })
        );
        finish_urb(&mut urb, -libc::EPIPE, 6);
        assert_eq!(i32::from_ne_bytes(urb[4..8].try_into().unwrap()), -32);
        assert_eq!(i32::from_ne_bytes(urb[28..32].try_into().unwrap()), 6);
        let setup = parse_setup(&[0xa1, 3, 0, 0, 0, 0, 6, 0]).unwrap();
        assert_eq!(
            (setup.request_type, setup.request, setup.length),
            (0xa1, 3, 6)
        );
        assert!(parse_setup(&[0; 7]).is_none());
        assert!(parse_urb(&[0; 10]).is_none());
    }
}
