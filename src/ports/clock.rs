//! Time as an input. The core never reads the wall clock: it asks a `Clock`, so tests and the
//! simulator run on a virtual clock that advances instantly.

use std::time::Duration;

pub trait Clock: Send + Sync {
    /// Time since an arbitrary, fixed origin.
    fn now(&self) -> Duration;
    /// Waits `d` (a virtual clock just advances).
    fn sleep(&self, d: Duration);
}

/// A point in time after which a wait gives up.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Duration);

impl Deadline {
    pub fn after(clock: &dyn Clock, d: Duration) -> Self {
        Deadline(clock.now() + d)
    }

    pub fn passed(&self, clock: &dyn Clock) -> bool {
        clock.now() >= self.0
    }
}

/// The wall clock, for real hardware.
pub struct SystemClock {
    origin: std::time::Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            origin: std::time::Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d)
    }
}
