//! The test firmware on the simulated board: after boot it prints `READY` on its USB serial
//! port and answers the line protocol with plausible values for a motor-controller PCB.
//! Peripheral faults (`meas:`, `no-reply:`, `err:`, `garbage:`, `serial-drop:`) name a test;
//! they apply to a command with a word equal to the name or to one of its `_` parts
//! (`rail_3v3` → `MEAS 3V3`). Only a user part registered as test firmware answers.

use std::collections::VecDeque;
use std::time::Duration;

use super::Board;
use crate::sim::fault::Fault;

/// How long after boot the test firmware prints READY.
const READY_AFTER_BOOT: Duration = Duration::from_millis(400);
/// Time a command takes on the board (ADC averaging, a loopback toggle).
const COMMAND_TIME: Duration = Duration::from_millis(20);

#[derive(Debug, Default, Clone)]
pub(crate) struct SerialState {
    pub out: VecDeque<Vec<u8>>,
    /// Generation the READY line was printed for.
    pub ready_for: u64,
    pub dropped: bool,
}

pub(crate) enum Answer {
    Line(Vec<u8>),
    Silence,
    Dropped,
}

impl Board {
    /// Whether the running firmware is the registered test firmware.
    pub(crate) fn runs_test_firmware(&self) -> bool {
        let running = self.running_app();
        running.is_some() && running == self.test_firmware
    }

    /// Queues the ready line once per boot.
    pub(crate) fn serial_boot_output(&mut self) {
        if self.serial.ready_for != self.generation && self.runs_test_firmware() {
            self.serial.ready_for = self.generation;
            self.serial.out.push_back(b"Device OS test mode".to_vec());
            self.serial.out.push_back(b"READY".to_vec());
            self.spend(READY_AFTER_BOOT);
        }
    }

    pub(crate) fn serial_command(&mut self, line: &str) -> Answer {
        if !self.runs_test_firmware() {
            return Answer::Silence;
        }
        self.spend(COMMAND_TIME);
        let words: Vec<String> = line
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        let names = |test: &str| {
            test.to_ascii_lowercase()
                .split('_')
                .any(|p| words.iter().any(|w| w == p))
                || words.iter().any(|w| w.eq_ignore_ascii_case(test))
        };
        for fault in &self.faults {
            match fault {
                Fault::Meas(t, v) if names(t) => {
                    return Answer::Line(format!("OK {v} {}", unit_of(&words)).into_bytes())
                }
                Fault::NoReply(t) if names(t) => return Answer::Silence,
                Fault::Err(t) if names(t) => return Answer::Line(b"ERR simulated fault".to_vec()),
                Fault::Garbage(t) if names(t) => {
                    return Answer::Line(vec![0xff, 0x00, 0x9c, 0x4f, 0x4b, 0xfe])
                }
                Fault::SerialDrop(t) if names(t) => {
                    self.serial.dropped = true;
                    return Answer::Dropped;
                }
                _ => {}
            }
        }
        Answer::Line(plausible(&words).into_bytes())
    }
}

fn unit_of(words: &[String]) -> &'static str {
    match words.first().map(String::as_str) {
        Some("pwm") => "%",
        Some("meas") => "V",
        _ => "",
    }
}

fn plausible(words: &[String]) -> String {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["meas", "vin"] => "OK 12.02 V".into(),
        ["meas", "3v3"] => "OK 3.31 V".into(),
        ["meas", _] => "OK 1.00 V".into(),
        ["gpio", ..] => "OK".into(),
        ["i2c", "probe", addr] => format!("OK {addr}"),
        ["pwm", duty] => match duty.parse::<f64>() {
            Ok(d) => format!("OK {:.1} %", d + 0.3),
            Err(_) => "ERR bad duty".into(),
        },
        _ => "ERR unknown command".into(),
    }
}
