//! What the board's work costs in time (docs/particle-usb.md §7, nRF52840 datasheet).

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Timing {
    /// Per control transfer: setup, status stage and frame scheduling at full speed.
    pub usb_transfer: Duration,
    /// Per data byte at ≈1 MB/s.
    pub usb_byte: Duration,
    /// nRF52840 page erase: 85 ms max, ≈20 ms observed.
    pub internal_page_erase: Duration,
    /// nRF52840 word write: 41 µs per 32-bit word (≈42 ms per 4 KiB page).
    pub internal_word_write: Duration,
    /// External QSPI flash: 4 KiB sector erase ≈45 ms, 256-byte page program ≈0.5 ms.
    pub external_sector_erase: Duration,
    pub external_page_program: Duration,
    /// From a reset until the bootloader enumerates in DFU mode.
    pub reset_to_dfu: Duration,
    /// From a reset until Device OS enumerates (bootloader, then system firmware start).
    pub reset_to_firmware: Duration,
    /// Device OS work per control request.
    pub control_request: Duration,
    /// A debug probe: attaching under reset and reading FICR.
    pub swd_attach: Duration,
    /// Per byte moved over SWD (≈250 KB/s, a CMSIS-DAP v2 or J-Link probe); the flash
    /// algorithm double-buffers, so it overlaps the flash's own write time.
    pub swd_byte: Duration,
    /// nRF52840 ERASEALL: 169 ms max.
    pub erase_all: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            usb_transfer: Duration::from_micros(100),
            usb_byte: Duration::from_micros(1),
            internal_page_erase: Duration::from_millis(20),
            internal_word_write: Duration::from_micros(41),
            external_sector_erase: Duration::from_millis(45),
            external_page_program: Duration::from_micros(500),
            // Not multiples of the host's 100 ms polling: a real board does not wait for the host,
            // and the overhead of polling must show in the measured ratio.
            reset_to_dfu: Duration::from_millis(750),
            reset_to_firmware: Duration::from_millis(1450),
            control_request: Duration::from_millis(1),
            swd_attach: Duration::from_millis(60),
            swd_byte: Duration::from_micros(4),
            erase_all: Duration::from_millis(169),
        }
    }
}

impl Timing {
    pub fn transfer(&self, bytes: usize) -> Duration {
        self.usb_transfer + self.usb_byte * bytes as u32
    }

    pub fn internal_write(&self, bytes: usize) -> Duration {
        self.internal_word_write * bytes.div_ceil(4) as u32
    }

    pub fn external_write(&self, bytes: usize) -> Duration {
        self.external_page_program * bytes.div_ceil(256) as u32
    }
}
