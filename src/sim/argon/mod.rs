//! A simulated Gen3 board of any nRF52840 platform (Argon, Boron, B SoM, B5 SoM, Tracker,
//! E SoM X): the memories of the chip, its DFU bootloader, Device OS's boot checks and control
//! requests, with the costs of docs/particle-usb.md §7 charged to a clock. What the board is
//! comes from a `SimBoardSpec` (spec.rs); how it behaves, from the bootloader and the Device OS
//! it holds (the flash maps of core::target, and the version tables here).

mod assets;
mod boot;
pub(crate) mod bootloader;
mod control_server;
pub(crate) mod device_os;
pub(crate) mod dfu_device;
mod dfu_write;
mod firmware_update;
mod install;
mod memory;
mod module_info;
mod ncp;
mod ota;
mod power;
mod scan;
mod slots;
pub mod spec;
pub mod stand_in;
mod swd_target;
pub(crate) mod test_firmware;
mod timing;
mod usb_channel;

pub use assets::StoredAsset;
pub use boot::{BootOutcome, Running};
pub use memory::NorFlash;
pub use ncp::{ncp_update_time, NCP_REBOOT};
pub use scan::{FoundModule, Store};
pub use slots::ModuleSlot;
pub use spec::{SimBoardSpec, FACTORY_BOOTLOADER_VERSION};
pub use timing::{ResetTiming, Timing, MANIFEST_RESET_DELAY, RESET_TIMINGS};

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::core::dfu::DfuState;
use crate::core::module::{Module, Platform, PARTICLE_VID};
use crate::ports::{Clock, DeviceInfo, PortPath};
use dfu_device::DfuMachine;
use usb_channel::ServiceState;

use super::fault::Fault;

pub const INTERNAL_FLASH_SIZE: usize = 1024 * 1024;
pub const EXTERNAL_FLASH_SIZE: usize = 4 * 1024 * 1024;
pub const DCT_SIZE: usize = 16 * 1024;
pub const EXTERNAL_FLASH_BASE: u32 = 0x8000_0000;
/// Initial stack pointer and reset handler, the start of a Cortex-M vector table.
const STAND_IN_MBR: [u8; 8] = [0x00, 0x04, 0x00, 0x20, 0x81, 0x0A, 0x00, 0x00];

/// Where the board is, as the USB bus sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Unplugged,
    /// Reset in progress; enumerates at `ready_at` (never, with `no-reenumerate`).
    Rebooting {
        ready_at: Duration,
        since: Duration,
        into_dfu: bool,
    },
    Dfu,
    Firmware {
        safe_mode: bool,
    },
}

/// A reset Device OS has promised and not done yet: until `at` it keeps running, stays on USB
/// and answers requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingReset {
    pub at: Duration,
    /// When it was promised (the time in between is the board's own, not the host's).
    pub since: Duration,
    pub into_dfu: bool,
}

/// Counters the benchmarks and tests read.
#[derive(Debug, Clone, Default)]
pub struct SimStats {
    /// Time the board itself spent: USB transfers, flash work, resets. Whatever else elapsed
    /// is the host's overhead.
    pub device_busy: Duration,
    pub bytes_written: u64,
    pub pages_erased: u64,
    /// Every reset of the chip, including those the host cannot see (the MBR's reset while a
    /// staged bootloader is installed).
    pub resets: u32,
    /// USB enumerations after a reset or re-attach: what the host can see.
    pub enumerations: u32,
}

