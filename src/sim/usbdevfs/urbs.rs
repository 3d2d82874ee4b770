//! URBs: submitted with their buffer kept for the reply, served by the port's worker, reaped
//! in the order they finished with the client's URB address handed back (REAPURB's `void **`).

use std::sync::Arc;

use super::device::{ClientId, Finished, Reaped};
use super::handler::fail;
use super::port::{Node, Port, UrbToken};
use super::umockdev::{Client, IoctlArg};
use super::usbfs::{self, errno, UrbHead};
use super::worker::Work;
use crate::ports::ControlSetup;

/// USBDEVFS_SUBMITURB: control URBs on endpoint 0 and bulk/interrupt URBs on the interface's
/// endpoints; the URB is in flight until the port's worker has served it.
pub(super) fn submit(port: &Arc<Port>, client: Client, devnode: &str, arg: IoctlArg) {
    let Some(urb) = arg.resolve(0, usbfs::URB_SIZE) else {
        return fail(client, libc::EFAULT);
    };
    let Some(head) = usbfs::parse_urb(urb.bytes()) else {
        return fail(client, errno::EINVAL);
    };
    let buffer = urb.resolve(usbfs::URB_BUFFER_AT, head.buffer_length);
    let bytes = buffer
        .as_ref()
        .map(|b| b.bytes().to_vec())
        .unwrap_or_default();
    let (addr, file) = (urb.client_addr(), client.0);
    let submitted = {
        let mut s = port.lock();
        match s.nodes.get_mut(devnode) {
            None => Err(errno::ENODEV),
            Some(node) => transfer(node, file, head, bytes).and_then(|t| {
                let token = UrbToken {
                    urb,
                    buffer,
                    data_at: t.data_at(),
                    direction_in: t.direction_in(),
                };
                let job = node.usb.submit(file, addr, token)?;
                Ok(t.work(devnode, file, job))
            }),
        }
    };
    match submitted {
        Ok(work) => {
            port.send_work(work);
            client.complete(0, 0);
        }
        Err(e) => fail(client, e),
    }
}

/// What a submitted URB asks of the device.
enum Transfer {
    Control {
        setup: ControlSetup,
        out: Vec<u8>,
    },
    Bulk {
        endpoint: u8,
        out: Vec<u8>,
        in_len: usize,
    },
}

impl Transfer {
    fn direction_in(&self) -> bool {
        match self {
            Transfer::Control { setup, .. } => setup.request_type & 0x80 != 0,
            Transfer::Bulk { endpoint, .. } => endpoint & 0x80 != 0,
        }
    }

    /// Where IN data goes in the buffer: after the setup packet for control.
    fn data_at(&self) -> usize {
        match self {
            Transfer::Control { .. } => 8,
            Transfer::Bulk { .. } => 0,
        }
    }

    fn work(self, devnode: &str, file: ClientId, job: u64) -> Work {
        let devnode = devnode.to_string();
        match self {
            Transfer::Control { setup, out } => Work::Control {
                devnode,
                file,
                job,
                setup,
                out,
            },
            Transfer::Bulk {
                endpoint,
                out,
                in_len,
            } => Work::Bulk {
                devnode,
                file,
                job,
                endpoint,
                out,
                in_len,
            },
        }
    }
}

/// Checks an URB as devio.c does: a control URB holds its setup packet and wLength bytes; a
/// bulk or interrupt URB names an endpoint of an interface the file holds (or may take:
/// checkintf claims it on first use); isochronous is not served.
fn transfer(
    node: &mut Node,
    file: ClientId,
    head: UrbHead,
    bytes: Vec<u8>,
) -> Result<Transfer, i32> {
    match head.kind {
        usbfs::URB_TYPE_CONTROL if head.endpoint & 0x7f == 0 => {
            let setup = usbfs::parse_setup(&bytes).ok_or(errno::EINVAL)?;
            let len = usize::from(setup.length);
            if 8 + len > head.buffer_length {
                return Err(errno::EINVAL);
            }
            let out = match setup.request_type & 0x80 {
                0 => bytes[8..8 + len].to_vec(),
                _ => Vec::new(),
            };
            Ok(Transfer::Control { setup, out })
        }
        usbfs::URB_TYPE_BULK | usbfs::URB_TYPE_INTERRUPT => {
            let (iface, _) = node
                .descriptors
                .endpoint(head.endpoint)
                .ok_or(errno::ENOENT)?;
            let iface = iface.number;
            node.usb.claim(file, iface)?;
            let out = match head.endpoint & 0x80 {
                0 => bytes,
                _ => Vec::new(),
            };
            Ok(Transfer::Bulk {
                endpoint: head.endpoint,
                out,
                in_len: head.buffer_length,
            })
        }
        _ => Err(errno::EINVAL),
    }
}

/// Writes a finished URB into the client's memory and hands its address back.
fn deliver(client: Client, arg: IoctlArg, reaped: Reaped<UrbToken>) {
    let mut token = reaped.token;
    let Finished { status, data } = reaped.finished;
    let actual = if token.direction_in {
        if let Some(b) = token.buffer.as_mut() {
            let b = b.bytes_mut();
            let room = b.len().saturating_sub(token.data_at);
            let n = data.len().min(room);
            b[token.data_at..token.data_at + n].copy_from_slice(&data[..n]);
            n
        } else {
            0
        }
    } else {
        data.len()
    };
    usbfs::finish_urb(token.urb.bytes_mut(), status, actual);
    match arg.resolve(0, std::mem::size_of::<usize>()) {
        Some(ptr) if ptr.set_ptr(0, &token.urb) => client.complete(0, 0),
        _ => fail(client, libc::EFAULT),
    }
}

pub(super) fn reap(port: &Arc<Port>, client: Client, devnode: &str, blocking: bool) {
    let file = client.0;
    let mut s = port.lock();
    let Some(node) = s.nodes.get_mut(devnode) else {
        drop(s);
        return fail(client, errno::ENODEV);
    };
    let r = node.usb.reap(file);
    node.update_gate();
    match r {
        Ok(reaped) => {
            drop(s);
            deliver(client, client.arg(), reaped);
        }
        Err(e) if e == errno::EAGAIN && blocking => {
            node.blocked_reaps.insert(file, client.retain());
        }
        Err(e) => {
            drop(s);
            fail(client, e);
        }
    }
}

/// A file blocked in REAPURB: deliver what finished (on umockdev's thread).
pub(crate) fn retry_blocked_reap(port: &Arc<Port>, devnode: &str, file: ClientId) {
    let mut s = port.lock();
    let Some(node) = s.nodes.get_mut(devnode) else {
        return;
    };
    let Some(client) = node.blocked_reaps.remove(&file) else {
        return;
    };
    let r = node.usb.reap(file);
    node.update_gate();
    drop(s);
    let c = client.client();
    match r {
        Ok(reaped) => deliver(c, c.arg(), reaped),
        Err(e) if e == errno::EAGAIN => {
            let mut s = port.lock();
            if let Some(node) = s.nodes.get_mut(devnode) {
                node.blocked_reaps.insert(file, client);
            }
        }
        Err(e) => fail(c, e),
    }
}
