//! What the board's work costs in time (docs/particle-usb.md §7, nRF52840 datasheet), and how
//! long each Device OS version keeps running after it was asked to reset (Device OS source,
//! cited per row). Facts that change with the version are rows keyed by the module version
//! they first appear in, so a later version is one more row.

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
    /// Device OS work per control request: the system thread picks the request up from its
    /// ISR task queue and runs the handler (usb_control_request_channel.cpp:325-334, 432-437).
    pub control_request: Duration,
    /// From the MBR's reset (SD_MBR_COMMAND_COPY_BL) until the new bootloader runs: no USB
    /// in between. Estimated.
    pub bootloader_restart: Duration,
    /// A bus-level detach and attach (DFU_DETACH, usbd_dfu.cpp:167-171): no reset, only a
    /// new enumeration. Estimated.
    pub reattach: Duration,
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
            reattach: Duration::from_millis(200),
            bootloader_restart: Duration::from_millis(250),
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

    /// Erasing the 4 KiB pages `bytes` cover in internal flash, then writing them.
    pub fn internal_copy(&self, bytes: usize) -> Duration {
        self.internal_page_erase * bytes.div_ceil(4096) as u32 + self.internal_write(bytes)
    }

    /// The same in external flash.
    pub fn external_copy(&self, bytes: usize) -> Duration {
        self.external_sector_erase * bytes.div_ceil(4096) as u32 + self.external_write(bytes)
    }
}

/// The bootloader counts this many 1 ms SysTicks after it reported dfuMANIFEST, then resets
/// (USBD_DFU_POLL_TIMEOUT, usbd_dfu.h:34-36 and usbd_dfu.cpp:562-567 @ v6.2.0; the same at
/// v1.5.0). Any DFU request in between cancels it (usbd_dfu.cpp:613-620).
pub const MANIFEST_RESET_DELAY: Duration = Duration::from_millis(500);

/// How long Device OS keeps running, still on USB and answering requests, after it was asked
/// to reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetTiming {
    /// After the reply to reset (40), enter DFU (50) or safe mode: their completion handlers,
    /// which run once the CHECK reply has gone out, wait this long before resetting
    /// (system_control_internal.cpp:170-197 @ v6.2.0; the same 1000 ms at v1.5.0:139-165).
    pub after_control_request: Duration,
    /// After FINISH (251)'s reply, before the pending shutdown is raised: 1.5.x and 2.x apply
    /// the update before replying and then wait 1 s (storage.cpp:243-246 @ v1.5.0, :84-87 @
    /// v2.3.0); from 3.0.0 the completion handler applies the update and raises it at once
    /// (storage.cpp:73-82 @ v6.2.0, firmware_update.cpp:218-224).
    pub after_finish: Duration,
    /// True when FINISH applies the update before it replies (1.5.x, 2.x:
    /// storage.cpp:328-337 @ v1.5.0); false when its completion handler does (≥ 3.0.0).
    pub finish_applies_before_reply: bool,
    /// From the pending shutdown to the reset: the system thread's loop notices it and the
    /// application thread delivers the `reset` event before `system_reset` runs
    /// (system_update.cpp:290-312 @ v6.2.0). The source gives no number: estimated.
    pub pending_shutdown: Duration,
}

/// Rows keyed by the system part's module version they start at, sorted.
pub const RESET_TIMINGS: &[(u16, ResetTiming)] = &[
    (
        0,
        ResetTiming {
            after_control_request: Duration::from_millis(1000),
            after_finish: Duration::from_millis(1000),
            finish_applies_before_reply: true,
            pending_shutdown: Duration::from_millis(50),
        },
    ),
    // 3.0.0 (module 3005; firmware_update.cpp first appears in its -alpha.1, 3000).
    (
        3000,
        ResetTiming {
            after_control_request: Duration::from_millis(1000),
            after_finish: Duration::ZERO,
            finish_applies_before_reply: false,
            pending_shutdown: Duration::from_millis(50),
        },
    ),
];

/// The row of a version-keyed table that applies to `version`: the last one starting at or
/// below it.
pub fn row<T: Copy>(table: &[(u16, T)], version: u16) -> T {
    table
        .iter()
        .rev()
        .find(|(since, _)| *since <= version)
        .or(table.first())
        .map(|(_, t)| *t)
        .unwrap_or_else(|| unreachable!("version tables have a row from 0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reset_table_is_sorted_and_starts_at_zero() {
        assert_eq!(RESET_TIMINGS[0].0, 0);
        assert!(RESET_TIMINGS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn each_version_gets_its_row() {
        // 1.5.0 and 2.3.0 wait a second after FINISH; 4.1.0 and 6.2.0 do not.
        assert!(row(RESET_TIMINGS, 1502).finish_applies_before_reply);
        assert!(row(RESET_TIMINGS, 2301).finish_applies_before_reply);
        assert_eq!(row(RESET_TIMINGS, 4100).after_finish, Duration::ZERO);
        assert_eq!(row(RESET_TIMINGS, 6200).after_finish, Duration::ZERO);
        // Every version waits a second after reset / enter-DFU.
        for v in [1502, 2301, 4100, 6200] {
            assert_eq!(
                row(RESET_TIMINGS, v).after_control_request,
                Duration::from_millis(1000)
            );
        }
    }
}
