//! libusb itself (through rusb, as the adapter uses it) against an emulated board: string
//! descriptors by control transfer, claim and alternate settings, a timeout that discards its
//! URB, re-enumeration under an open handle, the kernel's cdc_acm holding the CDC interfaces,
//! and the CDC bulk endpoints once a program takes them.
//!
//! The checks run in this test binary started again under `flashline sim usb` (the `inner`
//! test), since only a process with umockdev's preload sees the emulated bus.

#[path = "support/sim_usb.rs"]
mod sim_usb;

use rusb::{Context, Device, UsbContext};
use std::time::{Duration, Instant};

const INNER: &str = "FLASHLINE_USB_EMU_INNER";

#[test]
fn libusb_meets_the_emulated_board_as_hardware() {
    if sim_usb::skip("libusb_meets_the_emulated_board_as_hardware") {
        return;
    }
    let me = std::env::current_exe().unwrap();
    let out = std::process::Command::new(sim_usb::BIN)
        .current_dir(sim_usb::ROOT)
        .args(["sim", "usb", "--speedup", sim_usb::SPEEDUP])
        .args(["--bundle", "bundles/example-argon", "--dfu"])
        .arg("--")
        .arg(me)
        .args([
            "--exact",
            "inner",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(INNER, "1")
        .output()
        .unwrap();
    let log = sim_usb::shown(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("1 passed"), "the inner checks ran: {log}");
}

fn on_port(ctx: &Context, port: u8) -> Option<Device<Context>> {
    ctx.devices()
        .ok()?
        .iter()
        .find(|d| d.port_numbers().ok().as_deref() == Some(&[port][..]))
}

/// The board on port 1-1 as a fresh context sees it, once it has `pid`.
fn wait_for(pid: u16) -> Device<Context> {
    let started = Instant::now();
    loop {
        let ctx = Context::new().unwrap();
        if let Some(d) = on_port(&ctx, 1) {
            if d.device_descriptor().unwrap().product_id() == pid {
                return d;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no {pid:04x} on 1-1"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

const T: Duration = Duration::from_secs(2);

#[test]
#[ignore = "runs under `flashline sim usb` (libusb_meets_the_emulated_board_as_hardware)"]
fn inner() {
    if std::env::var_os(INNER).is_none() {
        return;
    }
    // DFU mode: descriptors, strings by GET_DESCRIPTOR, claim, alternate settings.
    let dfu = wait_for(0xd00c);
    let d = dfu.device_descriptor().unwrap();
    assert_eq!((d.vendor_id(), d.product_id()), (0x2b04, 0xd00c));
    let h = dfu.open().unwrap();
    assert_eq!(
        h.read_serial_number_string_ascii(&d).unwrap(),
        "e00fce68f372fe94a3fad5fb"
    );
    assert_eq!(h.read_product_string_ascii(&d).unwrap(), "Argon DFU Mode");
    let mut raw = [0u8; 18];
    assert_eq!(h.read_control(0x80, 6, 0x0100, 0, &mut raw, T).unwrap(), 18);
    assert_eq!(&raw[8..12], &[0x04, 0x2b, 0x0c, 0xd0]);
    let config = dfu.active_config_descriptor().unwrap();
    let alts: Vec<u8> = config
        .interfaces()
        .flat_map(|i| {
            i.descriptors()
                .map(|a| a.setting_number())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(alts, [0, 1, 2]);
    let name = h.read_string_descriptor_ascii(8).unwrap();
    assert_eq!(name, "@External Flash   /0x80000000/1024*004Kg");
    assert_eq!(
        h.kernel_driver_active(0).ok(),
        Some(false),
        "no kernel driver takes DFU"
    );
    h.claim_interface(0).unwrap();
    h.set_alternate_setting(0, 2).unwrap();
    assert_eq!(h.set_alternate_setting(0, 3), Err(rusb::Error::NotFound));
    h.set_alternate_setting(0, 0).unwrap();
    let mut status = [0u8; 6];
    assert_eq!(h.read_control(0xa1, 3, 0, 0, &mut status, T).unwrap(), 6);
    assert_eq!(status[4], 2, "dfuIDLE");
    // A second file cannot take the interface this one holds.
    let other = dfu.open().unwrap();
    assert_eq!(other.claim_interface(0), Err(rusb::Error::Busy));
    drop(other);

    // Leave DFU (zero-length DNLOAD, GETSTATUS): the board resets, and this handle's device
    // is gone; it comes back running Device OS with another device number.
    let before = dfu.address();
    h.write_control(0x21, 1, 2, 0, &[], T).unwrap();
    assert_eq!(h.read_control(0xa1, 3, 0, 0, &mut status, T).unwrap(), 6);
    assert_eq!(status[4], 7, "dfuMANIFEST");
    let normal = wait_for(0xc00c);
    assert_ne!(normal.address(), before);
    assert_eq!(
        h.read_control(0xa1, 3, 0, 0, &mut status, T),
        Err(rusb::Error::NoDevice)
    );
    drop(h);

    // Normal mode: cdc_acm holds the CDC pair and has made a tty.
    let tty_dir = "/sys/bus/usb/devices/1-1:1.0/tty";
    let h = normal.open().unwrap();
    assert_eq!(h.kernel_driver_active(0).ok(), Some(true));
    assert_eq!(h.claim_interface(1), Err(rusb::Error::Busy));
    // The tty comes once cdc_acm has probed, a moment after the device.
    let started = Instant::now();
    while std::fs::read_dir(tty_dir).is_err() {
        assert!(started.elapsed() < Duration::from_secs(5), "no tty");
        std::thread::sleep(Duration::from_millis(10));
    }
    // A read that nothing answers times out (the notification endpoint stays silent): libusb
    // discards the URB and reaps it.
    h.claim_interface(2).unwrap();
    h.detach_kernel_driver(0).unwrap();
    assert!(
        std::fs::read_dir(tty_dir).is_err(),
        "the tty went with cdc_acm"
    );
    h.claim_interface(0).unwrap();
    h.claim_interface(1).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(
        h.read_interrupt(0x82, &mut buf, Duration::from_millis(100)),
        Err(rusb::Error::Timeout)
    );
    // The test firmware's line protocol on the bulk endpoints.
    assert_eq!(h.write_bulk(0x01, b"MEAS VIN\n", T).unwrap(), 9);
    let mut text = String::new();
    let started = Instant::now();
    while !text.contains("OK 12.02 V\r\n") {
        assert!(started.elapsed() < Duration::from_secs(5), "{text:?}");
        match h.read_bulk(0x81, &mut buf, Duration::from_millis(200)) {
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(rusb::Error::Timeout) => {}
            Err(e) => panic!("bulk IN: {e}"),
        }
    }
    // cdc_acm binds again only to interfaces no file holds.
    h.release_interface(1).unwrap();
    assert_eq!(
        h.attach_kernel_driver(0),
        Err(rusb::Error::NotFound),
        "0 is still ours"
    );
    h.release_interface(0).unwrap();
    h.attach_kernel_driver(0).unwrap();
    assert!(std::fs::read_dir(tty_dir).is_ok(), "cdc_acm bound again");
}
