//! The simulated Argon's control-request answers, one fact of Device OS per test, each naming
//! the source line it holds the simulator to (particle-iot/device-os; system/src/ at the tag
//! named). Boards run Device OS 1.5.0 (the example bundle) or 4.1.0 (the modern fixtures).

#[path = "support/raw_usb.rs"]
mod raw_usb;
#[path = "support/sim_rig.rs"]
mod sim_rig;

use std::time::Duration;

use flashline::core::control::messages::{self, kind};
use flashline::core::control::service::{self, ServiceStatus, CHECK, INIT, RESET, SEND};
use flashline::core::control::{ControlClient, ControlError, ModuleStore};
use flashline::core::module::{Module, ModuleFunction};
use flashline::ports::{Clock, UsbError};
use flashline::sim::argon::Presence;
use raw_usb::Raw;
use sim_rig::{example, modern};

fn board(modules: &[Module], faults: &str) -> Raw {
    raw_usb::board_with(faults, |b| b.preload(modules))
}

fn dos_1_5_0(faults: &str) -> Raw {
    board(&example().parsed_modules(), faults)
}

fn dos_4_1_0(faults: &str) -> Raw {
    let tinker = example()
        .parsed_modules()
        .into_iter()
        .find(|m| m.function() == ModuleFunction::UserPart)
        .unwrap();
    board(
        &[
            modern("argon-bootloader@4.1.0.bin"),
            modern("argon-softdevice@4.1.0.bin"),
            modern("argon-system-part1@4.1.0.bin"),
            tinker,
        ],
        faults,
    )
}

/// One control request, its Device OS result as the error.
fn call(b: &mut Raw, request: u16, payload: &[u8]) -> Result<Vec<u8>, ControlError> {
    // Long enough for 1.5.0 to erase 1.6 MB of OTA area (400 sectors × 45 ms).
    service::request(
        b.dev.as_mut(),
        &b.clock,
        request,
        payload,
        Duration::from_secs(30),
    )
}

fn result_of(e: ControlError) -> i32 {
    match e {
        ControlError::Result { result, .. } => result,
        other => panic!("expected a Device OS result, got {other}"),
    }
}

/// The Device OS result of a request that must fail.
fn refused(b: &mut Raw, request: u16, payload: &[u8]) -> i32 {
    result_of(call(b, request, payload).unwrap_err())
}

fn start(b: &mut Raw, size: u32) -> Result<Vec<u8>, ControlError> {
    call(
        b,
        kind::START_FIRMWARE_UPDATE,
        &messages::encode_start_update(size),
    )
}

fn firmware(b: &Raw) -> bool {
    matches!(b.board.presence(), Presence::Firmware { .. })
}

#[test]
fn after_reset_and_enter_dfu_the_board_runs_on_for_a_second() {
    // system_control_internal.cpp:170-176, 184-190 @ v6.2.0 (and :139-158 @ v1.5.0): result 0,
    // and the completion handler, run once the reply has gone out, waits 1000 ms first.
    for (request, into_dfu) in [(kind::RESET, false), (kind::ENTER_DFU, true)] {
        let mut b = dos_1_5_0("");
        let address = b.board.usb_address();
        call(&mut b, request, &[]).unwrap();
        b.clock.sleep(Duration::from_millis(990));
        assert!(firmware(&b), "still running after 990 ms");
        assert_eq!(b.board.usb_address(), address, "the same enumeration");
        call(&mut b, kind::DEVICE_ID, &[]).expect("and still answering");
        b.clock.sleep(Duration::from_millis(20));
        assert!(matches!(
            b.board.presence(),
            Presence::Rebooting { into_dfu: d, .. } if d == into_dfu
        ));
    }
}