pub(crate) struct Board {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) platform: Platform,
    pub(crate) device_id: String,
    pub(crate) port: PortPath,
    pub(crate) internal: NorFlash,
    pub(crate) external: NorFlash,
    pub(crate) dct: NorFlash,
    pub(crate) bootloader: Option<Module>,
    pub(crate) bootloader_version: u16,
    /// Device OS's flash-module slots in the DCT: copies the bootloader makes at the next
    /// boot (flash_mal.c FLASH_UpdateModules).
    pub(crate) slots: Vec<ModuleSlot>,
    /// The ESP32's firmware version, as Device OS reports the NCP (0.0.5 = 5).
    pub(crate) ncp_version: Option<u16>,
    /// A user part in the external flash's factory slot (module info lists it, store FACTORY).
    pub(crate) factory_app: Option<Module>,
    /// The 15-character serial number in the external flash's OTP (deviceid_hal.cpp:66-84).
    pub(crate) serial_number: String,
    /// The user part (by SHA-256) whose app disables firmware updates (System.disableUpdates()).
    pub(crate) updates_disabled_by: Option<[u8; 32]>,
    /// The app disabled resets (System.disableReset()): a pending shutdown never happens.
    pub(crate) resets_disabled: bool,
    pub(crate) pending_reset: Option<PendingReset>,
    pub(crate) presence: Presence,
    /// Bumped at every enumeration change: an open handle from an older generation is stale.
    pub(crate) generation: u64,
    pub(crate) dfu: DfuMachine,
    pub(crate) faults: Vec<Fault>,
    /// Faults that fired and persist until the board is re-seated (stall, slow erase).
    pub(crate) active_faults: Vec<Fault>,
    pub(crate) timing: Timing,
    pub(crate) stats: SimStats,
    pub(crate) last_boot: Option<BootOutcome>,
    pub(crate) service: ServiceState,
    /// Time spent but not yet slept.
    pub(crate) debt: Duration,
    /// When the board will be pulled out of the fixture (a scripted unseat).
    pub(crate) unplug_at: Option<Duration>,
    /// SHA-256 of the user part that is the test firmware (it answers the line protocol).
    pub(crate) test_firmware: Option<[u8; 32]>,
    pub(crate) serial: test_firmware::SerialState,
    /// No working bootloader: nothing runs and nothing enumerates (until SWD writes one).
    pub(crate) bricked: bool,
    /// APPROTECT set: SWD may only erase the chip whole.
    pub(crate) locked: bool,
    /// Device Protection (security mode PROTECTED), and whether it is overridden for service.
    pub(crate) protected: bool,
    pub(crate) service_mode: bool,
    /// UICR NRFFW[1]: the MBR parameter page the MBR clears and uses for a bootloader copy
    /// (Nordic nrf_mbr.h `MBR_UICR_PARAM_PAGE_ADDR`); `None` while unset (0xFFFFFFFF).
    pub(crate) mbr_params: Option<u32>,
    /// The asset store in external flash (system/src/asset_manager.cpp @ v6.2.0).
    pub(crate) assets: Vec<StoredAsset>,
}

impl Board {
    /// Charges board time. The time passes on the clock once the board's lock is released
    /// (`SimArgon::pay`), so a scheduler that blocks a sleeping thread never blocks it while
    /// it holds the board.
    pub(crate) fn spend(&mut self, d: Duration) {
        self.stats.device_busy += d;
        self.debt += d;
    }

    /// Holds the board's lock while the host waits for work the board is still doing (a
    /// request held until the work ends), without counting it as more work.
    pub(crate) fn hold(&mut self, d: Duration) {
        self.debt += d;
    }

    /// The board's own time: the clock plus what it has spent and not yet slept.
    pub(crate) fn now(&self) -> Duration {
        self.clock.now() + self.debt
    }

    pub(crate) fn unplug(&mut self) {
        log::debug!("sim {}: unplugged", self.port);
        self.presence = Presence::Unplugged;
        self.generation += 1;
    }

    /// Removes and returns the first armed fault that matches.
    pub(crate) fn take_fault(&mut self, matches: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let i = self.faults.iter().position(matches)?;
        Some(self.faults.remove(i))
    }

    pub(crate) fn has_active(&self, fault: &Fault) -> bool {
        self.active_faults.contains(fault)
    }

    pub(crate) fn dfu_state_entered(&mut self, state: DfuState) -> bool {
        if self.take_fault(|f| *f == Fault::UnplugIn(state)).is_some() {
            self.unplug();
            return true;
        }
        false
    }

    pub(crate) fn usb_pid(&self) -> Option<u16> {
        match self.presence {
            Presence::Dfu => self.platform.usb_pid_dfu,
            Presence::Firmware { .. } => self.platform.usb_pid_normal,
            _ => None,
        }
    }

    pub(crate) fn info(&self) -> Option<DeviceInfo> {
        Some(DeviceInfo {
            vid: PARTICLE_VID,
            pid: self.usb_pid()?,
            port: self.port.clone(),
            serial: Some(self.device_id.clone()),
            address: Some(self.usb_address()),
        })
    }

    /// The device address the host gave this enumeration: a new one each time, wrapping
    /// within USB's 1..=127 as a kernel's numbering does.
    pub(crate) fn usb_address(&self) -> u8 {
        (self.generation % 127) as u8 + 1
    }

