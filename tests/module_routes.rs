//! Each module form by the route it takes, end to end on simulated boards, checked on the USB
//! trace and in the board's flash: what goes by DFU lands as it is; what Device OS must unpack
//! (compressed, combined) or put elsewhere (NCP firmware, assets) goes by the firmware-update
//! control requests and never by DFU — and a board whose Device OS cannot take a form gets
//! nothing of it.

#[path = "support/gen3.rs"]
mod gen3;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flashline::adapters::trace::{TraceSink, TracingBus};
use flashline::core::bundle::Bundle;
use flashline::core::flash::{
    asset_module, FlashError, FlashOptions, FlashReport, Flasher, WrittenBy,
};
use flashline::core::module::{Inner, ModuleFunction};
use flashline::core::plan::{BoardView, FlashPlan, Step};
use flashline::ports::Clock;
use flashline::sim::argon::{Presence, SimBoardSpec};
use flashline::sim::{SimBoard, SimBus, VirtualClock};
use gen3::{fixture, named, tempdir};

/// A trace kept in memory, one JSON object per line.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    /// The data of every DFU DNLOAD data block (class OUT 0x21, DNLOAD 1, wBlockNum ≥ 2).
    fn dfu_blocks(&self) -> Vec<Vec<u8>> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["kind"] == "control" && v["request_type"] == 0x21 && v["request"] == 1)
            .filter(|v| v["value"].as_u64().is_some_and(|b| b >= 2))
            .filter_map(|v| hex::decode(v["data"].as_str()?).ok())
            .collect()
    }
}

struct Run {
    board: SimBoard,
    result: Result<FlashReport, FlashError>,
    trace: Lines,
}

fn flash(bundle: &Bundle, spec: &str) -> Run {
    flash_spec(bundle, SimBoardSpec::parse(spec).unwrap())
}

fn flash_spec(bundle: &Bundle, spec: SimBoardSpec) -> Run {
    let clock = VirtualClock::new();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let board = spec.build(shared.clone(), "1-1", 5, Vec::new());
    let trace = Lines::default();
    let sink = TraceSink::new(Box::new(trace.clone()), shared);
    let mut bus = TracingBus::new(Box::new(SimBus::new(vec![board.clone()])), sink);
    let mut flasher = Flasher {
        bus: &mut bus,
        clock: &clock,
        port: board.port(),
        bundle,
        options: FlashOptions::default(),
    };
    let result = flasher.run(&mut |_| {});
    Run {
        board,
        result,
        trace,
    }
}

fn by(r: &FlashReport, label: &str) -> WrittenBy {
    r.written
        .iter()
        .find(|w| w.module == label)
        .unwrap_or_else(|| panic!("{label} not written: {:?}", r.written))
        .route
}

/// The 4.1.0 example with its system part compressed.
fn compressed_system_part(dir: &std::path::Path) -> Bundle {
    gen3::write_bundle(
        dir,
        "argon",
        &[
            named("argon-bootloader@4.1.0.bin"),
            named("argon-softdevice@4.1.0.bin"),
            named("argon-system-part1@4.1.0.compressed.bin"),
            named("app-dos4006-argon-userpart2.bin"),
        ],
        &[],
        true,
    )
}

#[test]
fn a_compressed_system_part_never_reaches_dfu_and_the_board_runs_it_inflated() {
    let (_t, dir) = tempdir();
    let bundle = compressed_system_part(&dir);
    let file = gen3::parse(&fixture("argon-system-part1@4.1.0.compressed.bin"));
    let Some(Ok(Inner::Module(inflated))) = file.compressed().map(|c| &c.inner) else {
        panic!("the fixture inflates");
    };
    // A board running 2.2.0 (Device OS ≥ 2.0 takes compressed modules, its bootloader 1006
    // inflates them).
    let run = flash(&bundle, "argon@2.2");
    let r = run.result.unwrap_or_else(|e| panic!("{} {e}", e.code()));
    assert_eq!(by(&r, "system-part#1 v4100"), WrittenBy::ControlRequest);
    // Not one DFU block carries a 4 KiB piece of the compressed file.
    let pieces: Vec<&[u8]> = file.bytes().chunks(4096).collect();
    for block in run.trace.dfu_blocks() {
        assert!(
            !pieces
                .iter()
                .any(|p| block.len() >= 64 && p.starts_with(&block[..64])),
            "a DFU block holds the compressed file's bytes"
        );
    }
    assert!(!run.trace.dfu_blocks().is_empty(), "the app went by DFU");
    // The board reports the inflated module valid, and holds it at 0x30000.
    let sp = r
        .board_modules
        .iter()
        .find(|m| m.function == ModuleFunction::SystemPart)
        .unwrap();
    assert!(sp.valid() && sp.version == 4100);
    assert_eq!(
        run.board
            .read_internal(0x30000, inflated.bytes().len())
            .unwrap(),
        inflated.bytes()
    );
}

