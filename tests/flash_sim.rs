//! Flashing simulated Argons through the real core: every fault ends in its operator code,
//! and the same board, re-seated, then flashes fine.

#[path = "support/sim_rig.rs"]
mod sim_rig;

use std::sync::Arc;
use std::time::Duration;

use flashline::core::bundle::Bundle;
use flashline::core::flash::FlashOptions;
use flashline::core::flash::Flasher;
use flashline::core::module::ModuleFunction;
use flashline::sim::argon::Presence;
use sim_rig::*;

#[test]
fn a_blank_board_gets_the_whole_bundle_in_the_modeled_time() {
    let b = example();
    let mut rig = rig("");
    let r = rig.flash(&b).unwrap();
    assert_eq!(r.modules_written.len(), 3, "{:?}", r.modules_written);
    assert_eq!(
        r.modules_skipped,
        vec!["bootloader#0 v501"],
        "the factory bootloader is the pinned one"
    );
    for f in [
        ModuleFunction::SystemPart,
        ModuleFunction::RadioStack,
        ModuleFunction::UserPart,
    ] {
        assert!(reported(&r, f).valid(), "{f}");
    }
    let secs = r.duration.as_secs_f64();
    assert!(
        (10.0..=25.0).contains(&secs),
        "a full 1.5.0 bundle costs {secs} s"
    );
    let busy = rig.board.stats().device_busy.as_secs_f64();
    assert!(secs / busy <= 1.05, "host overhead ratio {}", secs / busy);
    assert_eq!(
        rig.board.presence(),
        Presence::Firmware { safe_mode: false }
    );
}

#[test]
fn the_softdevice_lands_without_its_prefix_and_flash_matches_the_bundle() {
    let b = example();
    let mut rig = rig("");
    let factory_mbr = rig.board.read_internal(0, 0x1000).unwrap();
    assert_ne!(factory_mbr[..4], [0xFF; 4], "the board has an MBR");
    rig.flash(&b).unwrap();
    for m in &b.modules {
        if m.module.function() == ModuleFunction::Bootloader {
            continue;
        }
        let image = m.module.image();
        let flash = rig
            .board
            .read_internal(m.module.image_address(), image.len())
            .unwrap();
        assert!(flash == image, "{} differs in flash", m.file);
    }
    // The MBR was never touched.
    assert_eq!(rig.board.read_internal(0, 0x1000).unwrap(), factory_mbr);
}

fn fails_then_succeeds(faults: &str, code: &str) {
    let b = example();
    let mut rig = rig(faults);
    let err = rig.flash(&b).expect_err(faults);
    assert_eq!(err.code().as_str(), code, "{faults}: {err}");
    rig.board.replug();
    let r = rig
        .flash(&b)
        .unwrap_or_else(|e| panic!("{faults}: retry failed: {e}"));
    assert!(reported(&r, ModuleFunction::SystemPart).valid());
}

#[test]
fn unplugged_during_the_first_module() {
    fails_then_succeeds("unplug", "E-UNPLUGGED");
}

#[test]
fn unplugged_in_the_system_part() {
    fails_then_succeeds("unplug-after:200000", "E-UNPLUGGED");
}

#[test]
fn unplugged_in_a_dfu_state() {
    fails_then_succeeds("unplug-in:dfuDNBUSY", "E-UNPLUGGED");
    fails_then_succeeds("unplug-in:dfuMANIFEST", "E-REENUM");
}

#[test]
fn a_stalling_board() {
    fails_then_succeeds("stall", "E-DFU-STALL");
}

#[test]
fn write_errors() {
    fails_then_succeeds("write-error", "E-DFU-WRITE");
    fails_then_succeeds("write-error:0xd4000", "E-DFU-WRITE");
}

#[test]
fn an_erase_that_never_ends_times_out() {
    fails_then_succeeds("slow-erase", "E-DFU-TIMEOUT");
}

