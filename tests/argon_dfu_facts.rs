//! The simulated Argon's DFU answers, one fact of Particle's bootloader per test; each test
//! names the source line it holds the simulator to (particle-iot/device-os, paths under
//! bootloader/src/nRF52840/ at tag v6.2.0 unless a tag is named; the same at v1.5.0 where
//! not said otherwise).

#[path = "support/raw_usb.rs"]
mod raw_usb;

use std::time::Duration;

use flashline::core::dfu::request::{self, DFUSE_ERASE, DFUSE_SET_ADDRESS};
use flashline::core::dfu::{DfuState as S, DfuStatusCode as C};
use flashline::ports::{Clock, UsbError};
use flashline::sim::argon::Presence;
use raw_usb::*;

const PAGE_ERASE: Duration = Duration::from_millis(20);

#[test]
fn the_functional_descriptor_is_the_bootloaders() {
    // usbd_dfu.h:62-92: bmAttributes 0x0B, wDetachTimeout 255, wTransferSize 4096, DfuSe 1.1a.
    let mut b = dfu_board(501, "");
    let raw = b.dev.dfu_functional_descriptor(0).unwrap().unwrap();
    assert_eq!(raw, [0x09, 0x21, 0x0b, 0xff, 0x00, 0x00, 0x10, 0x1a, 0x01]);
}

#[test]
fn alt_1_is_dcd_until_bootloader_2001_and_dct_after() {
    // usbd_dfu_mal.h:31 @ v1.5.0 ("@DCD Flash"), :32 @ v6.2.0 ("@DCT Flash"); the rename is
    // commit fe942aa62, first in v5.0.1 (bootloader 2001).
    let names = |bl| dfu_board(bl, "").dev.alt_setting_names(0).unwrap();
    let old = names(501);
    assert_eq!(
        old[0].1,
        "@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka"
    );
    assert_eq!(old[1].1, "@DCD Flash   /0x00000000/1*016Ke");
    assert_eq!(old[2].1, "@External Flash   /0x80000000/1024*004Kg");
    assert_eq!(names(3001)[1].1, "@DCT Flash   /0x00000000/1*016Ke");
}

#[test]
fn dnbusy_is_reported_once_and_the_next_getstatus_waits_for_the_erase() {
    // usbd_dfu.cpp:264-289: the first GETSTATUS in dfuDNLOAD-SYNC answers dfuDNBUSY with
    // bwPollTimeout 0 (usbd_dfu_mal.cpp:156-159); the erase runs in inDone after that reply's
    // IN stage (usbd_device.cpp:381-393, usbd_dfu.cpp:488-501), so the next request is only
    // answered once it is done.
    let mut b = dfu_board(501, "");
    b.command(DFUSE_ERASE, 0x30000).unwrap();
    b.expect(C::Ok, S::DnBusy);
    let before = b.clock.now();
    b.expect(C::Ok, S::DnloadIdle);
    assert!(b.clock.now() - before >= PAGE_ERASE, "held for the erase");
    b.expect(C::Ok, S::DnloadIdle);
}

#[test]
fn erase_checks_only_the_megabyte_and_the_mbr_page() {
    // usbd_dfu_mal.cpp:63-75, 137-154: the MAL validates 0..=1 MiB only; nrf_fstorage
    // refuses below 0x1000 (hal/src/nRF52840/flash_hal.c:44-48); a failed erase is errUNKNOWN
    // (usbd_dfu.cpp:495-497). The layout's letters are not enforced: 0xF8000 is 'a'.
    let mut b = dfu_board(501, "");
    for (address, ok) in [(0x0, false), (0xF8000, true), (0x10_0000, false)] {
        b.command(DFUSE_ERASE, address).unwrap();
        b.expect(C::Ok, S::DnBusy);
        if ok {
            b.expect(C::Ok, S::DnloadIdle);
        } else {
            b.expect(C::ErrUnknown, S::Error);
            b.class_out(request::CLRSTATUS).unwrap();
        }
    }
}

#[test]
fn a_one_byte_erase_is_errtarget_and_an_unknown_command_errstalledpkt() {
    // usbd_dfu.cpp:502-505 (mass erase unsupported), 522-526 (READ_UNPROTECT errUNKNOWN),
    // 527-530 (anything else errSTALLEDPKT).
    let mut b = dfu_board(501, "");
    for (payload, status) in [
        (vec![DFUSE_ERASE], C::ErrTarget),
        (vec![0x92], C::ErrUnknown),
        (vec![0x55, 0, 0, 0, 0], C::ErrStalledPkt),
        // 0xFA is only a command from bootloader 3001 (commit 13605e36f).
        (vec![0xFA], C::ErrStalledPkt),
    ] {
        b.dnload(0, &payload).unwrap();
        b.expect(C::Ok, S::DnBusy);
        b.expect(status, S::Error);
        b.class_out(request::CLRSTATUS).unwrap();
    }
}

