//! Boards whose bootloader changes, with the resets a real board makes (the issue's "Done
//! when"): after FINISH Device OS keeps running and stays on USB for a while before it resets
//! (storage.cpp:243-246 @ v1.5.0; firmware_update.cpp:218-224 @ v6.2.0), and with a running
//! bootloader ≥ 1001 the new one is staged and installed by the old bootloader and the MBR
//! with one more reset the host cannot see (ota_flash_hal.cpp:633-663, flash_mal.c:376-391,
//! 466-484 @ v6.2.0). A host that takes the still-running board for the reset one fails
//! these: it reports success while the board is about to reset, or reads the old module info.

#[path = "support/sim_rig.rs"]
mod sim_rig;

use flashline::core::bundle::Bundle;
use flashline::core::module::ModuleFunction;
use flashline::sim::argon::Presence;
use sim_rig::*;

/// What must hold once the host says the flash is done: the board runs the bundle normally
/// and is not about to reset under the tests.
fn settled(rig: &Rig) {
    assert_eq!(
        rig.board.presence(),
        Presence::Firmware { safe_mode: false },
        "the board runs the bundle"
    );
    assert!(
        !rig.board.reset_pending(),
        "the host declared success while the board still had a reset to make"
    );
}

#[test]
fn a_blank_board_with_an_older_factory_bootloader_takes_the_bundle_and_its_bootloader() {
    let b = example();
    let mut rig = rig("");
    // 1.2.1's bootloader: the 1.5.0 system part needs ≥ 501, so it boots into safe mode
    // until the bootloader is sent; 1.5.0 writes it itself (no MBR staging before 2.0.0).
    rig.board.set_factory_bootloader(311);
    let r = rig.flash(&b).unwrap();
    settled(&rig);
    assert_eq!(r.modules_written.last().unwrap(), "bootloader#0 v501");
    assert_eq!(reported(&r, ModuleFunction::Bootloader).version, 501);
    assert!(
        rig.board.slots().is_empty(),
        "nothing staged: 1.5.0 writes it directly"
    );
}

#[test]
fn a_1_5_0_board_takes_a_newer_bootloader_that_device_os_writes_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_module(
        tmp.path(),
        ModuleFunction::Bootloader,
        "argon-bootloader@4.1.0.bin",
    );
    let newer = Bundle::load(&dir).unwrap();
    let b = example();
    let mut rig = rig("");
    rig.board.preload(&b.parsed_modules());
    rig.board.reset_stats();
    let r = rig.flash(&newer).unwrap();
    settled(&rig);
    assert_eq!(r.modules_written, vec!["bootloader#0 v1200"]);
    assert_eq!(reported(&r, ModuleFunction::Bootloader).version, 1200);
    let image = modern("argon-bootloader@4.1.0.bin");
    assert_eq!(
        rig.board
            .read_internal(0xF4000, image.bytes().len())
            .unwrap(),
        image.bytes(),
        "the bootloader region holds the new bootloader"
    );
    // Running bootloader 501 < 1001: no MBR, one enumeration. The new bootloader 1200 finds
    // the MBR parameter page unset (1.x never sets it) at its first start, sets it and resets
    // once more before it boots the firmware (hw_config.c:73-90 @ v2.0.0-rc.1).
    let stats = rig.board.stats();
    assert_eq!((stats.resets, stats.enumerations), (2, 1), "{stats:?}");
    assert_eq!(rig.board.mbr_params(), Some(0x2F000));
}

#[test]
fn a_board_running_a_bootloader_from_1001_gets_the_old_one_staged_through_the_mbr() {
    let b = example();
    let mut rig = rig("");
    // A Device OS 4.1.0 board (bootloader 1200) with the bundle's Tinker at 0xD4000: the
    // 1.5.0 bundle's bootloader 501 is staged in place of that app and the app restored.
    let mut modules = vec![
        modern("argon-bootloader@4.1.0.bin"),
        modern("argon-softdevice@4.1.0.bin"),
        modern("argon-system-part1@4.1.0.bin"),
    ];
    let tinker = b
        .parsed_modules()
        .into_iter()
        .find(|m| m.function() == ModuleFunction::UserPart)
        .unwrap();
    modules.push(tinker.clone());
    rig.board.preload(&modules);
    assert_eq!(
        rig.board.presence(),
        Presence::Firmware { safe_mode: false }
    );
    rig.board.reset_stats();
    let r = rig.flash(&b).unwrap();
    settled(&rig);
    assert_eq!(
        r.modules_written,
        vec!["bootloader#0 v501", "system-part#1 v1502"]
    );
    assert_eq!(reported(&r, ModuleFunction::Bootloader).version, 501);
    assert!(reported(&r, ModuleFunction::UserPart).valid());
    assert_eq!(
        rig.board
            .read_internal(0xD4000, tinker.bytes().len())
            .unwrap(),
        tinker.bytes(),
        "the app the bootloader was staged over is restored"
    );
    // Resets: the one after FINISH, the MBR's (not seen on USB), enter DFU, leave DFU.
    let stats = rig.board.stats();
    assert_eq!(stats.resets, stats.enumerations + 1, "{stats:?}");
    assert_eq!(stats.enumerations, 3, "{stats:?}");
}
