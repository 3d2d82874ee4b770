//! `bundle lock` owns flash by 4 KiB page (issue #18): each case here locked before and would
//! have destroyed Device OS on a board, or written where no module goes. Each is refused at
//! lock, naming the file, the page or the map row. Modules are derived from the real example
//! files with `reseal` (new addresses, re-sealed SHA-256 and CRC), as a careless build would.

#[path = "support/common.rs"]
mod common;

use common::{copy_example, flashline};
use flashline::core::module::reseal::edit_prefix;
use std::path::Path;

const SYSTEM: &str = "argon-system-part1@1.5.0.bin";
const TINKER: &str = "tinker-0.8.0-rc.27-argon.bin";
const FINAL: &str = "product-demo-1.0.0.bin";
const MODERN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/particle-modern"
);

/// Moves the module in `dir/file` to `start`, keeping its length (start and end address).
fn move_module(dir: &Path, file: &str, start: u32) {
    let path = dir.join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    let end = start + bytes.len() as u32 - 4;
    edit_prefix(&mut bytes, |p| {
        p[0..4].copy_from_slice(&start.to_le_bytes());
        p[4..8].copy_from_slice(&end.to_le_bytes());
    })
    .unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// `bundle lock` on the directory: (success, stderr).
fn lock(dir: &Path) -> (bool, String) {
    let out = flashline(&["bundle", "lock", dir.to_str().unwrap()]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn refused(dir: &Path, wants: &[&str]) {
    let (ok, stderr) = lock(dir);
    assert!(!ok, "locked, but should be refused:\n{stderr}");
    for w in wants {
        assert!(stderr.contains(w), "no `{w}` in:\n{stderr}");
    }
    assert!(!dir.join("bundle.lock.tmp").exists());
}

fn example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_example(dir.path());
    std::fs::remove_file(dir.path().join("bundle.lock")).unwrap();
    dir
}

#[test]
fn a_user_part_sharing_the_system_parts_last_page_is_refused() {
    // The 1.5.0 system part ends at 0xcaf44: erasing 0xca000 for the app erases Device OS.
    let dir = example();
    move_module(dir.path(), TINKER, 0xCAF44);
    refused(dir.path(), &[TINKER, SYSTEM, "share flash page 0xca000"]);
}

#[test]
fn a_system_part_sharing_the_radio_stacks_last_page_is_refused() {
    // The softdevice fills 0x1000..0x265c0; a system part from 0x26600 touches its last page.
    let dir = example();
    move_module(dir.path(), SYSTEM, 0x26600);
    refused(
        dir.path(),
        &[
            "argon-softdevice@1.5.0.bin",
            SYSTEM,
            "share flash page 0x26000",
        ],
    );
}

#[test]
fn a_final_firmware_over_the_system_part_is_refused() {
    let dir = example();
    move_module(dir.path(), FINAL, 0x30000);
    refused(dir.path(), &[FINAL, SYSTEM, "flash page 0x30000"]);
}

#[test]
fn a_bootloader_away_from_0xf4000_is_refused() {
    let dir = example();
    move_module(dir.path(), "argon-bootloader@1.5.0.bin", 0xF5000);
    refused(
        dir.path(),
        &[
            "argon-bootloader@1.5.0.bin",
            "at 0xf5000",
            "it goes at 0xf4000",
        ],
    );
}

#[test]
fn an_ncp_module_for_no_coprocessor_is_refused_and_the_argons_esp32_firmware_locks() {
    // Real NCP firmware starts at 0x0 of the ESP32's own flash and names it (MCU target 0x21).
    // One naming the nRF52840 itself (target 0) is nothing Device OS can update: its bytes at
    // 0x0 would be the MBR's.
    let dir = example();
    let ncp = "argon-ncp-firmware-0.0.5-ota.bin";
    std::fs::copy(Path::new(MODERN).join(ncp), dir.path().join(ncp)).unwrap();
    let manifest = dir.path().join("bundle.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("modules = [", &format!("modules = [\n  \"{ncp}\",")),
    )
    .unwrap();
    let (ok, stderr) = lock(dir.path());
    assert!(ok, "the real Argon NCP firmware locks: {stderr}");

    let mut bytes = std::fs::read(dir.path().join(ncp)).unwrap();
    edit_prefix(&mut bytes, |p| p[8] = 0).unwrap();
    std::fs::write(dir.path().join(ncp), bytes).unwrap();
    refused(dir.path(), &[ncp, "MCU target 0x00", "ESP32 is 0x21"]);
}
