//! Each port's worker: serves the transfers its clients submitted, one at a time as a device's
//! endpoint 0 does, on the boards' clock (the board's own costs are slept by the board model;
//! the USB stack's answers cost a transfer's time), then marks the URB ready to reap.

use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use super::cdc;
use super::device::{ClientId, Finished};
use super::port::Port;
use super::requests::{self, Effect, Reply};
use super::umockdev::RetainedClient;
use crate::ports::ControlSetup;

pub(crate) enum Work {
    /// A control URB on endpoint 0.
    Control {
        devnode: String,
        file: ClientId,
        job: u64,
        setup: ControlSetup,
        out: Vec<u8>,
    },
    /// A bulk or interrupt URB on one of the CDC endpoints.
    Bulk {
        devnode: String,
        file: ClientId,
        job: u64,
        endpoint: u8,
        out: Vec<u8>,
        in_len: usize,
    },
    /// USBDEVFS_SETINTERFACE: the client waits for the device's answer.
    SetInterface {
        devnode: String,
        client: RetainedClient,
        interface: u8,
        alt: u8,
    },
    /// USBDEVFS_CONTROL: `finish(status, in_data)`.
    SyncControl {
        devnode: String,
        setup: ControlSetup,
        out: Vec<u8>,
        finish: Box<dyn FnOnce(i32, Vec<u8>) + Send>,
    },
}

pub(crate) fn run(port: Arc<Port>, work: Receiver<Work>) {
    while let Ok(w) = work.recv() {
        port.executing.store(true, Ordering::SeqCst);
        serve(&port, w);
        port.executing.store(false, Ordering::SeqCst);
    }
}

/// Serves one control transfer on the node's device; None if the node is gone.
fn control(port: &Port, devnode: &str, setup: ControlSetup, out: &[u8]) -> Option<Reply> {
    let (descriptors, handle, alts, mut line) = {
        let s = port.lock();
        let node = s.nodes.get(devnode)?;
        if node.usb.gone {
            return Some(Reply::Lost);
        }
        let alts: Vec<(u8, u8)> = node
            .descriptors
            .interfaces
            .iter()
            .map(|i| (i.number, node.usb.alt(i.number)))
            .collect();
        (node.descriptors.clone(), node.handle.clone(), alts, s.line)
    };
    let alt = |i: u8| alts.iter().find(|(n, _)| *n == i).map_or(0, |(_, a)| *a);
    let forwarded = setup.request_type & 0x60 != 0;
    let (reply, effect) = {
        let mut board = handle.lock().unwrap_or_else(|p| p.into_inner());
        requests::control(&descriptors, &alt, &mut line, board.as_mut(), setup, out)
    };
    if !forwarded {
        port.charge(usize::from(setup.length));
    }
    let mut s = port.lock();
    s.line = line;
    s.report.control_transfers += 1;
    log::trace!(
        "sim usb {devnode}: {:02x} {:02x} {:04x} {:04x} {} -> {reply:?}",
        setup.request_type,
        setup.request,
        setup.value,
        setup.index,
        setup.length
    );
    if setup.request_type == 0x80 && setup.request == 6 && setup.value >> 8 == 3 {
        s.report.string_requests += 1;
    }
    match effect {
        Effect::AltSetting { interface, alt } => {
            if let Some(n) = s.nodes.get_mut(devnode) {
                n.usb.set_alt(interface, alt);
            }
        }
        Effect::LineCoding(rate) => {
            drop(s);
            port.line_coding(rate);
        }
        Effect::None => {}
    }
    Some(reply)
}

/// Marks a URB finished and lets its file reap it.
pub(crate) fn finish(port: &Port, devnode: &str, file: ClientId, job: u64, f: Finished) {
    let wake = {
        let mut s = port.lock();
        let Some(node) = s.nodes.get_mut(devnode) else {
            return;
        };
        node.usb.finish(file, job, f);
        node.update_gate();
        node.blocked_reaps.contains_key(&file)
    };
    if wake {
        port.wake_blocked_reap(devnode, file);
    }
}

fn serve(port: &Port, work: Work) {
    match work {
        Work::Control {
            devnode,
            file,
            job,
            setup,
            out,
        } => {
            let still_wanted = {
                let s = port.lock();
                s.nodes
                    .get(&devnode)
                    .is_some_and(|n| n.usb.in_flight(file, job))
            };
            if !still_wanted {
                return;
            }
            let Some(reply) = control(port, &devnode, setup, &out) else {
                return;
            };
            let status = reply.status();
            let data = match reply {
                Reply::Data(d) if setup.request_type & 0x80 != 0 => d,
                // OUT: the data stage went through whole.
                Reply::Data(_) => vec![0; out.len()],
                _ => Vec::new(),
            };
            finish(port, &devnode, file, job, Finished { status, data });
        }
        Work::Bulk {
            devnode,
            file,
            job,
            endpoint,
            out,
            in_len,
        } => cdc::bulk(port, &devnode, file, job, endpoint, out, in_len),
        Work::SetInterface {
            devnode,
            client,
            interface,
            alt,
        } => {
            let setup = ControlSetup {
                request_type: 0x01,
                request: 11,
                value: u16::from(alt),
                index: u16::from(interface),
                length: 0,
            };
            let c = client.client();
            match control(port, &devnode, setup, &[]) {
                Some(Reply::Data(_)) => c.complete(0, 0),
                Some(Reply::Stall) => c.complete(-1, libc::EPIPE),
                Some(Reply::Lost) | None => c.complete(-1, libc::ENODEV),
            }
        }
        Work::SyncControl {
            devnode,
            setup,
            out,
            finish,
        } => match control(port, &devnode, setup, &out) {
            Some(Reply::Data(d)) => finish(0, d),
            Some(r) => finish(r.status(), Vec::new()),
            None => finish(-libc::ENODEV, Vec::new()),
        },
    }
}
