//! Every parser that reads outside input, fed random and mutated bytes: it must return, never
//! panic. A short run is part of `cargo test`; the long run (100 000 cases each) is opt-in:
//! `cargo test --release --test fuzz -- --ignored --nocapture`.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use flashline::adapters::serial::take_line;
use flashline::core::board_test::{parse_reply, TestPlan};
use flashline::core::control::messages::decode_module_info;
use flashline::core::control::proto;
use flashline::core::control::service::ServiceReply;
use flashline::core::dfu::MemoryLayout;
use flashline::core::module::Module;

const SHORT: u32 = 300;
const LONG: u32 = 100_000;
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bundles/example-argon");
const MODERN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/particle-modern"
);

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// A real file with up to eight bytes changed and maybe cut short.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    (
        proptest::collection::vec((0..len, any::<u8>()), 1..8),
        0..=len,
    )
        .prop_map(move |(edits, keep)| {
            let mut b = base.clone();
            for (i, v) in edits {
                b[i] = v;
            }
            b.truncate(keep.max(1));
            b
        })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

/// The plain example app and every modern form: suffix extensions, a compressed module, an
/// asset (compressed, drop-module-info, extensions) and a combined file. Integrity is
/// checked too, since that inflates.
fn module_parser(cases: u32) -> u32 {
    let read = |path: String| std::fs::read(path).unwrap();
    let tinker = read(format!("{EXAMPLE}/tinker-0.8.0-rc.27-argon.bin"));
    let assets = read(format!("{MODERN}/argon-app-with-assets.bin"));
    let compressed = read(format!("{MODERN}/tinker-0.8.0-rc.27-argon.compressed.bin"));
    let asset = read(format!("{MODERN}/asset-hello.bin"));
    // A small combined file: the example app flagged COMBINED, then the 6.2 Tinker.
    let mut combined = tinker.clone();
    flashline::core::module::reseal::edit_prefix(&mut combined, |p| p[9] |= 0x04).unwrap();
    combined.extend(read(format!("{MODERN}/argon-tinker-6.2.0.bin")));
    assert_eq!(
        Module::parse(combined.clone())
            .unwrap()
            .combined_parts()
            .map(<[_]>::len),
        Some(2)
    );
    let mut r = runner(cases);
    let forms = prop_oneof![
        bytes(4096),
        mutated(tinker),
        mutated(assets),
        mutated(compressed),
        mutated(asset),
        mutated(combined),
    ];
    r.run(&forms, |b| {
        if let Ok(m) = Module::parse(b) {
            let _ = m.check_integrity();
        }
        Ok(())
    })
    .unwrap();
    cases
}

fn layout_parser(cases: u32) -> u32 {
    let near =
        "@[A-Za-z ]{0,12}(/0x[0-9a-fA-F]{1,9}/([0-9]{1,4}\\*[0-9]{1,5}[KMB ]?[a-h],?){0,4}){0,3}";
    runner(cases)
        .run(
            &prop_oneof![near.prop_map(|s| s), "\\PC{0,120}".prop_map(|s| s)],
            |s| {
                let _ = MemoryLayout::parse(&s);
                Ok(())
            },
        )
        .unwrap();
    cases
}

fn control_decoders(cases: u32) -> u32 {
    runner(cases)
        .run(&bytes(300), |b| {
            let _ = ServiceReply::parse(&b);
            if let Ok(fields) = proto::decode(&b) {
                let _ = proto::string(&fields, 1);
            }
            let _ = decode_module_info(&b);
            Ok(())
        })
        .unwrap();
    cases
}

fn serial_lines(cases: u32) -> u32 {
    runner(cases)
        .run(&bytes(1200), |b| {
            let _ = parse_reply(&b);
            let mut pending = b.clone();
            while let Ok(Some(_)) = take_line(&mut pending) {}
            assert!(pending.len() <= 1200);
            Ok(())
        })
        .unwrap();
    cases
}

fn tests_toml(cases: u32) -> u32 {
    let example = std::fs::read(format!("{EXAMPLE}/tests.toml")).unwrap();
    runner(cases)
        .run(&prop_oneof![bytes(600), mutated(example)], |b| {
            if let Ok(text) = std::str::from_utf8(&b) {
                let _ = TestPlan::parse(text);
            }
            Ok(())
        })
        .unwrap();
    cases
}

fn archive_unpacker(cases: u32) -> u32 {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    flashline::stick::keys::generate(&keys).unwrap();
    let archive = dir.path().join("b.tar");
    flashline::stick::pack(
        std::path::Path::new(EXAMPLE),
        &keys.join("bundle.key"),
        &archive,
    )
    .unwrap();
    // The headers are what an unpacker reads first: mutate within the first 8 KiB.
    let head = std::fs::read(&archive).unwrap()[..8192].to_vec();
    let work = dir.path().join("work");
    let input = dir.path().join("in.tar");
    runner(cases)
        .run(&prop_oneof![bytes(2048), mutated(head)], |b| {
            std::fs::write(&input, &b).unwrap();
            let _ = flashline::stick::inspect(&input, &keys.join("bundle.pub"), &work);
            Ok(())
        })
        .unwrap();
    cases
}

type Target = (&'static str, fn(u32) -> u32);

const TARGETS: [Target; 6] = [
    ("module parser", module_parser),
    ("DfuSe layout parser", layout_parser),
    ("control reply decoders", control_decoders),
    ("serial line parser", serial_lines),
    ("tests.toml", tests_toml),
    ("bundle archive unpacker", archive_unpacker),
];

#[test]
fn parsers_survive_random_and_mutated_input() {
    for (_, target) in TARGETS {
        target(SHORT);
    }
}

#[test]
#[ignore = "long run: 100 000 cases per parser, opt-in (see the file's doc)"]
fn fuzz_every_parser_100k() {
    for (name, target) in TARGETS {
        let started = std::time::Instant::now();
        let n = target(LONG);
        println!(
            "fuzz {name}: {n} cases, no panic ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
}
