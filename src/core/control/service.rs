//! Particle's USB "service protocol": vendor control requests on endpoint 0 that carry one
//! Device OS control request — INIT, SEND the payload, CHECK until done, RECV the reply.

use std::time::Duration;

use super::ControlError;
use crate::ports::clock::Deadline;
use crate::ports::{Clock, ControlSetup, UsbDevice, UsbError};

pub const INIT: u8 = 1;
pub const CHECK: u8 = 2;
pub const SEND: u8 = 3;
pub const RECV: u8 = 4;
pub const RESET: u8 = 5;
pub const VENDOR_IN: u8 = 0xC0;
pub const VENDOR_OUT: u8 = 0x40;
pub const REPLY_LEN: u16 = 64;
/// Largest payload one control transfer carries (particle-usb's MAX_CONTROL_TRANSFER_DATA_SIZE).
pub const MAX_TRANSFER: usize = 4096;

pub const FLAG_STATUS: u32 = 0x01;
pub const FLAG_ID: u32 = 0x02;
pub const FLAG_SIZE: u32 = 0x04;
pub const FLAG_RESULT: u32 = 0x08;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceStatus {
    Ok,
    Error,
    Pending,
    Busy,
    NoMemory,
    NotFound,
    Other(u16),
}

impl ServiceStatus {
    pub fn from_u16(v: u16) -> Self {
        match v {
            0 => ServiceStatus::Ok,
            1 => ServiceStatus::Error,
            2 => ServiceStatus::Pending,
            3 => ServiceStatus::Busy,
            4 => ServiceStatus::NoMemory,
            5 => ServiceStatus::NotFound,
            other => ServiceStatus::Other(other),
        }
    }

    pub fn to_u16(self) -> u16 {
        match self {
            ServiceStatus::Ok => 0,
            ServiceStatus::Error => 1,
            ServiceStatus::Pending => 2,
            ServiceStatus::Busy => 3,
            ServiceStatus::NoMemory => 4,
            ServiceStatus::NotFound => 5,
            ServiceStatus::Other(v) => v,
        }
    }
}

/// A service reply: flags, status, then id, size and result when flagged (little-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceReply {
    pub status: ServiceStatus,
    pub id: Option<u16>,
    pub size: Option<u32>,
    pub result: Option<i32>,
}

