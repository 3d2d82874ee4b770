#![allow(dead_code)]
//! In-memory harness that drives the *device* side of `usbd-dfu` 0.4 through a
//! `usb-device` 0.3 bus emulated entirely in RAM, so a host-side DFU
//! implementation can be tested without real USB.
//!
//! Design notes (see NOTES.md for protocol differences):
//! * Own `UsbBus` implementation (`MemBus`), not `usbd-class-tester`'s
//!   `EmulatedUsbBus`: the latter can only be constructed inside its
//!   `with_usb(ctx, fn(cls, dev))` callback (constructors are `pub(crate)`,
//!   the callback is a plain `fn` pointer), so it cannot be owned by a
//!   long-lived struct with `control_out`/`control_in` methods.
//! * EP0 max packet size is 64; the host side splits data stages into 64-byte
//!   packets and runs the SETUP / DATA / STATUS stages exactly like a host
//!   controller would, calling `UsbDevice::poll` after every packet.
//! * `usbd-dfu` performs erase/program/manifestation in `UsbClass::poll()`,
//!   which `usb-device` calls at the end of the same `poll()` that handled the
//!   GETSTATUS that moved the device to dfuDNBUSY / dfuMANIFEST. So by the time
//!   the host sees the GETSTATUS reply, the operation has already completed;
//!   bwPollTimeout is purely advisory and no wall-clock waiting is needed.
//! * `DFUMemIO` configuration is via associated consts, so runtime values
//!   (base address, layout string) are injected as follows: the layout string
//!   is served by a thin `UsbClass` wrapper, and the initial address pointer
//!   is set to `base` during construction with a hidden DfuSe
//!   SET_ADDRESS_POINTER + GETSTATUS x2 + ABORT sequence (leaves the device in
//!   dfuIDLE/OK, touches no memory).
//! * The `UsbBusAllocator` must outlive the `UsbDevice` that borrows it; each
//!   harness leaks one small allocator (`Box::leak`) to avoid unsafe code.

use std::cell::{Ref, RefCell, RefMut};
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use usb_device::bus::{PollResult, UsbBus, UsbBusAllocator};
use usb_device::class::{ControlIn, ControlOut, UsbClass};
use usb_device::descriptor::{BosWriter, DescriptorWriter};
use usb_device::device::{StringDescriptors, UsbDevice, UsbDeviceBuilder, UsbVidPid};
use usb_device::endpoint::{EndpointAddress, EndpointType};
use usb_device::{LangID, UsbDirection, UsbError};
use usbd_dfu::{DFUClass, DFUManifestationError, DFUMemError, DFUMemIO};

// ---------------------------------------------------------------------------
// Public protocol constants
// ---------------------------------------------------------------------------

/// DFU class requests (DFU 1.1 table 3.2).
pub mod req {
    pub const DETACH: u8 = 0;
    pub const DNLOAD: u8 = 1;
    pub const UPLOAD: u8 = 2;
    pub const GETSTATUS: u8 = 3;
    pub const CLRSTATUS: u8 = 4;
    pub const GETSTATE: u8 = 5;
    pub const ABORT: u8 = 6;
}

/// bmRequestType values for DFU class requests to an interface.
pub const REQTYPE_CLASS_IFACE_OUT: u8 = 0x21;
pub const REQTYPE_CLASS_IFACE_IN: u8 = 0xA1;

/// EP0 max packet size used by the emulated device.
pub const EP0_MAX_PACKET: usize = 64;
/// usb-device's control buffer size with the `control-buffer-256` feature.
/// Any control transfer whose wLength exceeds this is STALLed by usb-device.
pub const CONTROL_BUFFER_LEN: usize = 256;

/// A USB SETUP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    pub request_type: u8,
    pub request: u8,
    pub value: u16,
    pub index: u16,
    pub length: u16,
}

impl Setup {
    pub fn to_bytes(self) -> [u8; 8] {
        let v = self.value.to_le_bytes();
        let i = self.index.to_le_bytes();
        let l = self.length.to_le_bytes();
        [
            self.request_type,
            self.request,
            v[0],
            v[1],
            i[0],
            i[1],
            l[0],
            l[1],
        ]
    }
    /// Class/interface OUT request (bmRequestType 0x21).
    pub fn dfu_out(request: u8, value: u16, interface: u8, length: u16) -> Self {
        Setup {
            request_type: REQTYPE_CLASS_IFACE_OUT,
            request,
            value,
            index: interface as u16,
            length,
        }
    }
    /// Class/interface IN request (bmRequestType 0xA1).
    pub fn dfu_in(request: u8, value: u16, interface: u8, length: u16) -> Self {
        Setup {
            request_type: REQTYPE_CLASS_IFACE_IN,
            request,
            value,
            index: interface as u16,
            length,
        }
    }
}

