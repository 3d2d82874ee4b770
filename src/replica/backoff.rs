//! When to try the line database again, as state that takes `now` (quinn-proto's
//! `poll_timeout`): no clock inside, so the schedule is tested on virtual time without sleeping.

use std::time::Duration;

/// The first retry comes after `FIRST`; each failure doubles the wait up to `MAX`, so a
/// server that is down for an hour costs the station one attempt a minute, and one that
/// blinked costs a second.
pub const FIRST: Duration = Duration::from_secs(1);
pub const MAX: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    /// Failures in a row.
    failures: u32,
    /// When the next attempt is due; `None` when nothing failed (try whenever there is work).
    due: Option<Duration>,
}

impl Backoff {
    /// An attempt failed at `now`: the next one waits twice as long as the last.
    pub fn failed(&mut self, now: Duration) {
        let wait = FIRST.saturating_mul(1u32 << self.failures.min(16)).min(MAX);
        self.failures = self.failures.saturating_add(1);
        self.due = Some(now + wait);
    }

    /// An attempt succeeded: the next one may go at once.
    pub fn succeeded(&mut self) {
        *self = Backoff::default();
    }

    /// When the next attempt may go (`None`: now, when there is something to send).
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.due
    }

    /// Whether an attempt may go at `now`.
    pub fn ready(&self, now: Duration) -> bool {
        self.due.is_none_or(|due| now >= due)
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn waits_double_up_to_a_minute_and_reset_on_success() {
        let mut b = Backoff::default();
        assert!(b.ready(s(0)) && b.poll_timeout().is_none());
        let mut now = s(100);
        let mut waits = Vec::new();
        for _ in 0..9 {
            b.failed(now);
            let due = b.poll_timeout().unwrap();
            assert!(
                !b.ready(due - Duration::from_millis(1)),
                "not before it is due"
            );
            assert!(b.ready(due));
            waits.push((due - now).as_secs());
            now = due;
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(b.failures(), 9);
        b.succeeded();
        assert!(b.ready(now) && b.poll_timeout().is_none());
        b.failed(now);
        assert_eq!(
            b.poll_timeout(),
            Some(now + FIRST),
            "a new outage starts small"
        );
    }

    #[test]
    fn a_long_outage_never_overflows() {
        let mut b = Backoff::default();
        for i in 0..100_000u64 {
            b.failed(s(i * 60));
        }
        assert_eq!(b.poll_timeout(), Some(s(99_999 * 60) + MAX));
    }
}
