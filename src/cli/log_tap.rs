//! Where log lines go: stderr, or, while the terminal simulator owns the screen, a buffer it
//! shows below the OLED (a line written over the drawing would garble it).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Mutex;

/// Lines kept while tapped; older ones are dropped.
const KEEP: usize = 500;

static TAP: Mutex<Option<VecDeque<String>>> = Mutex::new(None);

fn tap() -> std::sync::MutexGuard<'static, Option<VecDeque<String>>> {
    TAP.lock().unwrap_or_else(|p| p.into_inner())
}

/// From now on, log lines are kept for `take` instead of going to stderr.
pub fn start() {
    *tap() = Some(VecDeque::new());
}

/// Log lines go to stderr again; the ones not yet taken are returned.
pub fn stop() -> Vec<String> {
    tap().take().map(Vec::from).unwrap_or_default()
}

/// The lines logged since the last call.
pub fn take() -> Vec<String> {
    tap()
        .as_mut()
        .map(|q| q.drain(..).collect())
        .unwrap_or_default()
}

/// The logger's output: one formatted record per write.
pub struct LogTap;

impl Write for LogTap {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut guard = tap();
        match guard.as_mut() {
            Some(lines) => {
                let text = String::from_utf8_lossy(buf);
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    if lines.len() == KEEP {
                        lines.pop_front();
                    }
                    lines.push_back(compact(&strip_ansi(line)));
                }
                Ok(buf.len())
            }
            None => {
                drop(guard);
                std::io::stderr().write_all(buf).map(|()| buf.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// `[2026-12-01T08:59:49.331Z INFO  flashline::runtime] slot A: …` → `INFO slot A: …`: under
/// the screen the time and the module take the room the message needs.
fn compact(line: &str) -> String {
    let Some((head, message)) = line.strip_prefix('[').and_then(|l| l.split_once("] ")) else {
        return line.to_string();
    };
    match head.split_whitespace().nth(1) {
        Some(level) => format!("{level} {message}"),
        None => line.to_string(),
    }
}

/// Drops terminal colour sequences (`ESC [ … m`), so a kept line has its visible width.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tapped_lines_are_kept_without_colours_and_given_back_at_the_end() {
        start();
        let mut t = LogTap;
        t.write_all(b"\x1b[32mINFO\x1b[0m slot A: PASS\n").unwrap();
        assert_eq!(take(), vec!["INFO slot A: PASS".to_string()]);
        t.write_all(b"[2026-12-01T08:59:49.331Z \x1b[32mINFO \x1b[0m flashline::runtime] slot A: flashing\n")
            .unwrap();
        assert_eq!(take(), vec!["INFO slot A: flashing".to_string()]);
        t.write_all(b"late\n").unwrap();
        assert_eq!(stop(), vec!["late".to_string()]);
    }
}