/// Outcome of a failed control transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XferError {
    /// The device STALLed EP0 (request rejected).
    Stall,
    /// Anything else (protocol violation by the caller, device never answered, ...).
    Other(String),
}

impl std::fmt::Display for XferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            XferError::Stall => write!(f, "EP0 stalled"),
            XferError::Other(s) => write!(f, "{s}"),
        }
    }
}
impl std::error::Error for XferError {}

// ---------------------------------------------------------------------------
// Device profile (compile-time DFUMemIO knobs)
// ---------------------------------------------------------------------------

/// Compile-time knobs forwarded to `usbd_dfu::DFUMemIO`'s associated consts.
/// Implement it on your own unit struct to change them.
pub trait DfuProfile: 'static {
    /// wTransferSize; must be <= `CONTROL_BUFFER_LEN` (256) or every
    /// full-size DNLOAD/UPLOAD is stalled by usb-device.
    const TRANSFER_SIZE: u16 = 256;
    /// bwPollTimeout reported with dfuDNBUSY after a data block.
    const PROGRAM_TIME_MS: u32 = 0;
    /// bwPollTimeout reported with dfuDNBUSY after an erase-page command.
    const ERASE_TIME_MS: u32 = 0;
    /// bwPollTimeout reported with dfuDNBUSY after a mass-erase command.
    const FULL_ERASE_TIME_MS: u32 = 0;
    /// bwPollTimeout reported with dfuMANIFEST.
    const MANIFESTATION_TIME_MS: u32 = 0;
    /// bitManifestationTolerant. If false, after manifestation the device sits
    /// in dfuMANIFEST-WAIT-RESET (8) instead of returning to dfuIDLE.
    const MANIFESTATION_TOLERANT: bool = true;
    const HAS_UPLOAD: bool = true;
}

/// Defaults: wTransferSize 256, all poll timeouts 0, manifestation tolerant.
pub struct DefaultProfile;
impl DfuProfile for DefaultProfile {}

// ---------------------------------------------------------------------------
// Memory backend
// ---------------------------------------------------------------------------

/// A memory operation as seen by the `DFUMemIO` backend (for assertions on
/// what the host caused the device to do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemOp {
    /// Page erase requested for `addr` (`page_start` actually erased).
    Erase {
        addr: u32,
        page_start: u32,
    },
    EraseAll,
    Program {
        addr: u32,
        len: usize,
    },
    Read {
        addr: u32,
        len: usize,
    },
    Manifest,
    UsbReset,
    /// An operation that failed (injected or out of range).
    Failed(Box<MemOp>, &'static str),
}

/// Configuration for `DfuDeviceHarness::with_config`.
#[derive(Clone, Debug)]
pub struct HarnessConfig {
    pub base: u32,
    pub size: usize,
    /// Erase granularity; `0x41 addr` erases the page containing `addr`.
    pub page_size: usize,
    /// Initial memory content (0xFF = erased NOR flash).
    pub fill: u8,
    /// If true, program() ANDs data into memory like NOR flash (so writing
    /// without erasing first yields wrong content); if false it overwrites.
    pub nor_semantics: bool,
    /// DfuSe layout string for the interface (iInterface). `None` derives
    /// `@Harness Flash /0x{base:08x}/{n}*{page}{K| }g`.
    pub layout: Option<String>,
}

impl HarnessConfig {
    pub fn new(base: u32, size: usize) -> Self {
        HarnessConfig {
            base,
            size,
            page_size: 4096,
            fill: 0xFF,
            nor_semantics: true,
            layout: None,
        }
    }
    fn layout_string(&self) -> String {
        if let Some(l) = &self.layout {
            return l.clone();
        }
        let pages = self.size.div_ceil(self.page_size);
        let (n, unit) = if self.page_size % 1024 == 0 {
            (self.page_size / 1024, "K")
        } else {
            (self.page_size, " ")
        };
        format!(
            "@Harness Flash /0x{:08x}/{}*{}{}g",
            self.base, pages, n, unit
        )
    }
}