#[test]
fn set_address_is_not_checked_but_writing_there_fails_with_errunknown() {
    // usbd_dfu.cpp:478-486: the pointer is taken as it is; the write then fails in the MAL
    // (usbd_dfu_mal.cpp:86-89) and every write failure is errUNKNOWN (usbd_dfu.cpp:544-550).
    let mut b = dfu_board(501, "");
    b.command(DFUSE_SET_ADDRESS, 0x1234_5678).unwrap();
    b.expect(C::Ok, S::DnBusy);
    b.expect(C::Ok, S::DnloadIdle);
    b.dnload(2, &[0u8; 16]).unwrap();
    b.expect(C::Ok, S::DnBusy);
    b.expect(C::ErrUnknown, S::Error);
}

#[test]
fn block_1_is_errtarget() {
    // usbd_dfu.cpp:555-559.
    let mut b = dfu_board(501, "");
    b.dnload(1, &[0u8; 4]).unwrap();
    b.expect(C::Ok, S::DnBusy);
    b.expect(C::ErrTarget, S::Error);
}

#[test]
fn a_dnload_out_of_idle_is_stalled_and_leaves_errunknown() {
    // usbd_dfu.cpp:184-208: DNLOAD is taken in dfuIDLE and dfuDNLOAD-IDLE (never stalled
    // there); anywhere else setError(errUNKNOWN) stalls it (usbd_dfu.cpp:405-417).
    let mut b = dfu_board(501, "");
    b.command(DFUSE_SET_ADDRESS, 0x30000).unwrap();
    b.expect(C::Ok, S::DnBusy);
    b.expect(C::Ok, S::DnloadIdle);
    b.command(DFUSE_SET_ADDRESS, 0x31000).unwrap();
    b.expect(C::Ok, S::DnBusy);
    b.expect(C::Ok, S::DnloadIdle);
    b.dnload(1, &[0u8; 4]).unwrap();
    b.expect(C::Ok, S::DnBusy);
    b.expect(C::ErrTarget, S::Error);
    assert_eq!(b.command(DFUSE_SET_ADDRESS, 0x30000), Err(UsbError::Stall));
    // bStatus after the stall: errUNKNOWN, not errSTALLEDPKT.
    b.expect(C::ErrUnknown, S::Error);
}

#[test]
fn upload_block_0_lists_the_commands_of_that_bootloader() {
    // usbd_dfu.cpp:215-223 @ v6.2.0 (five, from bootloader 3001) and @ v1.5.0 (three).
    assert_eq!(
        dfu_board(501, "").upload(0, 64).unwrap(),
        [0x00, 0x21, 0x41]
    );
    assert_eq!(
        dfu_board(3001, "").upload(0, 64).unwrap(),
        [0x00, 0x21, 0x41, 0xFA, 0xFB]
    );
    // Block 1 is an error (usbd_dfu.cpp:244-247).
    let mut b = dfu_board(501, "");
    assert_eq!(b.upload(1, 64), Err(UsbError::Stall));
    b.expect(C::ErrUnknown, S::Error);
}

#[test]
fn upload_reads_from_idle_only_and_checks_only_the_megabyte() {
    // usbd_dfu.cpp:210-257: dfuIDLE or dfuUPLOAD-IDLE; the read at (block − 2) × 4096 +
    // pointer is checked against 0..=1 MiB (usbd_dfu_mal.cpp:77-84), not the layout: the
    // MBR's 'a' page reads.
    let mut b = dfu_board(501, "");
    b.command(DFUSE_SET_ADDRESS, 0).unwrap();
    b.expect(C::Ok, S::DnBusy);
    b.expect(C::Ok, S::DnloadIdle);
    assert_eq!(
        b.upload(2, 8),
        Err(UsbError::Stall),
        "not from dfuDNLOAD-IDLE"
    );
    b.expect(C::ErrUnknown, S::Error);
    b.class_out(request::CLRSTATUS).unwrap();
    let mbr = b.upload(2, 8).unwrap();
    assert_eq!(mbr.len(), 8);
    assert_ne!(mbr, [0xFF; 8], "the MBR is there");
    b.expect(C::Ok, S::UploadIdle);
    // And a DNLOAD from dfuUPLOAD-IDLE has no transition (usbd_dfu.cpp:202-205).
    assert_eq!(b.command(DFUSE_SET_ADDRESS, 0), Err(UsbError::Stall));
}

#[test]
fn abort_is_taken_from_dnload_sync_and_drops_the_work() {
    // usbd_dfu.cpp:371-391.
    let mut b = dfu_board(501, "");
    b.command(DFUSE_ERASE, 0x30000).unwrap();
    b.class_out(request::ABORT).unwrap();
    b.expect(C::Ok, S::DfuIdle);
    assert_eq!(b.board.stats().pages_erased, 0);
}

#[test]
fn get_command_leaves_the_bootloader_busy_and_the_next_getstatus_fails() {
    // usbd_dfu.cpp:475-477: GET_COMMAND does nothing, the state stays dfuDNBUSY, and
    // GETSTATUS has no transition from dfuDNBUSY (usbd_dfu.cpp:326-330); nor GETSTATE
    // (usbd_dfu.cpp:353-361).
    let mut b = dfu_board(501, "");
    b.dnload(0, &[0x00]).unwrap();
    b.expect(C::Ok, S::DnBusy);
    assert_eq!(b.get_state(), Err(UsbError::Stall));
    b.expect(C::ErrUnknown, S::Error);
}

