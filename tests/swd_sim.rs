//! The SWD flasher through the real core on simulated probes and boards: it leaves exactly the
//! flash DFU leaves (plus the bootloader), and it never flashes one board and verifies another.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use flashline::core::bundle::Bundle;
use flashline::core::flash::{FlashError, FlashOptions, FlashReport, Flasher, SwdFlasher};
use flashline::core::image::image_of;
use flashline::core::module::reseal::{edit_prefix, field};
use flashline::core::module::Module;
use flashline::ports::{Clock, PortPath};
use flashline::sim::argon::Presence;
use flashline::sim::swd::SimProbe;
use flashline::sim::{Fault, SimArgon, SimBus, VirtualClock};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bundles/example-argon");

fn example() -> Bundle {
    Bundle::load(Path::new(EXAMPLE)).unwrap()
}

fn board(clock: &VirtualClock, port: &str, seed: u64, faults: &str) -> SimArgon {
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    SimArgon::blank(shared, port, seed, Fault::parse_list(faults).unwrap())
}

fn swd(
    clock: &VirtualClock,
    on_probe: &SimArgon,
    on_bus: &[SimArgon],
    port: Option<PortPath>,
    options: FlashOptions,
) -> Result<(FlashReport, PortPath), FlashError> {
    let mut probe = SimProbe::new("P1", Some(on_probe.clone()), false);
    let mut bus = SimBus::new(on_bus.to_vec());
    let bundle = example();
    let mut flasher = SwdFlasher {
        probe: &mut probe,
        bus: &mut bus,
        clock,
        port,
        bundle: &bundle,
        options,
    };
    flasher.run(&mut |_| {})
}

#[test]
fn swd_leaves_the_flash_dfu_leaves_and_the_bootloader_too() {
    let bundle = example();
    let clock = VirtualClock::new();
    let by_dfu = board(&clock, "1-1", 1, "");
    let mut bus = SimBus::new(vec![by_dfu.clone()]);
    Flasher {
        bus: &mut bus,
        clock: &clock,
        port: by_dfu.port(),
        bundle: &bundle,
        options: FlashOptions::default(),
    }
    .run(&mut |_| {})
    .unwrap();

    let by_swd = board(&clock, "1-2", 2, "no-bootloader");
    let (report, port) = swd(
        &clock,
        &by_swd,
        std::slice::from_ref(&by_swd),
        None,
        FlashOptions::default(),
    )
    .unwrap();
    assert_eq!(port, by_swd.port());
    assert!(report
        .modules_written
        .iter()
        .any(|m| m.starts_with("bootloader")));

    // DFU owns 0x1000..0xF4000 (the MBR and the bootloader are not its to write).
    let dfu_owned = 0xF4000 - 0x1000;
    assert_eq!(
        by_dfu.read_internal(0x1000, dfu_owned),
        by_swd.read_internal(0x1000, dfu_owned),
        "the same bytes at the same addresses"
    );
    let bootloader = image_of(&bundle, true).pop().unwrap();
    assert_eq!(bootloader.address, 0xF4000);
    assert_eq!(
        by_swd
            .read_internal(0xF4000, bootloader.bytes.len())
            .unwrap(),
        bootloader.bytes
    );
}

#[test]
fn a_port_that_reaches_another_board_is_refused_before_anything_is_written() {
    let clock = VirtualClock::new();
    let on_probe = board(&clock, "1-1", 1, "");
    let other = board(&clock, "1-2", 2, "");
    let both = [on_probe.clone(), other.clone()];
    let e = swd(
        &clock,
        &on_probe,
        &both,
        Some(other.port()),
        FlashOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, FlashError::WrongBoard { .. }), "{e}");
    assert_eq!(e.code().as_str(), "E-WRONG-BOARD");
    assert_eq!(on_probe.stats().pages_erased, 0);
    assert_eq!(other.stats().pages_erased, 0);
    // The probe let the chip it had halted run again: it is back on USB.
    clock.sleep(Duration::from_secs(2));
    assert!(
        matches!(
            on_probe.presence(),
            Presence::Dfu | Presence::Firmware { .. }
        ),
        "{:?}",
        on_probe.presence()
    );
}

