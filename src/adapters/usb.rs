//! The USB port on real hardware: libusb through rusb (vendored, so no system library).
//! A translation only: every decision lives in `core`.

use rusb::{Context, Device, DeviceHandle, UsbContext};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::core::module::PARTICLE_VID;
use crate::ports::{ControlSetup, DeviceInfo, PortPath, UsbBus, UsbDevice, UsbError};

pub fn usb_error(e: rusb::Error) -> UsbError {
    match e {
        rusb::Error::Pipe => UsbError::Stall,
        rusb::Error::Timeout => UsbError::Timeout,
        rusb::Error::NoDevice | rusb::Error::NotFound => UsbError::NoDevice,
        rusb::Error::Access => UsbError::Access,
        other => UsbError::Other(other.to_string()),
    }
}

pub struct LibUsbBus {
    /// Where the kernel lists USB devices by port path (`1-1.2/serial`, …).
    sysfs: PathBuf,
}

/// The longest serial-number attribute read from sysfs (a device ID is 24 characters).
const MAX_SERIAL: u64 = 128;

impl LibUsbBus {
    /// Fails cleanly (never panics) on a machine without a USB bus.
    pub fn new() -> Result<Self, UsbError> {
        Context::new().map_err(usb_error)?;
        Ok(LibUsbBus {
            sysfs: PathBuf::from(SYSFS_USB_DEVICES),
        })
    }

    /// The Particle devices on the bus now. Each listing is a fresh libusb context, whose
    /// device list is read from sysfs at that moment: a long-lived context's list changes only
    /// when its netlink monitor hears the kernel's uevents (libusb linux_netlink.c), and a board
    /// re-enumerates after every reset — a missed event and the board is never seen again.
    fn particle_devices(&self) -> Result<Vec<(Device<Context>, DeviceInfo)>, UsbError> {
        let context = Context::new().map_err(usb_error)?;
        let mut found = Vec::new();
        for device in context.devices().map_err(usb_error)?.iter() {
            let Ok(descriptor) = device.device_descriptor() else {
                continue;
            };
            if descriptor.vendor_id() != PARTICLE_VID {
                continue;
            }
            let ports = device.port_numbers().unwrap_or_default();
            let port = PortPath::from_bus_ports(device.bus_number(), &ports);
            // The serial number is the device ID. The kernel read it at enumeration and keeps
            // it in sysfs; asking the device would put string requests on every board's
            // control pipe — other slots' boards mid-flash included — at every poll.
            let serial = sysfs_serial(&self.sysfs, &port).or_else(|| {
                device
                    .open()
                    .ok()
                    .and_then(|h| h.read_serial_number_string_ascii(&descriptor).ok())
                    .map(|s| s.trim_matches(char::from(0)).to_lowercase())
            });
            let info = DeviceInfo {
                vid: descriptor.vendor_id(),
                pid: descriptor.product_id(),
                port,
                serial,
                address: Some(device.address()),
            };
            found.push((device, info));
        }
        found.sort_by(|a, b| a.1.port.0.cmp(&b.1.port.0));
        Ok(found)
    }
}

/// The kernel's sysfs directory of USB devices, named by port path.
pub const SYSFS_USB_DEVICES: &str = "/sys/bus/usb/devices";

/// The `serial` attribute of the device on `port`, lower-cased, if sysfs has one.
pub fn sysfs_serial(sysfs: &Path, port: &PortPath) -> Option<String> {
    let file = std::fs::File::open(sysfs.join(&port.0).join("serial")).ok()?;
    let mut text = String::new();
    file.take(MAX_SERIAL).read_to_string(&mut text).ok()?;
    let serial = text.trim().to_lowercase();
    (!serial.is_empty()).then_some(serial)
}

impl UsbBus for LibUsbBus {
    fn list(&mut self) -> Result<Vec<DeviceInfo>, UsbError> {
        Ok(self
            .particle_devices()?
            .into_iter()
            .map(|(_, info)| info)
            .collect())
    }

    fn open(&mut self, port: &PortPath) -> Result<Box<dyn UsbDevice>, UsbError> {
        let (device, info) = self
            .particle_devices()?
            .into_iter()
            .find(|(_, info)| &info.port == port)
            .ok_or(UsbError::NoDevice)?;
        let handle = device.open().map_err(usb_error)?;
        // Nothing is claimed here. Control requests to the device (Device OS's vendor
        // requests) need no interface; in normal mode interfaces 0 and 1 belong to cdc_acm,
        // and claiming one with auto-detach would take /dev/ttyACM* away. The DFU interface
        // is claimed when its alternate setting is selected.
        Ok(Box::new(LibUsbDevice {
            device,
            handle,
            info,
            claimed: false,
            sysfs: self.sysfs.clone(),
        }))
    }
}

pub struct LibUsbDevice {
    device: Device<Context>,
    handle: DeviceHandle<Context>,
    info: DeviceInfo,
    claimed: bool,
    sysfs: PathBuf,
}

/// How long the kernel may take to drop a device whose transfer failed on the wire: it learns
/// of a pulled cable from the hub's status-change endpoint, polled every 256 ms for a USB 2
/// hub (bInterval 12).
const DISCONNECT_NOTICED_WITHIN: Duration = Duration::from_millis(600);

impl LibUsbDevice {
    /// A transfer error as the port reports it. The transfer in flight when a board is pulled
    /// (or resets) ends in a bus error — EPROTO, "no handshake", which libusb reports as
    /// LIBUSB_ERROR_IO — not ENODEV: that only comes once the kernel has noticed. So a bus
    /// error from a device that then leaves its port is the device going away.
    fn error(&self, e: rusb::Error) -> UsbError {
        if e == rusb::Error::Io && self.leaves_its_port() {
            return UsbError::NoDevice;
        }
        usb_error(e)
    }

