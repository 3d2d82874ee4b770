//! One port of the emulated root hub and the simulated board on it: each time the board
//! enumerates (a reset, a mode change) it becomes a new device with the next device number,
//! its sysfs entries, node and uevents; the old device leaves (its open files get ENODEV).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde::Serialize;

use super::board_link::Enumeration;
use super::cdc::CdcData;
use super::descriptors::{dfu_mode, normal_mode, Descriptors, Mode};
use super::device::{ClientId, UsbfsDevice};
use super::gate::Gate;
use super::requests::LineCoding;
use super::sysfs::{self, Address};
use super::tty::{Tty, TtyTable};
use super::umockdev::{IoctlData, IoctlHandler, IoctlThread, RetainedClient, Testbed};
use super::worker::Work;
use crate::ports::{Clock, PortPath, SerialPorts, UsbBus, UsbDevice};
use crate::sim::serial::SimSerialPorts;
use crate::sim::{SimArgon, SimBus};

/// What a submitted URB keeps until it is reaped: the client's URB struct and its buffer, to
/// write the result into.
pub(crate) struct UrbToken {
    pub urb: IoctlData,
    pub buffer: Option<IoctlData>,
    /// Where IN data starts in the buffer (8 for control, after the setup packet).
    pub data_at: usize,
    pub direction_in: bool,
}

pub(crate) struct Node {
    pub syspath: String,
    pub interfaces: Vec<(u8, String)>,
    pub generation: u64,
    pub usb: UsbfsDevice<UrbToken>,
    pub descriptors: Arc<Descriptors>,
    pub handle: Arc<Mutex<Box<dyn UsbDevice>>>,
    pub gate: Gate,
    pub tty: Option<Tty>,
    pub open_files: HashSet<ClientId>,
    /// Files blocked in REAPURB until one of their URBs finishes.
    pub blocked_reaps: HashMap<ClientId, RetainedClient>,
}

impl Node {
    /// Opens the node's gate while anything waits to be reaped.
    pub fn update_gate(&mut self) {
        let ready = self.usb.reapable();
        self.gate.set(ready);
    }
}

/// Counters for `--report` and the tests.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PortReport {
    pub port: String,
    pub device_id: String,
    /// Every enumeration: device number, VID:PID and when (on the boards' clock).
    pub enumerations: Vec<EnumerationReport>,
    /// Control transfers the board served.
    pub control_transfers: u64,
    /// GET_DESCRIPTOR(STRING) requests among them.
    pub string_requests: u64,
    /// Times a kernel driver (cdc_acm) was unbound from one of its interfaces.
    pub driver_unbinds: u32,
    /// Times a process opened one of its device nodes.
    pub opens: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnumerationReport {
    pub devnum: u8,
    pub id: String,
    pub at_ms: u64,
}

pub(crate) struct PortState {
    pub nodes: HashMap<String, Node>,
    pub current: Option<String>,
    pub line: LineCoding,
    pub cdc: Option<CdcData>,
    pub report: PortReport,
}

/// Requests the ioctl side makes of the bus thread, which alone changes the testbed.
pub(crate) enum BusCommand {
    /// Unbind the kernel driver of an interface (its tty goes), then run `then`.
    Unbind {
        port: usize,
        devnode: String,
        interface: u8,
        then: Box<dyn FnOnce(Result<(), i32>) + Send>,
    },
    /// Bind the interface's kernel driver again (its tty comes back); `then(bound)`.
    Rebind {
        port: usize,
        devnode: String,
        interface: u8,
        then: Box<dyn FnOnce(bool) + Send>,
    },
}

