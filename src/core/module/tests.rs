use super::*;
use proptest::prelude::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bundles/example-argon/");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}{name}")).unwrap()
}

#[test]
fn parses_every_real_argon_module() {
    let cases = [
        (
            "argon-bootloader@1.5.0.bin",
            ModuleFunction::Bootloader,
            0,
            501,
            0xF4000,
            0x200,
        ),
        (
            "argon-softdevice@1.5.0.bin",
            ModuleFunction::RadioStack,
            0,
            202,
            0x1000,
            0,
        ),
        (
            "argon-system-part1@1.5.0.bin",
            ModuleFunction::SystemPart,
            1,
            1502,
            0x30000,
            0x200,
        ),
        (
            "tinker-0.8.0-rc.27-argon.bin",
            ModuleFunction::UserPart,
            1,
            5,
            0xD4000,
            0,
        ),
    ];
    for (file, function, index, version, start, prefix_offset) in cases {
        let m = Module::parse(fixture(file)).unwrap();
        assert_eq!(m.function(), function, "{file}");
        assert_eq!(m.index(), index, "{file}");
        assert_eq!(m.version(), version, "{file}");
        assert_eq!(m.prefix.start_address, start, "{file}");
        assert_eq!(m.prefix_offset, prefix_offset, "{file}");
        assert_eq!(m.platform.name, "argon");
        assert!(m.crc_ok(), "{file}");
        assert!(m.sha_ok, "{file}");
        m.check_integrity().unwrap();
    }
}

#[test]
fn system_part_dependencies_are_bootloader_and_radio_stack() {
    let m = Module::parse(fixture("argon-system-part1@1.5.0.bin")).unwrap();
    assert_eq!(
        m.prefix.dependencies,
        vec![
            Dependency {
                function: ModuleFunction::Bootloader,
                index: 0,
                version: 501
            },
            Dependency {
                function: ModuleFunction::RadioStack,
                index: 0,
                version: 202
            },
        ]
    );
}

#[test]
fn softdevice_image_drops_its_prefix() {
    let bytes = fixture("argon-softdevice@1.5.0.bin");
    let m = Module::parse(bytes.clone()).unwrap();
    assert!(m.prefix.drops_prefix());
    assert_eq!(m.image(), &bytes[PREFIX_LEN..]);
    assert_eq!(m.image_range(), 0x1000..0x1000 + bytes.len() as u64 - 24);
}

#[test]
fn one_flipped_byte_is_a_crc_mismatch() {
    let mut bytes = fixture("tinker-0.8.0-rc.27-argon.bin");
    bytes[1000] ^= 0x40;
    let m = Module::parse(bytes).unwrap();
    assert!(!m.crc_ok());
    assert!(matches!(
        m.check_integrity(),
        Err(ModuleError::CrcMismatch { .. })
    ));
}

#[test]
fn a_recomputed_crc_does_not_hide_a_changed_payload() {
    let mut bytes = fixture("tinker-0.8.0-rc.27-argon.bin");
    bytes[1000] ^= 0x40;
    let n = bytes.len();
    let crc = crc32fast::hash(&bytes[..n - 4]);
    bytes[n - 4..].copy_from_slice(&crc.to_be_bytes());
    let m = Module::parse(bytes).unwrap();
    assert!(m.crc_ok());
    assert!(matches!(
        m.check_integrity(),
        Err(ModuleError::ShaMismatch { .. })
    ));
}

#[test]
fn structural_errors_are_distinct() {
    let good = fixture("tinker-0.8.0-rc.27-argon.bin");
    assert!(matches!(
        Module::parse(good[..50].to_vec()),
        Err(ModuleError::Truncated { .. })
    ));
    // Cutting the tail keeps the prefix readable but breaks end − start + 4 = length.
    assert!(matches!(
        Module::parse(good[..good.len() - 100].to_vec()),
        Err(ModuleError::EndAddressMismatch { .. })
    ));
    let mut unknown_function = good.clone();
    unknown_function[14] = 0x42;
    assert!(matches!(
        Module::parse(unknown_function),
        Err(ModuleError::UnknownFunction { .. })
    ));
    let mut unknown_platform = good.clone();
    unknown_platform[12] = 0x77;
    assert_eq!(
        Module::parse(unknown_platform).unwrap_err(),
        ModuleError::UnknownPlatform(0x77)
    );
    let mut bad_suffix = good;
    let n = bad_suffix.len();
    bad_suffix[n - 6] = 0xff;
    assert!(matches!(
        Module::parse(bad_suffix),
        Err(ModuleError::BadSuffix(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Module::parse(bytes);
    }

    #[test]
    fn mutated_modules_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = fixture("tinker-0.8.0-rc.27-argon.bin");
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let _ = Module::parse(bytes.clone());
        let keep = cut.index(bytes.len() + 1);
        let _ = Module::parse(bytes[..keep].to_vec());
    }
}

#[test]
fn reseal_makes_an_edited_module_valid_again() {
    for file in ["argon-softdevice@1.5.0.bin", "argon-system-part1@1.5.0.bin"] {
        let mut bytes = fixture(file);
        reseal::edit_prefix(&mut bytes, |p| p[reseal::field::PLATFORM] = 13).unwrap();
        let m = Module::parse(bytes).unwrap();
        assert_eq!(m.platform.name, "boron");
        m.check_integrity().unwrap();
    }
}
