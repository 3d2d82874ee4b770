//! What the kernel writes to sysfs for a USB device, its interfaces and a cdc_acm tty, as
//! libusb (linux_usbfs.c: busnum, devnum, speed, descriptors, bConfigurationValue), libudev
//! (the uevent properties: DEVTYPE, BUSNUM, DEVNUM, DEVNAME) and flashline's serial adapter
//! (`<port>:1.0/tty/ttyACM*`) read it.

use super::descriptors::Descriptors;
use super::umockdev::{Testbed, UmockdevError};

/// Major numbers of usb_device nodes and of cdc_acm ttys (Documentation/admin-guide/devices.txt).
pub const USB_DEVICE_MAJOR: u32 = 189;
pub const ACM_MAJOR: u32 = 166;
/// Full speed, as the nRF52840 enumerates.
pub const SPEED_MBPS: &str = "12";

/// Where a device sits: bus, device number, and its sysfs name (`usb1`, `1-1`, `1-1.2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub bus: u8,
    pub devnum: u8,
    pub name: String,
}

impl Address {
    pub fn devnode(&self) -> String {
        format!("/dev/bus/usb/{:03}/{:03}", self.bus, self.devnum)
    }

    fn minor(&self) -> u32 {
        (u32::from(self.bus) - 1) * 128 + u32::from(self.devnum) - 1
    }

    /// The port chain after the bus: `1-1.2` → `1.2`; a root hub's is `0`.
    fn devpath(&self) -> String {
        self.name
            .split_once('-')
            .map_or_else(|| "0".to_string(), |(_, p)| p.to_string())
    }
}

/// Text attributes end in a newline, as the kernel writes them — except `dev`: umockdev
/// links `/sys/dev/char/<major:minor>` from it and, removing the device, unlinks the path
/// built from the file's contents unstripped (umockdev.vala remove_device), so a newline
/// there leaves the link behind and the next device with that number aborts the testbed.
fn lines(attrs: Vec<(&str, String)>) -> Vec<(&str, String)> {
    attrs
        .into_iter()
        .map(|(k, v)| if k == "dev" { (k, v) } else { (k, v + "\n") })
        .collect()
}

fn hex2(v: u8) -> String {
    format!("{v:02x}")
}

fn hex4(v: u16) -> String {
    format!("{v:04x}")
}

