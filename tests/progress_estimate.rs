//! The overall estimate's costs are the simulated Argon's (src/sim/argon/timing.rs), and the
//! estimate of a whole unit, made before it starts, is close to what the unit then takes.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::Duration;

use flashline::core::bundle::Bundle;
use flashline::core::progress::{UnitProgress, UnitWork, ARGON};
use flashline::ports::Clock;
use flashline::runtime::{Job, JobMsg};
use flashline::sim::argon::Timing;
use flashline::sim::serial::SimSerialPorts;
use flashline::sim::{SimArgon, SimBus, VirtualClock};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bundles/example-argon");

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[test]
fn the_costs_are_the_simulated_boards() {
    let t = Timing::default();
    assert_eq!(ARGON.page_erase_ms, ms(t.internal_page_erase));
    let per_byte_us = ms(t.internal_word_write) * 1e3 / 4.0 + ms(t.usb_byte) * 1e3;
    assert!(
        (ARGON.dfu_byte_us - per_byte_us).abs() < 0.01,
        "{per_byte_us}"
    );
    // A reset is seen when the host's next poll finds the board (every 100 ms:
    // core/flash/board.rs `POLL_EVERY`).
    let poll = 100.0;
    let seen = |d: Duration| ms(d).div_euclid(poll) * poll + poll;
    assert_eq!(ARGON.reset_to_dfu_ms, seen(t.reset_to_dfu));
    assert_eq!(ARGON.reset_to_firmware_ms, seen(t.reset_to_firmware));
}

#[test]
fn a_units_estimate_before_it_starts_is_within_a_fifth_of_what_it_takes() {
    let bundle = Arc::new(Bundle::load(std::path::Path::new(EXAMPLE)).unwrap());
    let clock = VirtualClock::new();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let board = SimArgon::blank(shared.clone(), "p", 1, vec![]);
    board.set_test_firmware(bundle.test_firmware().unwrap());
    let (tx, rx) = channel();
    Job {
        slot: 0,
        slot_name: "A".into(),
        bus: Box::new(SimBus::new(vec![board.clone()])),
        serial: Box::new(SimSerialPorts::new(vec![board.clone()])),
        port: Some(board.port()),
        probe: None,
        bundle: bundle.clone(),
        clock: shared,
        cancel: Arc::new(AtomicBool::new(false)),
        messages: tx,
        tested_before: None,
        dfu_serial: None,
    }
    .run();
    let took = rx
        .try_iter()
        .find_map(|m| match m {
            JobMsg::Done(_, u) => Some(u.duration_ms),
            JobMsg::Update(..) => None,
        })
        .unwrap() as f64;
    let before = UnitProgress::new(UnitWork::of(&bundle), ARGON, Duration::ZERO)
        .view(Duration::ZERO)
        .remaining_s as f64
        * 1e3;
    // Before it starts, the board's bootloader is unknown: the estimate counts it, and a
    // blank simulated board turns out to have it.
    assert!(
        (before - took).abs() / took <= 0.2,
        "estimated {before} ms, took {took} ms"
    );
}
