//! The compat slot and Device OS 6.2's system part at 0x28000, one fact of Device OS per test
//! (particle-iot/device-os at the tag named), and what the host plans so that no board is
//! left unbootable. docs/particle-facts.md §8 has the reasoning with its source lines.

#[path = "support/gen3.rs"]
mod gen3;
#[path = "support/raw_usb.rs"]
mod raw_usb;
#[path = "support/sim_rig.rs"]
mod sim_rig;

use std::sync::Arc;

use flashline::core::dfu::request::DFUSE_SET_ADDRESS;
use flashline::core::dfu::{DfuState as S, DfuStatusCode as C};
use flashline::core::flash::FlashOptions;
use flashline::core::module::{reseal, ModuleFunction};
use flashline::ports::Clock;
use flashline::sim::argon::{Presence, SimBoardSpec};
use flashline::sim::{SimBoard, VirtualClock};
use gen3::{fixture, tempdir};

fn board(spec: &str) -> (VirtualClock, SimBoard) {
    let clock = VirtualClock::new();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let b = SimBoardSpec::parse(spec)
        .unwrap()
        .build(shared, "1-1", 9, Vec::new());
    (clock, b)
}

fn tinker_1_5() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bundles/example-argon/tinker-0.8.0-rc.27-argon.bin"
    ))
    .unwrap()
}

/// Writes `data` at `address` by DFU (set address, erase each page, one block per 4 KiB).
fn dfu_write(b: &mut raw_usb::Raw, address: u32, data: &[u8]) {
    use flashline::core::dfu::request::DFUSE_ERASE;
    for page in (address..address + data.len() as u32).step_by(4096) {
        b.command(DFUSE_ERASE, page).unwrap();
        b.expect(C::Ok, S::DnBusy);
        b.expect(C::Ok, S::DnloadIdle);
    }
    for (i, block) in data.chunks(4096).enumerate() {
        b.command(DFUSE_SET_ADDRESS, address + (i * 4096) as u32)
            .unwrap();
        b.expect(C::Ok, S::DnBusy);
        b.expect(C::Ok, S::DnloadIdle);
        b.dnload(2, block).unwrap();
        b.expect(C::Ok, S::DnBusy);
        b.expect(C::Ok, S::DnloadIdle);
    }
}

#[test]
fn from_bootloader_1100_a_dfu_write_at_0xb4000_erases_the_compat_application() {
    // usbd_dfu_mal.cpp:124-132 @ v6.2.0 (from commit 70edb002f, first in v3.1.0-rc.1 with
    // bootloader 1100): a write starting at USER_FIRMWARE_IMAGE_LOCATION holding a valid user
    // module info erases the first page of USER_FIRMWARE_IMAGE_LOCATION_COMPAT.
    let app = fixture("app-dos4006-argon-userpart2.bin");
    for (bootloader, erased) in [(1100, true), (1006, false), (501, false)] {
        let mut b = raw_usb::board_with("", |b| {
            b.set_factory_bootloader(bootloader);
            b.preload(&[gen3::parse(&tinker_1_5())]);
        });
        // The board runs nothing (no system part): it sits in DFU with Tinker at 0xD4000.
        assert_eq!(b.board.presence(), Presence::Dfu);
        dfu_write(&mut b, 0xB4000, &app);
        let first = b.board.read_internal(0xD4000, 4096).unwrap();
        assert_eq!(
            first.iter().all(|&x| x == 0xFF),
            erased,
            "bootloader {bootloader}"
        );
    }
}

#[test]
fn the_compat_application_wins_in_module_info_while_it_is_intact() {
    // ota_flash_hal.cpp:183-197 @ v6.2.0: module_user_compat comes before module_user and the
    // first intact user part is the one reported (and run); the 256 KiB one is not listed.
    let (_c, b) = board("argon@4.1");
    b.preload(&[
        gen3::parse(&tinker_1_5()),
        gen3::parse(&fixture("app-dos4006-argon-userpart2.bin")),
    ]);
    let users: Vec<_> = b
        .reported_modules()
        .into_iter()
        .filter(|m| m.function == ModuleFunction::UserPart)
        .map(|m| (m.index, m.version))
        .collect();
    assert_eq!(users, vec![(1, 5)], "only the compat one");
}

#[test]
fn a_bootloader_older_than_6_2_boots_a_6_2_system_part_by_its_legacy_entry() {
    // dfu_usb.c @ v6.1.1: is_application_valid(0x30000) checks a module info at 0x30200 whose
    // start is 0x30000, of this platform, and its CRC (not its function); 6.2's system part
    // carries such an entry at 0x30000 (linker_system_part1_common.ld @ v6.2.0).
    let (_c, b) = board("argon,bootloader=1100");
    // Bootloader 1100 set the MBR parameter page at its start (hw_config.c @ v2.0.0-rc.1).
    assert_eq!(b.mbr_params(), Some(0x2F000));
    b.preload(&[
        gen3::parse(&fixture("argon-softdevice@4.1.0.bin")),
        gen3::parse(&gen3::system_part_6_2()),
    ]);
    let boot = b.last_boot().unwrap();
    assert_eq!(
        boot.running.map(|r| (r.entry, r.version)),
        Some((0x30000, 6200))
    );
    assert!(matches!(b.presence(), Presence::Firmware { .. }));
    // 6.2's system part moves the page to 0x27000 itself (commit 42818a967, hw_config.c:92-112
    // @ v6.2.0), erasing it: a later bootloader copy by the MBR clears 0x27000, not a page of
    // the system part at 0x2F000.
    assert_eq!(b.mbr_params(), Some(0x27000));
    // It needs bootloader ≥ 3100 (system_module_version.mk:29): safe mode until it gets it.
    assert_eq!(b.presence(), Presence::Firmware { safe_mode: true });
}

