//! Shared virtual time for several threads: the station's slot jobs each run on their own
//! thread, and a scripted run must still be deterministic. A worker's `sleep` blocks until the
//! coordinator (the station's main loop, whose own `sleep` advances the world) lets virtual
//! time reach its wake-up; workers are woken one at a time, earliest first.
//!
//! Rule: a worker blocks only by sleeping on this clock (never on a channel the coordinator
//! feeds), or the world stops.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::ports::Clock;

thread_local! {
    static IS_WORKER: Cell<bool> = const { Cell::new(false) };
}

#[derive(Default)]
struct State {
    now: Duration,
    /// Workers running (not asleep).
    running: usize,
    /// Sleeping workers: (wake time, ticket).
    sleepers: BTreeSet<(Duration, u64)>,
    released: BTreeSet<u64>,
    next_ticket: u64,
}

#[derive(Clone, Default)]
pub struct VirtualScheduler {
    inner: Arc<(Mutex<State>, Condvar)>,
}

impl VirtualScheduler {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.inner.1.wait(guard).unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on a worker thread whose sleeps are scheduled on this clock.
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> JoinHandle<T> {
        self.state().running += 1;
        let me = self.clone();
        std::thread::spawn(move || {
            IS_WORKER.with(|w| w.set(true));
            // Decrement even if `f` panics, so the coordinator is not left waiting.
            struct Exit(VirtualScheduler);
            impl Drop for Exit {
                fn drop(&mut self) {
                    self.0.state().running -= 1;
                    self.0.inner.1.notify_all();
                }
            }
            let _exit = Exit(me);
            f()
        })
    }

    /// Advances virtual time to `until`, letting every worker that wakes before it run.
    pub fn advance_to(&self, until: Duration) {
        let mut s = self.state();
        loop {
            while s.running > 0 {
                s = self.wait(s);
            }
            match s.sleepers.first().copied() {
                Some((wake, ticket)) if wake <= until => {
                    s.sleepers.remove(&(wake, ticket));
                    s.now = s.now.max(wake);
                    s.released.insert(ticket);
                    s.running += 1;
                    self.inner.1.notify_all();
                }
                _ => {
                    s.now = s.now.max(until);
                    return;
                }
            }
        }
    }

    /// Whether any worker is still alive (running or asleep).
    pub fn has_workers(&self) -> bool {
        let s = self.state();
        s.running > 0 || !s.sleepers.is_empty()
    }
}

impl Clock for VirtualScheduler {
    fn now(&self) -> Duration {
        self.state().now
    }

    fn sleep(&self, d: Duration) {
        if !IS_WORKER.with(Cell::get) {
            let until = self.now() + d;
            self.advance_to(until);
            return;
        }
        let mut s = self.state();
        let ticket = s.next_ticket;
        s.next_ticket += 1;
        let wake = s.now + d;
        s.sleepers.insert((wake, ticket));
        s.running -= 1;
        self.inner.1.notify_all();
        while !s.released.remove(&ticket) {
            s = self.wait(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn workers_interleave_in_virtual_time_order() {
        let clock = VirtualScheduler::new();
        let (tx, rx) = channel();
        for (name, step) in [("a", 30u64), ("b", 20)] {
            let c = clock.clone();
            let tx = tx.clone();
            clock.spawn(move || {
                for _ in 0..3 {
                    c.sleep(Duration::from_millis(step));
                    tx.send((c.now().as_millis(), name)).unwrap();
                }
            });
        }
        drop(tx);
        clock.advance_to(Duration::from_millis(50));
        let early: Vec<_> = rx.try_iter().collect();
        assert_eq!(early, vec![(20, "b"), (30, "a"), (40, "b")]);
        clock.sleep(Duration::from_secs(1));
        let late: Vec<_> = rx.iter().collect();
        assert_eq!(late, vec![(60, "a"), (60, "b"), (90, "a")]);
        assert!(!clock.has_workers());
        assert_eq!(clock.now(), Duration::from_millis(1050));
    }
}
