//! Device OS's USB request channel on the simulated board, as
//! system/src/usb_control_request_channel.cpp @ v6.2.0 has it (the same at v1.5.0 but for the
//! raw reset): INIT / CHECK / SEND / RECV / RESET carrying one control request each, at most
//! four active at once, handlers that run on the system thread and finish some time after
//! they were queued, completion handlers that run once the reply has gone out — and the raw
//! vendor request 0x50 that particle-cli reads the Device OS version with.

use std::time::Duration;

use crate::core::control::messages::kind;
use crate::core::control::result;
use crate::core::control::service::{self, ServiceReply, ServiceStatus};
use crate::ports::{ControlSetup, UsbError};

use super::device_os::{dialect, version_string};
use super::firmware_update::Update;
use super::Board;

/// USB_REQUEST_MAX_ACTIVE_COUNT (usb_control_request_channel.h:31).
pub const MAX_ACTIVE: usize = 4;
/// USB_REQUEST_MAX_POOLED_BUFFER_SIZE (usb_control_request_channel.h:37): larger payloads
/// get their buffer allocated asynchronously, and INIT answers PENDING.
const MAX_POOLED: usize = 64;
/// MIN_WLENGTH (usb_control_request_channel.cpp:47): INIT, CHECK and RESET need this much.
const MIN_WLENGTH: u16 = 64;
/// bRequest of a raw vendor request (usb_control_request_channel.cpp:504-509).
pub const RAW_REQUEST: u8 = 0x50;
/// CTRL_REQUEST_CLOUD_DISCONNECT (system/inc/system_control.h:101 @ v6.2.0).
const CLOUD_DISCONNECT: u16 = 302;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The payload buffer is being allocated (INIT answered PENDING).
    AllocPending,
    RecvPayload,
    /// The handler runs on the system thread.
    Pending,
    Done,
}

/// What runs when a request is finished: after the CHECK or RECV that carried its result
/// has been sent, or when the host cancels it (finishRequest calls it either way,
/// usb_control_request_channel.cpp:589-600).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Completion {
    /// Reset / enter DFU: wait, then reset (system_control_internal.cpp:170-197).
    Reset { into_dfu: bool },
    /// FINISH: apply the update if not done yet, then the pending shutdown.
    FinishUpdate,
}

/// A handler's outcome.
pub(super) struct Handled {
    pub result: i32,
    pub reply: Vec<u8>,
    /// The system thread's time on it.
    pub cost: Duration,
    pub completion: Option<Completion>,
}

impl Handled {
    pub fn ok(reply: Vec<u8>) -> Self {
        Handled {
            result: 0,
            reply,
            cost: Duration::ZERO,
            completion: None,
        }
    }

    pub fn fail(result: i32) -> Self {
        Handled {
            result,
            ..Handled::ok(Vec::new())
        }
    }

    pub fn costing(mut self, cost: Duration) -> Self {
        self.cost += cost;
        self
    }

    pub fn then(mut self, completion: Completion) -> Self {
        self.completion = Some(completion);
        self
    }
}

#[derive(Debug, Clone)]
struct Request {
    id: u16,
    kind: u16,
    size: usize,
    payload: Vec<u8>,
    state: State,
    /// When AllocPending becomes RecvPayload, or Pending becomes Done.
    ready_at: Duration,
    result: i32,
    reply: Vec<u8>,
    sent: usize,
    completion: Option<Completion>,
}

