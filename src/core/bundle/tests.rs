use super::*;
use crate::core::module::reseal::{self, field};
use crate::core::module::ModuleFunction;
use crate::core::target::DeviceOs;
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

const MODERN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/particle-modern"
);
const BL41: &str = "argon-bootloader@4.1.0.bin";
const SD41: &str = "argon-softdevice@4.1.0.bin";
const SP41: &str = "argon-system-part1@4.1.0.bin";
const APP2: &str = "app-dos4006-argon-userpart2.bin";

/// A bundle directory of modern fixtures (by file name), with extra manifest lines.
fn modern_bundle(platform: &str, modules: &[&str], extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in modules {
        let from = Path::new(MODERN).join(f);
        if from.exists() {
            fs::copy(from, dir.path().join(f)).unwrap();
        }
    }
    let list: Vec<String> = modules.iter().map(|m| format!("{m:?}")).collect();
    fs::write(
        dir.path().join(MANIFEST_FILE),
        format!(
            "name = \"m\"\nversion = \"1.0.0\"\nplatform = \"{platform}\"\nmodules = [{}]\n{extra}",
            list.join(", ")
        ),
    )
    .unwrap();
    dir
}

fn edit(dir: &Path, file: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let path = dir.join(file);
    let mut bytes = fs::read(&path).unwrap();
    f(&mut bytes);
    fs::write(path, bytes).unwrap();
}

fn lock_problems(dir: &Path) -> (Vec<BundleProblem>, String) {
    let err = lock(dir).unwrap_err();
    let text = err.to_string();
    (problems(err), text)
}

#[test]
fn a_4_1_argon_bundle_with_user_part_2_locks_on_the_3_1_map() {
    let dir = modern_bundle("argon", &[BL41, SD41, SP41, APP2], "");
    let lock = lock(dir.path()).unwrap();
    let os = lock.device_os.as_ref().unwrap();
    assert_eq!((os.version.as_str(), os.module_version), ("4.1.0", 4100));
    assert_eq!(os.flash_map, "Device OS 3.1 up to 6.2");
    let b = Bundle::load(dir.path()).unwrap();
    assert_eq!(b.device_os(), DeviceOs(4100));
    assert_eq!(b.flash_map().user_part.area.start, 0xB4000);
    let routes: Vec<(&str, Option<&str>)> = lock
        .modules
        .iter()
        .map(|m| (m.file.as_str(), m.route.as_deref()))
        .collect();
    assert!(routes.contains(&(BL41, Some("control"))) && routes.contains(&(APP2, Some("dfu"))));
}

#[test]
fn a_misplaced_module_is_refused_naming_the_map_row_and_listing_the_map() {
    let dir = modern_bundle("argon", &[BL41, SD41, SP41, APP2], "");
    edit(dir.path(), APP2, |b| reseal::move_to(b, 0xD4000).unwrap());
    let (found, text) = lock_problems(dir.path());
    assert!(
        found.iter().any(|p| matches!(p, BundleProblem::Placement { file, reason }
            if file == APP2 && reason.contains("user-part#2 at 0xd4000; from Device OS 3.1 it goes at 0xb4000"))),
        "{text}"
    );
    assert!(text.contains("flash map Device OS 3.1 up to 6.2"), "{text}");
    assert!(
        text.contains("user-part#2 0xb4000..0xf4000, bootloader 0xf4000..0x100000"),
        "{text}"
    );

    // The same application on Device OS 1.5.0 has no slot at all.
    let old = copy_example(&FILES[..3]);
    fs::copy(Path::new(MODERN).join(APP2), old.path().join(APP2)).unwrap();
    write_manifest(old.path(), &[FILES[0], FILES[1], FILES[2], APP2]);
    let (_, text) = lock_problems(old.path());
    assert!(
        text.contains("user-part#2 needs Device OS 3.1 or later"),
        "{text}"
    );
}

#[test]
fn lock_lists_every_problem_at_once() {
    let dir = copy_example(&FILES);
    edit(dir.path(), FILES[2], |b| b[5000] ^= 0xff);
    edit(dir.path(), FILES[3], |b| {
        reseal::edit_prefix(b, |p| p[field::PLATFORM] = 13).unwrap()
    });
    let (found, text) = lock_problems(dir.path());
    assert!(
        found
            .iter()
            .any(|p| matches!(p, BundleProblem::Unloadable { file, .. } if file == FILES[2])),
        "{text}"
    );
    assert!(
        found
            .iter()
            .any(|p| matches!(p, BundleProblem::WrongPlatform { .. })),
        "{text}"
    );
    assert!(text.contains("problem(s)"), "{text}");
}