#[derive(Default)]
struct Faults {
    write: bool,
    erase: bool,
}

struct MemState {
    cfg: HarnessConfig,
    data: Vec<u8>,
    ops: Vec<MemOp>,
    faults: Faults,
    manifest_count: usize,
}

impl MemState {
    fn range(&self, addr: u32, len: usize) -> Option<usize> {
        let off = addr.checked_sub(self.cfg.base)? as usize;
        if off.checked_add(len)? <= self.data.len() {
            Some(off)
        } else {
            None
        }
    }
}

struct HarnessMem<P: DfuProfile> {
    st: Rc<RefCell<MemState>>,
    write_buf: Vec<u8>,
    read_buf: Vec<u8>,
    _p: PhantomData<P>,
}

impl<P: DfuProfile> DFUMemIO for HarnessMem<P> {
    // Overridden at runtime (see module docs).
    const INITIAL_ADDRESS_POINTER: u32 = 0;
    const MEM_INFO_STRING: &'static str = "@Harness (overridden at runtime)";
    const HAS_DOWNLOAD: bool = true;
    const HAS_UPLOAD: bool = P::HAS_UPLOAD;
    const MANIFESTATION_TOLERANT: bool = P::MANIFESTATION_TOLERANT;
    const PROGRAM_TIME_MS: u32 = P::PROGRAM_TIME_MS;
    const ERASE_TIME_MS: u32 = P::ERASE_TIME_MS;
    const FULL_ERASE_TIME_MS: u32 = P::FULL_ERASE_TIME_MS;
    const MANIFESTATION_TIME_MS: u32 = P::MANIFESTATION_TIME_MS;
    const TRANSFER_SIZE: u16 = P::TRANSFER_SIZE;

    fn store_write_buffer(&mut self, src: &[u8]) -> Result<(), ()> {
        // usbd-dfu maps Err here to dfuERROR/errSTALLEDPKT + STALL.
        if src.len() > P::TRANSFER_SIZE as usize {
            return Err(());
        }
        self.write_buf.clear();
        self.write_buf.extend_from_slice(src);
        Ok(())
    }

    fn read(&mut self, address: u32, length: usize) -> Result<&[u8], DFUMemError> {
        let mut st = self.st.borrow_mut();
        let op = MemOp::Read {
            addr: address,
            len: length,
        };
        // Reads are clipped at the end of the region (short frame ends the
        // upload); starting beyond the end is an address error.
        let end = st.cfg.base as u64 + st.data.len() as u64;
        if (address as u64) < st.cfg.base as u64 || address as u64 > end {
            st.ops
                .push(MemOp::Failed(Box::new(op), "address out of range"));
            return Err(DFUMemError::Address);
        }
        let off = (address - st.cfg.base) as usize;
        let n = length.min(st.data.len() - off);
        self.read_buf.clear();
        self.read_buf.extend_from_slice(&st.data[off..off + n]);
        st.ops.push(op);
        drop(st);
        Ok(&self.read_buf)
    }

    fn program(&mut self, address: u32, length: usize) -> Result<(), DFUMemError> {
        let mut st = self.st.borrow_mut();
        let op = MemOp::Program {
            addr: address,
            len: length,
        };
        if st.faults.write {
            st.faults.write = false;
            st.ops
                .push(MemOp::Failed(Box::new(op), "injected write error"));
            return Err(DFUMemError::Write);
        }
        let Some(off) = st
            .range(address, length)
            .filter(|_| length <= self.write_buf.len())
        else {
            st.ops
                .push(MemOp::Failed(Box::new(op), "address out of range"));
            return Err(DFUMemError::Address);
        };
        let nor = st.cfg.nor_semantics;
        for (d, s) in st.data[off..off + length].iter_mut().zip(&self.write_buf) {
            *d = if nor { *d & *s } else { *s };
        }
        st.ops.push(op);
        Ok(())
    }

    fn erase(&mut self, address: u32) -> Result<(), DFUMemError> {
        let mut st = self.st.borrow_mut();
        let Some(off) = st.range(address, 1) else {
            st.ops.push(MemOp::Failed(
                Box::new(MemOp::Erase {
                    addr: address,
                    page_start: 0,
                }),
                "address out of range",
            ));
            return Err(DFUMemError::Address);
        };
        let ps = st.cfg.page_size;
        let start = off / ps * ps;
        let end = (start + ps).min(st.data.len());
        let op = MemOp::Erase {
            addr: address,
            page_start: st.cfg.base + start as u32,
        };
        if st.faults.erase {
            st.faults.erase = false;
            st.ops
                .push(MemOp::Failed(Box::new(op), "injected erase error"));
            return Err(DFUMemError::Erase);
        }
        st.data[start..end].fill(0xFF);
        st.ops.push(op);
        Ok(())
    }

