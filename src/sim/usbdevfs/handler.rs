//! usbdevfs ioctls on a board's device nodes, as the kernel answers them (devio.c), served on
//! umockdev's worker thread. Anything that takes the board's time (a transfer, SET_INTERFACE)
//! goes to the port's worker; the client's ioctl returns when the kernel's would.

use std::sync::Arc;

use super::device::ClientId;
use super::port::{BusCommand, Port};
use super::umockdev::{Client, IoctlArg, IoctlService, IoctlThread};
use super::urbs;
use super::usbfs::{self, errno, Request};
use super::worker::Work;

pub(crate) struct UsbService(pub Arc<Port>);

pub(super) fn fail(client: Client, e: i32) {
    client.complete(-1, e);
}

fn done(client: Client, r: Result<(), i32>) {
    match r {
        Ok(()) => client.complete(0, 0),
        Err(e) => fail(client, e),
    }
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_ne_bytes)
        .unwrap_or(0)
}

/// The NUL-terminated driver name in a getdriver/disconnect_claim struct.
fn name_at(b: &[u8], at: usize) -> String {
    let s = b.get(at..).unwrap_or_default();
    let end = s.iter().position(|c| *c == 0).unwrap_or(s.len());
    String::from_utf8_lossy(&s[..end]).into_owned()
}

impl IoctlService for UsbService {
    fn ioctl(&self, client: Client) -> bool {
        let port = &self.0;
        if port.ioctl_thread.get().is_none() {
            if let Some(t) = IoctlThread::current() {
                let _ = port.ioctl_thread.set(t);
            }
        }
        let Some(request) = Request::from_number(client.request()) else {
            fail(client, errno::ENOTTY);
            return true;
        };
        let devnode = client.devnode();
        let file = client.0;
        let arg = client.arg();
        // Every request but reaping needs the device still there (usbdev_do_ioctl).
        let gone = {
            let s = port.lock();
            s.nodes.get(&devnode).is_none_or(|n| n.usb.gone)
        };
        if gone && !matches!(request, Request::ReapUrb | Request::ReapUrbNoDelay) {
            log::debug!(
                "sim usb {}: {request:?} on {devnode}: the device is gone",
                port.path
            );
            fail(client, errno::ENODEV);
            return true;
        }
        match request {
            Request::GetCapabilities => match arg.resolve(0, 4) {
                Some(mut d) => {
                    d.bytes_mut()
                        .copy_from_slice(&usbfs::CAPABILITIES.to_ne_bytes());
                    client.complete(0, 0);
                }
                None => fail(client, libc::EFAULT),
            },
            Request::ClaimInterface | Request::ReleaseInterface => {
                let Some(iface) = arg.resolve(0, 4).map(|d| read_u32(d.bytes(), 0)) else {
                    fail(client, libc::EFAULT);
                    return true;
                };
                let mut s = port.lock();
                let r = match s.nodes.get_mut(&devnode) {
                    Some(n) if request == Request::ClaimInterface => n.usb.claim(file, iface as u8),
                    Some(n) => n.usb.release(file, iface as u8),
                    None => Err(errno::ENODEV),
                };
                drop(s);
                done(client, r);
            }
            Request::SetInterface => set_interface(port, client, &devnode, arg),
            Request::SetConfiguration => {
                let value = arg.resolve(0, 4).map(|d| read_u32(d.bytes(), 0) as i32);
                done(
                    client,
                    match value {
                        Some(-1..=1) => Ok(()),
                        _ => Err(errno::EINVAL),
                    },
                );
            }
            Request::GetDriver => get_driver(port, client, &devnode, arg),
            Request::DisconnectClaim => disconnect_claim(port, client, &devnode, arg),
            Request::Ioctl => driver_ioctl(port, client, &devnode, arg),
            Request::ConnectInfo => match arg.resolve(0, 8) {
                Some(mut d) => {
                    let devnum: u32 = devnode
                        .rsplit('/')
                        .next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    let b = d.bytes_mut();
                    b[..4].copy_from_slice(&devnum.to_ne_bytes());
                    b[4] = 0; // not low speed
                    client.complete(0, 0);
                }
                None => fail(client, libc::EFAULT),
            },
            Request::GetSpeed => client.complete(usbfs::SPEED_FULL, 0),
            Request::Reset | Request::ClearHalt | Request::DropPrivileges => client.complete(0, 0),
            Request::Disconnect | Request::Connect => fail(client, errno::ENOTTY),
            Request::Control => sync_control(port, client, &devnode, arg),
            Request::SubmitUrb => urbs::submit(port, client, &devnode, arg),
            Request::DiscardUrb => {
                let addr = client.arg_value();
                let mut s = port.lock();
                let r = match s.nodes.get_mut(&devnode) {
                    Some(n) => {
                        let r = n.usb.discard(file, addr);
                        n.update_gate();
                        r
                    }
                    None => Err(errno::EINVAL),
                };
                drop(s);
                done(client, r);
            }
            Request::ReapUrb | Request::ReapUrbNoDelay => {
                urbs::reap(port, client, &devnode, request == Request::ReapUrb)
            }
        }
        true
    }

