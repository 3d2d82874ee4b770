//! DFU 1.1 class requests and DfuSe commands as setup packets: what the host asks for,
//! independent of how the bytes travel.

use crate::ports::ControlSetup;

pub const DETACH: u8 = 0;
pub const DNLOAD: u8 = 1;
pub const UPLOAD: u8 = 2;
pub const GETSTATUS: u8 = 3;
pub const CLRSTATUS: u8 = 4;
pub const GETSTATE: u8 = 5;
pub const ABORT: u8 = 6;

/// bmRequestType: class request to an interface.
pub const CLASS_OUT: u8 = 0x21;
pub const CLASS_IN: u8 = 0xA1;

/// DfuSe commands: DNLOAD with wBlockNum 0 carrying `[command, u32 LE address]`.
pub const DFUSE_SET_ADDRESS: u8 = 0x21;
pub const DFUSE_ERASE: u8 = 0x41;
/// DfuSe data blocks start at 2: data lands at `pointer + (block − 2) × wTransferSize`.
pub const FIRST_DATA_BLOCK: u16 = 2;

pub fn out(request: u8, value: u16, interface: u8, length: usize) -> ControlSetup {
    ControlSetup {
        request_type: CLASS_OUT,
        request,
        value,
        index: u16::from(interface),
        length: length as u16,
    }
}

pub fn input(request: u8, value: u16, interface: u8, length: u16) -> ControlSetup {
    ControlSetup {
        request_type: CLASS_IN,
        request,
        value,
        index: u16::from(interface),
        length,
    }
}

pub fn dfuse_command(command: u8, address: u32) -> [u8; 5] {
    let a = address.to_le_bytes();
    [command, a[0], a[1], a[2], a[3]]
}

/// The DFU functional descriptor (DFU 1.1 §4.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionalDescriptor {
    pub attributes: u8,
    pub detach_timeout_ms: u16,
    pub transfer_size: u16,
    pub dfu_version: u16,
}

impl FunctionalDescriptor {
    pub const TYPE: u8 = 0x21;

    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.len() < 7 || b[1] != Self::TYPE {
            return None;
        }
        let u16_at = |i: usize| b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
        Some(FunctionalDescriptor {
            attributes: b[2],
            detach_timeout_ms: u16_at(3)?,
            transfer_size: u16_at(5)?,
            dfu_version: u16_at(7).unwrap_or(0x0110),
        })
    }

    pub fn to_bytes(self) -> [u8; 9] {
        let d = self.detach_timeout_ms.to_le_bytes();
        let t = self.transfer_size.to_le_bytes();
        let v = self.dfu_version.to_le_bytes();
        [
            9,
            Self::TYPE,
            self.attributes,
            d[0],
            d[1],
            t[0],
            t[1],
            v[0],
            v[1],
        ]
    }
}
