//! The board's power and reset lifecycle: resets now or promised for later (Device OS's
//! second after a reset request, the bootloader's 500 ms after dfuMANIFEST), the boot that
//! follows with whatever the bootloader copies first, and each new USB enumeration.

use std::time::Duration;

use super::boot;
use super::dfu_device::DfuMachine;
use super::usb_channel::ServiceState;
use super::{Board, PendingReset, Presence, MANIFEST_RESET_DELAY};
use crate::sim::fault::Fault;

impl Board {
    /// Resolves what time has brought: a scheduled unseat, a reset Device OS or the
    /// bootloader promised, or a reset whose boot is done.
    pub(crate) fn settle(&mut self) {
        let now = self.clock.now();
        if self.unplug_at.is_some_and(|at| now >= at) {
            self.unplug_at = None;
            self.unplug();
        }
        if let Some(p) = self.pending_reset {
            if !matches!(self.presence, Presence::Firmware { .. }) {
                self.pending_reset = None;
            } else if now >= p.at {
                self.stats.device_busy += p.at.saturating_sub(p.since);
                self.reset_at(p.at, p.into_dfu);
            }
        }
        if self.presence == Presence::Dfu {
            if let Some(at) = self.dfu.self_reset_due() {
                if now >= at {
                    self.stats.device_busy += MANIFEST_RESET_DELAY;
                    self.reset_at(at, false);
                }
            }
        }
        if let Presence::Rebooting {
            ready_at,
            since,
            into_dfu,
        } = self.presence
        {
            if now >= ready_at && !self.bricked {
                self.stats.device_busy += ready_at.saturating_sub(since);
                let outcome = boot::boot(self, into_dfu);
                let crashed = outcome.crashed;
                self.presence = if outcome.runs_firmware() {
                    Presence::Firmware {
                        safe_mode: outcome.safe_mode(),
                    }
                } else {
                    Presence::Dfu
                };
                self.last_boot = Some(outcome);
                if crashed {
                    // A hard fault at every start: it resets and crashes again, never on USB.
                    self.presence = Presence::Rebooting {
                        ready_at: Duration::MAX,
                        since: ready_at,
                        into_dfu: false,
                    };
                    return;
                }
                self.enumerated();
            }
        }
    }

    /// A fresh USB enumeration: the host sees a new device address, and the USB reset that
    /// comes with it cancels every control request (usb_control_request_channel.cpp:700-707).
    pub(crate) fn enumerated(&mut self) {
        self.dfu = DfuMachine::default();
        self.service = ServiceState::default();
        self.serial.out.clear();
        self.generation += 1;
        self.stats.enumerations += 1;
    }

    /// DFU_DETACH: a detach and attach on the bus, no reset — a new enumeration, still in
    /// DFU mode (usbd_dfu.cpp:161-171).
    pub(crate) fn reattach(&mut self) {
        let now = self.now();
        self.presence = Presence::Rebooting {
            ready_at: now + self.timing.reattach,
            since: now,
            into_dfu: true,
        };
        self.generation += 1;
    }

    /// Resets the board now.
    pub(crate) fn reset(&mut self, into_dfu: bool) {
        let now = self.clock.now();
        self.reset_at(now, into_dfu);
    }

    /// Promises a reset `after` from now: Device OS keeps running until then.
    pub(crate) fn reset_later(&mut self, after: Duration, into_dfu: bool) {
        let since = self.now();
        self.pending_reset = Some(PendingReset {
            at: since + after,
            since,
            into_dfu,
        });
    }

    /// Resets the board at `at`; it comes back after the boot time (or never, with the fault),
    /// running its firmware if it can, or in DFU mode when asked to stay in the bootloader.
    /// The boot includes whatever the bootloader copies from its module slots first.
    fn reset_at(&mut self, at: Duration, into_dfu: bool) {
        let delay = if into_dfu {
            self.timing.reset_to_dfu
        } else {
            self.timing.reset_to_firmware + boot::slot_work(self)
        };
        let never = self.take_fault(|f| *f == Fault::NoReenumerate).is_some()
            || (into_dfu && self.take_fault(|f| *f == Fault::NoDfu).is_some())
            || self.bricked;
        let ready_at = if never { Duration::MAX } else { at + delay };
        self.presence = Presence::Rebooting {
            ready_at,
            since: at,
            into_dfu,
        };
        self.pending_reset = None;
        self.stats.resets += 1;
        self.generation += 1;
    }
}
