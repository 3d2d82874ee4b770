use super::*;
use crate::core::module::reseal::{self, field};
use crate::core::module::ModuleFunction;
use std::fs;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bundles/example-argon");
const FILES: [&str; 4] = [
    "argon-bootloader@1.5.0.bin",
    "argon-softdevice@1.5.0.bin",
    "argon-system-part1@1.5.0.bin",
    "tinker-0.8.0-rc.27-argon.bin",
];

/// A copy of the example bundle in a temporary directory, with its manifest.
fn copy_example(modules: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in FILES {
        fs::copy(format!("{EXAMPLE}/{f}"), dir.path().join(f)).unwrap();
    }
    write_manifest(dir.path(), modules);
    dir
}

fn write_manifest(dir: &Path, modules: &[&str]) {
    let list: Vec<String> = modules.iter().map(|m| format!("{m:?}")).collect();
    fs::write(
        dir.join(MANIFEST_FILE),
        format!(
            "name = \"t\"\nversion = \"1.0.0\"\nplatform = \"argon\"\nmodules = [{}]\n",
            list.join(", ")
        ),
    )
    .unwrap();
}

fn problems(err: BundleError) -> Vec<BundleProblem> {
    match err {
        BundleError::Invalid { problems, .. } => problems,
        other => panic!("expected problems, got {other}"),
    }
}

#[test]
fn lock_then_load_the_example() {
    let dir = copy_example(&FILES);
    let lock = lock(dir.path()).unwrap();
    assert_eq!(lock.modules.len(), 4);
    assert!(verify(dir.path()).unwrap().is_empty());
    let bundle = Bundle::load(dir.path()).unwrap();
    assert_eq!(bundle.platform.name, "argon");
    assert_eq!(bundle.lock_hash.len(), 64);
    assert!(bundle.module(ModuleFunction::SystemPart, 1).is_some());
}

#[test]
fn the_committed_example_bundle_matches_its_lock() {
    assert_eq!(verify(Path::new(EXAMPLE)).unwrap(), vec![]);
    Bundle::load(Path::new(EXAMPLE)).unwrap();
}

#[test]
fn verify_names_changed_missing_and_unlocked_files() {
    let dir = copy_example(&FILES);
    lock(dir.path()).unwrap();
    let mut bytes = fs::read(dir.path().join(FILES[3])).unwrap();
    bytes[100] ^= 1;
    fs::write(dir.path().join(FILES[3]), bytes).unwrap();
    fs::remove_file(dir.path().join(FILES[0])).unwrap();
    fs::write(dir.path().join("extra.bin"), b"x").unwrap();
    let found = verify(dir.path()).unwrap();
    assert!(
        found.contains(&BundleProblem::Changed(FILES[3].into())),
        "{found:?}"
    );
    assert!(
        found.contains(&BundleProblem::Missing(FILES[0].into())),
        "{found:?}"
    );
    assert!(
        found.contains(&BundleProblem::NotInLock("extra.bin".into())),
        "{found:?}"
    );
    assert!(Bundle::load(dir.path()).is_err());
}

#[test]
fn an_edited_manifest_invalidates_the_lock() {
    let dir = copy_example(&FILES);
    lock(dir.path()).unwrap();
    write_manifest(dir.path(), &FILES[1..]);
    assert!(verify(dir.path())
        .unwrap()
        .contains(&BundleProblem::ManifestChanged));
}

#[test]
fn lock_refuses_an_unmet_dependency_and_says_what_is_needed() {
    // Without the bootloader, the system part and softdevice lack bootloader >= 501.
    let dir = copy_example(&FILES[1..]);
    let found = problems(lock(dir.path()).unwrap_err());
    assert!(found.iter().any(|p| matches!(p,
        BundleProblem::UnmetDependency { file, needs, found: None }
            if file == FILES[2] && needs.function == ModuleFunction::Bootloader && needs.version == 501)));
    assert!(!dir.path().join(LOCK_FILE).exists());
}

