//! What each step of a unit costs in time, and what a unit will do: the numbers the overall
//! estimate starts from.

use crate::core::bundle::Bundle;
use crate::core::plan::Route;

/// The nRF52840's flash page: what one DFU erase clears.
pub const PAGE_BYTES: u64 = 4096;

/// What the board's work costs, as the simulated Argon models it (src/sim/argon/timing.rs,
/// docs/particle-usb.md §7; tests/progress_estimate.rs checks that the two agree). A real
/// board differs a little; the estimate corrects itself by how fast the board really goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Costs {
    /// One page erase, with its DFU round trip.
    pub page_erase_ms: f64,
    /// One byte written over DFU: the word write (41 µs per 4 bytes) and the USB transfer.
    pub dfu_byte_us: f64,
    /// One byte sent by firmware-update control requests (Device OS stores it for the reset).
    pub control_byte_us: f64,
    /// Starting a module: the DfuSe address command and the status polls between phases.
    pub module_overhead_ms: f64,
    /// From the enter-DFU request until the bootloader enumerates in DFU mode and the host
    /// sees it: Device OS waits before it resets, then the bootloader starts.
    pub reset_to_dfu_ms: f64,
    /// From leaving DFU until Device OS enumerates and the host sees it: the bootloader waits
    /// after manifestation, then resets into the bootloader and the system firmware.
    pub reset_to_firmware_ms: f64,
    /// From a reset request to Device OS until it enumerates again (a fresh boot for tests).
    pub restart_ms: f64,
    /// From a reset until Device OS enumerates and the host sees it.
    pub boot_ms: f64,
    /// From the last firmware-update request until Device OS resets to install (1.5.x waits
    /// after FINISH; 3.0 and later do not).
    pub install_wait_ms: f64,
    /// Module info and device ID over control requests.
    pub read_board_ms: f64,
    /// From the serial port opening until the test firmware prints its ready line.
    pub ready_ms: f64,
    /// One peripheral test: command out, reply back.
    pub test_ms: f64,
}

/// The Argon's costs.
pub const ARGON: Costs = Costs {
    page_erase_ms: 20.0,
    dfu_byte_us: 11.25,
    control_byte_us: 3.5,
    module_overhead_ms: 45.0,
    reset_to_dfu_ms: 1800.0,
    reset_to_firmware_ms: 2000.0,
    restart_ms: 2500.0,
    boot_ms: 1500.0,
    install_wait_ms: 1050.0,
    read_board_ms: 5.0,
    ready_ms: 400.0,
    test_ms: 20.0,
};

/// One module the unit may write.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleWork {
    /// As events name it: `system-part#1 v1502`.
    pub label: String,
    /// What goes to the board (the image, without a dropped prefix).
    pub bytes: u64,
    pub route: Route,
}

/// Everything a unit of a bundle may do: every module written (a blank board), the tests,
/// the final firmware.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitWork {
    pub modules: Vec<ModuleWork>,
    pub tests: usize,
    /// Whether the tests wait for a ready line first.
    pub ready_line: bool,
    pub final_module: Option<ModuleWork>,
}

fn work_of(m: &crate::core::module::Module) -> ModuleWork {
    ModuleWork {
        label: m.label(),
        bytes: m.image().len() as u64,
        route: Route::of(m),
    }
}

impl UnitWork {
    pub fn of(bundle: &Bundle) -> UnitWork {
        UnitWork {
            modules: bundle.modules.iter().map(|m| work_of(&m.module)).collect(),
            tests: bundle.tests.as_ref().map_or(0, |t| t.plan.tests.len()),
            ready_line: bundle
                .tests
                .as_ref()
                .is_some_and(|t| t.plan.ready.is_some()),
            final_module: bundle.final_firmware.as_ref().map(|m| work_of(&m.module)),
        }
    }
}

impl Costs {
    /// Erasing and writing one module over DFU.
    pub fn dfu_module_ms(&self, bytes: u64) -> f64 {
        let pages = bytes.div_ceil(PAGE_BYTES) as f64;
        self.module_overhead_ms + pages * self.page_erase_ms + bytes as f64 * self.dfu_byte_us / 1e3
    }

    /// The erase's share of a DFU module's time.
    pub fn erase_share(&self, bytes: u64) -> f64 {
        let pages = bytes.div_ceil(PAGE_BYTES) as f64;
        pages * self.page_erase_ms / self.dfu_module_ms(bytes).max(1.0)
    }

    /// Sending a module by control requests; Device OS installs it at the reset after.
    pub fn control_module_ms(&self, bytes: u64) -> f64 {
        bytes as f64 * self.control_byte_us / 1e3
    }

    /// The reset that installs a module sent by control requests: Device OS waits, the
    /// bootloader copies it in (erase and write, as over DFU), then Device OS starts.
    pub fn install_reset_ms(&self, bytes: u64) -> f64 {
        self.install_wait_ms + self.boot_ms + self.dfu_module_ms(bytes) - self.module_overhead_ms
    }

    /// A flash (or final) stage that writes `writes`: from finding the board to verifying.
    /// `in_firmware`: the board runs Device OS first (it must be read, then reset into DFU).
    pub fn flash_ms(&self, writes: &[&ModuleWork], in_firmware: bool) -> f64 {
        let read = self.read_board_ms;
        let mut ms = if in_firmware { read } else { 0.0 };
        let dfu: Vec<_> = writes.iter().filter(|m| m.route == Route::Dfu).collect();
        if !dfu.is_empty() {
            if in_firmware {
                ms += self.reset_to_dfu_ms;
            }
            ms += dfu.iter().map(|m| self.dfu_module_ms(m.bytes)).sum::<f64>();
            ms += self.reset_to_firmware_ms + read;
        }
        for m in writes.iter().filter(|m| m.route == Route::Control) {
            ms += self.control_module_ms(m.bytes) + self.install_reset_ms(m.bytes) + read;
        }
        // The verification reads module info once more.
        ms + read
    }

    pub fn test_stage_ms(&self, work: &UnitWork) -> f64 {
        match work.tests {
            0 => 0.0,
            n => (if work.ready_line { self.ready_ms } else { 0.0 }) + n as f64 * self.test_ms,
        }
    }
}