#[test]
fn a_compressed_system_part_goes_by_control_request_and_never_by_dfu() {
    let sp = "argon-system-part1@4.1.0.compressed.bin";
    let dir = modern_bundle("argon", &[BL41, SD41, sp, APP2], "");
    let lock = lock(dir.path()).unwrap();
    let m = lock.modules.iter().find(|m| m.file == sp).unwrap();
    assert_eq!(
        (m.route.as_deref(), m.form.as_deref()),
        (Some("control"), Some("compressed"))
    );
    let b = Bundle::load(dir.path()).unwrap();
    assert_eq!(
        b.device_os(),
        DeviceOs(4100),
        "from the compressed system part"
    );
    let plan = crate::core::plan::FlashPlan::build(&b, &crate::core::plan::BoardView::Dfu);
    assert!(plan
        .to_write(Route::Dfu)
        .iter()
        .all(|m| m.module.form() == crate::core::module::ModuleForm::Plain));
}

#[test]
fn forms_no_route_can_write_are_refused_saying_what_to_use() {
    let combined = "argon-combined-bl-sp-app@4.1.0.bin";
    let dir = modern_bundle("argon", &[SD41, combined], "");
    let (found, text) = lock_problems(dir.path());
    assert!(found.iter().any(|p| matches!(p, BundleProblem::NoRoute { file, reason }
        if file == combined && reason.contains("applies only the first 2") && reason.contains("as separate files"))), "{text}");

    let dir = modern_bundle("argon", &[BL41, SD41, SP41, APP2], "");
    edit(dir.path(), APP2, |b| {
        reseal::edit_prefix(b, |p| p[field::FLAGS] |= 0x08).unwrap()
    });
    let (_, text) = lock_problems(dir.path());
    assert!(
        text.contains("is encrypted") && text.contains("use the unencrypted build for argon"),
        "{text}"
    );
}

#[test]
fn the_ncp_firmware_is_for_its_coprocessor_only() {
    let ncp = "argon-ncp-firmware-0.0.5-ota.bin";
    let dir = modern_bundle("argon", &[BL41, SD41, SP41, APP2, ncp], "");
    lock(dir.path()).unwrap();
    let boron = modern_bundle("boron", &[ncp], "");
    let (_, text) = lock_problems(boron.path());
    assert!(text.contains("updates no coprocessor"), "{text}");
}

/// A Tracker's system part needs ncp-firmware#0 >= 7: its ESP32 has it, no bundle does.
#[test]
fn a_tracker_bundle_locks_recording_what_the_board_must_have() {
    let files = [
        "boron-bootloader@2.2.0.bin",
        "boron-softdevice@2.2.0.bin",
        "boron-system-part1@2.2.0.bin",
    ];
    let dir = modern_bundle("tracker", &files, "");
    for f in files {
        edit(dir.path(), f, |b| {
            reseal::edit_prefix(b, |p| {
                p[field::PLATFORM..field::PLATFORM + 2].copy_from_slice(&26u16.to_le_bytes());
                if p[field::FUNCTION] == 4 {
                    p[field::DEP2..field::DEP2 + 4].copy_from_slice(&[7, 0, 7, 0]);
                }
            })
            .unwrap()
        });
    }
    let lock = lock(dir.path()).unwrap();
    assert_eq!(
        lock.device_dependencies,
        vec![LockedDependency {
            needed_by: files[2].into(),
            function: "ncp-firmware".into(),
            index: 0,
            version: 7
        }]
    );
    assert!(lock.to_toml().unwrap().contains("[[device_dependency]]"));
    let b = Bundle::load(dir.path()).unwrap();
    assert_eq!(b.device_dependencies.len(), 1);
}

#[test]
fn asset_dependencies_are_met_by_the_bundles_asset_files_and_pinned() {
    let app = "argon-app-with-assets.bin";
    let assets = Path::new(MODERN).join("app-with-assets-bundle/assets");
    let with = "assets = [\"cat.txt\", \"house.txt\", \"water.txt\"]\n";
    let dir = modern_bundle("argon", &[BL41, SD41, SP41, app], with);
    for a in ["cat.txt", "house.txt", "water.txt"] {
        fs::copy(assets.join(a), dir.path().join(a)).unwrap();
    }
    // On 4.1.0 no board could take them (assets are listed from 5.6.0).
    let (found, _) = lock_problems(dir.path());
    assert!(
        matches!(found.as_slice(), [BundleProblem::NeedsNewerDeviceOs { .. }]),
        "{found:?}"
    );
    // The 4.1.0 system part re-sealed as 5.6.0 (no 5.6 fixture): the assets lock.
    edit(dir.path(), SP41, |b| {
        reseal::edit_prefix(b, |p| {
            p[field::VERSION..field::VERSION + 2].copy_from_slice(&5600u16.to_le_bytes())
        })
        .unwrap()
    });
    let locked = lock(dir.path()).unwrap();
    assert_eq!(locked.assets.len(), 3);
    assert!(locked.pinned_files().any(|(f, _)| f == "water.txt"));
    assert_eq!(Bundle::load(dir.path()).unwrap().assets.len(), 3);

    fs::write(dir.path().join("water.txt"), b"not water").unwrap();
    assert!(verify(dir.path())
        .unwrap()
        .contains(&BundleProblem::Changed("water.txt".into())));
    let (found, text) = lock_problems(dir.path());
    assert!(
        found
            .iter()
            .any(|p| matches!(p, BundleProblem::AssetMismatch { name, .. } if name == "water.txt")),
        "{text}"
    );

    let missing = modern_bundle(
        "argon",
        &[BL41, SD41, SP41, app, "asset-hello.bin"],
        "assets = [\"asset-hello.bin\"]\n",
    );
    let (found, text) = lock_problems(missing.path());
    assert!(
        found
            .iter()
            .any(|p| matches!(p, BundleProblem::MissingAsset { name, .. } if name == "cat.txt")),
        "{text}"
    );
    assert!(
        found.contains(&BundleProblem::UnusedAsset("asset-hello.bin".into())),
        "{text}"
    );
    assert!(
        found.contains(&BundleProblem::AssetInModules("asset-hello.bin".into())),
        "{text}"
    );
}