    /// The SHA-256 of the user part that runs now (none in safe mode or DFU).
    pub(crate) fn running_app(&self) -> Option<[u8; 32]> {
        self.last_boot
            .as_ref()
            .and_then(|b| b.running_user_part())
            .and_then(|m| m.sha256)
    }

    /// The running system part's module version, 0 when none runs.
    pub(crate) fn system_version(&self) -> u16 {
        self.last_boot
            .as_ref()
            .and_then(|b| b.running)
            .map_or(0, |r| r.version)
    }
}

/// A handle on one simulated board; clones share the board.
#[derive(Clone)]
pub struct SimBoard(pub(crate) Arc<Mutex<Board>>);

/// The name the simulated board had when it was always an Argon.
pub type SimArgon = SimBoard;

impl SimBoard {
    /// A blank Argon (factory bootloader only) that sits in DFU mode, seated on `port`. The
    /// words of `faults` that say what the board is (`wrong-platform`, `no-bootloader`, …)
    /// make the board's spec (spec.rs); the rest stay faults.
    pub fn blank(clock: Arc<dyn Clock>, port: &str, seed: u64, faults: Vec<Fault>) -> SimBoard {
        let (spec, faults) = SimBoardSpec::argon().with_words(faults);
        spec.build(clock, port, seed, faults)
    }