impl Request {
    fn state(&self, now: Duration) -> State {
        match self.state {
            State::AllocPending if now >= self.ready_at => State::RecvPayload,
            State::Pending if now >= self.ready_at => State::Done,
            s => s,
        }
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ServiceState {
    last_id: u16,
    active: Vec<Request>,
    /// The system thread is busy until then (a FINISH applying its module).
    pub(super) busy_until: Duration,
    pub(super) update: Option<Update>,
}

fn reply(status: ServiceStatus, id: Option<u16>, size: Option<u32>, res: Option<i32>) -> Vec<u8> {
    ServiceReply {
        status,
        id,
        size,
        result: res,
    }
    .to_bytes()
}

impl Board {
    pub(crate) fn control_in(&mut self, setup: ControlSetup) -> Result<Vec<u8>, UsbError> {
        if setup.request_type != service::VENDOR_IN {
            return Err(UsbError::Stall);
        }
        match setup.request {
            service::INIT => self.init(setup),
            service::CHECK => self.check(setup),
            service::RECV => self.recv(setup),
            service::RESET => self.reset_requests(setup),
            RAW_REQUEST => self.raw_in(setup),
            // 1..=15 are reserved for the service protocol; unknown ones stall (:166-169, 292).
            _ => Err(UsbError::Stall),
        }
    }

    pub(crate) fn control_out(&mut self, setup: ControlSetup, data: &[u8]) -> Result<(), UsbError> {
        if setup.request_type != service::VENDOR_OUT {
            return Err(UsbError::Stall);
        }
        match setup.request {
            service::SEND => self.send(setup, data),
            RAW_REQUEST => self.raw_out(setup),
            _ => Err(UsbError::Stall),
        }
    }

    /// Number of requests the channel holds (for tests of the four-request limit).
    pub(crate) fn active_requests(&self) -> usize {
        self.service.active.len()
    }

    fn init(&mut self, setup: ControlSetup) -> Result<Vec<u8>, UsbError> {
        if setup.length < MIN_WLENGTH {
            return Err(UsbError::Stall);
        }
        if self.service.active.len() >= MAX_ACTIVE {
            return Ok(reply(ServiceStatus::Busy, None, None, None));
        }
        self.service.last_id = self.service.last_id.wrapping_add(1).max(1);
        let id = self.service.last_id;
        let size = usize::from(setup.value);
        let now = self.now();
        let mut request = Request {
            id,
            kind: setup.index,
            size,
            payload: Vec::new(),
            state: State::RecvPayload,
            ready_at: now,
            result: result::INVALID_STATE,
            reply: Vec::new(),
            sent: 0,
            completion: None,
        };
        // :325-348: no payload → the handler is queued at once; a small one fits a pooled
        // buffer; a larger one waits for an allocation on the system thread.
        let status = if size == 0 {
            self.run_handler(&mut request);
            ServiceStatus::Ok
        } else if size <= MAX_POOLED {
            ServiceStatus::Ok
        } else {
            request.state = State::AllocPending;
            request.ready_at = now.max(self.service.busy_until) + self.timing.control_request;
            ServiceStatus::Pending
        };
        self.service.active.push(request);
        Ok(reply(status, Some(id), None, None))
    }

    fn check(&mut self, setup: ControlSetup) -> Result<Vec<u8>, UsbError> {
        if setup.length < MIN_WLENGTH {
            return Err(UsbError::Stall);
        }
        let now = self.now();
        let Some(i) = self.service.active.iter().position(|r| r.id == setup.index) else {
            return Ok(reply(ServiceStatus::NotFound, None, None, None));
        };
        let request = &self.service.active[i];
        // :375-398
        match request.state(now) {
            State::AllocPending | State::Pending => {
                Ok(reply(ServiceStatus::Pending, None, None, None))
            }
            State::RecvPayload => Ok(reply(ServiceStatus::Ok, None, None, None)),
            State::Done if request.reply.is_empty() => {
                let bytes = reply(ServiceStatus::Ok, None, None, Some(request.result));
                // Finished once this reply has gone out (:690-698).
                self.finish_request(i);
                Ok(bytes)
            }
            State::Done => Ok(reply(
                ServiceStatus::Ok,
                None,
                Some(request.reply.len() as u32),
                Some(request.result),
            )),
        }
    }

    fn send(&mut self, setup: ControlSetup, data: &[u8]) -> Result<(), UsbError> {
        let now = self.now();
        let Some(i) = self.service.active.iter().position(|r| r.id == setup.index) else {
            return Err(UsbError::Stall);
        };
        let request = &mut self.service.active[i];
        // :406-440: in parts if the host likes, never past the size INIT announced.
        if request.state(now) != State::RecvPayload
            || request.payload.len() + data.len() > request.size
        {
            return Err(UsbError::Stall);
        }
        request.state = State::RecvPayload;
        request.payload.extend_from_slice(data);
        if request.payload.len() == request.size {
            let mut request = self.service.active.remove(i);
            self.run_handler(&mut request);
            self.service.active.insert(i, request);
        }
        Ok(())
    }

    fn recv(&mut self, setup: ControlSetup) -> Result<Vec<u8>, UsbError> {
        let now = self.now();
        let Some(i) = self.service.active.iter().position(|r| r.id == setup.index) else {
            return Err(UsbError::Stall);
        };
        let request = &mut self.service.active[i];
        let size = usize::from(setup.length);
        // :443-470
        if request.state(now) != State::Done
            || size == 0
            || request.sent + size > request.reply.len()
        {
            return Err(UsbError::Stall);
        }
        let bytes = request.reply[request.sent..request.sent + size].to_vec();
        request.sent += size;
        if request.sent == request.reply.len() {
            self.finish_request(i);
        }
        Ok(bytes)
    }

    /// RESET: id 0 cancels every request, another one that request (:473-500).
    fn reset_requests(&mut self, setup: ControlSetup) -> Result<Vec<u8>, UsbError> {
        if setup.length < MIN_WLENGTH {
            return Err(UsbError::Stall);
        }
        if setup.index == 0 {
            while !self.service.active.is_empty() {
                self.finish_request(0);
            }
        } else {
            match self.service.active.iter().position(|r| r.id == setup.index) {
                Some(i) => self.finish_request(i),
                None => return Ok(reply(ServiceStatus::NotFound, None, None, None)),
            }
        }
        Ok(reply(ServiceStatus::Ok, None, None, None))
    }

    /// The handler on the system thread: its result shows once its time has passed.
    fn run_handler(&mut self, request: &mut Request) {
        let payload = std::mem::take(&mut request.payload);
        let handled = self.handle(request.kind, &payload);
        let start = self.now().max(self.service.busy_until);
        let work = self.timing.control_request + handled.cost;
        // The board's own time, though the host only sees it as CHECKs answered PENDING.
        self.stats.device_busy += work;
        request.state = State::Pending;
        request.ready_at = start + work;
        request.result = handled.result;
        request.reply = handled.reply;
        request.completion = handled.completion;
    }

    fn finish_request(&mut self, i: usize) {
        let request = self.service.active.remove(i);
        if let Some(completion) = request.completion {
            self.complete(completion);
        }
    }

    fn complete(&mut self, completion: Completion) {
        match completion {
            Completion::Reset { into_dfu } => {
                let wait = self.reset_timing().after_control_request;
                self.reset_later(wait, into_dfu);
            }
            Completion::FinishUpdate => self.finish_update_completion(),
        }
    }

    /// Raw IN requests (:510-538): device ID in upper-case hex, the version string.
    fn raw_in(&mut self, setup: ControlSetup) -> Result<Vec<u8>, UsbError> {
        // No data stage, or more than the HAL's 64-byte buffer: refused (:512-514).
        if setup.length == 0 || setup.length > MIN_WLENGTH {
            return Err(UsbError::Stall);
        }
        let text = match setup.index {
            kind::DEVICE_ID => self.device_id.to_uppercase(),
            kind::SYSTEM_VERSION => version_string(self.system_version()),
            _ => return Err(UsbError::Stall),
        };
        if usize::from(setup.length) < text.len() {
            return Err(UsbError::Stall);
        }
        Ok(text.into_bytes())
    }

    /// Raw OUT requests (:539-554): reset at once, from the interrupt (the host's transfer
    /// fails, as the source's comment says), or drop the cloud connection.
    fn raw_out(&mut self, setup: ControlSetup) -> Result<(), UsbError> {
        match setup.index {
            kind::RESET if dialect(self.system_version()).raw_reset => {
                self.reset(false);
                Err(UsbError::NoDevice)
            }
            CLOUD_DISCONNECT if dialect(self.system_version()).raw_reset => Ok(()),
            _ => Err(UsbError::Stall),
        }
    }
}
