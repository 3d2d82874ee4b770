//! One enumeration of a device as usbdevfs sees it, without any I/O: which driver or open file
//! holds each interface, the URBs each file has in flight or ready to reap, and what the
//! kernel answers (drivers/usb/core/devio.c: claimintf, releaseintf, proc_getdriver,
//! proc_disconnect_claim, proc_reapurbnonblock, proc_unlinkurb, usbdev_remove).

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::descriptors::Descriptors;
use super::usbfs::errno;

/// An open file of the device node (a umockdev client).
pub type ClientId = usize;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    Kernel(&'static str),
    File(ClientId),
}

/// A finished URB, ready to be reaped: its status (0 or a negative errno) and IN data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub status: i32,
    pub data: Vec<u8>,
}

struct Urb<T> {
    /// The URB's address in the client (what REAPURB hands back).
    addr: u64,
    token: T,
    done: Option<Finished>,
}

struct File<T> {
    urbs: HashMap<u64, Urb<T>>,
    /// Jobs in the order they finished: the order REAPURB returns them.
    finished: VecDeque<u64>,
    /// Job id of each URB address in flight.
    by_addr: HashMap<u64, u64>,
}

impl<T> Default for File<T> {
    fn default() -> Self {
        File {
            urbs: HashMap::new(),
            finished: VecDeque::new(),
            by_addr: HashMap::new(),
        }
    }
}

/// A reaped URB: the token kept since submission, and how it ended.
pub struct Reaped<T> {
    pub token: T,
    pub finished: Finished,
}

pub struct UsbfsDevice<T> {
    pub descriptors: Descriptors,
    /// The device left the bus: new URBs fail with ENODEV, reaping ends with ENODEV.
    pub gone: bool,
    holders: BTreeMap<u8, Holder>,
    alts: BTreeMap<u8, u8>,
    files: HashMap<ClientId, File<T>>,
    next_job: u64,
    /// Times a kernel driver was unbound from an interface (DISCONNECT, DISCONNECT_CLAIM).
    pub driver_unbinds: u32,
}

impl<T> UsbfsDevice<T> {
    /// A freshly enumerated device: interfaces with a kernel driver are bound to it.
    pub fn new(descriptors: Descriptors) -> Self {
        let holders = descriptors
            .interfaces
            .iter()
            .filter_map(|i| i.kernel_driver.map(|d| (i.number, Holder::Kernel(d))))
            .collect();
        let alts = descriptors
            .interfaces
            .iter()
            .map(|i| (i.number, 0))
            .collect();
        UsbfsDevice {
            descriptors,
            gone: false,
            holders,
            alts,
            files: HashMap::new(),
            next_job: 1,
            driver_unbinds: 0,
        }
    }

    fn exists(&self, iface: u8) -> Result<(), i32> {
        match self.descriptors.interface(iface) {
            Some(_) => Ok(()),
            None => Err(errno::ENOENT),
        }
    }

    /// USBDEVFS_CLAIMINTERFACE.
    pub fn claim(&mut self, file: ClientId, iface: u8) -> Result<(), i32> {
        self.alive()?;
        self.exists(iface)?;
        match self.holders.get(&iface) {
            Some(Holder::File(f)) if *f == file => Ok(()),
            Some(_) => Err(errno::EBUSY),
            None => {
                self.holders.insert(iface, Holder::File(file));
                Ok(())
            }
        }
    }

    /// USBDEVFS_RELEASEINTERFACE: only the file that claimed it.
    pub fn release(&mut self, file: ClientId, iface: u8) -> Result<(), i32> {
        match self.holders.get(&iface) {
            Some(Holder::File(f)) if *f == file => {
                self.holders.remove(&iface);
                Ok(())
            }
            _ => Err(errno::EINVAL),
        }
    }