#[test]
fn lock_refuses_a_module_for_another_platform() {
    let dir = copy_example(&FILES);
    let path = dir.path().join(FILES[3]);
    let mut bytes = fs::read(&path).unwrap();
    reseal::edit_prefix(&mut bytes, |p| p[field::PLATFORM] = 13).unwrap();
    fs::write(&path, bytes).unwrap();
    let found = problems(lock(dir.path()).unwrap_err());
    assert!(found.contains(&BundleProblem::WrongPlatform {
        file: FILES[3].into(),
        module: "boron".into(),
        bundle: "argon".into()
    }));
}

#[test]
fn lock_refuses_duplicates_overlaps_and_the_mbr() {
    let dir = copy_example(&FILES);
    let copy = "tinker-copy.bin";
    fs::copy(dir.path().join(FILES[3]), dir.path().join(copy)).unwrap();
    let mut modules = FILES.to_vec();
    modules.push(copy);
    write_manifest(dir.path(), &modules);
    let found = problems(lock(dir.path()).unwrap_err());
    assert!(
        found
            .iter()
            .any(|p| matches!(p, BundleProblem::Duplicate { .. })),
        "{found:?}"
    );

    // A user part moved to 0x0 lands in the MBR.
    let path = dir.path().join(copy);
    let mut bytes = fs::read(&path).unwrap();
    let len = bytes.len() as u32;
    reseal::edit_prefix(&mut bytes, |p| {
        p[0..4].copy_from_slice(&0u32.to_le_bytes());
        p[4..8].copy_from_slice(&(len - 4).to_le_bytes());
        p[field::INDEX] = 2;
    })
    .unwrap();
    fs::write(&path, bytes).unwrap();
    let found = problems(lock(dir.path()).unwrap_err());
    assert!(
        found.iter().any(
            |p| matches!(p, BundleProblem::Placement { reason, .. } if reason.contains("MBR"))
        ),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| matches!(p, BundleProblem::SharedPage { overlap: true, .. })),
        "{found:?}"
    );
}

#[test]
fn a_corrupt_module_is_refused_naming_the_file() {
    let dir = copy_example(&FILES);
    let path = dir.path().join(FILES[2]);
    let mut bytes = fs::read(&path).unwrap();
    bytes[5000] ^= 0xff;
    fs::write(&path, bytes).unwrap();
    let err = lock(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains(FILES[2]) && err.contains("CRC mismatch"),
        "{err}"
    );
}

#[test]
fn manifest_errors_name_the_key() {
    let dir = copy_example(&FILES);
    fs::write(
        dir.path().join(MANIFEST_FILE),
        "name = \"t\"\nversion = \"1\"\nplatform = \"argon\"\nmodulez = []\n",
    )
    .unwrap();
    let err = lock(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("modulez") && err.contains("bundle.toml"),
        "{err}"
    );
    fs::write(
        dir.path().join(MANIFEST_FILE),
        "name = \"t\"\nversion = \"1\"\nplatform = \"argon\"\nmodules = [\"../x.bin\"]\n",
    )
    .unwrap();
    assert!(lock(dir.path())
        .unwrap_err()
        .to_string()
        .contains("inside the bundle"));
}

#[test]
fn lock_refuses_a_broken_tests_toml_naming_file_and_key() {
    let dir = copy_example(&FILES);
    fs::write(
        dir.path().join("tests.toml"),
        "[[test]]\nname = \"vin\"\nsend = \"MEAS VIN\"\nlow = 5.0\nhigh = 1.0\n",
    )
    .unwrap();
    let mut manifest = fs::read_to_string(dir.path().join(MANIFEST_FILE)).unwrap();
    manifest.push_str("tests = \"tests.toml\"\n");
    fs::write(dir.path().join(MANIFEST_FILE), manifest).unwrap();
    let err = lock(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("tests.toml") && err.contains("test[1].low"),
        "{err}"
    );
}