#[test]
fn after_finish_1_5_0_waits_a_second_and_4_1_0_resets_soon() {
    // storage.cpp:243-246, 328-337 @ v1.5.0: the update is applied before the reply, then
    // 1000 ms, then the pending shutdown. firmware_update.cpp:218-224 @ v6.2.0 (as from
    // 3.0.0): applied in the completion handler, then the pending shutdown at once.
    let bl = modern("argon-bootloader@4.1.0.bin");
    let mut b = dos_1_5_0("");
    ControlClient::new(b.dev.as_mut(), &b.clock)
        .update_firmware(bl.bytes(), &mut |_, _| {})
        .unwrap();
    // 1.5.0 wrote it itself already: module info says so while the old firmware runs on.
    let reported = b.board.reported_modules();
    assert!(reported
        .iter()
        .any(|m| m.function == ModuleFunction::Bootloader && m.version == 1200));
    b.clock.sleep(Duration::from_millis(1000));
    assert!(firmware(&b), "1.5.0 is still up a second later");
    b.clock.sleep(Duration::from_millis(200));
    assert!(!firmware(&b));

    let old = example()
        .parsed_modules()
        .into_iter()
        .find(|m| m.function() == ModuleFunction::Bootloader)
        .unwrap();
    let mut b = dos_4_1_0("");
    ControlClient::new(b.dev.as_mut(), &b.clock)
        .update_firmware(old.bytes(), &mut |_, _| {})
        .unwrap();
    assert!(firmware(&b));
    b.clock.sleep(Duration::from_millis(200));
    assert!(!firmware(&b), "4.1.0 resets within the pending shutdown");
    assert_eq!(
        b.board.slots().len(),
        1,
        "staged: running bootloader 1200 ≥ 1001"
    );
}

#[test]
fn a_payload_over_64_bytes_waits_for_its_buffer_and_a_small_one_does_not() {
    // usb_control_request_channel.cpp:325-348 @ v6.2.0: ≤ 64 bytes → OK (pooled buffer),
    // more → PENDING while the system thread allocates; CHECK answers OK once it may be sent
    // (375-398).
    let mut b = dos_1_5_0("");
    let init = b.service(INIT, 10, kind::DEVICE_ID);
    assert_eq!(init.status, ServiceStatus::Ok);
    let init = b.service(INIT, 100, kind::DEVICE_ID);
    assert_eq!(init.status, ServiceStatus::Pending);
    let id = init.id.unwrap();
    assert_eq!(b.service(CHECK, 0, id).status, ServiceStatus::Pending);
    b.clock.sleep(Duration::from_millis(5));
    assert_eq!(b.service(CHECK, 0, id).status, ServiceStatus::Ok);
    b.vendor_out(SEND, id, &[0u8; 100]).unwrap();
}

#[test]
fn a_fifth_request_is_busy_until_the_host_resets_them() {
    // usb_control_request_channel.h:31 (four active), .cpp:302-304 (BUSY), 473-500 (RESET 0
    // cancels them all).
    let mut b = dos_1_5_0("");
    for _ in 0..4 {
        assert_eq!(
            b.service(INIT, 10, kind::DEVICE_ID).status,
            ServiceStatus::Ok
        );
    }
    assert_eq!(
        b.service(INIT, 10, kind::DEVICE_ID).status,
        ServiceStatus::Busy
    );
    assert_eq!(b.service(RESET, 0, 0).status, ServiceStatus::Ok);
    assert_eq!(b.board.active_requests(), 0);
    // flashline's client cancels stale requests before its first, as particle-usb does.
    for _ in 0..4 {
        b.service(INIT, 10, kind::DEVICE_ID);
    }
    let id = ControlClient::new(b.dev.as_mut(), &b.clock)
        .device_id()
        .unwrap();
    assert_eq!(id, b.board.device_id());
}

#[test]
fn service_requests_need_a_64_byte_data_stage() {
    // usb_control_request_channel.cpp:299, 363, 474.
    let mut b = dos_1_5_0("");
    for request in [INIT, CHECK, RESET] {
        assert_eq!(b.vendor_in(request, 0, 20, 63), Err(UsbError::Stall));
    }
}

#[test]
fn raw_vendor_requests_answer_as_particle_cli_reads_them() {
    // usb_control_request_channel.cpp:503-556 @ v6.2.0: bRequest 0x50; IN wIndex 20 → the
    // device ID in upper-case hex (bytes2hexbuf, services/inc/bytes2hexbuf.h:49-59), 30 → the
    // version string; no data stage or over 64 bytes is refused; OUT 40 resets at once, from
    // 2.0.0-alpha.3 (commit 44e69f92e).
    let mut b = dos_1_5_0("");
    let id = b.vendor_in(0x50, 0, 20, 64).unwrap();
    assert_eq!(
        String::from_utf8(id).unwrap(),
        b.board.device_id().to_uppercase()
    );
    assert_eq!(b.vendor_in(0x50, 0, 30, 64).unwrap(), b"1.5.0");
    assert_eq!(b.vendor_in(0x50, 0, 30, 65), Err(UsbError::Stall));
    assert_eq!(
        b.vendor_out(0x50, 40, &[]),
        Err(UsbError::Stall),
        "1.5.0 has no raw reset"
    );

    let mut b = dos_4_1_0("");
    assert_eq!(b.vendor_in(0x50, 0, 30, 64).unwrap(), b"4.1.0");
    assert!(
        b.vendor_out(0x50, 40, &[]).is_err(),
        "the reset cuts the transfer"
    );
    assert!(matches!(b.board.presence(), Presence::Rebooting { .. }));
}

