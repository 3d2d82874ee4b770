//! Debouncing and press classification, with time as an input.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonEvent {
    /// Released before the long-press time.
    Short,
    /// Held for the long-press time (fires once, while still held).
    Long,
}

/// A level that must hold steady for `settle` before it counts.
#[derive(Debug, Clone)]
pub struct Debouncer {
    settle: Duration,
    stable: bool,
    candidate: bool,
    since: Duration,
}

impl Debouncer {
    pub fn new(settle: Duration) -> Self {
        Debouncer {
            settle,
            stable: false,
            candidate: false,
            since: Duration::ZERO,
        }
    }

    /// Feeds a raw sample; returns the new stable level when it changes.
    pub fn sample(&mut self, level: bool, now: Duration) -> Option<bool> {
        if level != self.candidate {
            self.candidate = level;
            self.since = now;
        }
        if self.candidate != self.stable && now.saturating_sub(self.since) >= self.settle {
            self.stable = self.candidate;
            return Some(self.stable);
        }
        None
    }

    pub fn level(&self) -> bool {
        self.stable
    }
}

/// A debounced button that tells short presses from long ones.
#[derive(Debug, Clone)]
pub struct Button {
    debounce: Debouncer,
    long_after: Duration,
    pressed_at: Option<Duration>,
    long_fired: bool,
}

impl Button {
    pub fn new(settle: Duration, long_after: Duration) -> Self {
        Button {
            debounce: Debouncer::new(settle),
            long_after,
            pressed_at: None,
            long_fired: false,
        }
    }

    pub fn sample(&mut self, level: bool, now: Duration) -> Option<ButtonEvent> {
        match self.debounce.sample(level, now) {
            Some(true) => {
                self.pressed_at = Some(now);
                self.long_fired = false;
                None
            }
            Some(false) => {
                let was_long = self.long_fired;
                self.pressed_at = None;
                (!was_long).then_some(ButtonEvent::Short)
            }
            None => match self.pressed_at {
                Some(at) if !self.long_fired && now.saturating_sub(at) >= self.long_after => {
                    self.long_fired = true;
                    Some(ButtonEvent::Long)
                }
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn bounces_shorter_than_the_settle_time_are_ignored() {
        let mut d = Debouncer::new(ms(30));
        assert_eq!(d.sample(true, ms(0)), None);
        assert_eq!(d.sample(false, ms(10)), None);
        assert_eq!(d.sample(true, ms(20)), None);
        assert_eq!(d.sample(true, ms(40)), None);
        assert_eq!(d.sample(true, ms(50)), Some(true));
        assert_eq!(d.sample(true, ms(60)), None);
        assert!(d.level());
    }

    #[test]
    fn short_and_long_presses() {
        let mut b = Button::new(ms(30), ms(1000));
        let mut events = Vec::new();
        for t in (0..300).step_by(10) {
            events.extend(b.sample(t < 200, ms(t)));
        }
        assert_eq!(events, vec![ButtonEvent::Short]);
        events.clear();
        for t in (1000..3000).step_by(10) {
            events.extend(b.sample(t < 2500, ms(t)));
        }
        assert_eq!(
            events,
            vec![ButtonEvent::Long],
            "a long press does not also give a short one"
        );
    }
}
