//! The USB descriptors a Gen3 board presents, in DFU mode (the bootloader) and in normal mode
//! (Device OS: CDC ACM and Particle's vendor control interface), built from the board's
//! platform, device ID and what its DFU interface reports. One description yields the raw
//! bytes (sysfs `descriptors`, GET_DESCRIPTOR) and the interface table the emulation serves.

use crate::core::module::{Platform, PARTICLE_VID};

pub const MANUFACTURER: &str = "Particle";
/// bcdDevice of the Gen3 bootloader (usbd_device.cpp:169-170 @ v1.5.0, unchanged at v6.2.0).
pub const DFU_BCD_DEVICE: u16 = 0x0251;
/// Device OS's APP_USBD_DEVICE_VER 1.2 (platform/MCU/nRF52840/inc/sdk_config_system.h:147-148
/// @ v1.5.0); the nRF5 SDK that encodes it is a submodule not in the mirror: BCD 1.02 assumed.
pub const NORMAL_BCD_DEVICE: u16 = 0x0102;
/// NRF_DRV_USBD_EPSIZE: endpoint 0 and bulk packets.
pub const EP0_SIZE: u8 = 64;

pub const CLASS_CDC: u8 = 0x02;
pub const CLASS_CDC_DATA: u8 = 0x0a;
pub const CLASS_APPLICATION: u8 = 0xfe;
pub const CLASS_VENDOR: u8 = 0xff;
pub const CLASS_HUB: u8 = 0x09;

/// Endpoint transfer types (bmAttributes bits 0..1).
pub const EP_BULK: u8 = 2;
pub const EP_INTERRUPT: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Dfu,
    Normal,
    RootHub,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub address: u8,
    pub kind: u8,
    pub max_packet: u16,
    pub interval: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AltSetting {
    pub setting: u8,
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
    pub string: u8,
    pub endpoints: Vec<Endpoint>,
    /// Class descriptors that follow the interface descriptor.
    pub extra: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub number: u8,
    pub alts: Vec<AltSetting>,
    /// The kernel driver that binds it on a Linux host (cdc_acm for the CDC pair).
    pub kernel_driver: Option<&'static str>,
}

/// What one enumeration of a device presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptors {
    pub mode: Mode,
    pub vid: u16,
    pub pid: u16,
    pub bcd_device: u16,
    pub device_class: (u8, u8, u8),
    pub config_attributes: u8,
    pub max_power_2ma: u8,
    pub config_string: u8,
    /// An interface association (first interface, count, class triple) before the interfaces.
    pub association: Option<(u8, u8, (u8, u8, u8))>,
    pub interfaces: Vec<Interface>,
    /// Descriptors after the last interface (DFU: the functional descriptor, where Particle's
    /// bootloader puts it: after all alternate settings, usbd_dfu.h:275-301 @ v1.5.0).
    pub trailer: Vec<u8>,
    /// String descriptors by index (index 0, the language list, is implied).
    pub strings: Vec<(u8, String)>,
}

/// The board's name in its USB strings: `USBD_PRODUCT_NAME` (bootloader/src/nRF52840/
/// usbd_device.cpp:141-156 @ v6.2.0, "Argon DFU Mode"); Device OS names its CDC product, serial
/// and control strings after the same board (hal/src/argon/app_usbd_string_config.h:87,135-136
/// @ v6.2.0: "Argon CDC Mode", "Argon Serial", "Argon Control Interface").
pub fn product_name(platform: &Platform) -> String {
    platform.usb_name.unwrap_or(platform.name).to_string()
}

