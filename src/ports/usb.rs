//! USB at the level DFU and Particle's control requests need: control transfers, alternate
//! settings, descriptors, and finding a device by its physical port.

use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// A physical USB port: bus number and the chain of hub ports, written `1-1.2` like the
/// kernel and dfu-util. A board is found again after every reset by this, never by "the first
/// 2b04 device", so several fixture slots can share a Pi.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PortPath(pub String);

impl PortPath {
    pub fn from_bus_ports(bus: u8, ports: &[u8]) -> PortPath {
        let chain: Vec<String> = ports.iter().map(u8::to_string).collect();
        PortPath(format!("{bus}-{}", chain.join(".")))
    }
}

impl fmt::Display for PortPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`: `{:<10}` in tables (flash --list) must line up.
        f.pad(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    pub vid: u16,
    pub pid: u16,
    pub port: PortPath,
    /// The USB serial-number string; for Particle boards, the device ID.
    pub serial: Option<String>,
    /// The USB device address the host gave this enumeration (libusb's device address, the
    /// kernel's devnum). A device that resets and re-enumerates gets a new one, so it tells a
    /// board that came back from one that never left, however short the gap was. `None` when
    /// the transport has no such number.
    pub address: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlSetup {
    pub request_type: u8,
    pub request: u8,
    pub value: u16,
    pub index: u16,
    pub length: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsbError {
    #[error("stall")]
    Stall,
    #[error("timeout")]
    Timeout,
    #[error("no device")]
    NoDevice,
    #[error("access denied (udev rule for 2b04:* missing?)")]
    Access,
    #[error("{0}")]
    Other(String),
}

impl UsbError {
    /// The word used in traces: `ok | stall | timeout | no-device | error:…`.
    pub fn trace_word(&self) -> String {
        match self {
            UsbError::Stall => "stall".into(),
            UsbError::Timeout => "timeout".into(),
            UsbError::NoDevice => "no-device".into(),
            other => format!("error:{other}"),
        }
    }
}

/// An opened USB device.
pub trait UsbDevice: Send {
    fn info(&self) -> &DeviceInfo;
    fn control_in(&mut self, setup: ControlSetup, timeout: Duration) -> Result<Vec<u8>, UsbError>;
    fn control_out(
        &mut self,
        setup: ControlSetup,
        data: &[u8],
        timeout: Duration,
    ) -> Result<(), UsbError>;
    fn set_alt_setting(&mut self, interface: u8, alt: u8) -> Result<(), UsbError>;
    /// The interface string of each alternate setting of `interface`, by alt number: for DfuSe,
    /// the memory layouts.
    fn alt_setting_names(&mut self, interface: u8) -> Result<Vec<(u8, String)>, UsbError>;
    /// The raw DFU functional descriptor (type 0x21) of `interface`, if it has one.
    fn dfu_functional_descriptor(&mut self, interface: u8) -> Result<Option<Vec<u8>>, UsbError>;
}

/// The bus: what is plugged in where.
pub trait UsbBus: Send {
    fn list(&mut self) -> Result<Vec<DeviceInfo>, UsbError>;
    fn open(&mut self, port: &PortPath) -> Result<Box<dyn UsbDevice>, UsbError>;
}

#[cfg(test)]
mod tests {
    use super::PortPath;

    #[test]
    fn a_port_path_pads_in_a_table_column() {
        // `flash --list` prints `{:<10}`: with write_str the columns did not line up.
        assert_eq!(format!("[{:<6}]", PortPath("1-1".into())), "[1-1   ]");
    }
}
