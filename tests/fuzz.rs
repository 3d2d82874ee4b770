//! Every parser that reads outside input, fed random and mutated bytes: it must return, never
//! panic. A short run is part of `cargo test`; the long run (100 000 cases each) is opt-in:
//! `cargo test --release --test fuzz -- --ignored --nocapture`.

#[path = "support/hostile.rs"]
mod hostile;

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

/// The example bundle signed and packed in `dir`: (keys directory, archive).
fn signed_example(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let keys = dir.join("keys");
    flashline::stick::keys::generate(&keys).unwrap();
    let archive = dir.join("b.tar");
    let example = std::path::Path::new(EXAMPLE);
    flashline::stick::pack(example, &keys.join("bundle.key"), &archive).unwrap();
    (keys, archive)
}

fn archive_unpacker(cases: u32) -> u32 {
    let dir = tempfile::tempdir().unwrap();
    let (keys, archive) = signed_example(dir.path());
    // The headers are what an unpacker reads first: mutate within the first 8 KiB.
    let head = std::fs::read(&archive).unwrap()[..8192].to_vec();
    let input = dir.path().join("in.tar");
    runner(cases)
        .run(&prop_oneof![bytes(2048), mutated(head)], |b| {
            std::fs::write(&input, &b).unwrap();
            let _ = flashline::stick::inspect(&input, &keys.join("bundle.pub"));
            Ok(())
        })
        .unwrap();
    cases
}

/// Counts what the reader takes from the archive.
struct Counted<'a> {
    inner: std::io::Cursor<&'a [u8]>,
    read: u64,
}

impl std::io::Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for Counted<'_> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
    }
}

/// A header block with any size, type and name, its checksum right (so the reader goes past
/// it): what a hostile archive is made of.
fn hostile_header() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(any::<u8>(), 0..100),
        prop_oneof![
            0..4096u64,
            any::<u64>().prop_map(|n| n >> 16),
            Just(1 << 30)
        ],
        prop_oneof![
            Just(b'0'),
            Just(b'L'),
            Just(b'x'),
            Just(b'g'),
            Just(b'5'),
            any::<u8>()
        ],
    )
        .prop_map(|(name, size, kind)| hostile::tar_header(&name, size, kind))
}

/// The bounded tar reader on random, mutated and hostile archives: it returns, reads at most
/// its budget whatever the archive claims, and what it lists is within its limits.
fn tar_reader(cases: u32) -> u32 {
    use flashline::stick::tar_reader::{index, MAX_ENTRIES, MAX_INDEX_READ, MAX_NAME};
    let dir = tempfile::tempdir().unwrap();
    let (_, archive) = signed_example(dir.path());
    // The first headers and files of a real archive (the later ones then run past its end).
    let real = std::fs::read(&archive).unwrap()[..64 * 1024].to_vec();
    // Hostile headers, each followed by up to 8 KiB of data (the rest is claimed, not there).
    let hostile =
        proptest::collection::vec((hostile_header(), bytes(8192)), 1..80).prop_map(|parts| {
            parts
                .into_iter()
                .flat_map(|(mut h, data)| {
                    h.extend(data);
                    h.resize(h.len().div_ceil(512) * 512, 0);
                    h
                })
                .collect::<Vec<u8>>()
        });
    runner(cases)
        .run(&prop_oneof![bytes(4096), mutated(real), hostile], |b| {
            // As large as the archive says it is: a claimed size may run far past the bytes.
            let claimed = b.len() as u64 + (1 << 40);
            for len in [b.len() as u64, claimed] {
                let mut r = Counted {
                    inner: std::io::Cursor::new(&b[..]),
                    read: 0,
                };
                if let Ok(entries) = index(&mut r, len) {
                    prop_assert!(entries.len() <= MAX_ENTRIES);
                    prop_assert!(entries.iter().all(|e| e.name.len() <= MAX_NAME));
                }
                prop_assert!(r.read <= MAX_INDEX_READ, "read {} bytes", r.read);
            }
            Ok(())
        })
        .unwrap();
    cases
}

type Target = (&'static str, fn(u32) -> u32);

const TARGETS: [Target; 7] = [
    ("module parser", module_parser),
    ("DfuSe layout parser", layout_parser),
    ("control reply decoders", control_decoders),
    ("serial line parser", serial_lines),
    ("tests.toml", tests_toml),
    ("bundle archive unpacker", archive_unpacker),
    ("bounded tar reader", tar_reader),
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
