//! A barcode scanner is a USB keyboard to Linux: it "types" each code as key presses and
//! ends it with Enter. This joins evdev key codes into lines — Shift for capitals and
//! symbols, Enter (or keypad Enter) ends a line, and a pause longer than the inter-key
//! timeout drops a half-typed line (a scan cut short must not run into the next one). Pure:
//! the time of each key comes in as `now`.

use std::time::Duration;

use super::trace::MAX_SCAN_CHARS;

/// One evdev `EV_KEY` event: `value` 1 press, 0 release, 2 auto-repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyEvent {
    pub code: u16,
    pub value: i32,
}

/// Scanners type a code in a few milliseconds per key; a gap this long means the last
/// line was cut short.
pub const INTER_KEY_TIMEOUT: Duration = Duration::from_millis(200);

pub const KEY_ENTER: u16 = 28;
pub const KEY_LEFTSHIFT: u16 = 42;
pub const KEY_RIGHTSHIFT: u16 = 54;
pub const KEY_KPENTER: u16 = 96;

/// Key code → (unshifted, shifted) on a US layout, the scanners' factory default. Codes from
/// Linux `include/uapi/linux/input-event-codes.h`.
pub const US_KEYMAP: &[(u16, char, char)] = &[
    (2, '1', '!'),
    (3, '2', '@'),
    (4, '3', '#'),
    (5, '4', '$'),
    (6, '5', '%'),
    (7, '6', '^'),
    (8, '7', '&'),
    (9, '8', '*'),
    (10, '9', '('),
    (11, '0', ')'),
    (12, '-', '_'),
    (13, '=', '+'),
    (16, 'q', 'Q'),
    (17, 'w', 'W'),
    (18, 'e', 'E'),
    (19, 'r', 'R'),
    (20, 't', 'T'),
    (21, 'y', 'Y'),
    (22, 'u', 'U'),
    (23, 'i', 'I'),
    (24, 'o', 'O'),
    (25, 'p', 'P'),
    (26, '[', '{'),
    (27, ']', '}'),
    (30, 'a', 'A'),
    (31, 's', 'S'),
    (32, 'd', 'D'),
    (33, 'f', 'F'),
    (34, 'g', 'G'),
    (35, 'h', 'H'),
    (36, 'j', 'J'),
    (37, 'k', 'K'),
    (38, 'l', 'L'),
    (39, ';', ':'),
    (40, '\'', '"'),
    (41, '`', '~'),
    (43, '\\', '|'),
    (44, 'z', 'Z'),
    (45, 'x', 'X'),
    (46, 'c', 'C'),
    (47, 'v', 'V'),
    (48, 'b', 'B'),
    (49, 'n', 'N'),
    (50, 'm', 'M'),
    (51, ',', '<'),
    (52, '.', '>'),
    (53, '/', '?'),
    (55, '*', '*'),
    (57, ' ', ' '),
    (71, '7', '7'),
    (72, '8', '8'),
    (73, '9', '9'),
    (74, '-', '-'),
    (75, '4', '4'),
    (76, '5', '5'),
    (77, '6', '6'),
    (78, '+', '+'),
    (79, '1', '1'),
    (80, '2', '2'),
    (81, '3', '3'),
    (82, '0', '0'),
    (83, '.', '.'),
    (98, '/', '/'),
];

fn char_of(code: u16, shift: bool) -> Option<char> {
    US_KEYMAP
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|&(_, plain, shifted)| if shift { shifted } else { plain })
}

/// The key events a scanner sends for `text` and Enter (for tests and the simulator).
pub fn keys_for(text: &str) -> Vec<KeyEvent> {
    let press = |code| KeyEvent { code, value: 1 };
    let release = |code| KeyEvent { code, value: 0 };
    let mut out = Vec::new();
    for ch in text.chars() {
        let found = US_KEYMAP
            .iter()
            .find(|(_, plain, shifted)| *plain == ch || *shifted == ch);
        let Some(&(code, plain, _)) = found else {
            continue;
        };
        let shift = plain != ch;
        if shift {
            out.push(press(KEY_LEFTSHIFT));
        }
        out.extend([press(code), release(code)]);
        if shift {
            out.push(release(KEY_LEFTSHIFT));
        }
    }
    out.extend([press(KEY_ENTER), release(KEY_ENTER)]);
    out
}