    fn erase_all(&mut self) -> Result<(), DFUMemError> {
        let mut st = self.st.borrow_mut();
        if st.faults.erase {
            st.faults.erase = false;
            st.ops.push(MemOp::Failed(
                Box::new(MemOp::EraseAll),
                "injected erase error",
            ));
            return Err(DFUMemError::Erase);
        }
        st.data.fill(0xFF);
        st.ops.push(MemOp::EraseAll);
        Ok(())
    }

    fn manifestation(&mut self) -> Result<(), DFUManifestationError> {
        let mut st = self.st.borrow_mut();
        st.manifest_count += 1;
        st.ops.push(MemOp::Manifest);
        Ok(())
    }

    fn usb_reset(&mut self) {
        self.st.borrow_mut().ops.push(MemOp::UsbReset);
    }
}

// ---------------------------------------------------------------------------
// Wrapper class: serves the runtime layout string
// ---------------------------------------------------------------------------

struct DfuWrapper<P: DfuProfile> {
    dfu: DFUClass<MemBus, HarnessMem<P>>,
    layout: String,
}

impl<P: DfuProfile> UsbClass<MemBus> for DfuWrapper<P> {
    fn get_configuration_descriptors(&self, w: &mut DescriptorWriter) -> usb_device::Result<()> {
        self.dfu.get_configuration_descriptors(w)
    }
    fn get_bos_descriptors(&self, w: &mut BosWriter) -> usb_device::Result<()> {
        self.dfu.get_bos_descriptors(w)
    }
    fn get_string(&self, index: usb_device::bus::StringIndex, lang_id: LangID) -> Option<&str> {
        self.dfu
            .get_string(index, lang_id)
            .map(|_| self.layout.as_str())
    }
    fn reset(&mut self) {
        self.dfu.reset()
    }
    fn poll(&mut self) {
        self.dfu.poll()
    }
    fn control_out(&mut self, xfer: ControlOut<MemBus>) {
        self.dfu.control_out(xfer)
    }
    fn control_in(&mut self, xfer: ControlIn<MemBus>) {
        self.dfu.control_in(xfer)
    }
    fn endpoint_setup(&mut self, a: EndpointAddress) {
        self.dfu.endpoint_setup(a)
    }
    fn endpoint_out(&mut self, a: EndpointAddress) {
        self.dfu.endpoint_out(a)
    }
    fn endpoint_in_complete(&mut self, a: EndpointAddress) {
        self.dfu.endpoint_in_complete(a)
    }
    fn get_alt_setting(&mut self, i: usb_device::bus::InterfaceNumber) -> Option<u8> {
        self.dfu.get_alt_setting(i)
    }
    fn set_alt_setting(&mut self, i: usb_device::bus::InterfaceNumber, alt: u8) -> bool {
        self.dfu.set_alt_setting(i, alt)
    }
}

// ---------------------------------------------------------------------------
// In-memory UsbBus
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Ep0 {
    /// Packet waiting for the device on EP0 OUT (data, is_setup).
    out_pkt: Option<(Vec<u8>, bool)>,
    /// Packet the device queued on EP0 IN, not yet taken by the host.
    in_pkt: Option<Vec<u8>>,
    /// Host took `in_pkt`; reported as ep_in_complete on the next poll.
    in_complete: bool,
    stall_in: bool,
    stall_out: bool,
}

#[derive(Default)]
struct BusState {
    ep0: Ep0,
    ep0_max: usize,
    reset_pending: bool,
    address: u8,
    next_ep: [u8; 2],
}

/// `usb_device::bus::UsbBus` implementation backed by shared memory.
/// Only EP0 carries traffic; other endpoints can be allocated but are inert.
pub struct MemBus {
    st: Arc<Mutex<BusState>>,
}

impl MemBus {
    fn lock(&self) -> std::sync::MutexGuard<'_, BusState> {
        self.st.lock().unwrap()
    }
}

