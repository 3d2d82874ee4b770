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
use flashline::sim::argon::{Timing, MANIFEST_RESET_DELAY, RESET_TIMINGS};
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
    // Device OS 1.5.0's rows: the example bundle's.
    let reset = RESET_TIMINGS
        .iter()
        .rev()
        .find(|(v, _)| *v <= 1502)
        .unwrap()
        .1;
    assert_eq!(
        ARGON.reset_to_dfu_ms,
        seen(reset.after_control_request + t.reset_to_dfu)
    );
    assert_eq!(
        ARGON.reset_to_firmware_ms,
        seen(MANIFEST_RESET_DELAY + t.reset_to_firmware)
    );
    assert_eq!(
        ARGON.restart_ms,
        seen(reset.after_control_request + t.reset_to_firmware)
    );
    assert_eq!(ARGON.boot_ms, seen(t.reset_to_firmware));
    assert_eq!(
        ARGON.install_wait_ms,
        ms(reset.after_finish + reset.pending_shutdown)
    );
}

#[test]
fn a_units_estimate_before_it_starts_is_the_worst_case_within_a_third() {
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
        start: Default::default(),
        identity: None,
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
    // Before the board is seen, the estimate is the worst case: a board running Device OS
    // (read, then reset into DFU) whose bootloader must be updated too. A blank simulated
    // board needs neither; the plan corrects it at once (tests/station_sim.rs checks the
    // estimate from then on).
    assert!(
        before >= took && (before - took) / took <= 0.34,
        "estimated {before} ms, took {took} ms"
    );
}
