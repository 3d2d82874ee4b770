//! Clocks for simulation: virtual (instant, for tests and `--sim`), and scaled real time
//! (for benchmarks where host concurrency must be real).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::ports::Clock;

/// Time that only moves when someone sleeps on it. Each simulated board's timeline is
/// independent, so one clock serves one slot.
#[derive(Debug, Default, Clone)]
pub struct VirtualClock {
    nanos: Arc<AtomicU64>,
}

impl VirtualClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn starting_at(at: Duration) -> Self {
        let c = Self::default();
        c.nanos.store(at.as_nanos() as u64, Ordering::SeqCst);
        c
    }

    /// Moves the clock forward to `at` if it is behind it.
    pub fn advance_to(&self, at: Duration) {
        self.nanos.fetch_max(at.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    fn sleep(&self, d: Duration) {
        self.nanos.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }
}

/// Real time divided by `speedup`: a 20 s flash at speedup 50 takes 0.4 s of real sleeping,
/// and `now()` reports the modeled time.
pub struct ScaledClock {
    origin: std::time::Instant,
    speedup: f64,
}

impl ScaledClock {
    pub fn new(speedup: f64) -> Self {
        ScaledClock {
            origin: std::time::Instant::now(),
            speedup: speedup.max(1e-3),
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Duration {
        self.origin.elapsed().mul_f64(self.speedup)
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d.div_f64(self.speedup))
    }
}