/// Adds the device and one directory per interface; returns the device's sysfs path and the
/// interfaces' paths by number. No uevent is sent.
pub fn add_usb_device(
    tb: &Testbed,
    parent: Option<&str>,
    at: &Address,
    d: &Descriptors,
) -> Result<(String, Vec<(u8, String)>), UmockdevError> {
    let dev = d.device();
    let mut attrs = vec![
        ("busnum", at.bus.to_string()),
        ("devnum", at.devnum.to_string()),
        ("devpath", at.devpath()),
        ("speed", SPEED_MBPS.to_string()),
        ("version", " 2.00".to_string()),
        ("bConfigurationValue", "1".to_string()),
        ("bNumConfigurations", "1".to_string()),
        ("bNumInterfaces", format!("{:2}", d.interfaces.len())),
        ("bDeviceClass", hex2(dev[4])),
        ("bDeviceSubClass", hex2(dev[5])),
        ("bDeviceProtocol", hex2(dev[6])),
        ("bMaxPacketSize0", dev[7].to_string()),
        ("idVendor", hex4(d.vid)),
        ("idProduct", hex4(d.pid)),
        ("bcdDevice", hex4(d.bcd_device)),
        ("bmAttributes", hex2(d.config_attributes)),
        ("bMaxPower", format!("{}mA", u32::from(d.max_power_2ma) * 2)),
        ("maxchild", "0".to_string()),
        ("removable", "removable".to_string()),
        ("authorized", "1".to_string()),
        ("dev", format!("{USB_DEVICE_MAJOR}:{}", at.minor())),
    ];
    for (name, index) in [("manufacturer", 1u8), ("product", 2), ("serial", 3)] {
        if let Some(s) = d.string(index) {
            attrs.push((name, s.to_string()));
        }
    }
    if let Some(s) = d.string(d.config_string) {
        attrs.push(("configuration", s.to_string()));
    }
    let product = format!("{:x}/{:x}/{:x}", d.vid, d.pid, d.bcd_device);
    let props = vec![
        ("DEVNAME", at.devnode()),
        ("DEVTYPE", "usb_device".to_string()),
        ("DRIVER", "usb".to_string()),
        ("PRODUCT", product.clone()),
        ("TYPE", format!("{}/{}/{}", dev[4], dev[5], dev[6])),
        ("BUSNUM", format!("{:03}", at.bus)),
        ("DEVNUM", format!("{:03}", at.devnum)),
        ("MAJOR", USB_DEVICE_MAJOR.to_string()),
        ("MINOR", at.minor().to_string()),
    ];
    let syspath = tb.add_device("usb", &at.name, parent, &lines(attrs), &props)?;
    tb.set_attribute_binary(&syspath, "descriptors", &d.sysfs_blob());
    let mut interfaces = Vec::new();
    for iface in &d.interfaces {
        let Some(alt) = iface.alts.first() else {
            continue;
        };
        // A root hub's interfaces are named after port 0 (`1-0:1.0`).
        let device = if at.name.starts_with("usb") {
            format!("{}-0", at.bus)
        } else {
            at.name.clone()
        };
        let name = format!("{device}:1.{}", iface.number);
        let modalias = format!(
            "usb:v{:04X}p{:04X}d{:04X}dc{:02X}dsc{:02X}dp{:02X}ic{:02X}isc{:02X}ip{:02X}in{:02X}",
            d.vid,
            d.pid,
            d.bcd_device,
            dev[4],
            dev[5],
            dev[6],
            alt.class,
            alt.subclass,
            alt.protocol,
            iface.number
        );
        let mut attrs = vec![
            ("bInterfaceNumber", hex2(iface.number)),
            ("bAlternateSetting", format!("{:2}", alt.setting)),
            ("bNumEndpoints", hex2(alt.endpoints.len() as u8)),
            ("bInterfaceClass", hex2(alt.class)),
            ("bInterfaceSubClass", hex2(alt.subclass)),
            ("bInterfaceProtocol", hex2(alt.protocol)),
            ("modalias", modalias.clone()),
            ("supports_autosuspend", "1".to_string()),
        ];
        if let Some(s) = d.string(alt.string) {
            attrs.push(("interface", s.to_string()));
        }
        let props = vec![
            ("DEVTYPE", "usb_interface".to_string()),
            ("PRODUCT", product.clone()),
            ("TYPE", format!("{}/{}/{}", dev[4], dev[5], dev[6])),
            (
                "INTERFACE",
                format!("{}/{}/{}", alt.class, alt.subclass, alt.protocol),
            ),
            ("MODALIAS", modalias),
        ];
        let path = tb.add_device("usb", &name, Some(&syspath), &lines(attrs), &props)?;
        interfaces.push((iface.number, path));
    }
    Ok((syspath, interfaces))
}

/// A cdc_acm tty under the CDC control interface: `<iface>/tty/ttyACM<n>`.
pub fn add_acm_tty(tb: &Testbed, iface_path: &str, n: u32) -> Result<String, UmockdevError> {
    let name = format!("ttyACM{n}");
    let attrs = lines(vec![("dev", format!("{ACM_MAJOR}:{n}"))]);
    let props = vec![
        ("DEVNAME", format!("/dev/{name}")),
        ("MAJOR", ACM_MAJOR.to_string()),
        ("MINOR", n.to_string()),
    ];
    tb.add_device(
        "tty",
        &format!("tty/{name}"),
        Some(iface_path),
        &attrs,
        &props,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_the_node_and_the_port_chain() {
        let a = Address {
            bus: 1,
            devnum: 5,
            name: "1-1.2".into(),
        };
        assert_eq!(a.devnode(), "/dev/bus/usb/001/005");
        assert_eq!(a.minor(), 4);
        assert_eq!(a.devpath(), "1.2");
        let hub = Address {
            bus: 1,
            devnum: 1,
            name: "usb1".into(),
        };
        assert_eq!(hub.devpath(), "0");
    }
}