pub(crate) struct Port {
    pub me: std::sync::Weak<Port>,
    pub index: usize,
    pub path: PortPath,
    pub board: SimArgon,
    pub clock: Arc<dyn Clock>,
    pub state: Mutex<PortState>,
    pub work: Mutex<Sender<Work>>,
    pub bus: Mutex<Sender<BusCommand>>,
    pub ioctl_thread: OnceLock<IoctlThread>,
    pub ttys: Arc<TtyTable>,
    /// A transfer is being served: the bus thread leaves the port alone until it ends, so a
    /// board that resets right after answering (DFU manifestation) is answered first.
    pub executing: AtomicBool,
}

/// What the bus thread owns: the testbed, device numbers and tty minors in use, the handlers.
pub(crate) struct BusCtx {
    pub tb: Testbed,
    pub root_hub: String,
    pub next_devnum: u8,
    pub devnums: BTreeSet<u8>,
    pub acm_minors: BTreeSet<u32>,
    pub handlers: Vec<(IoctlHandler, IoctlHandler)>,
}

impl BusCtx {
    /// The kernel hands out device numbers round-robin from 2 (1 is the root hub).
    fn take_devnum(&mut self) -> Option<u8> {
        for _ in 0..127 {
            let n = self.next_devnum;
            self.next_devnum = if n >= 127 { 2 } else { n + 1 };
            if self.devnums.insert(n) {
                return Some(n);
            }
        }
        None
    }

    /// cdc_acm takes the lowest free minor.
    fn take_acm_minor(&mut self) -> u32 {
        let n = (0..).find(|n| !self.acm_minors.contains(n)).unwrap_or(0);
        self.acm_minors.insert(n);
        n
    }

    pub fn node_path(&self, devnode: &str) -> PathBuf {
        PathBuf::from(self.tb.root()).join(devnode.trim_start_matches('/'))
    }
}

