//! Every (platform, Device OS) a Gen3 line may pin, flashed on simulated boards of several
//! states — blank with the factory bootloader, blank with another, running an older or newer
//! Device OS — through the real flasher: each ends with the board running the bundle (every
//! module reported present, at its version, valid), no compat application in the way of a
//! user-part#2, the MBR parameter page where the bundle's map wants it, and the bundle's
//! assets in the asset store. `cargo test --test gen3_matrix -- --nocapture` prints the table.

#[path = "support/gen3.rs"]
mod gen3;
#[path = "support/sim_rig.rs"]
mod sim_rig;

use std::path::Path;

use flashline::core::bundle::Bundle;
use flashline::core::module::ModuleFunction;
use flashline::sim::argon::{Presence, SimBoardSpec};

const EXAMPLE_4_1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bundles/example-argon-4.1");

/// How a bundle is had: built in a directory, or loaded from the repository.
type Build = fn(&Path) -> Bundle;
/// A board state: a spec (sim/argon/spec.rs), and the bundle whose modules it holds, if any.
type Board = (&'static str, Option<Build>);
/// (platform, Device OS, how the bundle is built, the boards it is flashed on)
type Row = (&'static str, &'static str, Build, &'static [Board]);

const MATRIX: &[Row] = &[
    (
        "argon",
        "1.5.0",
        |_| sim_rig::example(),
        &[
            ("argon", None),
            ("argon,bootloader=311", None),
            ("argon@4.1", None),
        ],
    ),
    (
        "argon",
        "4.1.0",
        |_| Bundle::load(Path::new(EXAMPLE_4_1)).unwrap(),
        &[
            ("argon", None),
            ("argon", Some(|_| sim_rig::example())),
            ("argon@2.2", None),
            ("argon,bootloader=1100", None),
            ("argon@6.2", None),
        ],
    ),
    (
        "argon",
        "5.6 (derived), assets",
        gen3::argon_5_6_with_assets,
        &[("argon", None), ("argon@4.1", None), ("argon@5.9", None)],
    ),
    (
        "argon",
        "6.2 (derived)",
        gen3::argon_6_2,
        &[
            ("argon", None),
            ("argon,bootloader=1100", None),
            ("argon", Some(|_| sim_rig::example())),
            (
                "argon",
                Some(|_| Bundle::load(Path::new(EXAMPLE_4_1)).unwrap()),
            ),
            ("argon@6.2", None),
        ],
    ),
    (
        "boron",
        "2.2.0",
        gen3::boron_2_2,
        &[("boron", None), ("boron@1.5.0", None), ("boron@4.1", None)],
    ),
    (
        "tracker",
        "4.1 (derived)",
        gen3::tracker_4_1,
        &[("tracker", None), ("tracker@4.1", None)],
    ),
];

#[test]
fn every_line_flashes_every_board_state_to_the_bundle() {
    println!("| platform | Device OS | board | written | resets | verdict |");
    println!("|---|---|---|---|---|---|");
    for (platform, os, build, boards) in MATRIX {
        let tmp = tempfile::tempdir().unwrap();
        let bundle = build(&tmp.path().join("bundle"));
        assert_eq!(bundle.platform.name, *platform);
        for (i, (spec, preload)) in boards.iter().enumerate() {
            let mut spec = SimBoardSpec::parse(spec).unwrap();
            let mut state = boards[i].0.to_string();
            if let Some(other) = preload {
                let other = other(&tmp.path().join(format!("preload-{i}")));
                state = format!("{state} + {} ({})", other.name, other.device_os);
                spec = spec.preload(other.parsed_modules());
            }
            let mut rig = sim_rig::rig_of(spec);
            let board = rig.board.clone();
            let r = rig
                .flash(&bundle)
                .unwrap_or_else(|e| panic!("{platform} {os} on {state}: {} {e}", e.code()));
            assert_eq!(
                board.presence(),
                Presence::Firmware { safe_mode: false },
                "{platform} {os} on {state}"
            );
            let map = bundle.flash_map;
            if map.user_part_compat.is_some()
                && bundle
                    .module(ModuleFunction::UserPart, map.user_part.index)
                    .is_some()
            {
                assert!(
                    !r.board_modules
                        .iter()
                        .any(|m| m.function == ModuleFunction::UserPart && m.index == 1),
                    "{platform} {os} on {state}: the compat application is gone"
                );
            }
            // The MBR clears its parameter page at every bootloader copy: no module of the
            // bundle may own it (a board coming down from 6.2 keeps 0x27000, which is free in
            // the older maps too; one going up to 6.2 has it moved there).
            if let Some(page) = board.mbr_params() {
                let page = u64::from(page)..u64::from(page) + 4096;
                for m in &bundle.modules {
                    let owns = m
                        .module
                        .footprint()
                        .is_some_and(|f| f.start < page.end && page.start < f.end);
                    assert!(
                        !owns,
                        "{platform} {os} on {state}: {} owns NRFFW[1]",
                        m.file
                    );
                }
            }
            if board.bootloader_version() >= 1001
                && map.since >= flashline::core::target::DeviceOs::line(6, 2)
            {
                assert_eq!(board.mbr_params(), Some(map.mbr_params.start), "{state}");
            }
            let stored = board.stored_assets();
            for a in &bundle.assets {
                assert!(
                    stored
                        .iter()
                        .any(|s| s.name == a.name && s.hash == a.content_sha256),
                    "{platform} {os} on {state}: asset {}",
                    a.name
                );
            }
            println!(
                "| {platform} | {os} | {state} | {} | {} | PASS |",
                r.written
                    .iter()
                    .map(|w| w.module.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                r.resets
            );
        }
    }
}