#[test]
fn without_a_port_the_board_is_found_by_its_device_id_among_others() {
    let clock = VirtualClock::new();
    let on_probe = board(&clock, "1-3", 3, "no-bootloader");
    let others = [board(&clock, "1-1", 1, ""), board(&clock, "1-2", 2, "")];
    let bus: Vec<SimArgon> = others.iter().cloned().chain([on_probe.clone()]).collect();
    let (report, port) = swd(&clock, &on_probe, &bus, None, FlashOptions::default()).unwrap();
    assert_eq!(port, on_probe.port());
    assert_eq!(report.device_id, Some(on_probe.device_id()));
    for o in &others {
        assert_eq!(o.stats().pages_erased, 0, "{}", o.port());
    }
}

#[test]
fn an_abort_before_attaching_writes_nothing() {
    let clock = VirtualClock::new();
    let b = board(&clock, "1-1", 1, "");
    let options = FlashOptions {
        cancel: Some(Arc::new(AtomicBool::new(true))),
        ..FlashOptions::default()
    };
    let e = swd(&clock, &b, std::slice::from_ref(&b), None, options).unwrap_err();
    assert_eq!(e.code().as_str(), "E-ABORTED");
    assert_eq!(b.stats().pages_erased, 0);
}

#[test]
fn a_board_pulled_out_while_compared_or_written_fails_with_the_code_hardware_gives() {
    // The compare reads the whole image first (≈3.4 s at 250 KB/s), then pages are written.
    for (at_s, code, written) in [(2, "E-SWD-TARGET", false), (6, "E-SWD-FLASH", true)] {
        let clock = VirtualClock::new();
        let b = board(&clock, "1-1", 1, "");
        b.unplug_at(Duration::from_secs(at_s));
        let e = swd(
            &clock,
            &b,
            std::slice::from_ref(&b),
            None,
            FlashOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.code().as_str(), code, "unplugged at {at_s} s: {e}");
        assert_eq!(b.stats().pages_erased > 0, written, "unplugged at {at_s} s");
        if written {
            assert!(e.to_string().contains("went away"), "{e}");
        }
    }
}

#[test]
fn a_board_of_another_platform_still_booting_is_refused_by_what_its_flash_says() {
    // At the station the job starts as the fixture closes, before the board is on USB: the
    // platform in its flash (here a system part built for the Boron) is what gives it away.
    let clock = VirtualClock::new();
    let b = board(&clock, "1-1", 1, "");
    let mut system_part =
        std::fs::read(Path::new(EXAMPLE).join("argon-system-part1@1.5.0.bin")).unwrap();
    edit_prefix(&mut system_part, |p| {
        p[field::PLATFORM..field::PLATFORM + 2].copy_from_slice(&13u16.to_le_bytes())
    })
    .unwrap();
    b.preload(&[Module::parse(system_part).unwrap()]);
    b.reset_stats();
    let e = swd(&clock, &b, &[], None, FlashOptions::default()).unwrap_err();
    assert_eq!(e.code().as_str(), "E-WRONG-PLATFORM", "{e}");
    assert!(e.to_string().contains("boron"), "{e}");
    assert_eq!(b.stats().pages_erased, 0, "nothing written");
}

#[test]
fn a_board_that_holds_the_bundle_is_reported_untouched() {
    let clock = VirtualClock::new();
    let b = board(&clock, "1-1", 1, "");
    b.preload(&example().parsed_modules());
    let (report, _) = swd(
        &clock,
        &b,
        std::slice::from_ref(&b),
        None,
        FlashOptions::default(),
    )
    .unwrap();
    assert!(
        report.modules_written.is_empty(),
        "{:?}",
        report.modules_written
    );
    assert_eq!(
        report.modules_skipped.len(),
        4,
        "{:?}",
        report.modules_skipped
    );
    assert_eq!(report.bytes_written, 0);
}