impl Port {
    pub fn lock(&self) -> MutexGuard<'_, PortState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn send_work(&self, work: Work) {
        let tx = self.work.lock().unwrap_or_else(|p| p.into_inner());
        let _ = tx.send(work);
    }

    pub fn send_bus(&self, command: BusCommand) {
        let tx = self.bus.lock().unwrap_or_else(|p| p.into_inner());
        let _ = tx.send(command);
    }

    pub fn now_ms(&self) -> u64 {
        self.clock.now().as_millis() as u64
    }

    /// Brings the bus in line with the board: a new enumeration replaces the old device.
    pub fn reconcile(&self, bus: &mut BusCtx) {
        if self.executing.load(Ordering::SeqCst) {
            return;
        }
        let now = self.board.enumeration();
        let current = {
            let s = self.lock();
            s.current
                .as_ref()
                .and_then(|d| s.nodes.get(d))
                .map(|n| n.generation)
        };
        match (current, &now) {
            (Some(g), Some(e)) if g == e.generation => return,
            (None, None) => return,
            _ => {}
        }
        if current.is_some() {
            self.remove_current(bus);
        }
        if let Some(e) = now {
            if let Err(e) = self.add(bus, e) {
                log::warn!("sim usb {}: enumerating: {e}", self.path);
            }
        }
    }

    fn descriptors(e: &Enumeration, board: &mut dyn UsbDevice) -> Descriptors {
        let id = e.info.serial.clone().unwrap_or_default();
        if e.dfu() {
            let names = board.alt_setting_names(0).unwrap_or_default();
            let functional = board
                .dfu_functional_descriptor(0)
                .ok()
                .flatten()
                .unwrap_or_default();
            dfu_mode(&e.platform, &id, &names, &functional)
        } else {
            normal_mode(&e.platform, &id)
        }
    }

    fn add(&self, bus: &mut BusCtx, e: Enumeration) -> Result<(), String> {
        let mut sim = SimBus::new(vec![self.board.clone()]);
        let Ok(mut handle) = sim.open(&self.path) else {
            return Ok(()); // gone again; the next tick looks again
        };
        if self.board.enumeration().map(|n| n.generation) != Some(e.generation) {
            return Ok(());
        }
        let descriptors = Self::descriptors(&e, handle.as_mut());
        let devnum = bus.take_devnum().ok_or("no free device number")?;
        let addr = Address {
            bus: 1,
            devnum,
            name: self.path.0.clone(),
        };
        let devnode = addr.devnode();
        let (usb_handler, _) = &bus.handlers[self.index];
        bus.tb
            .attach_ioctl(&devnode, usb_handler)
            .map_err(|e| e.to_string())?;
        // The node and its state first: the kernel's devtmpfs has the node before the uevent,
        // and a program that finds the device in sysfs must be able to open and use it.
        let gate = Gate::create(&bus.node_path(&devnode)).map_err(|e| e.to_string())?;
        let mode = descriptors.mode;
        let node = Node {
            syspath: String::new(),
            interfaces: Vec::new(),
            generation: e.generation,
            usb: UsbfsDevice::new(descriptors.clone()),
            descriptors: Arc::new(descriptors.clone()),
            handle: Arc::new(Mutex::new(handle)),
            gate,
            tty: None,
            open_files: HashSet::new(),
            blocked_reaps: HashMap::new(),
        };
        {
            let mut s = self.lock();
            s.report.enumerations.push(EnumerationReport {
                devnum,
                id: format!("{:04x}:{:04x}", e.info.vid, e.info.pid),
                at_ms: self.now_ms(),
            });
            s.nodes.insert(devnode.clone(), node);
            s.current = Some(devnode.clone());
            s.line = LineCoding::default();
            s.cdc = None;
        }
        let root_hub = bus.root_hub.clone();
        let (syspath, interfaces) =
            sysfs::add_usb_device(&bus.tb, Some(&root_hub), &addr, &descriptors)
                .map_err(|e| e.to_string())?;
        if let Some(n) = self.lock().nodes.get_mut(&devnode) {
            n.syspath = syspath.clone();
            n.interfaces = interfaces.clone();
        }
        log::debug!("sim usb {}: device {devnode} ({mode:?})", self.path);
        bus.tb.uevent(&syspath, "add");
        for (_, path) in &interfaces {
            bus.tb.uevent(path, "add");
        }
        if mode == Mode::Normal {
            self.bind_tty(bus, &devnode);
        }
        Ok(())
    }

    /// The device leaves the bus: its URBs end, its tty and sysfs entries go, uevents say so.
    fn remove_current(&self, bus: &mut BusCtx) {
        let (devnode, syspath, interfaces, tty, drop_now) = {
            let mut s = self.lock();
            let Some(devnode) = s.current.take() else {
                return;
            };
            let Some(node) = s.nodes.get_mut(&devnode) else {
                return;
            };
            node.usb.disconnect();
            node.update_gate();
            let blocked: Vec<ClientId> = node.blocked_reaps.keys().copied().collect();
            let tty = node.tty.take();
            let out = (
                devnode.clone(),
                node.syspath.clone(),
                node.interfaces.clone(),
                tty,
                node.open_files.is_empty(),
            );
            drop(s);
            for file in blocked {
                self.wake_blocked_reap(&devnode, file);
            }
            out
        };
        if let Some(tty) = tty {
            self.unbind_tty_now(bus, tty);
        }
        // Children first: umockdev removes a device's own /sys/bus link, not its children's.
        for (_, path) in interfaces.iter().rev() {
            bus.tb.uevent(path, "remove");
            bus.tb.remove_device(path);
        }
        bus.tb.uevent(&syspath, "remove");
        bus.tb.remove_device(&syspath);
        bus.tb.detach_ioctl(&devnode);
        let _ = std::fs::remove_file(bus.node_path(&devnode));
        if let Some(devnum) = devnode.rsplit('/').next().and_then(|d| d.parse().ok()) {
            bus.devnums.remove(&devnum);
        }
        if drop_now {
            self.lock().nodes.remove(&devnode);
        }
        log::debug!("sim usb {}: device {devnode} left", self.path);
    }

    /// cdc_acm binds the CDC pair: a tty under interface 0.
    fn bind_tty(&self, bus: &mut BusCtx, devnode: &str) {
        let iface_path = {
            let s = self.lock();
            let Some(node) = s.nodes.get(devnode) else {
                return;
            };
            match node.interfaces.iter().find(|(n, _)| *n == 0) {
                Some((_, p)) => p.clone(),
                None => return,
            }
        };
        let minor = bus.take_acm_minor();
        let (_, tty_handler) = &bus.handlers[self.index];
        let added = Tty::add(
            &bus.tb,
            tty_handler,
            &self.ttys,
            &iface_path,
            minor,
            self.board.clone(),
            &self.path,
        );
        match added {
            Ok(tty) => {
                let mut s = self.lock();
                match s.nodes.get_mut(devnode) {
                    Some(node) if !node.usb.gone => node.tty = Some(tty),
                    _ => {
                        drop(s);
                        self.unbind_tty_now(bus, tty);
                    }
                }
            }
            Err(e) => {
                bus.acm_minors.remove(&minor);
                log::warn!("sim usb {}: tty: {e}", self.path);
            }
        }
    }

    fn unbind_tty_now(&self, bus: &mut BusCtx, tty: Tty) {
        bus.acm_minors.remove(&tty.minor);
        tty.remove(&bus.tb);
    }

    /// Runs a bus command (from the ioctl side).
    pub fn command(&self, bus: &mut BusCtx, command: BusCommand) {
        match command {
            BusCommand::Unbind {
                devnode,
                interface,
                then,
                ..
            } => {
                let result = {
                    let mut s = self.lock();
                    match s.nodes.get_mut(&devnode) {
                        Some(node) => {
                            let r = node.usb.unbind(interface).map(drop);
                            let tty = if r.is_ok() { node.tty.take() } else { None };
                            if r.is_ok() {
                                s.report.driver_unbinds += 1;
                            }
                            (r, tty)
                        }
                        None => (Err(super::usbfs::errno::ENODEV), None),
                    }
                };
                if let Some(tty) = result.1 {
                    self.unbind_tty_now(bus, tty);
                }
                then(result.0);
            }
            BusCommand::Rebind {
                devnode,
                interface,
                then,
                ..
            } => {
                let bound = {
                    let mut s = self.lock();
                    s.nodes
                        .get_mut(&devnode)
                        .and_then(|n| n.usb.rebind(interface))
                        .is_some()
                };
                if bound {
                    self.bind_tty(bus, &devnode);
                }
                then(bound);
            }
        }
    }

    /// A file blocked in REAPURB gets its URB (or ENODEV) on umockdev's thread.
    pub fn wake_blocked_reap(&self, devnode: &str, file: ClientId) {
        let Some(thread) = self.ioctl_thread.get().copied() else {
            return;
        };
        let port = self.me.upgrade();
        let devnode = devnode.to_string();
        thread.run(move || {
            if let Some(port) = port {
                super::urbs::retry_blocked_reap(&port, &devnode, file);
            }
        });
    }

    /// The host set 14400 baud on the CDC line (by the tty or a SET_LINE_CODING): Device OS
    /// resets into DFU.
    pub fn line_coding(&self, rate: u32) {
        if super::requests::is_dfu_request(rate) {
            let mut serial = SimSerialPorts::new(vec![self.board.clone()]);
            if let Err(e) = serial.touch(&self.path, rate) {
                log::debug!("sim usb {}: 14400 baud: {e}", self.path);
            }
        }
    }

    /// How long the emulated USB stack takes for a request it answers itself.
    pub fn charge(&self, bytes: usize) {
        self.clock
            .sleep(crate::sim::argon::Timing::default().transfer(bytes));
    }
}

/// Waits `d` of real time in the bus thread's loop.
pub const TICK: Duration = Duration::from_millis(2);