impl ServiceReply {
    pub fn parse(b: &[u8]) -> Option<ServiceReply> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Option<&[u8]> {
            let s = b.get(at..at + n)?;
            at += n;
            Some(s)
        };
        let flags = u32::from_le_bytes(take(4)?.try_into().ok()?);
        if flags & FLAG_STATUS == 0 {
            return None;
        }
        let status = ServiceStatus::from_u16(u16::from_le_bytes(take(2)?.try_into().ok()?));
        let id = if flags & FLAG_ID != 0 {
            Some(u16::from_le_bytes(take(2)?.try_into().ok()?))
        } else {
            None
        };
        let size = if flags & FLAG_SIZE != 0 {
            Some(u32::from_le_bytes(take(4)?.try_into().ok()?))
        } else {
            None
        };
        let result = if flags & FLAG_RESULT != 0 {
            Some(i32::from_le_bytes(take(4)?.try_into().ok()?))
        } else {
            None
        };
        Some(ServiceReply {
            status,
            id,
            size,
            result,
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut flags = FLAG_STATUS;
        let mut tail = Vec::new();
        if let Some(id) = self.id {
            flags |= FLAG_ID;
            tail.extend_from_slice(&id.to_le_bytes());
        }
        if let Some(size) = self.size {
            flags |= FLAG_SIZE;
            tail.extend_from_slice(&size.to_le_bytes());
        }
        if let Some(result) = self.result {
            flags |= FLAG_RESULT;
            tail.extend_from_slice(&result.to_le_bytes());
        }
        let mut out = flags.to_le_bytes().to_vec();
        out.extend_from_slice(&self.status.to_u16().to_le_bytes());
        out.extend_from_slice(&tail);
        out
    }
}

/// CHECK polling: quick at first, then every 50 ms. particle-usb waits 50 ms before its first
/// CHECK and backs off to a second (src/device-base.js:44); Device OS answers a CHECK in its
/// USB interrupt (usb_control_request_channel.cpp:362-403), so asking sooner and more often
/// costs it nothing and saves most of those waits: on every 1024-byte chunk of a firmware
/// update, and after START's erase of the OTA area (≈0.5 s for a bootloader).
const POLL_SCHEDULE_MS: [u64; 5] = [2, 5, 10, 20, 50];

fn setup(request: u8, value: u16, index: u16, length: u16) -> ControlSetup {
    ControlSetup {
        request_type: VENDOR_IN,
        request,
        value,
        index,
        length,
    }
}

/// RESET with id 0: cancels every request the board holds (usb_control_request_channel.cpp:
/// 473-500).
pub fn cancel_all(device: &mut dyn UsbDevice) -> Result<ServiceReply, ControlError> {
    let bytes = device
        .control_in(setup(RESET, 0, 0, REPLY_LEN), Duration::from_secs(5))
        .map_err(|source| ControlError::Usb {
            op: "reset",
            source,
        })?;
    parse(&bytes, "reset")
}

/// Sends one control request and returns its reply payload.
pub fn request(
    device: &mut dyn UsbDevice,
    clock: &dyn Clock,
    request_type: u16,
    payload: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, ControlError> {
    if payload.len() > MAX_TRANSFER {
        return Err(ControlError::PayloadTooLarge(payload.len()));
    }
    let transfer_timeout = Duration::from_secs(5);
    let usb = |op: &'static str| move |source: UsbError| ControlError::Usb { op, source };
    let deadline = Deadline::after(clock, timeout);
    let init_setup = setup(INIT, payload.len() as u16, request_type, REPLY_LEN);
    let mut reply = parse(
        &device
            .control_in(init_setup, transfer_timeout)
            .map_err(usb("init"))?,
        "init",
    )?;
    if reply.status == ServiceStatus::Busy {
        // Four requests are held already, left over from a cut session: cancel them and ask
        // once more (Device OS answers BUSY to a fifth, :302-304).
        cancel_all(device)?;
        reply = parse(
            &device
                .control_in(init_setup, transfer_timeout)
                .map_err(usb("init"))?,
            "init",
        )?;
    }
    let id = reply
        .id
        .ok_or(ControlError::Malformed("init reply without id"))?;
    let check =
        |device: &mut dyn UsbDevice, polls: &mut usize| -> Result<ServiceReply, ControlError> {
            loop {
                let bytes = device
                    .control_in(setup(CHECK, 0, id, REPLY_LEN), transfer_timeout)
                    .map_err(usb("check"))?;
                let r = parse(&bytes, "check")?;
                if r.status != ServiceStatus::Pending && r.status != ServiceStatus::Busy {
                    return Ok(r);
                }
                if deadline.passed(clock) {
                    return Err(ControlError::Timeout { request_type });
                }
                clock.sleep(Duration::from_millis(
                    POLL_SCHEDULE_MS[(*polls).min(POLL_SCHEDULE_MS.len() - 1)],
                ));
                *polls += 1;
            }
        };
    let mut polls = 0;
    if !payload.is_empty() {
        if reply.status == ServiceStatus::Pending {
            reply = check(device, &mut polls)?;
        }
        status_ok(reply, request_type)?;
        let send = ControlSetup {
            request_type: VENDOR_OUT,
            request: SEND,
            value: 0,
            index: id,
            length: payload.len() as u16,
        };
        device
            .control_out(send, payload, transfer_timeout)
            .map_err(usb("send"))?;
        polls = 0;
    } else {
        status_ok(reply, request_type)?;
    }
    let done = check(device, &mut polls)?;
    status_ok(done, request_type)?;
    // Any result but 0 is a failure, as particle-usb reads it (src/device.js sendRequest):
    // Device OS before 3.0 answers a refused update with a positive 1.
    if let Some(result) = done.result.filter(|r| *r != 0) {
        return Err(ControlError::Result {
            request_type,
            result,
        });
    }
    match done.size {
        Some(size) if size > 0 => {
            let size = u16::try_from(size)
                .map_err(|_| ControlError::Malformed("reply larger than 64 KiB"))?;
            let data = device
                .control_in(setup(RECV, 0, id, size), transfer_timeout)
                .map_err(usb("recv"))?;
            if data.len() != usize::from(size) {
                return Err(ControlError::Malformed("reply shorter than announced"));
            }
            Ok(data)
        }
        _ => Ok(Vec::new()),
    }
}

fn parse(bytes: &[u8], op: &'static str) -> Result<ServiceReply, ControlError> {
    ServiceReply::parse(bytes).ok_or(ControlError::Malformed(op))
}

fn status_ok(reply: ServiceReply, request_type: u16) -> Result<(), ControlError> {
    match reply.status {
        ServiceStatus::Ok => Ok(()),
        status => Err(ControlError::Status {
            request_type,
            status,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reply_round_trips_with_optional_fields() {
        let r = ServiceReply {
            status: ServiceStatus::Ok,
            id: Some(7),
            size: None,
            result: Some(-120),
        };
        assert_eq!(ServiceReply::parse(&r.to_bytes()), Some(r));
        let bare = ServiceReply {
            status: ServiceStatus::Busy,
            id: None,
            size: None,
            result: None,
        };
        assert_eq!(bare.to_bytes().len(), 6);
        assert_eq!(
            ServiceReply::parse(&[0, 0, 0, 0, 0, 0]),
            None,
            "status flag is required"
        );
    }

    proptest! {
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = ServiceReply::parse(&bytes);
        }
    }
}