    fn connected(&self, client: Client) {
        let devnode = client.devnode();

        let mut s = self.0.lock();
        if let Some(n) = s.nodes.get_mut(&devnode) {
            n.open_files.insert(client.0);
        }
        s.report.opens += 1;
    }

    fn closed(&self, file: ClientId) {
        let mut s = self.0.lock();
        let Some(devnode) = s
            .nodes
            .iter()
            .find(|(_, n)| n.open_files.contains(&file))
            .map(|(d, _)| d.clone())
        else {
            return;
        };
        let Some(n) = s.nodes.get_mut(&devnode) else {
            return;
        };
        n.usb.close(file);
        n.open_files.remove(&file);
        n.blocked_reaps.remove(&file);
        n.update_gate();
        if n.usb.gone && n.open_files.is_empty() {
            s.nodes.remove(&devnode);
        }
    }
}

/// USBDEVFS_SETINTERFACE: claims the interface if the file has not (checkintf), then asks the
/// device (usb_set_interface); the ioctl returns when the device has answered.
fn set_interface(port: &Arc<Port>, client: Client, devnode: &str, arg: IoctlArg) {
    let Some(b) = arg.resolve(0, 8).map(|d| d.bytes().to_vec()) else {
        return fail(client, libc::EFAULT);
    };
    let (iface, alt) = (read_u32(&b, 0) as u8, read_u32(&b, 4) as u8);
    let r = {
        let mut s = port.lock();
        match s.nodes.get_mut(devnode) {
            Some(n) => n
                .usb
                .claim(client.0, iface)
                .and_then(|()| n.usb.check_alt(iface, alt)),
            None => Err(errno::ENODEV),
        }
    };
    if let Err(e) = r {
        return fail(client, e);
    }
    port.send_work(Work::SetInterface {
        devnode: devnode.to_string(),
        client: client.retain(),
        interface: iface,
        alt,
    });
}

fn get_driver(port: &Arc<Port>, client: Client, devnode: &str, arg: IoctlArg) {
    let Some(mut d) = arg.resolve(0, 4 + usbfs::DRIVER_NAME_LEN) else {
        return fail(client, libc::EFAULT);
    };
    let iface = read_u32(d.bytes(), 0) as u8;
    let r = {
        let s = port.lock();
        match s.nodes.get(devnode) {
            Some(n) => n.usb.driver(iface),
            None => Err(errno::ENODEV),
        }
    };
    match r {
        Ok(name) => {
            let b = d.bytes_mut();
            b[4..].fill(0);
            b[4..4 + name.len()].copy_from_slice(name.as_bytes());
            client.complete(0, 0);
        }
        Err(e) => fail(client, e),
    }
}