    /// USBDEVFS_GETDRIVER: the bound driver's name (`usbfs` for a claim), else ENODATA.
    pub fn driver(&self, iface: u8) -> Result<&'static str, i32> {
        self.alive()?;
        self.exists(iface)?;
        match self.holders.get(&iface) {
            Some(Holder::Kernel(d)) => Ok(d),
            Some(Holder::File(_)) => Ok("usbfs"),
            None => Err(errno::ENODATA),
        }
    }

    /// Unbinds the kernel driver of `iface` (and, for cdc_acm, of its partner interface: the
    /// driver holds both). Returns the driver's name.
    pub fn unbind(&mut self, iface: u8) -> Result<&'static str, i32> {
        self.alive()?;
        self.exists(iface)?;
        let Some(Holder::Kernel(driver)) = self.holders.get(&iface).cloned() else {
            return Err(errno::ENODATA);
        };
        self.holders
            .retain(|_, h| !matches!(h, Holder::Kernel(d) if *d == driver));
        self.driver_unbinds += 1;
        Ok(driver)
    }

    /// USBDEVFS_CONNECT: binds the interface's kernel driver again if the interface is free.
    /// Returns whether a driver bound (and which).
    pub fn rebind(&mut self, iface: u8) -> Option<&'static str> {
        if self.gone || self.holders.contains_key(&iface) {
            return None;
        }
        let driver = self.descriptors.interface(iface)?.kernel_driver?;
        // cdc_acm's probe takes the interface pair again, if the partner is free.
        let pair: Vec<u8> = self
            .descriptors
            .interfaces
            .iter()
            .filter(|i| i.kernel_driver == Some(driver))
            .map(|i| i.number)
            .collect();
        if pair.iter().any(|i| self.holders.contains_key(i)) {
            return None;
        }
        for i in pair {
            self.holders.insert(i, Holder::Kernel(driver));
        }
        Some(driver)
    }

    /// Whether a kernel driver holds `iface` now.
    pub fn kernel_bound(&self, iface: u8) -> Option<&'static str> {
        match self.holders.get(&iface) {
            Some(Holder::Kernel(d)) => Some(d),
            _ => None,
        }
    }

    pub fn alt(&self, iface: u8) -> u8 {
        self.alts.get(&iface).copied().unwrap_or(0)
    }

    /// Records an alternate setting the device accepted. EINVAL when the interface has none
    /// by that number (usb_set_interface checks the descriptors before asking the device).
    pub fn check_alt(&self, iface: u8, alt: u8) -> Result<(), i32> {
        let i = self.descriptors.interface(iface).ok_or(errno::EINVAL)?;
        if i.alts.iter().any(|a| a.setting == alt) {
            Ok(())
        } else {
            Err(errno::EINVAL)
        }
    }

    pub fn set_alt(&mut self, iface: u8, alt: u8) {
        self.alts.insert(iface, alt);
    }

    fn alive(&self) -> Result<(), i32> {
        if self.gone {
            Err(errno::ENODEV)
        } else {
            Ok(())
        }
    }

    /// USBDEVFS_SUBMITURB: the URB is in flight; returns its job number.
    pub fn submit(&mut self, file: ClientId, addr: u64, token: T) -> Result<u64, i32> {
        self.alive()?;
        let job = self.next_job;
        self.next_job += 1;
        let f = self.files.entry(file).or_default();
        if f.by_addr.contains_key(&addr) {
            return Err(errno::EINVAL);
        }
        f.by_addr.insert(addr, job);
        f.urbs.insert(
            job,
            Urb {
                addr,
                token,
                done: None,
            },
        );
        Ok(job)
    }

    /// The device finished job `job`; false if it is no longer in flight (discarded, or its
    /// file closed), in which case the result is dropped.
    pub fn finish(&mut self, file: ClientId, job: u64, finished: Finished) -> bool {
        let Some(f) = self.files.get_mut(&file) else {
            return false;
        };
        match f.urbs.get_mut(&job) {
            Some(u) if u.done.is_none() => {
                u.done = Some(finished);
                f.finished.push_back(job);
                true
            }
            _ => false,
        }
    }

    /// Whether `job` is still waiting for the device.
    pub fn in_flight(&self, file: ClientId, job: u64) -> bool {
        self.files
            .get(&file)
            .and_then(|f| f.urbs.get(&job))
            .is_some_and(|u| u.done.is_none())
    }

    /// USBDEVFS_DISCARDURB: an URB in flight ends with -ENOENT; one already finished (or
    /// unknown) is EINVAL, which libusb takes as "already done, reap it".
    pub fn discard(&mut self, file: ClientId, addr: u64) -> Result<(), i32> {
        let f = self.files.get_mut(&file).ok_or(errno::EINVAL)?;
        let job = *f.by_addr.get(&addr).ok_or(errno::EINVAL)?;
        let urb = f.urbs.get_mut(&job).ok_or(errno::EINVAL)?;
        if urb.done.is_some() {
            return Err(errno::EINVAL);
        }
        urb.done = Some(Finished {
            status: -errno::ENOENT,
            data: Vec::new(),
        });
        f.finished.push_back(job);
        Ok(())
    }

    /// USBDEVFS_REAPURBNDELAY: the next finished URB; EAGAIN while connected, ENODEV once gone.
    pub fn reap(&mut self, file: ClientId) -> Result<Reaped<T>, i32> {
        let nothing = if self.gone {
            errno::ENODEV
        } else {
            errno::EAGAIN
        };
        let f = self.files.get_mut(&file).ok_or(nothing)?;
        let job = f.finished.pop_front().ok_or(nothing)?;
        let urb = f.urbs.remove(&job).ok_or(nothing)?;
        f.by_addr.remove(&urb.addr);
        let finished = urb.done.ok_or(nothing)?;
        Ok(Reaped {
            token: urb.token,
            finished,
        })
    }

    /// Whether any file has a finished URB waiting (the node polls writable then).
    pub fn reapable(&self) -> bool {
        self.files.values().any(|f| !f.finished.is_empty())
    }

    /// The device left the bus: every URB in flight ends with -ESHUTDOWN (usbdev_remove kills
    /// them; with USBDEVFS_CAP_REAP_AFTER_DISCONNECT they can still be reaped).
    pub fn disconnect(&mut self) {
        self.gone = true;
        self.holders.retain(|_, h| matches!(h, Holder::File(_)));
        for f in self.files.values_mut() {
            for (job, u) in f.urbs.iter_mut() {
                if u.done.is_none() {
                    u.done = Some(Finished {
                        status: -errno::ESHUTDOWN,
                        data: Vec::new(),
                    });
                    f.finished.push_back(*job);
                }
            }
        }
    }

    /// The file was closed: its claims are released and its URBs forgotten.
    pub fn close(&mut self, file: ClientId) {
        self.holders.retain(|_, h| *h != Holder::File(file));
        self.files.remove(&file);
    }
}

