//! Bundles of every Device OS line the tests flash, built in a tempdir from the real files in
//! tests/fixtures/particle-modern/ — and, where Particle's published files are missing from
//! the fixtures, derived from them by re-sealing (each derivation says what it changes):
//! - Argon 6.2: no 6.2 system part is in the fixtures, and `argon-bootloader-6.2.0.bin` is
//!   6.1.1's bootloader (v3001; 6.2.0 ships 3100). The system part is 4.1.0's, moved to
//!   0x28000 as 6200 with 6.2's dependencies (radio stack ≥ 202, bootloader ≥ 3100,
//!   system_module_version.mk:45-64 @ v6.2.0) and the legacy entry 6.2's linker puts at
//!   0x30000; the bootloader is the fixture re-versioned 3100. The simulator only reads what
//!   Device OS reads of them (prefix, suffix, CRC, the legacy entry), so the code they carry
//!   does not matter.
//! - Argon 5.6 with assets: the fixture application with asset dependencies needs only a
//!   4.0.x system part, but assets are stored from 5.5.0 and listed from 5.6.0: the system
//!   part is 4.1.0's re-versioned 5600 (5.6's map is 4.1's).
//! - Tracker: no Tracker files are in the fixtures: the Argon 4.1.0 ones with platform 26 and
//!   the system part's second dependency on ncp-firmware#0 ≥ 7 (ESP32_NCP_DEPENDENCY,
//!   system_module_version.mk:70-74 @ v6.2.0, before 5.6.0).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use flashline::core::bundle::{self, Bundle};
use flashline::core::module::reseal::{self, edit_prefix, field};
use flashline::core::module::{extension, Module};
use flashline::sim::argon::stand_in;

pub const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/particle-modern"
);
const TESTS_TOML: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/bundles/example-argon/tests.toml"
);

pub fn fixture(file: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(file)).unwrap()
}

/// A fixture as a bundle file of the same name: `(file, its bytes)`.
pub fn named(file: &'static str) -> (&'static str, Vec<u8>) {
    (file, fixture(file))
}

