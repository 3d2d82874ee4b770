//! Simulated boards behind an emulated Linux USB stack, so that unmodified programs using
//! libusb (flashline's own rusb adapter, dfu-util, …) meet them as hardware: sysfs entries
//! (descriptors, busnum, devnum, speed, the interfaces, a cdc_acm tty), `/dev/bus/usb/BBB/DDD`
//! nodes whose usbdevfs ioctls (SUBMITURB/REAPURB, claim/release, SETINTERFACE, GETDRIVER,
//! DISCONNECT_CLAIM, …) this process serves, and uevents when a board re-enumerates.
//!
//! umockdev provides the plumbing: a testbed directory that its preload library substitutes
//! for `/sys` and `/dev` in every process started with it, and a socket from each opened node
//! to an ioctl handler here. libumockdev is loaded at run time (`umockdev.rs`); nothing
//! flashline ships links it.
//!
//! Threads: the bus thread alone changes the testbed (it follows each board's enumeration and
//! runs driver bind/unbind requests); umockdev's worker thread runs the ioctl handlers
//! (`handler.rs`); each port's worker serves the submitted transfers on the boards' clock
//! (`worker.rs`); each tty has a pump to the board's serial model (`tty.rs`).

mod board_link;
mod cdc;
pub mod descriptors;
mod device;
mod gate;
mod handler;
mod port;
mod requests;
mod sysfs;
mod tty;
pub mod umockdev;
mod urbs;
pub mod usbfs;
mod worker;

pub use port::{EnumerationReport, PortReport};
pub use umockdev::{UmockdevError, INSTALL_HINT, PRELOAD};

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use crate::ports::{Clock, PortPath};
use crate::sim::SimArgon;
use port::{BusCommand, BusCtx, Port, PortState};
use sysfs::Address;
use umockdev::{IoctlHandler, Testbed};

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error(transparent)]
    Umockdev(#[from] UmockdevError),
    #[error(
        "this process does not run with {PRELOAD} preloaded (`flashline sim usb` starts itself \
         that way; is the preload installed? {INSTALL_HINT})"
    )]
    NotPreloaded,
    #[error("setting up the emulated bus: {0}")]
    Setup(String),
}

/// The running emulated bus; dropping it (or `stop`) removes the testbed.
pub struct EmulatedBus {
    ports: Vec<Arc<Port>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    root: String,
}

/// The port name of slot `i` (0-based): `1-1`, `1-2`, … on bus 1's root hub.
pub fn port_name(i: usize) -> PortPath {
    PortPath(format!("1-{}", i + 1))
}

impl EmulatedBus {
    /// Starts the bus with each board on the port it was made for (`port_name`); returns once
    /// every board present has enumerated, so a program started next sees them.
    pub fn start(boards: Vec<SimArgon>, clock: Arc<dyn Clock>) -> Result<EmulatedBus, BusError> {
        let tb = Testbed::new()?;
        if !tb.in_mock_environment() {
            return Err(BusError::NotPreloaded);
        }
        let hub = Address {
            bus: 1,
            devnum: 1,
            name: "usb1".into(),
        };
        let (root_hub, _) = sysfs::add_usb_device(&tb, None, &hub, &descriptors::root_hub())?;
        let hub_node = std::path::Path::new(tb.root()).join("dev/bus/usb/001/001");
        if let Some(dir) = hub_node.parent() {
            std::fs::create_dir_all(dir).map_err(|e| BusError::Setup(e.to_string()))?;
        }
        std::fs::write(&hub_node, b"").map_err(|e| BusError::Setup(e.to_string()))?;
        let (bus_tx, bus_rx) = channel::<BusCommand>();
        let mut ports = Vec::new();
        let mut handlers = Vec::new();
        for (index, board) in boards.into_iter().enumerate() {
            let (work_tx, work_rx) = channel();
            let port = Arc::new_cyclic(|me| Port {
                me: me.clone(),
                index,
                path: board.port(),
                board,
                clock: clock.clone(),
                state: Mutex::new(PortState {
                    nodes: HashMap::new(),
                    current: None,
                    line: Default::default(),
                    cdc: None,
                    report: PortReport::default(),
                }),
                work: Mutex::new(work_tx),
                bus: Mutex::new(bus_tx.clone()),
                ioctl_thread: OnceLock::new(),
                ttys: Arc::default(),
                executing: AtomicBool::new(false),
            });
            {
                let mut s = port.lock();
                s.report.port = port.path.0.clone();
                s.report.device_id = port.board.device_id();
            }
            let usb = IoctlHandler::new(Box::new(handler::UsbService(port.clone())))?;
            let ttys = IoctlHandler::new(Box::new(tty::TtyService {
                port: Arc::downgrade(&port),
                table: port.ttys.clone(),
            }))?;
            handlers.push((usb, ttys));
            let worker = port.clone();
            std::thread::Builder::new()
                .name(format!("sim-usb-{}", port.path))
                .spawn(move || worker::run(worker, work_rx))
                .map_err(|e| BusError::Setup(e.to_string()))?;
            ports.push(port);
        }
        let root = tb.root().to_string();
        let mut ctx = BusCtx {
            tb,
            root_hub,
            next_devnum: 2,
            devnums: BTreeSet::new(),
            acm_minors: BTreeSet::new(),
            handlers,
        };
        for p in &ports {
            p.reconcile(&mut ctx);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (ports, stop) = (ports.clone(), stop.clone());
            std::thread::Builder::new()
                .name("sim-usb-bus".into())
                .spawn(move || bus_loop(ctx, &ports, &bus_rx, &stop))
                .map_err(|e| BusError::Setup(e.to_string()))?
        };
        Ok(EmulatedBus {
            ports,
            stop,
            thread: Some(thread),
            root,
        })
    }

    /// The testbed's root (`$UMOCKDEV_DIR`).
    pub fn root(&self) -> &str {
        &self.root
    }

    pub fn report(&self) -> Vec<PortReport> {
        self.ports.iter().map(|p| p.lock().report.clone()).collect()
    }

    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for EmulatedBus {
    fn drop(&mut self) {
        self.halt();
    }
}

fn bus_loop(
    mut ctx: BusCtx,
    ports: &[Arc<Port>],
    commands: &Receiver<BusCommand>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::SeqCst) {
        for p in ports {
            p.reconcile(&mut ctx);
            cdc::poll(p);
        }
        while let Ok(c) = commands.try_recv() {
            let index = match &c {
                BusCommand::Unbind { port, .. } | BusCommand::Rebind { port, .. } => *port,
            };
            if let Some(p) = ports.get(index) {
                p.command(&mut ctx, c);
            }
        }
        std::thread::sleep(port::TICK);
    }
    // `ctx` drops here: the testbed and its directory go.
}