#[derive(Debug, Default)]
pub struct LineJoiner {
    line: String,
    left_shift: bool,
    right_shift: bool,
    last_key: Option<Duration>,
    /// The line grew past `MAX_SCAN_CHARS`: it is dropped at its Enter.
    overflow: bool,
}

impl LineJoiner {
    /// Feeds one key event; returns a finished, non-empty line at Enter.
    pub fn key(&mut self, event: KeyEvent, now: Duration) -> Option<String> {
        if self
            .last_key
            .is_some_and(|t| now.saturating_sub(t) > INTER_KEY_TIMEOUT)
            && !self.line.is_empty()
        {
            log::warn!("scanner: dropped a cut-short scan `{}`", self.line);
            self.line.clear();
            self.overflow = false;
        }
        self.last_key = Some(now);
        match (event.code, event.value) {
            (KEY_LEFTSHIFT, v) => self.left_shift = v != 0,
            (KEY_RIGHTSHIFT, v) => self.right_shift = v != 0,
            (KEY_ENTER | KEY_KPENTER, 1) => return self.finish(),
            (code, 1) => {
                if let Some(c) = char_of(code, self.left_shift || self.right_shift) {
                    if self.line.chars().count() < MAX_SCAN_CHARS {
                        self.line.push(c);
                    } else {
                        self.overflow = true;
                    }
                }
            }
            _ => {}
        }
        None
    }

    fn finish(&mut self) -> Option<String> {
        let line = std::mem::take(&mut self.line);
        if std::mem::take(&mut self.overflow) {
            log::warn!("scanner: dropped a scan longer than {MAX_SCAN_CHARS} characters");
            return None;
        }
        let line = line.trim().to_string();
        (!line.is_empty()).then_some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn type_all(j: &mut LineJoiner, keys: &[KeyEvent], from: u64) -> Vec<String> {
        keys.iter()
            .enumerate()
            .filter_map(|(i, k)| j.key(*k, ms(from + i as u64 * 3)))
            .collect()
    }

    #[test]
    fn the_keymap_has_each_code_once_and_no_control_characters() {
        for (i, (code, plain, shifted)) in US_KEYMAP.iter().enumerate() {
            assert!(
                US_KEYMAP[..i].iter().all(|(c, _, _)| c != code),
                "code {code} twice"
            );
            assert!(!plain.is_control() && !shifted.is_control());
            assert!(![KEY_ENTER, KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_KPENTER].contains(code));
        }
        assert!(US_KEYMAP.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
    }

    #[test]
    fn shift_and_enter_make_lines() {
        let mut j = LineJoiner::default();
        let mut keys = keys_for("WC-0001");
        keys.extend(keys_for("wo-17/x"));
        assert_eq!(type_all(&mut j, &keys, 0), vec!["WC-0001", "wo-17/x"]);
    }

    #[test]
    fn right_shift_and_keypad_enter_count_too() {
        let mut j = LineJoiner::default();
        let seq = [
            KeyEvent { code: 54, value: 1 },
            KeyEvent { code: 17, value: 1 },
            KeyEvent { code: 54, value: 0 },
            KeyEvent { code: 79, value: 1 },
            KeyEvent { code: 96, value: 1 },
        ];
        assert_eq!(type_all(&mut j, &seq, 0), vec!["W1"]);
    }

    #[test]
    fn a_pause_drops_the_cut_short_line_and_repeats_are_ignored() {
        let mut j = LineJoiner::default();
        let half = &keys_for("WC-00")[..6];
        assert!(type_all(&mut j, half, 0).is_empty());
        let mut next = vec![KeyEvent { code: 2, value: 2 }];
        next.extend(keys_for("WC-0002"));
        assert_eq!(type_all(&mut j, &next, 1_000), vec!["WC-0002"]);
    }

    #[test]
    fn an_overlong_line_is_dropped_whole() {
        let mut j = LineJoiner::default();
        let long = "9".repeat(MAX_SCAN_CHARS + 1);
        assert!(type_all(&mut j, &keys_for(&long), 0).is_empty());
        assert_eq!(type_all(&mut j, &keys_for("WC-1"), 2_000), vec!["WC-1"]);
    }
}
