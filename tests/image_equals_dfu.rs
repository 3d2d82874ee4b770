//! The DFU path and the (SWD) flash image agree on what goes where: the DfuSe writes of a real
//! `flash --sim --trace` session, replayed into a byte array, equal `core::image` for the
//! example bundle — and the trace is complete enough to replay.

#[path = "support/common.rs"]
mod common;

use common::{flashline, EXAMPLE};
use std::path::Path;

use flashline::core::bundle::Bundle;
use flashline::core::image::image_of;

const TRANSFER: usize = 4096;

#[test]
fn replayed_dfu_writes_equal_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    let out = flashline(&[
        "flash",
        "--bundle",
        EXAMPLE,
        "--sim",
        "--json",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(out.status.success());

    // Replay: erase sets a 4 KiB page to 0xFF, set-address moves the pointer, a data block
    // lands at pointer + (block − 2) × wTransferSize and ANDs into flash like NOR.
    let mut flash = vec![0xFFu8; 1024 * 1024];
    let mut written = vec![false; flash.len()];
    let mut pointer = 0usize;
    for line in std::fs::read_to_string(&trace).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["kind"] != "control"
            || v["request_type"] != 0x21
            || v["request"] != 1
            || v["status"] != "ok"
        {
            continue;
        }
        let data = hex::decode(v["data"].as_str().unwrap()).unwrap();
        match (v["value"].as_u64().unwrap(), data.as_slice()) {
            (0, [0x21, a @ ..]) => pointer = u32::from_le_bytes(a.try_into().unwrap()) as usize,
            (0, [0x41, a @ ..]) => {
                let page = u32::from_le_bytes(a.try_into().unwrap()) as usize / 4096 * 4096;
                flash[page..page + 4096].fill(0xFF);
            }
            (0, _) => panic!("unknown DfuSe command {data:?}"),
            (block, bytes) if !bytes.is_empty() => {
                let at = pointer + (block as usize - 2) * TRANSFER;
                for (i, b) in bytes.iter().enumerate() {
                    flash[at + i] &= b;
                    written[at + i] = true;
                }
            }
            _ => {} // zero-length: leave
        }
    }

    let bundle = Bundle::load(Path::new(EXAMPLE)).unwrap();
    let image = image_of(&bundle, false);
    let mut expected = vec![0xFFu8; flash.len()];
    let mut covered = vec![false; flash.len()];
    for r in &image {
        let a = r.address as usize;
        expected[a..a + r.bytes.len()].copy_from_slice(&r.bytes);
        covered[a..a + r.bytes.len()]
            .iter_mut()
            .for_each(|c| *c = true);
    }
    assert_eq!(written, covered, "DFU wrote exactly the image's ranges");
    assert!(flash == expected, "and the same bytes");
    assert!(written[..0x1000].iter().all(|w| !w), "never the MBR");
    assert!(
        written[0xF4000..].iter().all(|w| !w),
        "never the bootloader region by DFU"
    );
}