    fn leaves_its_port(&self) -> bool {
        let started = std::time::Instant::now();
        loop {
            match on_port(&self.sysfs, &self.info.port, &self.device) {
                Some(false) => return true,
                // No sysfs to tell (not Linux): say what libusb said.
                None => return false,
                Some(true) if started.elapsed() >= DISCONNECT_NOTICED_WITHIN => return false,
                Some(true) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

/// Whether `device` (bus and address) is still the one on `port`; None without sysfs.
fn on_port(sysfs: &Path, port: &PortPath, device: &Device<Context>) -> Option<bool> {
    if !sysfs.is_dir() {
        return None;
    }
    let read = |name: &str| -> Option<u8> {
        let file = std::fs::File::open(sysfs.join(&port.0).join(name)).ok()?;
        let mut text = String::new();
        file.take(16).read_to_string(&mut text).ok()?;
        text.trim().parse().ok()
    };
    Some(read("busnum") == Some(device.bus_number()) && read("devnum") == Some(device.address()))
}

impl UsbDevice for LibUsbDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn control_in(&mut self, s: ControlSetup, timeout: Duration) -> Result<Vec<u8>, UsbError> {
        let mut buf = vec![0u8; usize::from(s.length)];
        let n = self
            .handle
            .read_control(
                s.request_type,
                s.request,
                s.value,
                s.index,
                &mut buf,
                timeout,
            )
            .map_err(|e| self.error(e))?;
        buf.truncate(n);
        Ok(buf)
    }

    fn control_out(
        &mut self,
        s: ControlSetup,
        data: &[u8],
        timeout: Duration,
    ) -> Result<(), UsbError> {
        self.handle
            .write_control(s.request_type, s.request, s.value, s.index, data, timeout)
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    fn set_alt_setting(&mut self, interface: u8, alt: u8) -> Result<(), UsbError> {
        if !self.claimed {
            self.handle.claim_interface(interface).map_err(usb_error)?;
            self.claimed = true;
        }
        self.handle
            .set_alternate_setting(interface, alt)
            .map_err(usb_error)
    }

    fn alt_setting_names(&mut self, interface: u8) -> Result<Vec<(u8, String)>, UsbError> {
        let config = self.device.active_config_descriptor().map_err(usb_error)?;
        let mut names = Vec::new();
        for iface in config.interfaces().filter(|i| i.number() == interface) {
            for alt in iface.descriptors() {
                let Some(index) = alt.description_string_index() else {
                    continue;
                };
                let name = self
                    .handle
                    .read_string_descriptor_ascii(index)
                    .map_err(usb_error)?;
                names.push((alt.setting_number(), name));
            }
        }
        Ok(names)
    }

    fn dfu_functional_descriptor(&mut self, interface: u8) -> Result<Option<Vec<u8>>, UsbError> {
        let config = self.device.active_config_descriptor().map_err(usb_error)?;
        let found = config
            .interfaces()
            .filter(|i| i.number() == interface)
            .flat_map(|i| {
                i.descriptors()
                    .map(|d| d.extra().to_vec())
                    .collect::<Vec<_>>()
            })
            .find_map(|extra| find_functional_descriptor(&extra));
        Ok(found)
    }
}

/// The DFU functional descriptor (type 0x21) among an interface's extra descriptors.
pub fn find_functional_descriptor(mut extra: &[u8]) -> Option<Vec<u8>> {
    while extra.len() >= 2 {
        let len = usize::from(extra[0]);
        if len < 2 || len > extra.len() {
            return None;
        }
        if extra[1] == 0x21 {
            return Some(extra[..len].to_vec());
        }
        extra = &extra[len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_functional_descriptor_among_extras() {
        let extra = [
            5, 0x24, 0, 0, 0, 9, 0x21, 0x0b, 0xff, 0, 0, 0x10, 0x1a, 0x01,
        ];
        let fd = find_functional_descriptor(&extra).unwrap();
        let parsed = crate::core::dfu::request::FunctionalDescriptor::parse(&fd).unwrap();
        assert_eq!(parsed.transfer_size, 4096);
        assert_eq!(find_functional_descriptor(&[0, 0x21]), None);
        assert_eq!(find_functional_descriptor(&[200, 0x21]), None);
    }

    #[test]
    fn libusb_errors_map_to_port_errors() {
        assert_eq!(usb_error(rusb::Error::Pipe), UsbError::Stall);
        assert_eq!(usb_error(rusb::Error::NoDevice), UsbError::NoDevice);
        assert_eq!(usb_error(rusb::Error::Timeout), UsbError::Timeout);
    }

    #[test]
    fn the_serial_number_comes_from_sysfs_bounded() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("1-1.2")).unwrap();
        std::fs::write(
            root.path().join("1-1.2/serial"),
            "E00FCE68F372FE94A3FAD5FB\n",
        )
        .unwrap();
        let port = PortPath("1-1.2".into());
        assert_eq!(
            sysfs_serial(root.path(), &port).as_deref(),
            Some("e00fce68f372fe94a3fad5fb")
        );
        std::fs::write(root.path().join("1-1.2/serial"), "x".repeat(10_000)).unwrap();
        assert_eq!(sysfs_serial(root.path(), &port).unwrap().len(), 128);
        assert_eq!(sysfs_serial(root.path(), &PortPath("1-3".into())), None);
    }

    #[test]
    fn opening_the_bus_never_panics_without_usb() {
        // This machine has no USB bus: either way, no panic.
        if let Ok(mut bus) = LibUsbBus::new() {
            let _ = bus.list();
        }
    }
}