/// Writes a bundle of `modules` (file name, bytes) and `assets` into `dir`, with the example's
/// tests.toml when `tests`, locks it and loads it.
pub fn write_bundle(
    dir: &Path,
    platform: &str,
    modules: &[(&str, Vec<u8>)],
    assets: &[(&str, Vec<u8>)],
    tests: bool,
) -> Bundle {
    std::fs::create_dir_all(dir).unwrap();
    let list = |files: &[(&str, Vec<u8>)]| {
        files
            .iter()
            .map(|(f, _)| format!("\"{f}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (file, bytes) in modules.iter().chain(assets) {
        std::fs::write(dir.join(file), bytes).unwrap();
    }
    let mut toml = format!(
        "name = \"gen3-{platform}\"\nversion = \"1.0.0\"\nplatform = \"{platform}\"\nmodules = [{}]\n",
        list(modules)
    );
    if !assets.is_empty() {
        toml += &format!("assets = [{}]\n", list(assets));
    }
    if tests {
        std::fs::copy(TESTS_TOML, dir.join("tests.toml")).unwrap();
        toml += "tests = \"tests.toml\"\n";
    }
    std::fs::write(dir.join("bundle.toml"), toml).unwrap();
    bundle::lock(dir).unwrap_or_else(|e| panic!("locking {}: {e}", dir.display()));
    Bundle::load(dir).unwrap()
}

fn set_version(bytes: &mut [u8], version: u16) {
    edit_prefix(bytes, |p| {
        p[field::VERSION..field::VERSION + 2].copy_from_slice(&version.to_le_bytes())
    })
    .unwrap();
}

fn set_dependency(bytes: &mut [u8], at: usize, function: u8, index: u8, version: u16) {
    edit_prefix(bytes, |p| {
        p[at] = function;
        p[at + 1] = index;
        p[at + 2..at + 4].copy_from_slice(&version.to_le_bytes());
    })
    .unwrap();
}

/// The derived 6.2 system part: 4.1.0's at 0x28000, v6200, 6.2's dependencies, the legacy
/// entry at 0x30000.
pub fn system_part_6_2() -> Vec<u8> {
    let mut b = fixture("argon-system-part1@4.1.0.bin");
    reseal::move_to(&mut b, 0x28000).unwrap();
    set_version(&mut b, 6200);
    // Argon: dependency 1 the radio stack, 2 the bootloader (system_module_version.mk:47-64).
    set_dependency(&mut b, field::DEP1, 8, 0, 202);
    set_dependency(&mut b, field::DEP2, 2, 0, 3100);
    stand_in::add_legacy_entry(&mut b, 0x28000, 0x30000).unwrap();
    reseal::reseal(&mut b).unwrap();
    b
}

/// The fixture bootloader (6.1.1's v3001) as 6.2.0's v3100.
pub fn bootloader_6_2() -> Vec<u8> {
    let mut b = fixture("argon-bootloader-6.2.0.bin");
    set_version(&mut b, 3100);
    b
}

/// Device OS 6.2 for the Argon with Tinker 6.2 (user-part#2).
pub fn argon_6_2(dir: &Path) -> Bundle {
    write_bundle(
        dir,
        "argon",
        &[
            ("argon-bootloader@6.2.0-derived.bin", bootloader_6_2()),
            named("argon-softdevice@4.1.0.bin"),
            ("argon-system-part1@6.2.0-derived.bin", system_part_6_2()),
            ("argon-tinker-6.2.0.bin", fixture("argon-tinker-6.2.0.bin")),
        ],
        &[],
        true,
    )
}

/// Device OS 2.2.0 for the Boron with its Tinker: Particle's files as they are.
pub fn boron_2_2(dir: &Path) -> Bundle {
    let files = [
        "boron-bootloader@2.2.0.bin",
        "boron-softdevice@2.2.0.bin",
        "boron-system-part1@2.2.0.bin",
        "tinker-0.8.0-rc.27-boron.bin",
    ];
    let modules: Vec<(&str, Vec<u8>)> = files.iter().map(|f| (*f, fixture(f))).collect();
    write_bundle(dir, "boron", &modules, &[], true)
}

/// The Argon 4.1.0 modules, the application at `app` replacing the example's.
pub fn argon_4_1_with(dir: &Path, app: (&str, Vec<u8>), assets: &[(&str, Vec<u8>)]) -> Bundle {
    write_bundle(
        dir,
        "argon",
        &[
            named("argon-bootloader@4.1.0.bin"),
            named("argon-softdevice@4.1.0.bin"),
            named("argon-system-part1@4.1.0.bin"),
            app,
        ],
        assets,
        true,
    )
}

/// The application with asset dependencies and its three assets, on a 5.6 system part.
pub fn argon_5_6_with_assets(dir: &Path) -> Bundle {
    let mut system = fixture("argon-system-part1@4.1.0.bin");
    set_version(&mut system, 5600);
    let assets: Vec<(&str, Vec<u8>)> = ["cat.txt", "house.txt", "water.txt"]
        .into_iter()
        .map(|f| (f, fixture(&format!("app-with-assets-bundle/assets/{f}"))))
        .collect();
    write_bundle(
        dir,
        "argon",
        &[
            named("argon-bootloader@4.1.0.bin"),
            named("argon-softdevice@4.1.0.bin"),
            ("argon-system-part1@5.6.0-derived.bin", system),
            named("argon-app-with-assets.bin"),
        ],
        &assets,
        true,
    )
}

/// The Argon 4.1.0 modules as a Tracker's, its system part needing ncp-firmware#0 ≥ 7.
pub fn tracker_4_1(dir: &Path) -> Bundle {
    let as_tracker = |file: &str| {
        let mut b = fixture(file);
        edit_prefix(&mut b, |p| {
            p[field::PLATFORM..field::PLATFORM + 2].copy_from_slice(&26u16.to_le_bytes())
        })
        .unwrap();
        b
    };
    let mut system = as_tracker("argon-system-part1@4.1.0.bin");
    // The Tracker's: the bootloader and the NCP, no radio stack ("no need to carry SoftDevice
    // dependency on Tracker", system_module_version.mk:66-75 @ v6.2.0).
    set_dependency(&mut system, field::DEP1, 2, 0, 1200);
    set_dependency(&mut system, field::DEP2, 7, 0, 7);
    write_bundle(
        dir,
        "tracker",
        &[
            (
                "tracker-bootloader.bin",
                as_tracker("argon-bootloader@4.1.0.bin"),
            ),
            (
                "tracker-softdevice.bin",
                as_tracker("argon-softdevice@4.1.0.bin"),
            ),
            ("tracker-system-part1.bin", system),
            (
                "tracker-app.bin",
                as_tracker("app-dos4006-argon-userpart2.bin"),
            ),
        ],
        &[],
        false,
    )
}

/// `module` with a SECURITY_MODE extension (mode 1, protected) added to its suffix, as
/// binary-version-reader's `createProtectedModule` does (suffix extensions on Gen3).
pub fn protected(bytes: &[u8]) -> Vec<u8> {
    let record = extension::encode(
        extension::SECURITY_MODE,
        &[extension::SECURITY_MODE_PROTECTED],
    );
    reseal::with_suffix_extensions(bytes, &[record]).unwrap()
}

/// A combined file of `first` and `second` (the first flagged COMBINED), as
/// binary-version-reader's `combineModules` makes it.
pub fn combined(first: &[u8], second: &[u8]) -> Vec<u8> {
    let mut a = first.to_vec();
    edit_prefix(&mut a, |p| p[field::FLAGS] |= 0x04).unwrap();
    let mut out = a;
    out.extend_from_slice(second);
    out
}

pub fn parse(bytes: &[u8]) -> Module {
    Module::parse(bytes.to_vec()).unwrap()
}

pub fn tempdir() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("bundle");
    (t, p)
}
