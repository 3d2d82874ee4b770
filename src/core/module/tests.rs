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
        assert!(m.sha_ok(), "{file}");
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
    let cut = Module::parse(good[..good.len() - 100].to_vec());
    assert!(matches!(cut, Err(ModuleError::EndAddressMismatch { .. })));
    let says = cut.unwrap_err().to_string();
    assert!(
        says.starts_with(&format!(
            "truncated: the file is {} bytes, its module info says {}",
            good.len() - 100,
            good.len()
        )),
        "{says}"
    );
    let mut unknown_function = good.clone();
    unknown_function[14] = 0x42;
    assert!(matches!(
        Module::parse(unknown_function),
        Err(ModuleError::NotAModule { .. })
    ));
    let mut unknown_platform = good.clone();
    unknown_platform[12] = 0x77;
    assert_eq!(
        Module::parse(unknown_platform).unwrap_err(),
        ModuleError::UnknownPlatform(0x77)
    );
    let mut bad_suffix = good;
    let n = bad_suffix.len();
    bad_suffix[n - 5] = 0xff; // suffix size 0xff28: more than the file
    assert!(matches!(
        Module::parse(bad_suffix),
        Err(ModuleError::BadSuffix { .. })
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

const MODERN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/particle-modern/"
);

fn modern(name: &str) -> Vec<u8> {
    std::fs::read(format!("{MODERN}{name}")).unwrap()
}

#[test]
fn every_modern_fixture_parses_and_is_intact() {
    for entry in std::fs::read_dir(MODERN).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "bin") {
            let m = Module::parse(std::fs::read(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            m.check_integrity()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

#[test]
fn an_application_with_asset_dependencies_reads_its_suffix_extensions() {
    let m = Module::parse(modern("argon-app-with-assets.bin")).unwrap();
    assert_eq!(m.suffix_len, 183);
    let names: Vec<&str> = m
        .asset_dependencies()
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["cat.txt", "house.txt", "water.txt"]);
    assert_eq!(
        hex::encode(&m.asset_dependencies()[0].hash),
        "b0f0d8ff8cc965a7b70b07e0c6b4c028f132597196ae9c70c620cb9e41344106"
    );
    assert_eq!(m.product(), Some(Product { id: 12, version: 3 }));
    assert_eq!((m.index(), m.image_address()), (2, 0xB4000));
}

#[test]
fn the_ncp_firmware_hashes_its_payload_without_a_drop_flag() {
    let m = Module::parse(modern("argon-ncp-firmware-0.0.5-ota.bin")).unwrap();
    assert_eq!(m.function(), ModuleFunction::NcpFirmware);
    assert_eq!(m.prefix.flags, 0, "no flag says the payload is hashed");
    assert_eq!(m.prefix.mcu_target, 0x21, "the ESP32");
    assert!(m.sha_ok());
    assert!(!m.in_internal_flash());
    assert_eq!(m.footprint(), None);
}

#[test]
fn a_compressed_module_is_checked_inside_too() {
    let bytes = modern("argon-system-part1@4.1.0.compressed.bin");
    let m = Module::parse(bytes.clone()).unwrap();
    assert_eq!(m.form(), ModuleForm::Compressed);
    assert_eq!(
        m.prefix_offset, 0,
        "compressed modules keep their prefix at 0"
    );
    let c = m.compressed().unwrap();
    assert_eq!(c.header.original_size, 469_386);
    let Ok(Inner::Module(inner)) = &c.inner else {
        panic!("{:?}", c.inner)
    };
    assert_eq!(
        (inner.label(), inner.prefix_offset),
        ("system-part#1 v4100".into(), 0x200)
    );
    assert_eq!(
        inner.bytes(),
        modern("argon-system-part1@4.1.0.bin").as_slice(),
        "inflates to the real file"
    );
    assert_eq!(m.footprint(), Some(0x30000..0x30000 + 469_386));
    m.check_integrity().unwrap();

    // Damage inside the deflate stream, CRC and SHA redone: only inflating shows it.
    let mut damaged = bytes.clone();
    damaged[5000] ^= 0xFF;
    reseal::reseal(&mut damaged).unwrap();
    let m = Module::parse(damaged).unwrap();
    assert!(m.crc_ok() && m.sha_ok());
    let err = m.check_integrity().unwrap_err().to_string();
    assert!(err.starts_with("compressed module, inflated:"), "{err}");

    // A header that claims more than any module is refused before anything is inflated.
    let mut huge = bytes;
    huge[24 + 4..24 + 8].copy_from_slice(&(64u32 << 20).to_le_bytes());
    reseal::reseal(&mut huge).unwrap();
    let err = Module::parse(huge).unwrap_err().to_string();
    assert!(err.contains("more than any module"), "{err}");
}

#[test]
fn an_asset_is_function_9_for_any_platform_and_its_hash_is_checked() {
    let m = Module::parse(modern("asset-hello.bin")).unwrap();
    assert_eq!(m.function(), ModuleFunction::Asset);
    assert_eq!(m.platform, Platform::ANY);
    assert_eq!(m.name(), Some("hello.txt"));
    assert_eq!(m.compressed().unwrap().header.original_size, 12);
    assert_eq!(
        hex::encode(m.asset_hash().unwrap()),
        "84ba19f79faacff0cfa1b992693129dfbb0e18da60c7df0f51bf9a562d1c28f6"
    );
    m.check_integrity().unwrap();
}

#[test]
fn a_combined_file_is_its_parts() {
    let m = Module::parse(modern("argon-combined-bl-sp-app@4.1.0.bin")).unwrap();
    assert_eq!(m.form(), ModuleForm::Combined);
    let parts: Vec<String> = m
        .combined_parts()
        .unwrap()
        .iter()
        .map(Module::label)
        .collect();
    assert_eq!(
        parts,
        [
            "bootloader#0 v1200",
            "system-part#1 v4100",
            "user-part#2 v6"
        ]
    );
    assert!(m.crc_ok(), "each part's own CRC");
    assert_eq!(m.footprint(), None);
    m.check_integrity().unwrap();
    let mut cut = modern("argon-combined-bl-sp-app@4.1.0.bin");
    cut.truncate(cut.len() - 100);
    let err = Module::parse(cut).unwrap_err().to_string();
    assert!(err.starts_with("module 3 of the combined file"), "{err}");
}

#[test]
fn suffix_extensions_name_a_protected_bootloader_and_a_product() {
    let bl = modern("argon-bootloader-6.2.0.bin");
    let protected =
        reseal::with_suffix_extensions(&bl, &[extension::encode(extension::SECURITY_MODE, &[1])])
            .unwrap();
    let m = Module::parse(protected).unwrap();
    assert_eq!(m.suffix_len, 49, "as Particle's protected bootloaders");
    assert!(m.is_protected());
    m.check_integrity().unwrap();
    let named = reseal::with_suffix_extensions(
        &fixture("tinker-0.8.0-rc.27-argon.bin"),
        &[
            extension::encode(extension::NAME, b"wheelchair-ctl"),
            extension::encode(extension::PRODUCT_DATA, &[0xff, 0xff, 0x39, 0x30, 7, 0]),
        ],
    )
    .unwrap();
    let m = Module::parse(named).unwrap();
    assert_eq!(m.name(), Some("wheelchair-ctl"));
    assert!(m.extensions().contains(&Extension::ProductData {
        id: 12345,
        version: 7
    }));
}

#[test]
fn errors_say_what_the_file_is() {
    let err = Module::parse(
        b"not a module at all, just some text for sure, long enough to parse".to_vec(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("not a Particle module") && err.contains(".hex"),
        "{err}"
    );
    let mut platform = fixture("tinker-0.8.0-rc.27-argon.bin");
    platform[12] = 99;
    let err = Module::parse(platform).unwrap_err().to_string();
    assert!(
        err.contains("platform id 99") && err.contains("argon"),
        "{err}"
    );
    let mut bad = modern("argon-app-with-assets.bin");
    let n = bad.len();
    bad[n - 4 - 183 + 2] = 0xF0; // the first extension's length runs past its area
    let err = Module::parse(bad).unwrap_err().to_string();
    assert!(
        err.starts_with("suffix extensions:") && err.contains("past the end"),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_modern_forms_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let name = ["argon-app-with-assets.bin", "asset-hello.bin",
            "tinker-0.8.0-rc.27-argon.compressed.bin", "argon-tinker-6.2.0.bin"][which];
        let mut bytes = modern(name);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(m) = Module::parse(bytes.clone()) {
            let _ = m.check_integrity();
        }
        let keep = cut.index(bytes.len() + 1);
        let _ = Module::parse(bytes[..keep].to_vec());
    }
}