/// USBDEVFS_DISCONNECT_CLAIM (what libusb's auto-detach sends): unbind the kernel driver
/// unless the flags spare it, then claim for this file.
fn disconnect_claim(port: &Arc<Port>, client: Client, devnode: &str, arg: IoctlArg) {
    let Some(b) = arg
        .resolve(0, 8 + usbfs::DRIVER_NAME_LEN)
        .map(|d| d.bytes().to_vec())
    else {
        return fail(client, libc::EFAULT);
    };
    let (iface, flags, name) = (read_u32(&b, 0) as u8, read_u32(&b, 4), name_at(&b, 8));
    let bound = {
        let s = port.lock();
        s.nodes.get(devnode).and_then(|n| n.usb.kernel_bound(iface))
    };
    let spare = match bound {
        None => true,
        Some(d) if flags & usbfs::DISCONNECT_CLAIM_IF_DRIVER != 0 => d != name,
        Some(d) if flags & usbfs::DISCONNECT_CLAIM_EXCEPT_DRIVER != 0 => d == name,
        Some(_) => false,
    };
    let claim = {
        let port = port.clone();
        let devnode = devnode.to_string();
        let client = client.retain();
        move |r: Result<(), i32>| {
            let r = r.and_then(|()| {
                let mut s = port.lock();
                match s.nodes.get_mut(&devnode) {
                    Some(n) => n.usb.claim(client.client().0, iface),
                    None => Err(errno::ENODEV),
                }
            });
            done(client.client(), r);
        }
    };
    if spare {
        return claim(Ok(()));
    }
    port.send_bus(BusCommand::Unbind {
        port: port.index,
        devnode: devnode.to_string(),
        interface: iface,
        then: Box::new(claim),
    });
}

/// USBDEVFS_IOCTL with USBDEVFS_DISCONNECT / USBDEVFS_CONNECT: unbind or rebind the kernel
/// driver of an interface (libusb_detach/attach_kernel_driver).
fn driver_ioctl(port: &Arc<Port>, client: Client, devnode: &str, arg: IoctlArg) {
    let Some(b) = arg
        .resolve(0, usbfs::IOCTL_SIZE)
        .map(|d| d.bytes().to_vec())
    else {
        return fail(client, libc::EFAULT);
    };
    let (iface, code) = (read_u32(&b, 0) as u8, read_u32(&b, 4));
    let retained = client.retain();
    if code == Request::Disconnect.number() {
        port.send_bus(BusCommand::Unbind {
            port: port.index,
            devnode: devnode.to_string(),
            interface: iface,
            then: Box::new(move |r| done(retained.client(), r)),
        });
    } else if code == Request::Connect.number() {
        port.send_bus(BusCommand::Rebind {
            port: port.index,
            devnode: devnode.to_string(),
            interface: iface,
            // The kernel returns 1 when a driver bound (libusb: 0 means "not found").
            then: Box::new(move |bound| retained.client().complete(i64::from(bound), 0)),
        });
    } else {
        fail(retained.client(), errno::ENOTTY);
    }
}

/// USBDEVFS_CONTROL: a synchronous control transfer (libusb only uses it without sysfs).
fn sync_control(port: &Arc<Port>, client: Client, devnode: &str, arg: IoctlArg) {
    let Some(ctrl) = arg.resolve(0, usbfs::CTRL_SIZE) else {
        return fail(client, libc::EFAULT);
    };
    let Some(setup) = usbfs::parse_setup(ctrl.bytes()) else {
        return fail(client, errno::EINVAL);
    };
    let len = usize::from(setup.length);
    let data = ctrl.resolve(usbfs::CTRL_DATA_AT, len);
    let out = match (&data, setup.request_type & 0x80) {
        (Some(d), 0) => d.bytes().to_vec(),
        _ => Vec::new(),
    };
    let thread = port.ioctl_thread.get().copied();
    let retained = client.retain();
    port.send_work(Work::SyncControl {
        devnode: devnode.to_string(),
        setup,
        out,
        finish: Box::new(move |status: i32, in_data: Vec<u8>| {
            let Some(thread) = thread else { return };
            thread.run(move || {
                let _keep = ctrl;
                let mut data = data;
                let c = retained.client();
                if status != 0 {
                    return fail(c, -status);
                }
                if let Some(d) = data.as_mut() {
                    let b = d.bytes_mut();
                    let n = in_data.len().min(b.len());
                    b[..n].copy_from_slice(&in_data[..n]);
                }
                let n = if setup.request_type & 0x80 != 0 {
                    in_data.len()
                } else {
                    len
                };
                c.complete(n as i64, 0);
            });
        }),
    });
}