/// The bootloader's descriptors: one interface (class 0xFE/1/2, DFU mode) with an alternate
/// setting per memory, iInterface 6, 7, 8 (STRING_IDX_INTERFACE + alt + 1, usbd_dfu.h:45-55),
/// strings "Particle", "<board> DFU Mode", the device ID (usbd_device.cpp:727-757 @ v1.5.0).
pub fn dfu_mode(
    platform: &Platform,
    device_id: &str,
    alt_names: &[(u8, String)],
    functional: &[u8],
) -> Descriptors {
    let product = format!("{} DFU Mode", product_name(platform));
    let mut strings = vec![
        (1, MANUFACTURER.to_string()),
        (2, product.clone()),
        (3, device_id.to_string()),
        (4, product.clone()),
        (5, product),
    ];
    let alts = alt_names
        .iter()
        .map(|(alt, name)| {
            let index = 6 + alt;
            strings.push((index, name.clone()));
            AltSetting {
                setting: *alt,
                class: CLASS_APPLICATION,
                subclass: 0x01,
                protocol: 0x02,
                string: index,
                endpoints: Vec::new(),
                extra: Vec::new(),
            }
        })
        .collect();
    Descriptors {
        mode: Mode::Dfu,
        vid: PARTICLE_VID,
        pid: platform.usb_pid_dfu.unwrap_or_default(),
        bcd_device: DFU_BCD_DEVICE,
        device_class: (0, 0, 0),
        // "bus powered and supports remote wakeup", MaxPower 100 mA (usbd_dfu.h:283-284).
        config_attributes: 0xC0,
        max_power_2ma: 0x32,
        config_string: 4,
        association: None,
        interfaces: vec![Interface {
            number: 0,
            alts,
            kernel_driver: None,
        }],
        trailer: functional.to_vec(),
        strings,
    }
}

/// Device OS's descriptors: CDC ACM on interfaces 0 and 1 (hal/src/nRF52840/usb_hal_cdc.c:49-54
/// @ v1.5.0) behind an interface association (device class EF/02/01, sdk_config_system.h:140-142),
/// and the vendor control interface #2 (usb_hal_control.cpp:165-175: class FF/FF/FF, no
/// endpoints). Self-powered, 500 mA (sdk_config_system.h:130-132). The CDC functional
/// descriptors and endpoint sizes are the standard ACM set (the nRF5 SDK's own table is in a
/// submodule the mirror lacks).
pub fn normal_mode(platform: &Platform, device_id: &str) -> Descriptors {
    let name = product_name(platform);
    let cdc_functional = [
        5, 0x24, 0x00, 0x10, 0x01, // header, CDC 1.10
        5, 0x24, 0x01, 0x00, 0x01, // call management: data on interface 1
        4, 0x24, 0x02, 0x02, // ACM: line coding and serial state
        5, 0x24, 0x06, 0x00, 0x01, // union: control 0, data 1
    ];
    let comm = AltSetting {
        setting: 0,
        class: CLASS_CDC,
        subclass: 0x02,
        protocol: 0x01,
        string: 4,
        endpoints: vec![Endpoint {
            address: 0x82,
            kind: EP_INTERRUPT,
            max_packet: 16,
            interval: 16,
        }],
        extra: cdc_functional.to_vec(),
    };
    let data = AltSetting {
        setting: 0,
        class: CLASS_CDC_DATA,
        subclass: 0,
        protocol: 0,
        string: 0,
        endpoints: vec![
            Endpoint {
                address: 0x81,
                kind: EP_BULK,
                max_packet: u16::from(EP0_SIZE),
                interval: 0,
            },
            Endpoint {
                address: 0x01,
                kind: EP_BULK,
                max_packet: u16::from(EP0_SIZE),
                interval: 0,
            },
        ],
        extra: Vec::new(),
    };
    let control = AltSetting {
        setting: 0,
        class: CLASS_VENDOR,
        subclass: 0xff,
        protocol: 0xff,
        string: 5,
        endpoints: Vec::new(),
        extra: Vec::new(),
    };
    Descriptors {
        mode: Mode::Normal,
        vid: PARTICLE_VID,
        pid: platform.usb_pid_normal.unwrap_or_default(),
        bcd_device: NORMAL_BCD_DEVICE,
        device_class: (0xef, 0x02, 0x01),
        config_attributes: 0xC0,
        max_power_2ma: 250,
        config_string: 0,
        association: Some((0, 2, (CLASS_CDC, 0x02, 0x01))),
        interfaces: vec![
            Interface {
                number: 0,
                alts: vec![comm],
                kernel_driver: Some("cdc_acm"),
            },
            Interface {
                number: 1,
                alts: vec![data],
                kernel_driver: Some("cdc_acm"),
            },
            Interface {
                number: 2,
                alts: vec![control],
                kernel_driver: None,
            },
        ],
        trailer: Vec::new(),
        strings: vec![
            (1, MANUFACTURER.to_string()),
            (2, format!("{name} CDC Mode")),
            (3, device_id.to_string()),
            (4, format!("{name} Serial")),
            (5, format!("{name} Control Interface")),
        ],
    }
}

