//! DFU 1.1 states and status codes, by name: errors show `errWRITE in dfuERROR`, not `3/10`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DfuState {
    AppIdle = 0,
    AppDetach = 1,
    DfuIdle = 2,
    DnloadSync = 3,
    DnBusy = 4,
    DnloadIdle = 5,
    ManifestSync = 6,
    Manifest = 7,
    ManifestWaitReset = 8,
    UploadIdle = 9,
    Error = 10,
}

impl DfuState {
    pub fn from_byte(b: u8) -> Option<Self> {
        use DfuState::*;
        Some(match b {
            0 => AppIdle,
            1 => AppDetach,
            2 => DfuIdle,
            3 => DnloadSync,
            4 => DnBusy,
            5 => DnloadIdle,
            6 => ManifestSync,
            7 => Manifest,
            8 => ManifestWaitReset,
            9 => UploadIdle,
            10 => Error,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        use DfuState::*;
        match self {
            AppIdle => "appIDLE",
            AppDetach => "appDETACH",
            DfuIdle => "dfuIDLE",
            DnloadSync => "dfuDNLOAD-SYNC",
            DnBusy => "dfuDNBUSY",
            DnloadIdle => "dfuDNLOAD-IDLE",
            ManifestSync => "dfuMANIFEST-SYNC",
            Manifest => "dfuMANIFEST",
            ManifestWaitReset => "dfuMANIFEST-WAIT-RESET",
            UploadIdle => "dfuUPLOAD-IDLE",
            Error => "dfuERROR",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        (0..=10)
            .filter_map(Self::from_byte)
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for DfuState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DfuStatusCode {
    Ok = 0x00,
    ErrTarget = 0x01,
    ErrFile = 0x02,
    ErrWrite = 0x03,
    ErrErase = 0x04,
    ErrCheckErased = 0x05,
    ErrProg = 0x06,
    ErrVerify = 0x07,
    ErrAddress = 0x08,
    ErrNotDone = 0x09,
    ErrFirmware = 0x0A,
    ErrVendor = 0x0B,
    ErrUsbReset = 0x0C,
    ErrPowerOnReset = 0x0D,
    ErrUnknown = 0x0E,
    ErrStalledPkt = 0x0F,
}

impl DfuStatusCode {
    pub fn from_byte(b: u8) -> Self {
        use DfuStatusCode::*;
        match b {
            0x00 => Ok,
            0x01 => ErrTarget,
            0x02 => ErrFile,
            0x03 => ErrWrite,
            0x04 => ErrErase,
            0x05 => ErrCheckErased,
            0x06 => ErrProg,
            0x07 => ErrVerify,
            0x08 => ErrAddress,
            0x09 => ErrNotDone,
            0x0A => ErrFirmware,
            0x0B => ErrVendor,
            0x0C => ErrUsbReset,
            0x0D => ErrPowerOnReset,
            0x0F => ErrStalledPkt,
            _ => ErrUnknown,
        }
    }

    pub fn name(self) -> &'static str {
        use DfuStatusCode::*;
        match self {
            Ok => "OK",
            ErrTarget => "errTARGET",
            ErrFile => "errFILE",
            ErrWrite => "errWRITE",
            ErrErase => "errERASE",
            ErrCheckErased => "errCHECK_ERASED",
            ErrProg => "errPROG",
            ErrVerify => "errVERIFY",
            ErrAddress => "errADDRESS",
            ErrNotDone => "errNOTDONE",
            ErrFirmware => "errFIRMWARE",
            ErrVendor => "errVENDOR",
            ErrUsbReset => "errUSBR",
            ErrPowerOnReset => "errPOR",
            ErrUnknown => "errUNKNOWN",
            ErrStalledPkt => "errSTALLEDPKT",
        }
    }
}

impl fmt::Display for DfuStatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A GETSTATUS reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DfuStatus {
    pub status: DfuStatusCode,
    pub poll_timeout_ms: u32,
    pub state: DfuState,
}

impl DfuStatus {
    pub const LEN: usize = 6;

    pub fn parse(b: &[u8]) -> Option<DfuStatus> {
        if b.len() < Self::LEN {
            return None;
        }
        Some(DfuStatus {
            status: DfuStatusCode::from_byte(b[0]),
            poll_timeout_ms: u32::from_le_bytes([b[1], b[2], b[3], 0]),
            state: DfuState::from_byte(b[4])?,
        })
    }

    pub fn to_bytes(self) -> [u8; 6] {
        let t = self.poll_timeout_ms.to_le_bytes();
        [self.status as u8, t[0], t[1], t[2], self.state as u8, 0]
    }
}
