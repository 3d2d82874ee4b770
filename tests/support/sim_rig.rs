//! A simulated Argon on a simulated bus with a virtual clock, and bundles built in a tempdir:
//! what the flashing tests share.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use flashline::core::bundle::{self, Bundle};
use flashline::core::control::BoardModule;
use flashline::core::flash::{FlashError, FlashOptions, FlashReport, Flasher};
use flashline::core::module::reseal::{edit_prefix, field};
use flashline::core::module::{Module, ModuleFunction};
use flashline::ports::Clock;
use flashline::sim::{Fault, SimArgon, SimBus, VirtualClock};

pub const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bundles/example-argon");
pub const MODERN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/particle-modern"
);

pub fn example() -> Bundle {
    Bundle::load(Path::new(EXAMPLE)).unwrap()
}

pub struct Rig {
    pub clock: VirtualClock,
    pub board: SimArgon,
    pub bus: SimBus,
}

pub fn rig(faults: &str) -> Rig {
    let clock = VirtualClock::new();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let board = SimArgon::blank(shared, "1-1.2", 7, Fault::parse_list(faults).unwrap());
    let bus = SimBus::new(vec![board.clone()]);
    Rig { clock, board, bus }
}

/// A rig whose board is `spec` (any Gen3 platform and state, sim/argon/spec.rs).
pub fn rig_of(spec: flashline::sim::argon::SimBoardSpec) -> Rig {
    let clock = VirtualClock::new();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let board = spec.build(shared, "1-1", 7, Vec::new());
    let bus = SimBus::new(vec![board.clone()]);
    Rig { clock, board, bus }
}

impl Rig {
    pub fn flash(&mut self, bundle: &Bundle) -> Result<FlashReport, FlashError> {
        self.flash_with(bundle, FlashOptions::default())
    }

    pub fn flash_with(
        &mut self,
        bundle: &Bundle,
        options: FlashOptions,
    ) -> Result<FlashReport, FlashError> {
        let mut flasher = Flasher {
            bus: &mut self.bus,
            clock: &self.clock,
            port: self.board.port(),
            bundle,
            options,
        };
        flasher.run(&mut |_| {})
    }
}

pub fn reported(r: &FlashReport, f: ModuleFunction) -> &BoardModule {
    r.board_modules
        .iter()
        .find(|m| m.function == f && m.runs())
        .unwrap()
}

/// Copies the example bundle's files (not its sources) into `dir`.
pub fn copy_example(dir: &Path) {
    for entry in std::fs::read_dir(EXAMPLE).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
}

/// A copy of the example bundle whose module of `function` has another version.
pub fn variant(dir: &Path, function: ModuleFunction, version: u16) -> PathBuf {
    copy_example(dir);
    variant_in_place(dir, function, version)
}

/// Gives the module of `function` in the bundle copy at `dir` another version, re-locked.
pub fn variant_in_place(dir: &Path, function: ModuleFunction, version: u16) -> PathBuf {
    let b = Bundle::load(dir).unwrap();
    let m = b
        .modules
        .iter()
        .find(|m| m.module.function() == function)
        .unwrap();
    let path = dir.join(&m.file);
    let mut bytes = std::fs::read(&path).unwrap();
    edit_prefix(&mut bytes, |p| {
        p[field::VERSION..field::VERSION + 2].copy_from_slice(&version.to_le_bytes())
    })
    .unwrap();
    std::fs::write(&path, bytes).unwrap();
    bundle::lock(dir).unwrap();
    dir.to_path_buf()
}

/// A copy of the example bundle with its module of `function` replaced by `file` (from the
/// modern fixtures).
pub fn with_module(dir: &Path, function: ModuleFunction, file: &str) -> PathBuf {
    copy_example(dir);
    let b = example();
    let old = &b
        .modules
        .iter()
        .find(|m| m.module.function() == function)
        .unwrap()
        .file;
    std::fs::remove_file(dir.join(old)).unwrap();
    std::fs::copy(Path::new(MODERN).join(file), dir.join(file)).unwrap();
    let toml = std::fs::read_to_string(dir.join("bundle.toml")).unwrap();
    std::fs::write(dir.join("bundle.toml"), toml.replace(old.as_str(), file)).unwrap();
    bundle::lock(dir).unwrap();
    dir.to_path_buf()
}

/// `module` with another version, re-sealed (CRC and SHA-256), in memory.
pub fn edited(module: &Module, version: u16) -> Module {
    let mut bytes = module.bytes().to_vec();
    edit_prefix(&mut bytes, |p| {
        p[field::VERSION..field::VERSION + 2].copy_from_slice(&version.to_le_bytes())
    })
    .unwrap();
    Module::parse(bytes).unwrap()
}

/// A module from the modern fixtures.
pub fn modern(file: &str) -> Module {
    Module::parse(std::fs::read(Path::new(MODERN).join(file)).unwrap()).unwrap()
}
