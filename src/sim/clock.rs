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
/// and `now()` reports the modeled time. Each thread may run ahead of real time by a little
/// (`SLACK`), so the thousands of sub-millisecond sleeps of a flash are coalesced into sleeps
/// the OS can actually do; concurrency between threads stays real.
pub struct ScaledClock {
    origin: std::time::Instant,
    speedup: f64,
    id: usize,
}

/// How far (in real time) a thread's virtual time may run ahead before it really sleeps.
const SLACK: Duration = Duration::from_millis(2);

thread_local! {
    static AHEAD: std::cell::RefCell<std::collections::HashMap<usize, Duration>> = Default::default();
}

impl ScaledClock {
    pub fn new(speedup: f64) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        ScaledClock {
            origin: std::time::Instant::now(),
            speedup: speedup.max(1e-3),
            id: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn real(&self) -> Duration {
        self.origin.elapsed().mul_f64(self.speedup)
    }

    fn cursor(&self) -> Duration {
        AHEAD
            .with(|a| a.borrow().get(&self.id).copied())
            .unwrap_or_default()
            .max(self.real())
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Duration {
        self.cursor()
    }

    fn sleep(&self, d: Duration) {
        let target = self.cursor() + d;
        AHEAD.with(|a| a.borrow_mut().insert(self.id, target));
        let ahead = target.saturating_sub(self.real()).div_f64(self.speedup);
        if ahead > SLACK {
            std::thread::sleep(ahead);
        }
    }
}