#[cfg(test)]
mod tests {
    use super::super::descriptors::{dfu_mode, normal_mode};
    use super::*;
    use crate::core::module::Platform;

    fn normal() -> UsbfsDevice<&'static str> {
        UsbfsDevice::new(normal_mode(&Platform::by_name("argon").unwrap(), "id"))
    }

    #[test]
    fn cdc_acm_holds_its_interfaces_until_unbound() {
        let mut d = normal();
        assert_eq!(d.driver(0), Ok("cdc_acm"));
        assert_eq!(d.driver(2), Err(errno::ENODATA));
        assert_eq!(d.driver(7), Err(errno::ENOENT));
        assert_eq!(d.claim(1, 0), Err(errno::EBUSY));
        assert_eq!(d.claim(1, 2), Ok(()));
        assert_eq!(d.claim(2, 2), Err(errno::EBUSY));
        assert_eq!(d.release(2, 2), Err(errno::EINVAL));
        assert_eq!(d.unbind(0), Ok("cdc_acm"));
        assert_eq!(d.driver(1), Err(errno::ENODATA), "the pair goes together");
        assert_eq!(d.claim(1, 0), Ok(()));
        assert_eq!(d.rebind(0), None, "claimed");
        d.close(1);
        assert_eq!(d.rebind(1), Some("cdc_acm"));
        assert_eq!(d.kernel_bound(0), Some("cdc_acm"));
        assert_eq!(d.driver_unbinds, 1);
    }

    #[test]
    fn urbs_are_reaped_in_the_order_they_finish() {
        let mut d = normal();
        let a = d.submit(1, 0x100, "a").unwrap();
        let b = d.submit(1, 0x200, "b").unwrap();
        assert_eq!(d.submit(1, 0x100, "again").unwrap_err(), errno::EINVAL);
        assert_eq!(d.reap(1).err(), Some(errno::EAGAIN));
        assert!(!d.reapable());
        let ok = |data: &[u8]| Finished {
            status: 0,
            data: data.to_vec(),
        };
        assert!(d.finish(1, b, ok(b"B")));
        assert!(d.reapable());
        assert!(!d.finish(1, b, ok(b"twice")));
        assert!(d.finish(1, a, ok(b"A")));
        let first = d.reap(1).unwrap();
        assert_eq!((first.token, first.finished.data), ("b", b"B".to_vec()));
        assert_eq!(d.reap(1).unwrap().token, "a");
        assert_eq!(d.reap(1).err(), Some(errno::EAGAIN));
    }

    #[test]
    fn discard_ends_an_urb_in_flight_and_refuses_a_finished_one() {
        let mut d = normal();
        let a = d.submit(1, 0x100, "a").unwrap();
        assert_eq!(d.discard(1, 0x100), Ok(()));
        assert!(
            !d.finish(
                1,
                a,
                Finished {
                    status: 0,
                    data: vec![]
                }
            ),
            "too late"
        );
        assert_eq!(d.reap(1).unwrap().finished.status, -errno::ENOENT);
        let b = d.submit(1, 0x300, "b").unwrap();
        d.finish(
            1,
            b,
            Finished {
                status: 0,
                data: vec![],
            },
        );
        assert_eq!(d.discard(1, 0x300), Err(errno::EINVAL));
        assert_eq!(d.discard(1, 0x999), Err(errno::EINVAL));
    }

    #[test]
    fn a_device_that_leaves_ends_its_urbs_and_refuses_new_ones() {
        let platform = Platform::by_name("argon").unwrap();
        let mut d: UsbfsDevice<()> = UsbfsDevice::new(dfu_mode(&platform, "id", &[], &[]));
        d.submit(3, 0x10, ()).unwrap();
        d.disconnect();
        assert_eq!(d.submit(3, 0x20, ()).unwrap_err(), errno::ENODEV);
        assert_eq!(d.reap(3).unwrap().finished.status, -errno::ESHUTDOWN);
        assert_eq!(d.reap(3).err(), Some(errno::ENODEV));
        assert_eq!(d.claim(3, 0), Err(errno::ENODEV));
    }
}