#[test]
fn a_board_whose_device_os_cannot_inflate_gets_nothing() {
    let (_t, dir) = tempdir();
    let bundle = compressed_system_part(&dir);
    // 1.5.0 reads byte 9 as reserved: it would copy the deflate data to 0x30000 as it is.
    let run = flash(&bundle, "argon@1.5.0");
    let e = run.result.unwrap_err();
    assert_eq!(e.code().as_str(), "E-BOARD-TOO-OLD", "{e}");
    assert!(e.to_string().contains("Device OS 1.5.0"), "{e}");
    assert_eq!(run.board.stats().bytes_written, 0, "nothing written");
    assert!(run.board.slots().is_empty());
    // A blank board is let out of DFU to look for a Device OS, and has none.
    let run = flash(&bundle, "argon");
    let e = run.result.unwrap_err();
    assert_eq!(e.code().as_str(), "E-BOARD-TOO-OLD", "{e}");
    assert_eq!(run.board.stats().bytes_written, 0, "nothing written");
}

#[test]
fn a_combined_file_of_two_goes_by_control_request_and_both_parts_are_installed() {
    let (_t, dir) = tempdir();
    let both = gen3::combined(
        &fixture("argon-bootloader@4.1.0.bin"),
        &fixture("argon-system-part1@4.1.0.bin"),
    );
    let bundle = gen3::write_bundle(
        &dir,
        "argon",
        &[
            ("argon-bl-sp@4.1.0.combined.bin", both),
            named("argon-softdevice@4.1.0.bin"),
            named("app-dos4006-argon-userpart2.bin"),
        ],
        &[],
        true,
    );
    // A 2.2.0 board with Tinker in the 128 KiB slot.
    let tinker = gen3::parse(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/bundles/example-argon/tinker-0.8.0-rc.27-argon.bin"
        ))
        .unwrap(),
    );
    let spec = SimBoardSpec::parse("argon@2.2")
        .unwrap()
        .preload(vec![tinker]);
    let run = flash_spec(&bundle, spec);
    let r = run.result.unwrap_or_else(|e| panic!("{} {e}", e.code()));
    assert_eq!(by(&r, "bootloader#0 v1200"), WrittenBy::ControlRequest);
    // The board's bootloader 1006 does not erase the compat slot: the host does, by DFU.
    assert_eq!(by(&r, "compat user-part#1 slot"), WrittenBy::Dfu);
    for (f, v) in [
        (ModuleFunction::Bootloader, 1200),
        (ModuleFunction::SystemPart, 4100),
    ] {
        assert!(r
            .board_modules
            .iter()
            .any(|m| m.function == f && m.version == v && m.valid()));
    }
    assert_eq!(run.board.bootloader_version(), 1200);
}

#[test]
fn ncp_firmware_goes_by_control_request_takes_the_esp32_its_time_and_is_skipped_when_same() {
    let (_t, dir) = tempdir();
    let ncp = fixture("argon-ncp-firmware-0.0.5-ota.bin");
    let bundle = gen3::write_bundle(
        &dir,
        "argon",
        &[
            named("argon-bootloader@4.1.0.bin"),
            named("argon-softdevice@4.1.0.bin"),
            named("argon-system-part1@4.1.0.bin"),
            named("app-dos4006-argon-userpart2.bin"),
            ("argon-ncp-firmware-0.0.5-ota.bin", ncp),
        ],
        &[],
        true,
    );
    // Every Argon shipped with 0.0.5: nothing to send.
    let run = flash(&bundle, "argon@4.1");
    let r = run.result.unwrap();
    assert!(r.modules_skipped.contains(&"ncp-firmware#0 v5".to_string()));
    // An ESP32 with older firmware gets it, and the board stays up the ≈25 s the transfer
    // over the UART takes before it resets.
    let run = flash(&bundle, "argon@4.1,ncp=3");
    let r = run.result.unwrap_or_else(|e| panic!("{} {e}", e.code()));
    assert_eq!(by(&r, "ncp-firmware#0 v5"), WrittenBy::ControlRequest);
    assert_eq!(run.board.ncp_version(), Some(5));
    assert!(
        r.duration > Duration::from_secs(25),
        "the NCP update's time is the board's: {:?}",
        r.duration
    );
}

#[test]
fn assets_go_last_by_control_request_and_the_board_lists_them() {
    let (_t, dir) = tempdir();
    let bundle = gen3::argon_5_6_with_assets(&dir);
    let plan = FlashPlan::build(&bundle, &BoardView::Dfu);
    let last = plan.entries.last().unwrap();
    assert_eq!(last.step, Step::Assets);
    let run = flash(&bundle, "argon@5.9");
    let r = run.result.unwrap_or_else(|e| panic!("{} {e}", e.code()));
    assert_eq!(by(&r, "asset cat.txt"), WrittenBy::ControlRequest);
    let listed = r.board_assets.as_ref().unwrap();
    for a in &bundle.assets {
        assert!(listed
            .iter()
            .any(|l| l.name == a.name && l.hash == a.content_sha256));
    }
    // A board that already holds the bundle and its assets: nothing is sent.
    let mut held = bundle.parsed_modules();
    for a in &bundle.assets {
        held.push(gen3::parse(&asset_module::wrap(&a.name, &a.bytes).unwrap()));
    }
    let run = flash_spec(
        &bundle,
        SimBoardSpec::parse("argon@5.9").unwrap().preload(held),
    );
    let r = run.result.unwrap();
    assert!(r.written.is_empty(), "{:?}", r.written);
    assert_eq!(r.modules_skipped.len(), 7, "{:?}", r.modules_skipped);
}