impl UsbBus for MemBus {
    fn alloc_ep(
        &mut self,
        ep_dir: UsbDirection,
        ep_addr: Option<EndpointAddress>,
        _ep_type: EndpointType,
        max_packet_size: u16,
        _interval: u8,
    ) -> usb_device::Result<EndpointAddress> {
        let mut st = self.lock();
        if let Some(a) = ep_addr {
            if a.index() == 0 {
                st.ep0_max = max_packet_size as usize;
            }
            return Ok(a);
        }
        let d = (ep_dir == UsbDirection::In) as usize;
        st.next_ep[d] = st.next_ep[d].max(1);
        let idx = st.next_ep[d] as usize;
        if idx >= 16 {
            return Err(UsbError::EndpointOverflow);
        }
        st.next_ep[d] += 1;
        Ok(EndpointAddress::from_parts(idx, ep_dir))
    }
    fn enable(&mut self) {}
    fn reset(&self) {
        let mut st = self.lock();
        st.ep0 = Ep0::default();
        st.address = 0;
    }
    fn set_device_address(&self, addr: u8) {
        self.lock().address = addr;
    }
    fn write(&self, ep_addr: EndpointAddress, buf: &[u8]) -> usb_device::Result<usize> {
        if ep_addr.index() != 0 {
            return Ok(buf.len());
        }
        let mut st = self.lock();
        if buf.len() > st.ep0_max {
            return Err(UsbError::BufferOverflow);
        }
        if st.ep0.in_pkt.is_some() {
            return Err(UsbError::WouldBlock);
        }
        st.ep0.in_pkt = Some(buf.to_vec());
        Ok(buf.len())
    }
    fn read(&self, ep_addr: EndpointAddress, buf: &mut [u8]) -> usb_device::Result<usize> {
        if ep_addr.index() != 0 {
            return Err(UsbError::WouldBlock);
        }
        let mut st = self.lock();
        match st.ep0.out_pkt.take() {
            None => Err(UsbError::WouldBlock),
            // usb-device discards unexpected OUT packets with `read(&mut [])`
            // and then stalls EP0; treat a zero-length buffer as "discard".
            // (Some real drivers return BufferOverflow here instead, in which
            // case the host would see a NAK/timeout rather than a STALL.)
            Some(_) if buf.is_empty() => Ok(0),
            Some((p, _)) if p.len() > buf.len() => Err(UsbError::BufferOverflow), // packet dropped
            Some((p, _)) => {
                buf[..p.len()].copy_from_slice(&p);
                Ok(p.len())
            }
        }
    }
    fn set_stalled(&self, ep_addr: EndpointAddress, stalled: bool) {
        if ep_addr.index() != 0 {
            return;
        }
        let mut st = self.lock();
        match ep_addr.direction() {
            UsbDirection::In => st.ep0.stall_in = stalled,
            UsbDirection::Out => st.ep0.stall_out = stalled,
        }
    }
    fn is_stalled(&self, ep_addr: EndpointAddress) -> bool {
        if ep_addr.index() != 0 {
            return false;
        }
        let st = self.lock();
        match ep_addr.direction() {
            UsbDirection::In => st.ep0.stall_in,
            UsbDirection::Out => st.ep0.stall_out,
        }
    }
    fn suspend(&self) {}
    fn resume(&self) {}
    fn poll(&self) -> PollResult {
        let mut st = self.lock();
        if st.reset_pending {
            st.reset_pending = false;
            return PollResult::Reset;
        }
        let setup = matches!(st.ep0.out_pkt, Some((_, true))) as u16;
        let out = st.ep0.out_pkt.is_some() as u16;
        let inc = std::mem::take(&mut st.ep0.in_complete) as u16;
        if setup | out | inc == 0 {
            PollResult::None
        } else {
            PollResult::Data {
                ep_out: out,
                ep_in_complete: inc,
                ep_setup: setup,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// Decoded DFU functional descriptor (DFU 1.1 table 4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DfuFunctionalDescriptor {
    pub bm_attributes: u8,
    pub w_detach_timeout: u16,
    pub w_transfer_size: u16,
    pub bcd_dfu_version: u16,
}

/// What the host sees when enumerating the DFU interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DfuInterfaceInfo {
    pub interface_number: u8,
    pub alt_setting: u8,
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
    pub i_interface: u8,
    /// iInterface string (DfuSe memory layout), read via GET_DESCRIPTOR.
    pub interface_string: String,
    pub functional: DfuFunctionalDescriptor,
    /// Full raw configuration descriptor.
    pub config_descriptor: Vec<u8>,
}

/// Device-side `usbd-dfu` instance on an in-memory bus. `!Send` (uses `Rc`).
pub struct DfuDeviceHarness<P: DfuProfile = DefaultProfile> {
    bus: Arc<Mutex<BusState>>,
    dev: UsbDevice<'static, MemBus>,
    class: DfuWrapper<P>,
    mem: Rc<RefCell<MemState>>,
    info: Option<DfuInterfaceInfo>,
}

const MAX_POLLS: usize = 16;

impl DfuDeviceHarness<DefaultProfile> {
    /// Memory region of `size` bytes at `base`, 4 KiB pages, filled with 0xFF,
    /// wTransferSize 256, zero poll timeouts, DfuSe commands (0x21/0x41).
    pub fn new(base: u32, size: usize) -> Self {
        Self::with_config(HarnessConfig::new(base, size))
    }
}

impl<P: DfuProfile> DfuDeviceHarness<P> {
    /// wTransferSize advertised and used for DfuSe block addressing.
    pub const TRANSFER_SIZE: u16 = P::TRANSFER_SIZE;

    pub fn with_config(cfg: HarnessConfig) -> Self {
        assert!(
            P::TRANSFER_SIZE as usize <= CONTROL_BUFFER_LEN,
            "TRANSFER_SIZE exceeds usb-device control buffer"
        );
        assert!(cfg.page_size > 0);
        let layout = cfg.layout_string();
        assert!(
            layout.encode_utf16().count() * 2 + 2 <= 255,
            "layout string too long for a string descriptor"
        );
        let bus = Arc::new(Mutex::new(BusState::default()));
        let alloc: &'static UsbBusAllocator<MemBus> =
            Box::leak(Box::new(UsbBusAllocator::new(MemBus { st: bus.clone() })));
        let mem = Rc::new(RefCell::new(MemState {
            data: vec![cfg.fill; cfg.size],
            cfg,
            ops: Vec::new(),
            faults: Faults::default(),
            manifest_count: 0,
        }));
        let hm = HarnessMem::<P> {
            st: mem.clone(),
            write_buf: Vec::new(),
            read_buf: Vec::new(),
            _p: PhantomData,
        };
        let dfu = DFUClass::new(alloc, hm);
        let dev = UsbDeviceBuilder::new(alloc, UsbVidPid(0x2b04, 0xd00c))
            .strings(&[StringDescriptors::default()
                .manufacturer("usbd-harness")
                .product("usbd-dfu harness")
                .serial_number("0001")])
            .unwrap()
            .max_packet_size_0(EP0_MAX_PACKET as u8)
            .unwrap()
            .build();
        let mut h = DfuDeviceHarness {
            bus,
            dev,
            class: DfuWrapper { dfu, layout },
            mem,
            info: None,
        };
        h.poll();
        h.enumerate().expect("enumeration failed");
        h.init_address_pointer()
            .expect("initial address pointer setup failed");
        h.mem.borrow_mut().ops.clear();
        h
    }

    fn poll(&mut self) -> bool {
        self.dev.poll(&mut [&mut self.class])
    }

    fn stalled(&self) -> bool {
        let st = self.bus.lock().unwrap();
        st.ep0.stall_in || st.ep0.stall_out
    }

    fn send_setup(&mut self, setup: &Setup) {
        {
            let mut st = self.bus.lock().unwrap();
            // A SETUP token always clears a protocol stall and aborts any
            // transfer in progress.
            st.ep0.stall_in = false;
            st.ep0.stall_out = false;
            st.ep0.in_pkt = None;
            st.ep0.in_complete = false;
            st.ep0.out_pkt = Some((setup.to_bytes().to_vec(), true));
        }
        self.poll();
    }

    /// Host-to-device control transfer (SETUP, optional DATA OUT, STATUS IN).
    pub fn control_out(&mut self, setup: Setup, data: &[u8]) -> Result<(), XferError> {
        if setup.request_type & 0x80 != 0 {
            return Err(XferError::Other(
                "control_out with an IN bmRequestType".into(),
            ));
        }
        if data.len() != setup.length as usize {
            return Err(XferError::Other(format!(
                "data length {} != wLength {}",
                data.len(),
                setup.length
            )));
        }
        self.send_setup(&setup);
        if self.stalled() {
            return Err(XferError::Stall);
        }
        for chunk in data.chunks(EP0_MAX_PACKET) {
            self.bus.lock().unwrap().ep0.out_pkt = Some((chunk.to_vec(), false));
            self.poll();
            if self.stalled() {
                return Err(XferError::Stall);
            }
            if self.bus.lock().unwrap().ep0.out_pkt.take().is_some() {
                return Err(XferError::Other("device NAKed data stage".into()));
            }
        }
        // STATUS stage: device must send a ZLP on EP0 IN.
        for _ in 0..MAX_POLLS {
            if self.stalled() {
                return Err(XferError::Stall);
            }
            let pkt = self.bus.lock().unwrap().ep0.in_pkt.take();
            match pkt {
                Some(p) if p.is_empty() => {
                    self.bus.lock().unwrap().ep0.in_complete = true;
                    self.poll();
                    return Ok(());
                }
                Some(p) => {
                    return Err(XferError::Other(format!(
                        "unexpected {}-byte status packet",
                        p.len()
                    )))
                }
                None => {
                    self.poll();
                }
            }
        }
        Err(XferError::Other(
            "device never completed the status stage (timeout)".into(),
        ))
    }

    /// Device-to-host control transfer (SETUP, DATA IN, STATUS OUT).
    pub fn control_in(&mut self, setup: Setup) -> Result<Vec<u8>, XferError> {
        if setup.request_type & 0x80 == 0 {
            return Err(XferError::Other(
                "control_in with an OUT bmRequestType".into(),
            ));
        }
        self.send_setup(&setup);
        let mut out = Vec::new();
        let mut idle = 0;
        loop {
            if self.stalled() {
                return Err(XferError::Stall);
            }
            let pkt = self.bus.lock().unwrap().ep0.in_pkt.take();
            match pkt {
                Some(p) => {
                    idle = 0;
                    let short = p.len() < EP0_MAX_PACKET;
                    out.extend_from_slice(&p);
                    self.bus.lock().unwrap().ep0.in_complete = true;
                    self.poll();
                    if short || out.len() >= setup.length as usize {
                        break;
                    }
                }
                None => {
                    idle += 1;
                    if idle > MAX_POLLS {
                        return Err(XferError::Other(
                            "device never answered (NAK timeout)".into(),
                        ));
                    }
                    self.poll();
                }
            }
        }
        if self.stalled() {
            return Err(XferError::Stall);
        }
        // STATUS stage: zero-length OUT packet.
        {
            let mut st = self.bus.lock().unwrap();
            st.ep0.in_pkt = None;
            st.ep0.out_pkt = Some((Vec::new(), false));
        }
        self.poll();
        self.bus.lock().unwrap().ep0.out_pkt = None;
        out.truncate(setup.length as usize);
        Ok(out)
    }

    fn enumerate(&mut self) -> Result<(), XferError> {
        let get_desc = |t: u8, i: u8, lang: u16, len: u16| Setup {
            request_type: 0x80,
            request: 6,
            value: ((t as u16) << 8) | i as u16,
            index: lang,
            length: len,
        };
        self.control_in(get_desc(1, 0, 0, 64))?;
        self.control_out(
            Setup {
                request_type: 0,
                request: 5,
                value: 7,
                index: 0,
                length: 0,
            },
            &[],
        )?;
        if self.bus.lock().unwrap().address != 7 {
            return Err(XferError::Other("SET_ADDRESS not applied".into()));
        }
        self.control_in(get_desc(1, 0, 0, 18))?;
        let head = self.control_in(get_desc(2, 0, 0, 9))?;
        let total = u16::from_le_bytes([head[2], head[3]]);
        let cfg = self.control_in(get_desc(2, 0, 0, total))?;
        self.control_out(
            Setup {
                request_type: 0,
                request: 9,
                value: 1,
                index: 0,
                length: 0,
            },
            &[],
        )?;

        // Parse interface + DFU functional descriptor.
        let (mut iface, mut func) = (None, None);
        let mut i = 0;
        while i + 2 <= cfg.len() && cfg[i] >= 2 {
            let d = &cfg[i..i + cfg[i] as usize];
            match d[1] {
                4 if iface.is_none() => iface = Some(d.to_vec()),
                0x21 if func.is_none() => func = Some(d.to_vec()),
                _ => {}
            }
            i += cfg[i] as usize;
        }
        let iface = iface.ok_or_else(|| XferError::Other("no interface descriptor".into()))?;
        let func = func.ok_or_else(|| XferError::Other("no DFU functional descriptor".into()))?;
        let s = self.control_in(get_desc(3, iface[8], 0x0409, 255))?;
        let u16s: Vec<u16> = s[2..]
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        self.info = Some(DfuInterfaceInfo {
            interface_number: iface[2],
            alt_setting: iface[3],
            class: iface[5],
            subclass: iface[6],
            protocol: iface[7],
            i_interface: iface[8],
            interface_string: String::from_utf16_lossy(&u16s),
            functional: DfuFunctionalDescriptor {
                bm_attributes: func[2],
                w_detach_timeout: u16::from_le_bytes([func[3], func[4]]),
                w_transfer_size: u16::from_le_bytes([func[5], func[6]]),
                bcd_dfu_version: u16::from_le_bytes([func[7], func[8]]),
            },
            config_descriptor: cfg,
        });
        Ok(())
    }

    /// Emulates a device whose INITIAL_ADDRESS_POINTER is `base`.
    fn init_address_pointer(&mut self) -> Result<(), XferError> {
        let ifn = self.interface_number();
        let base = self.mem.borrow().cfg.base.to_le_bytes();
        let cmd = [0x21, base[0], base[1], base[2], base[3]];
        self.control_out(Setup::dfu_out(req::DNLOAD, 0, ifn, 5), &cmd)?;
        for _ in 0..2 {
            self.control_in(Setup::dfu_in(req::GETSTATUS, 0, ifn, 6))?;
        }
        self.control_out(Setup::dfu_out(req::ABORT, 0, ifn, 0), &[])?;
        let st = self.control_in(Setup::dfu_in(req::GETSTATUS, 0, ifn, 6))?;
        if st[0] != 0 || st[4] != 2 {
            return Err(XferError::Other(format!(
                "unexpected state after init: {st:?}"
            )));
        }
        Ok(())
    }

    /// Interface number allocated to the DFU interface (0 here).
    pub fn interface_number(&self) -> u8 {
        self.info.as_ref().map(|i| i.interface_number).unwrap_or(0)
    }

    /// Interface/functional descriptors and the iInterface (memory layout)
    /// string, as read through GET_DESCRIPTOR during enumeration.
    pub fn interface_descriptor_strings(&self) -> &DfuInterfaceInfo {
        self.info.as_ref().expect("enumerated in constructor")
    }

    /// Whole memory region (index 0 == `base`). Derefs to `[u8]`.
    pub fn memory(&self) -> Ref<'_, [u8]> {
        Ref::map(self.mem.borrow(), |m| &m.data[..])
    }

    /// Mutable memory region, e.g. to preload content for UPLOAD tests.
    pub fn memory_mut(&mut self) -> RefMut<'_, [u8]> {
        RefMut::map(self.mem.borrow_mut(), |m| &mut m.data[..])
    }