/// The host's root hub the boards hang off (Linux Foundation 2.0 root hub, 1d6b:0002).
pub fn root_hub() -> Descriptors {
    Descriptors {
        mode: Mode::RootHub,
        vid: 0x1d6b,
        pid: 0x0002,
        bcd_device: 0x0601,
        device_class: (CLASS_HUB, 0, 1),
        config_attributes: 0xE0,
        max_power_2ma: 0,
        config_string: 0,
        association: None,
        interfaces: vec![Interface {
            number: 0,
            alts: vec![AltSetting {
                setting: 0,
                class: CLASS_HUB,
                subclass: 0,
                protocol: 0,
                string: 0,
                endpoints: vec![Endpoint {
                    address: 0x81,
                    kind: EP_INTERRUPT,
                    max_packet: 4,
                    interval: 12,
                }],
                extra: Vec::new(),
            }],
            kernel_driver: Some("hub"),
        }],
        trailer: Vec::new(),
        strings: vec![
            (1, "Linux 6.1.0 ehci_hcd".into()),
            (2, "EHCI Host Controller".into()),
            (3, "0000:00:1d.0".into()),
        ],
    }
}

impl Descriptors {
    /// The 18-byte device descriptor.
    pub fn device(&self) -> Vec<u8> {
        let string_or_zero = |i: u8| {
            if self.strings.iter().any(|(n, _)| *n == i) {
                i
            } else {
                0
            }
        };
        let mut d = vec![18, 0x01, 0x00, 0x02];
        d.extend([
            self.device_class.0,
            self.device_class.1,
            self.device_class.2,
        ]);
        d.push(EP0_SIZE);
        d.extend(self.vid.to_le_bytes());
        d.extend(self.pid.to_le_bytes());
        d.extend(self.bcd_device.to_le_bytes());
        d.extend([string_or_zero(1), string_or_zero(2), string_or_zero(3), 1]);
        d
    }

    /// The whole configuration descriptor (wTotalLength bytes).
    pub fn config(&self) -> Vec<u8> {
        let mut body = Vec::new();
        if let Some((first, count, (c, s, p))) = self.association {
            body.extend([8, 0x0B, first, count, c, s, p, 0]);
        }
        for iface in &self.interfaces {
            for alt in &iface.alts {
                body.extend([
                    9,
                    0x04,
                    iface.number,
                    alt.setting,
                    alt.endpoints.len() as u8,
                    alt.class,
                    alt.subclass,
                    alt.protocol,
                    alt.string,
                ]);
                body.extend(&alt.extra);
                for ep in &alt.endpoints {
                    body.extend([7, 0x05, ep.address, ep.kind]);
                    body.extend(ep.max_packet.to_le_bytes());
                    body.push(ep.interval);
                }
            }
        }
        body.extend(&self.trailer);
        let total = (9 + body.len()) as u16;
        let mut c = vec![9, 0x02];
        c.extend(total.to_le_bytes());
        c.extend([
            self.interfaces.len() as u8,
            1,
            self.config_string,
            self.config_attributes,
            self.max_power_2ma,
        ]);
        c.extend(body);
        c
    }

    /// sysfs `descriptors`: the device descriptor, then the configuration.
    pub fn sysfs_blob(&self) -> Vec<u8> {
        let mut b = self.device();
        b.extend(self.config());
        b
    }