#[test]
fn a_board_lacking_the_ncp_its_system_part_needs_is_refused_before_anything_is_written() {
    let (_t, dir) = tempdir();
    let bundle = gen3::tracker_4_1(&dir);
    assert_eq!(bundle.device_dependencies.len(), 1);
    let run = flash(&bundle, "tracker@4.1,ncp=3");
    let e = run.result.unwrap_err();
    assert_eq!(e.code().as_str(), "E-DEVICE-DEP");
    assert!(
        e.to_string().contains("ncp-firmware#0 ≥ 7") && e.to_string().contains("v3"),
        "{e}"
    );
    assert_eq!(run.board.stats().bytes_written, 0);
    // A blank one has no Device OS to ask: flashed, then named by verification.
    let run = flash(&bundle, "tracker,ncp=3");
    assert_eq!(run.result.unwrap_err().code().as_str(), "E-DEVICE-DEP");
    assert!(flash(&bundle, "tracker@4.1").result.is_ok());
}

#[test]
fn a_protected_bootloader_goes_only_to_a_protected_device() {
    let (_t, dir) = tempdir();
    let bundle = gen3::write_bundle(
        &dir,
        "argon",
        &[
            (
                "argon-bootloader@6.2.0-protected.bin",
                gen3::protected(&gen3::bootloader_6_2()),
            ),
            named("argon-softdevice@4.1.0.bin"),
            (
                "argon-system-part1@6.2.0-derived.bin",
                gen3::system_part_6_2(),
            ),
            ("argon-tinker-6.2.0.bin", fixture("argon-tinker-6.2.0.bin")),
        ],
        &[],
        true,
    );
    assert_eq!(bundle.board_requirements.len(), 1);
    let run = flash(&bundle, "argon@6.2");
    let e = run.result.unwrap_err();
    assert_eq!(e.code().as_str(), "E-PROTECTED", "{e}");
    assert_eq!(run.board.stats().bytes_written, 0);
    // Older Device OS has no Device Protection to report: the board is open.
    assert_eq!(
        flash(&bundle, "argon@4.1")
            .result
            .unwrap_err()
            .code()
            .as_str(),
        "E-PROTECTED"
    );
    // A Protected Device in service mode takes it (DFU writes of a system part ≥ 6.0.0 only).
    let run = flash(&bundle, "argon@6.2,service-mode");
    run.result.unwrap_or_else(|e| panic!("{} {e}", e.code()));
    assert_eq!(
        run.board.presence(),
        Presence::Firmware { safe_mode: false }
    );
}

#[test]
fn an_update_past_592_kib_overwrites_an_argons_asset_store_so_assets_go_after_the_ncp() {
    let (_t, dir) = tempdir();
    let five_six = gen3::argon_5_6_with_assets(&dir);
    let mut modules: Vec<(String, Vec<u8>)> = five_six
        .modules
        .iter()
        .map(|m| (m.file.clone(), m.module.bytes().to_vec()))
        .collect();
    modules.push((
        "argon-ncp-firmware-0.0.5-ota.bin".into(),
        fixture("argon-ncp-firmware-0.0.5-ota.bin"),
    ));
    let assets: Vec<(String, Vec<u8>)> = five_six
        .assets
        .iter()
        .map(|a| (a.file.clone(), a.bytes.clone()))
        .collect();
    let (_t2, dir2) = tempdir();
    let bundle = gen3::write_bundle(&dir2, "argon", &as_refs(&modules), &as_refs(&assets), true);
    // The board already holds the assets; its ESP32 needs the NCP: 829 KB through the OTA area
    // wipe the store (flash_mal.h:108-118 @ v6.2.0), and the assets go again after it.
    let mut held = bundle.parsed_modules();
    held.retain(|m| m.function() != ModuleFunction::NcpFirmware);
    for a in &bundle.assets {
        held.push(gen3::parse(&asset_module::wrap(&a.name, &a.bytes).unwrap()));
    }
    let spec = SimBoardSpec::parse("argon@5.9,ncp=3")
        .unwrap()
        .preload(held);
    let run = flash_spec(&bundle, spec);
    let r = run.result.unwrap_or_else(|e| panic!("{} {e}", e.code()));
    let order: Vec<&str> = r.written.iter().map(|w| w.module.as_str()).collect();
    let ncp = order
        .iter()
        .position(|w| *w == "ncp-firmware#0 v5")
        .unwrap();
    let first_asset = order.iter().position(|w| w.starts_with("asset")).unwrap();
    assert!(ncp < first_asset, "{order:?}");
    assert_eq!(run.board.stored_assets().len(), 3);
}

fn as_refs(v: &[(String, Vec<u8>)]) -> Vec<(&str, Vec<u8>)> {
    v.iter().map(|(f, b)| (f.as_str(), b.clone())).collect()
}