    /// The board `spec` describes, as it comes out of the factory (or its last life).
    pub(crate) fn from_spec(
        spec: &SimBoardSpec,
        clock: Arc<dyn Clock>,
        port: &str,
        seed: u64,
        faults: Vec<Fault>,
    ) -> SimBoard {
        let mut board = Board {
            clock,
            platform: spec.platform,
            device_id: device_id_for(seed),
            port: PortPath(port.to_string()),
            internal: NorFlash::erased(INTERNAL_FLASH_SIZE, 4096),
            external: NorFlash::erased(EXTERNAL_FLASH_SIZE, 4096),
            dct: NorFlash::erased(DCT_SIZE, DCT_SIZE),
            bootloader: None,
            bootloader_version: spec.factory_bootloader,
            slots: Vec::new(),
            ncp_version: spec.ncp,
            factory_app: None,
            serial_number: serial_number_for(spec.platform, seed),
            updates_disabled_by: None,
            resets_disabled: spec.resets_disabled,
            pending_reset: None,
            presence: Presence::Dfu,
            generation: 1,
            dfu: DfuMachine::default(),
            faults,
            active_faults: Vec::new(),
            timing: Timing::default(),
            stats: SimStats::default(),
            last_boot: None,
            service: ServiceState::default(),
            debt: Duration::ZERO,
            unplug_at: None,
            test_firmware: None,
            serial: Default::default(),
            bricked: spec.bricked,
            locked: spec.locked,
            protected: spec.protected,
            service_mode: spec.service_mode,
            mbr_params: None,
            assets: Vec::new(),
        };
        // Nordic's MBR, as every board leaves the factory with (a stand-in vector table: the
        // sim runs no code). Only an erase-all over SWD removes it.
        board.internal.program(0, &STAND_IN_MBR);
        if spec.bricked {
            board.presence = Presence::Rebooting {
                ready_at: Duration::MAX,
                since: Duration::ZERO,
                into_dfu: false,
            };
        } else {
            // The factory bootloader has run once (it sits in DFU mode): it set up the UICR.
            board.configure_uicr_by_bootloader();
        }
        SimBoard(Arc::new(Mutex::new(board)))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Board> {
        // A panic while holding the lock only happens in a failing test; keep the state.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lets the time the board has spent pass on the clock, outside the board's lock.
    pub(crate) fn pay(&self) {
        let (clock, debt) = {
            let mut b = self.lock();
            (b.clock.clone(), std::mem::take(&mut b.debt))
        };
        if !debt.is_zero() {
            clock.sleep(debt);
        }
    }

    /// Sleeps on the board's clock (outside its lock).
    pub(crate) fn sleep(&self, d: Duration) {
        let clock = self.lock().clock.clone();
        clock.sleep(d);
    }

    /// Registers the user part that runs the test protocol (the bundle's, not a final firmware).
    pub fn set_test_firmware(&self, module: &Module) {
        self.lock().test_firmware = Some(module.file_sha256);
    }

    /// Schedules the board's removal from the fixture at `at` on its clock.
    pub fn unplug_at(&self, at: Duration) {
        self.lock().unplug_at = Some(at);
    }

    /// Writes modules straight into flash as Device OS would have installed them (a previous
    /// bundle), then boots the board.
    pub fn preload(&self, modules: &[Module]) {
        self.install(modules, false);
    }

    /// Puts a user part in the external flash's factory slot (Device OS lists it in module
    /// info with store FACTORY from 5.6.0).
    pub fn preload_factory_app(&self, module: &Module) {
        self.lock().factory_app = Some(module.clone());
    }

    /// Takes the board out of the fixture.
    pub fn unplug(&self) {
        self.lock().unplug();
    }

    /// Seats the board again: power-on boot, and the faults that fired are cleared.
    pub fn replug(&self) {
        let mut b = self.lock();
        b.active_faults.clear();
        b.faults.clear();
        b.dfu = DfuMachine::default();
        b.service = ServiceState::default();
        b.unplug_at = None;
        b.pending_reset = None;
        b.reset(false);
        b.stats.resets -= 1;
    }

    /// Whether the board has promised a reset it has not done yet (Device OS's deferred
    /// reset, or the bootloader's countdown after dfuMANIFEST): a host that reports success
    /// now leaves a board that is about to vanish.
    pub fn reset_pending(&self) -> bool {
        let mut b = self.lock();
        b.settle();
        b.pending_reset.is_some() || b.dfu.self_reset_due().is_some()
    }

    /// The USB device address of the board's current enumeration.
    pub fn usb_address(&self) -> u8 {
        let mut b = self.lock();
        b.settle();
        b.usb_address()
    }

    /// What the board's module info reports now.
    pub fn reported_modules(&self) -> Vec<crate::core::control::BoardModule> {
        let mut b = self.lock();
        b.settle();
        b.reported_modules()
    }

    /// Control requests Device OS holds open (at most four).
    pub fn active_requests(&self) -> usize {
        self.lock().active_requests()
    }

    /// The module slots Device OS has left for the bootloader (staged updates).
    pub fn slots(&self) -> Vec<ModuleSlot> {
        self.lock().slots.clone()
    }

    /// Replaces the factory bootloader's version (an older board from the shelf).
    pub fn set_factory_bootloader(&self, version: u16) {
        let mut b = self.lock();
        b.bootloader = None;
        b.bootloader_version = version;
        b.configure_uicr_by_bootloader();
    }

    /// Arms more faults (they fire once).
    pub fn arm(&self, faults: Vec<Fault>) {
        self.lock().faults.extend(faults);
    }

    pub fn presence(&self) -> Presence {
        let mut b = self.lock();
        b.settle();
        b.presence
    }

    pub fn device_id(&self) -> String {
        self.lock().device_id.clone()
    }

    pub fn port(&self) -> PortPath {
        self.lock().port.clone()
    }

    pub fn stats(&self) -> SimStats {
        self.lock().stats.clone()
    }

    pub fn reset_stats(&self) {
        self.lock().stats = SimStats::default();
    }

    pub fn last_boot(&self) -> Option<BootOutcome> {
        let mut b = self.lock();
        b.settle();
        b.last_boot.clone()
    }

    /// UICR NRFFW[1], the MBR parameter page (for tests).
    pub fn mbr_params(&self) -> Option<u32> {
        self.lock().mbr_params
    }

    /// The asset store's contents (for tests).
    pub fn stored_assets(&self) -> Vec<StoredAsset> {
        self.lock().assets.clone()
    }

    /// The bootloader's module version and the NCP's, as the board holds them now.
    pub fn bootloader_version(&self) -> u16 {
        self.lock().bootloader_version
    }

    pub fn ncp_version(&self) -> Option<u16> {
        self.lock().ncp_version
    }

    pub fn platform(&self) -> Platform {
        self.lock().platform
    }

    /// Reads internal flash (for tests).
    pub fn read_internal(&self, address: u32, len: usize) -> Option<Vec<u8>> {
        self.lock().internal.read(address as usize, len)
    }
}

/// A plausible 15-character serial number per seed. Made up: the OTP's format is Particle's
/// and not in Device OS's source, which only requires 15 printable characters.
fn serial_number_for(platform: Platform, seed: u64) -> String {
    let mut tag: String = platform
        .name
        .chars()
        .take(3)
        .collect::<String>()
        .to_uppercase();
    while tag.len() < 3 {
        tag.push('X');
    }
    format!("{tag}SIM{:09}", seed % 1_000_000_000)
}

/// A stable, plausible 24-hex-digit device ID per seed.
fn device_id_for(seed: u64) -> String {
    let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ 0x5bd1_e995;
    format!("e00fce68{mixed:016x}")
}