#[test]
fn a_protected_bootloader_needs_device_os_6_1_1_and_records_what_the_board_must_be() {
    let bl = "argon-bootloader-protected.bin";
    let dir = modern_bundle("argon", &[bl, SD41, SP41, APP2], "");
    let protected = crate::core::module::reseal::with_suffix_extensions(
        &fs::read(Path::new(MODERN).join("argon-bootloader-6.2.0.bin")).unwrap(),
        &[crate::core::module::extension::encode(0x13, &[1])],
    )
    .unwrap();
    fs::write(dir.path().join(bl), protected).unwrap();
    let (found, _) = lock_problems(dir.path());
    assert!(found
        .iter()
        .any(|p| matches!(p, BundleProblem::ProtectedNeedsNewerDeviceOs { .. })));

    // The same with the system part a 6.1.1 build (module version 6101).
    edit(dir.path(), SP41, |b| {
        reseal::edit_prefix(b, |p| {
            p[field::VERSION..field::VERSION + 2].copy_from_slice(&6101u16.to_le_bytes())
        })
        .unwrap()
    });
    let lock = lock(dir.path()).unwrap();
    assert_eq!(lock.board_requirements.len(), 1);
    assert_eq!(lock.board_requirements[0].what, PROTECTED_DEVICE);
}

#[test]
fn both_user_part_slots_in_one_bundle_are_refused() {
    let dir = modern_bundle(
        "argon",
        &[BL41, SD41, SP41, APP2, "tinker-0.8.0-rc.27-argon.bin"],
        "",
    );
    fs::copy(
        format!("{EXAMPLE}/tinker-0.8.0-rc.27-argon.bin"),
        dir.path().join("tinker-0.8.0-rc.27-argon.bin"),
    )
    .unwrap();
    let (found, text) = lock_problems(dir.path());
    assert!(
        found
            .iter()
            .any(|p| matches!(p, BundleProblem::CompatWins { .. })),
        "{text}"
    );
}

#[test]
fn a_boron_2_2_bundle_locks_and_a_p2_bundle_has_no_map() {
    let dir = modern_bundle(
        "boron",
        &[
            "boron-bootloader@2.2.0.bin",
            "boron-softdevice@2.2.0.bin",
            "boron-system-part1@2.2.0.bin",
            "tinker-0.8.0-rc.27-boron.bin",
        ],
        "",
    );
    assert_eq!(
        lock(dir.path()).unwrap().device_os.unwrap().version,
        "2.2.0"
    );
    let p2 = modern_bundle("p2", &[APP2], "");
    let (found, _) = lock_problems(p2.path());
    assert!(found
        .iter()
        .any(|p| matches!(p, BundleProblem::NoFlashMap { .. })));
}

/// A file that is not there is one problem, said once: not the path twice, and not again as
/// a dependency the other modules miss.
#[test]
fn a_missing_or_twice_listed_file_is_one_problem_said_once() {
    let dir = modern_bundle("argon", &[BL41, "argon-sofdevice@4.1.0.bin", SP41], "");
    let (found, text) = lock_problems(dir.path());
    assert_eq!(found.len(), 1, "{text}");
    assert_eq!(
        found[0].to_string(),
        "argon-sofdevice@4.1.0.bin: no such file in the bundle's directory"
    );
    let dir = modern_bundle("argon", &[BL41, SD41, SP41, SP41], "");
    let (found, text) = lock_problems(dir.path());
    assert!(
        found
            .iter()
            .any(|p| p.to_string() == format!("{SP41} is listed twice (system-part#1)")),
        "{text}"
    );
}