#[test]
fn the_serial_number_is_the_otps() {
    // system_control_internal.cpp:146-149, control/config.cpp:155-167 @ v6.2.0: the 15
    // characters in the external flash's OTP (deviceid_hal.cpp:66-84).
    let mut b = dos_1_5_0("");
    let serial = ControlClient::new(b.dev.as_mut(), &b.clock)
        .serial_number()
        .unwrap();
    assert_eq!(serial.len(), 15);
}

#[test]
fn start_offers_1024_byte_chunks_and_refuses_by_the_versions_rules() {
    // storage.cpp:99 @ v6.2.0 (:295 @ v1.5.0): chunk 1024. firmware_update.cpp:126-131 @
    // v3.0.0: -1380 updates disabled, -1351 size 0 or over the 1500 KiB OTA area
    // (flash_mal.h:105). 1.5.0: updates disabled → result 1 (system_update.cpp:302-320),
    // size unchecked.
    let mut b = dos_1_5_0("");
    let chunk = messages::decode_uint_field1(&start(&mut b, 5000).unwrap());
    assert_eq!(chunk.unwrap(), 1024);
    start(&mut b, 1600 * 1024).expect("1.5.0 does not check the size");
    let e = start(&mut dos_4_1_0(""), 1600 * 1024).unwrap_err();
    assert_eq!(result_of(e), -1351);
    let e = start(&mut dos_1_5_0("updates-disabled"), 5000).unwrap_err();
    assert_eq!(result_of(e), 1);
    let e = start(&mut dos_4_1_0("updates-disabled"), 5000).unwrap_err();
    assert_eq!(result_of(e), -1380);
}

#[test]
fn data_and_finish_out_of_order_are_device_os_errors() {
    // storage.cpp:149-173 @ v6.2.0: no transfer → -210 INVALID_STATE; an empty chunk → -290
    // OUT_OF_RANGE and the transfer is cancelled. storage.cpp:127-130: FINISH with bytes
    // left → -210. An unknown request → -120 (system_control_internal.cpp default).
    let mut b = dos_4_1_0("");
    let data = |d: &[u8]| messages::encode_update_data(d);
    assert_eq!(
        refused(&mut b, kind::FIRMWARE_UPDATE_DATA, &data(b"x")),
        -210
    );
    start(&mut b, 10).unwrap();
    assert_eq!(
        refused(&mut b, kind::FIRMWARE_UPDATE_DATA, &data(&[])),
        -290
    );
    assert_eq!(
        refused(&mut b, kind::FIRMWARE_UPDATE_DATA, &data(b"x")),
        -210
    );
    start(&mut b, 10).unwrap();
    let finish = messages::encode_finish_update(false);
    assert_eq!(refused(&mut b, kind::FINISH_FIRMWARE_UPDATE, &finish), -210);
    assert_eq!(refused(&mut b, 999, &[]), -120);
}

#[test]
fn module_info_before_5_6_is_field_1_with_sizes_without_crc_and_dependencies() {
    // storage.cpp:615-690 @ v1.5.0: field 1, MAIN store, size = end − start, dependencies;
    // the radio stack has no addresses (platform_radio_stack.cpp:25-67 @ v1.5.0) and the NCP
    // is listed (ota_module_bounds.c:153-155 @ v1.5.0, HAL_PLATFORM_NCP_UPDATABLE).
    let mut b = dos_1_5_0("");
    let raw = call(&mut b, kind::MODULE_INFO, &[]).unwrap();
    assert_eq!(raw[0], (1 << 3) | 2, "field 1");
    let modules = messages::decode_module_info(&raw).unwrap();
    let get = |f| modules.iter().find(|m| m.function == f).unwrap();
    let system = example()
        .parsed_modules()
        .into_iter()
        .find(|m| m.function() == ModuleFunction::SystemPart)
        .unwrap();
    assert_eq!(
        get(ModuleFunction::SystemPart).size as usize,
        system.bytes().len() - 4
    );
    assert_eq!(
        get(ModuleFunction::SystemPart).dependencies,
        system.prefix.dependencies
    );
    assert_eq!(get(ModuleFunction::RadioStack).size, 0);
    assert_eq!(get(ModuleFunction::NcpFirmware).size, 0);
    assert_eq!(get(ModuleFunction::NcpFirmware).version, 5);
}