    pub fn string(&self, index: u8) -> Option<&str> {
        self.strings
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, s)| s.as_str())
    }

    /// GET_DESCRIPTOR(STRING, index): index 0 is the language list (US English only,
    /// usbd_device.cpp:137), the rest UTF-16LE.
    pub fn string_descriptor(&self, index: u8) -> Option<Vec<u8>> {
        if index == 0 {
            return Some(vec![4, 0x03, 0x09, 0x04]);
        }
        let s = self.string(index)?;
        let units: Vec<u16> = s.encode_utf16().take(126).collect();
        let mut d = vec![(2 + units.len() * 2) as u8, 0x03];
        for u in units {
            d.extend(u.to_le_bytes());
        }
        Some(d)
    }

    pub fn interface(&self, number: u8) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.number == number)
    }

    /// The interface an endpoint belongs to.
    pub fn endpoint(&self, address: u8) -> Option<(&Interface, &Endpoint)> {
        self.interfaces.iter().find_map(|i| {
            i.alts
                .iter()
                .flat_map(|a| a.endpoints.iter())
                .find(|e| e.address == address)
                .map(|e| (i, e))
        })
    }

    /// The DFU functional descriptor, if the device has one.
    pub fn functional(&self) -> Option<&[u8]> {
        (self.trailer.get(1) == Some(&0x21)).then_some(self.trailer.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argon() -> Platform {
        Platform::by_name("argon").unwrap()
    }

    const FD: [u8; 9] = [9, 0x21, 0x0b, 0xff, 0, 0, 0x10, 0x1a, 0x01];

    #[test]
    fn dfu_mode_is_the_bootloaders_layout() {
        let names = vec![
            (0, "@Internal Flash   /0x00000000/1*004Ka".to_string()),
            (1, "@DCT Flash   /0x00000000/1*016Ke".to_string()),
            (2, "@External Flash   /0x80000000/1024*004Kg".to_string()),
        ];
        let d = dfu_mode(&argon(), "e00fce68f372fe94a3fad5fb", &names, &FD);
        assert_eq!(
            d.device(),
            [18, 1, 0, 2, 0, 0, 0, 64, 0x04, 0x2b, 0x0c, 0xd0, 0x51, 0x02, 1, 2, 3, 1]
        );
        let c = d.config();
        // 9 (config) + 3 × 9 (alt settings) + 9 (functional): the bootloader's 45 bytes.
        assert_eq!(c.len(), 45);
        assert_eq!(&c[..9], &[9, 2, 45, 0, 1, 1, 4, 0xC0, 0x32]);
        assert_eq!(&c[9..18], &[9, 4, 0, 0, 0, 0xfe, 1, 2, 6]);
        assert_eq!(&c[27..36], &[9, 4, 0, 2, 0, 0xfe, 1, 2, 8]);
        assert_eq!(&c[36..], &FD);
        assert_eq!(d.string(2), Some("Argon DFU Mode"));
        assert_eq!(d.string(8), Some(names[2].1.as_str()));
        assert_eq!(d.functional(), Some(&FD[..]));
        let serial = d.string_descriptor(3).unwrap();
        assert_eq!(serial.len(), 2 + 24 * 2);
        assert_eq!(&serial[..4], &[50, 3, b'e', 0]);
        assert_eq!(d.string_descriptor(0), Some(vec![4, 3, 9, 4]));
        assert_eq!(d.string_descriptor(9), None);
    }

    #[test]
    fn normal_mode_is_cdc_acm_and_the_control_interface() {
        let d = normal_mode(&argon(), "e00fce68f372fe94a3fad5fb");
        let dev = d.device();
        assert_eq!(&dev[4..7], &[0xef, 2, 1]);
        assert_eq!(&dev[10..12], &[0x0c, 0xc0]);
        let c = d.config();
        assert_eq!(usize::from(u16::from_le_bytes([c[2], c[3]])), c.len());
        assert_eq!(c[4], 3);
        assert_eq!(d.interface(2).unwrap().alts[0].class, 0xff);
        assert_eq!(d.endpoint(0x01).unwrap().0.number, 1);
        assert_eq!(d.endpoint(0x82).unwrap().0.number, 0);
        assert_eq!(d.string(2), Some("Argon CDC Mode"));
        assert_eq!(d.string(5), Some("Argon Control Interface"));
        assert!(d.functional().is_none());
    }

    #[test]
    fn names_follow_the_platform_table() {
        let boron = Platform::by_name("boron").unwrap();
        let d = dfu_mode(&boron, "x", &[], &FD);
        assert_eq!((d.pid, d.string(2)), (0xd00d, Some("Boron DFU Mode")));
        let bsom = Platform::by_name("bsom").unwrap();
        assert_eq!(normal_mode(&bsom, "x").string(2), Some("B-SoM CDC Mode"));
    }
}