#[test]
fn a_board_that_never_comes_back() {
    fails_then_succeeds("no-reenumerate", "E-REENUM");
}

#[test]
fn a_flipped_bit_in_flash_fails_verification() {
    fails_then_succeeds("corrupt", "E-VERIFY");
}

#[test]
fn readback_catches_corruption_at_write_time() {
    let b = example();
    let mut rig = rig("corrupt");
    let mut flasher = Flasher {
        bus: &mut rig.bus,
        clock: &rig.clock,
        port: rig.board.port(),
        bundle: &b,
        options: FlashOptions {
            dfu: flashline::core::dfu::DfuOptions {
                readback: true,
                ..Default::default()
            },
            ..Default::default()
        },
    };
    let err = flasher.run(&mut |_| {}).unwrap_err();
    assert_eq!(err.code().as_str(), "E-DFU-READBACK", "{err}");
}

#[test]
fn a_full_flash_with_readback_reads_every_module_back() {
    // UPLOAD from dfuIDLE after SET_ADDRESS and ABORT, blocks 2, 3, … (usbd_dfu.cpp:210-257,
    // 371-391 @ v6.2.0): every range written reads back equal.
    let b = example();
    let mut rig = rig("");
    let options = FlashOptions {
        dfu: flashline::core::dfu::DfuOptions {
            readback: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let r = rig.flash_with(&b, options).unwrap();
    assert_eq!(r.modules_written.len(), 3);
    assert!(!rig.board.reset_pending());
}

#[test]
fn a_boron_is_refused_before_anything_is_written() {
    let b = example();
    let mut rig = rig("wrong-platform");
    let err = rig.flash(&b).unwrap_err();
    assert_eq!(err.code().as_str(), "E-WRONG-PLATFORM");
    assert!(err.to_string().contains("boron"), "{err}");
    assert_eq!(rig.board.stats().bytes_written, 0);
    assert_eq!(rig.board.stats().pages_erased, 0);
}

#[test]
fn no_board_on_the_port() {
    let b = example();
    let mut rig = rig("");
    rig.board.unplug();
    let err = rig.flash(&b).unwrap_err();
    assert_eq!(err.code().as_str(), "E-NO-BOARD");
}

#[test]
fn a_board_that_already_has_the_bundle_gets_nothing_written() {
    let b = example();
    let mut rig = rig("");
    rig.board.preload(&b.parsed_modules());
    let r = rig.flash(&b).unwrap();
    assert!(r.modules_written.is_empty(), "{:?}", r.modules_written);
    assert_eq!(r.modules_skipped.len(), 4);
    assert_eq!(rig.board.stats().bytes_written, 0);
    assert!(r.duration < Duration::from_secs(1), "{:?}", r.duration);
}

#[test]
fn a_board_with_the_same_softdevice_skips_it_and_still_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let other = Bundle::load(&variant(tmp.path(), ModuleFunction::UserPart, 9)).unwrap();
    let b = example();
    let mut rig = rig("");
    rig.board.preload(&other.parsed_modules());
    let r = rig.flash(&b).unwrap();
    assert_eq!(r.modules_written, vec!["user-part#1 v5"]);
    assert!(r
        .modules_skipped
        .contains(&"radio-stack#0 v202".to_string()));
    assert!(
        r.duration < Duration::from_secs(10),
        "only the user part: {:?}",
        r.duration
    );
}

#[test]
fn a_newer_device_os_on_the_board_is_downgraded_to_the_pinned_one() {
    let tmp = tempfile::tempdir().unwrap();
    let newer = Bundle::load(&variant(tmp.path(), ModuleFunction::SystemPart, 2202)).unwrap();
    let b = example();
    let mut rig = rig("");
    rig.board.preload(&newer.parsed_modules());
    let r = rig.flash(&b).unwrap();
    assert_eq!(r.modules_written, vec!["system-part#1 v1502"]);
    assert_eq!(reported(&r, ModuleFunction::SystemPart).version, 1502);
}

#[test]
fn a_blank_board_with_an_old_bootloader_gets_dfu_modules_then_its_bootloader() {
    let b = example();
    let mut rig = rig("");
    rig.board.set_factory_bootloader(400);
    let mut stages = Vec::new();
    let mut flasher = Flasher {
        bus: &mut rig.bus,
        clock: &rig.clock,
        port: rig.board.port(),
        bundle: &b,
        options: FlashOptions::default(),
    };
    let r = flasher
        .run(&mut |e| {
            if let flashline::core::event::Event::Stage { stage, .. } = e {
                stages.push(stage)
            }
        })
        .unwrap();
    assert_eq!(r.modules_written.last().unwrap(), "bootloader#0 v501");
    assert_eq!(reported(&r, ModuleFunction::Bootloader).version, 501);
    use flashline::core::event::Stage::*;
    let dfu = stages.iter().position(|s| *s == Dfu).unwrap();
    let boot = stages.iter().position(|s| *s == Bootloader).unwrap();
    assert!(
        dfu < boot,
        "DFU modules first on a board in DFU: {stages:?}"
    );
}

#[test]
fn a_running_board_with_an_old_bootloader_gets_it_first_by_control_request() {
    let b = example();
    let mut rig = rig("");
    let mut modules: Vec<_> = b.parsed_modules();
    modules.retain(|m| m.function() != ModuleFunction::Bootloader);
    rig.board.set_factory_bootloader(400);
    rig.board.preload(&modules);
    assert_eq!(rig.board.presence(), Presence::Firmware { safe_mode: true });
    let r = rig.flash(&b).unwrap();
    assert_eq!(r.modules_written, vec!["bootloader#0 v501"]);
    assert_eq!(
        rig.board.presence(),
        Presence::Firmware { safe_mode: false }
    );
}

#[test]
fn unplugged_while_it_resets_into_dfu() {
    // The board disappears for good between "enter DFU" and its re-enumeration.
    let tmp = tempfile::tempdir().unwrap();
    let other = Bundle::load(&variant(tmp.path(), ModuleFunction::UserPart, 9)).unwrap();
    let b = example();
    let mut rig = rig("no-reenumerate");
    rig.board.preload(&other.parsed_modules());
    let err = rig.flash(&b).unwrap_err();
    assert_eq!(err.code().as_str(), "E-REENUM", "{err}");
    rig.board.replug();
    assert_eq!(
        rig.flash(&b).unwrap().modules_written,
        vec!["user-part#1 v5"]
    );
}

#[test]
fn a_refused_enter_dfu_request_falls_back_to_the_14400_baud_trick() {
    let tmp = tempfile::tempdir().unwrap();
    let other = Bundle::load(&variant(tmp.path(), ModuleFunction::UserPart, 9)).unwrap();
    let b = example();
    for with_serial in [false, true] {
        let mut rig = rig("refuse-dfu-request");
        rig.board.preload(&other.parsed_modules());
        let serial: Box<dyn flashline::ports::SerialPorts> =
            Box::new(flashline::sim::serial::SimSerialPorts::new(vec![rig
                .board
                .clone()]));
        let options = FlashOptions {
            dfu_by_serial: with_serial.then(|| {
                flashline::core::flash::SerialFallback(Arc::new(std::sync::Mutex::new(serial)))
            }),
            ..FlashOptions::default()
        };
        let mut flasher = Flasher {
            bus: &mut rig.bus,
            clock: &rig.clock,
            port: rig.board.port(),
            bundle: &b,
            options,
        };
        let result = flasher.run(&mut |_| {});
        match with_serial {
            false => assert_eq!(result.unwrap_err().code().as_str(), "E-CONTROL"),
            true => assert_eq!(result.unwrap().modules_written, vec!["user-part#1 v5"]),
        }
    }
}