#[test]
fn module_info_from_5_6_is_field_2_with_the_crc_and_factory_entries() {
    // storage.cpp:175-181 @ v5.6.0 / v6.2.0 and system_info_encoding.cpp:104-186: field 2,
    // sizes + 4 (CRC), 0 stays 0, FACTORY store entries included (only the cloud's describe
    // skips them, :120).
    // 4.1.0's system part labelled 5600 (it fits the 5.6 map; 1.5.0's would not).
    let modules = vec![
        modern("argon-bootloader@4.1.0.bin"),
        modern("argon-softdevice@4.1.0.bin"),
        sim_rig::edited(&modern("argon-system-part1@4.1.0.bin"), 5600),
    ];
    let tinker = example()
        .parsed_modules()
        .into_iter()
        .find(|m| m.function() == ModuleFunction::UserPart)
        .unwrap();
    let mut b = board(&modules, "");
    b.board.preload_factory_app(&tinker);
    let raw = call(&mut b, kind::MODULE_INFO, &[]).unwrap();
    assert_eq!(raw[0], (2 << 3) | 2, "field 2");
    let reported = messages::decode_module_info(&raw).unwrap();
    let system = reported
        .iter()
        .find(|m| m.function == ModuleFunction::SystemPart)
        .unwrap();
    assert_eq!((system.version, system.store), (5600, ModuleStore::Main));
    let file_len = modules
        .iter()
        .find(|m| m.function() == ModuleFunction::SystemPart)
        .unwrap()
        .bytes()
        .len();
    assert_eq!(system.size as usize, file_len, "with its CRC");
    let factory = reported
        .iter()
        .find(|m| m.function == ModuleFunction::UserPart)
        .unwrap();
    assert_eq!(factory.store, ModuleStore::Factory);

    // The factory copy is no user part: the host still writes the bundle's.
    let mut rig = sim_rig::rig("");
    rig.board.preload(&modules);
    rig.board.preload_factory_app(&tinker);
    let r = rig.flash(&example()).unwrap();
    assert!(
        r.modules_written.contains(&"user-part#1 v5".to_string()),
        "{:?}",
        r.modules_written
    );
}

#[test]
fn the_update_route_takes_every_plain_module_kind() {
    // ota_flash_hal.cpp:597-676 @ v6.2.0 (:396-451 @ v1.5.0): system part, user part and radio
    // stack go to a module slot the bootloader copies at the next boot (flash_mal.c:675-747),
    // the radio stack without its prefix (MODULE_DROP_MODULE_INFO).
    let tmp = tempfile::tempdir().unwrap();
    let dir = sim_rig::variant(tmp.path(), ModuleFunction::UserPart, 9);
    let app = flashline::core::bundle::Bundle::load(&dir)
        .unwrap()
        .parsed_modules()
        .into_iter()
        .find(|m| m.function() == ModuleFunction::UserPart)
        .unwrap();
    let softdevice = modern("argon-softdevice@4.1.0.bin");
    for module in [app, softdevice] {
        let mut b = dos_1_5_0("");
        ControlClient::new(b.dev.as_mut(), &b.clock)
            .update_firmware(module.bytes(), &mut |_, _| {})
            .unwrap();
        assert_eq!(b.board.slots().len(), 1);
        b.clock.sleep(Duration::from_secs(5));
        assert_eq!(b.board.presence(), Presence::Firmware { safe_mode: false });
        let image = module.image();
        assert_eq!(
            b.board
                .read_internal(module.image_address(), image.len())
                .unwrap(),
            image,
            "{}",
            module.label()
        );
        assert!(b.board.slots().is_empty());
    }
}