#[test]
fn the_bootloader_resets_500_ms_after_reporting_dfumanifest() {
    // usbd_dfu.cpp:194-198 (zero-length DNLOAD), 297-301 (GETSTATUS reports dfuMANIFEST),
    // 562-567 (inDone: dfuMANIFEST-WAIT-RESET, counter USBD_DFU_POLL_TIMEOUT = 500,
    // usbd_dfu.h:34-36), 613-620 (checkReset from the 1 ms SysTick, main.c:496-523).
    let mut b = dfu_board(501, "");
    let address = b.board.usb_address();
    b.dnload(2, &[]).unwrap();
    b.expect(C::Ok, S::Manifest);
    let reported = b.clock.now();
    b.clock.sleep(Duration::from_millis(499));
    assert_eq!(b.board.presence(), Presence::Dfu, "still there at 499 ms");
    assert_eq!(b.board.usb_address(), address);
    b.clock.sleep(Duration::from_millis(2));
    assert!(matches!(b.board.presence(), Presence::Rebooting { .. }));
    assert!(b.clock.now() - reported >= Duration::from_millis(500));
}

#[test]
fn any_request_after_dfumanifest_cancels_the_reset() {
    // usbd_dfu.cpp:326-330: a GETSTATUS in dfuMANIFEST-WAIT-RESET has no transition →
    // dfuERROR and a stall; checkReset only counts in WAIT-RESET (613-620), so no reset.
    let mut b = dfu_board(501, "");
    b.dnload(2, &[]).unwrap();
    b.expect(C::Ok, S::Manifest);
    assert_eq!(b.status().unwrap_err(), UsbError::Stall);
    b.clock.sleep(Duration::from_secs(2));
    assert_eq!(b.board.presence(), Presence::Dfu, "the board stays in DFU");
    b.expect(C::ErrUnknown, S::Error);
}

#[test]
fn detach_reattaches_in_dfu_mode_with_a_new_address() {
    // usbd_dfu.cpp:149-182: back to dfuIDLE, reply, then detach() and attach() on the bus.
    let mut b = dfu_board(501, "");
    let address = b.board.usb_address();
    b.class_out(request::DETACH).unwrap();
    b.clock.sleep(Duration::from_secs(1));
    assert_eq!(b.board.presence(), Presence::Dfu);
    assert_ne!(b.board.usb_address(), address);
    assert_eq!(b.board.stats().resets, 0, "a re-attach, not a reset");
}

#[test]
fn unknown_class_and_vendor_requests_stall_without_changing_state() {
    // usbd_dfu.cpp:141-146 (unknown DFU request: setupError only) and 429-441 (vendor
    // requests are not the DFU class's: stalled).
    let mut b = dfu_board(501, "");
    assert_eq!(b.class_out(7), Err(UsbError::Stall));
    assert_eq!(b.vendor_in(1, 0, 20, 64), Err(UsbError::Stall));
    b.expect(C::Ok, S::DfuIdle);
}

#[test]
fn a_failed_write_is_errunknown_and_a_hung_erase_an_unanswered_request() {
    // The faults as a real board has them: a MAL write failure → errUNKNOWN
    // (usbd_dfu.cpp:544-550); an erase that never returns keeps the USB interrupt busy, so
    // the next GETSTATUS is never answered and the host's transfer times out.
    let mut b = dfu_board(501, "write-error");
    b.command(DFUSE_SET_ADDRESS, 0x30000).unwrap();
    b.expect(C::Ok, S::DnBusy);
    b.expect(C::Ok, S::DnloadIdle);
    b.dnload(2, &[0u8; 64]).unwrap();
    b.expect(C::Ok, S::DnBusy);
    b.expect(C::ErrUnknown, S::Error);

    let mut b = dfu_board(501, "slow-erase");
    b.command(DFUSE_ERASE, 0x30000).unwrap();
    b.expect(C::Ok, S::DnBusy);
    let before = b.clock.now();
    assert_eq!(b.status().unwrap_err(), UsbError::Timeout);
    assert!(b.clock.now() - before >= T);
}

#[test]
fn writes_are_nor_programming_without_an_erase() {
    // hal/shared/flash_common.cpp:60-125 and flash_hal.c:103-113: hal_flash_write programs
    // words; nothing erases first (the host must, usbd_dfu_mal.cpp:86-135).
    let mut b = dfu_board(501, "");
    for data in [[0xF0u8; 4], [0x0F; 4]] {
        b.command(DFUSE_SET_ADDRESS, 0x40000).unwrap();
        b.expect(C::Ok, S::DnBusy);
        b.expect(C::Ok, S::DnloadIdle);
        b.dnload(2, &data).unwrap();
        b.expect(C::Ok, S::DnBusy);
        b.expect(C::Ok, S::DnloadIdle);
    }
    assert_eq!(b.board.read_internal(0x40000, 4).unwrap(), [0x00; 4]);
}