#[test]
fn the_6_2_bootloader_looks_at_0x28000_first_and_moves_the_page_itself() {
    // dfu_usb.c:10-27 @ v6.2.0 (CORE_FW_ADDRESS 0x28000, flash_mal.h:59), then 0x30000.
    let (_c, b) = board("argon,bootloader=3100");
    assert_eq!(b.mbr_params(), Some(0x27000), "configure_uicr at its start");
    b.preload(&[
        gen3::parse(&fixture("argon-softdevice@4.1.0.bin")),
        gen3::parse(&gen3::system_part_6_2()),
    ]);
    assert_eq!(b.last_boot().unwrap().running.unwrap().entry, 0x28000);
    assert_eq!(b.presence(), Presence::Firmware { safe_mode: false });
}

/// The 6.2 system part without the legacy entry (a build of the 6.2 map that lacked it).
fn system_part_6_2_without_legacy() -> Vec<u8> {
    let mut b = fixture("argon-system-part1@4.1.0.bin");
    reseal::move_to(&mut b, 0x28000).unwrap();
    reseal::edit_prefix(&mut b, |p| {
        p[reseal::field::VERSION..reseal::field::VERSION + 2]
            .copy_from_slice(&6200u16.to_le_bytes())
    })
    .unwrap();
    b
}

#[test]
fn without_the_legacy_entry_an_old_bootloader_finds_nothing_and_the_host_refuses_it() {
    let (_c, b) = board("argon,bootloader=1100");
    b.preload(&[gen3::parse(&system_part_6_2_without_legacy())]);
    assert_eq!(
        b.presence(),
        Presence::Dfu,
        "nothing at 0x30000: stays in DFU"
    );
    // A bundle with such a system part is refused on a board in DFU mode, whose bootloader
    // the host cannot know: it would never boot to take the new bootloader.
    let (_t, dir) = tempdir();
    let bundle = gen3::write_bundle(
        &dir,
        "argon",
        &[
            ("bl.bin", gen3::bootloader_6_2()),
            ("sd.bin", fixture("argon-softdevice@4.1.0.bin")),
            ("sp.bin", system_part_6_2_without_legacy()),
            ("tinker.bin", fixture("argon-tinker-6.2.0.bin")),
        ],
        &[],
        false,
    );
    let mut rig = sim_rig::rig_of(SimBoardSpec::parse("argon,bootloader=1100").unwrap());
    let b = rig.board.clone();
    let e = rig.flash(&bundle).unwrap_err();
    assert_eq!(e.code().as_str(), "E-BOARD-TOO-OLD", "{e}");
    assert!(e.to_string().contains("0x30000"), "{e}");
    assert_eq!(b.stats().bytes_written, 0);
}

/// The plans of the 6.2 bundle on boards of several states (`-- --nocapture` prints them):
/// a running board gets the new bootloader first, from its old Device OS; a board in DFU mode
/// gets its DFU modules first and boots the 6.2 system part by its legacy entry.
#[test]
fn the_6_2_bundle_is_planned_in_a_safe_order_on_every_board() {
    let (_t, dir) = tempdir();
    let bundle = gen3::argon_6_2(&dir);
    for spec in [
        "argon",
        "argon,bootloader=1100",
        "argon@1.5.0",
        "argon@4.1",
        "argon@6.1.1",
        "argon@6.2",
    ] {
        let mut rig = sim_rig::rig_of(SimBoardSpec::parse(spec).unwrap());
        let b = rig.board.clone();
        let r = rig
            .flash_with(
                &bundle,
                FlashOptions {
                    dry_run: true,
                    ..FlashOptions::default()
                },
            )
            .unwrap();
        println!("{spec}:");
        for line in &r.plan {
            println!("  {line}");
        }
        let writes: Vec<&String> = r.plan.iter().filter(|l| l.starts_with("write")).collect();
        let first = writes.first().map(|l| l.as_str()).unwrap_or("");
        if b.presence() == Presence::Dfu {
            assert!(first.contains("DFU"), "{spec}: {first}");
        } else if writes.iter().any(|l| l.contains("bootloader#0")) {
            assert!(first.contains("bootloader#0"), "{spec}: {first}");
        }
        assert_eq!(b.stats().bytes_written, 0, "a dry run writes nothing");
    }
}
