//! The host's wait after asking a board to reset (core::flash::wait_for_reenumeration), on a
//! bus that plays back what a real one might show: the board keeps running on the same
//! enumeration for a while (Device OS waits 1000 ms, system_control_internal.cpp:170-176 @
//! v6.2.0), and then its absence may be shorter than one poll.

use std::time::Duration;

use flashline::core::flash::{wait_for_reenumeration, FlashError, Mode};
use flashline::ports::{Clock, DeviceInfo, PortPath, UsbBus, UsbDevice, UsbError};
use flashline::sim::VirtualClock;

const ARGON: u16 = 0xc00c;
const ARGON_DFU: u16 = 0xd00c;

/// What `list` shows from each time on: `(since_ms, Some((pid, address)))` or `None`.
struct Playback {
    clock: VirtualClock,
    script: Vec<(u64, Option<(u16, u8)>)>,
}

fn info(pid: u16, address: u8) -> DeviceInfo {
    DeviceInfo {
        vid: 0x2b04,
        pid,
        port: PortPath("1-1".into()),
        serial: Some("e00fce68f372fe94a3fad5fb".into()),
        address: Some(address),
    }
}

impl UsbBus for Playback {
    fn list(&mut self) -> Result<Vec<DeviceInfo>, UsbError> {
        let now = self.clock.now().as_millis() as u64;
        let shown = self
            .script
            .iter()
            .rev()
            .find(|(since, _)| *since <= now)
            .and_then(|(_, d)| *d);
        Ok(shown.map(|(pid, a)| info(pid, a)).into_iter().collect())
    }

    fn open(&mut self, _port: &PortPath) -> Result<Box<dyn UsbDevice>, UsbError> {
        Err(UsbError::NoDevice)
    }
}

fn wait(script: Vec<(u64, Option<(u16, u8)>)>, want: Mode) -> Result<(Mode, u8, u64), FlashError> {
    let clock = VirtualClock::new();
    let mut bus = Playback {
        clock: clock.clone(),
        script,
    };
    let before = info(ARGON, 7);
    let found = wait_for_reenumeration(
        &mut bus,
        &clock,
        &PortPath("1-1".into()),
        &before,
        Some(want),
        Duration::from_secs(15),
        Duration::from_secs(20),
    )?;
    Ok((
        found.mode,
        found.info.address.unwrap(),
        clock.now().as_millis() as u64,
    ))
}

#[test]
fn the_board_still_running_is_not_taken_for_the_reset_one() {
    // Still address 7 for a second, gone 40 ms (shorter than a poll), back as address 8.
    let (mode, address, at) = wait(
        vec![
            (0, Some((ARGON, 7))),
            (1000, None),
            (1040, Some((ARGON, 8))),
        ],
        Mode::Firmware,
    )
    .unwrap();
    assert_eq!((mode, address), (Mode::Firmware, 8));
    assert!(at >= 1040, "not before it came back: {at} ms");
}

#[test]
fn a_reused_address_counts_once_the_port_was_seen_empty() {
    let (_, address, _) = wait(
        vec![
            (0, Some((ARGON, 7))),
            (1000, None),
            (1500, Some((ARGON, 7))),
        ],
        Mode::Firmware,
    )
    .unwrap();
    assert_eq!(address, 7);
}

#[test]
fn another_mode_is_a_new_enumeration_too() {
    let (mode, _, _) = wait(
        vec![(0, Some((ARGON, 7))), (1000, Some((ARGON_DFU, 7)))],
        Mode::Dfu,
    )
    .unwrap();
    assert_eq!(mode, Mode::Dfu);
}

#[test]
fn a_board_that_never_leaves_is_its_own_failure() {
    let e = wait(vec![(0, Some((ARGON, 7)))], Mode::Firmware).unwrap_err();
    assert!(matches!(e, FlashError::NoReset { .. }), "{e}");
    assert_eq!(e.code().as_str(), "E-NO-RESET");
    assert!(e.to_string().contains("never left USB"), "{e}");
}

#[test]
fn a_board_that_leaves_and_never_returns_is_e_reenum() {
    let e = wait(vec![(0, Some((ARGON, 7))), (1000, None)], Mode::Firmware).unwrap_err();
    assert_eq!(e.code().as_str(), "E-REENUM", "{e}");
}