    /// Arm (`true`) / disarm (`false`) a one-shot failure of the next
    /// `program()`: the device reports bStatus errWRITE (0x03), bState dfuERROR.
    pub fn inject_write_error(&mut self, on: bool) {
        self.mem.borrow_mut().faults.write = on;
    }

    /// Arm/disarm a one-shot failure of the next erase (errERASE, 0x04).
    pub fn inject_erase_error(&mut self, on: bool) {
        self.mem.borrow_mut().faults.erase = on;
    }

    /// Memory operations performed by the device since construction / `take_ops`.
    pub fn ops(&self) -> Vec<MemOp> {
        self.mem.borrow().ops.clone()
    }

    pub fn take_ops(&mut self) -> Vec<MemOp> {
        std::mem::take(&mut self.mem.borrow_mut().ops)
    }

    /// How many times `DFUMemIO::manifestation()` has run.
    pub fn manifest_count(&self) -> usize {
        self.mem.borrow().manifest_count
    }

    /// Signal a USB bus reset, then re-enumerate (SET_ADDRESS/SET_CONFIGURATION).
    /// usbd-dfu moves to dfuERROR/errUSBR if a transfer was in progress.
    pub fn usb_reset(&mut self) -> Result<(), XferError> {
        self.bus.lock().unwrap().reset_pending = true;
        self.poll();
        self.enumerate()
    }

    /// Address assigned by the (emulated) host.
    pub fn usb_address(&self) -> u8 {
        self.bus.lock().unwrap().address
    }
}
