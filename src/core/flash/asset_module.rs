//! A raw asset file wrapped in the asset module Device OS stores (function 9, flags
//! drop-module-info | compressed), as binary-version-reader's `createAssetModule` makes it for
//! particle-cli (lib/moduleEncoding.js @ v4.2.0): a 24-byte prefix at address 0, the contents,
//! a suffix with HASH (SHA-256 of the contents), NAME and PRODUCT_DATA (0xffff, 0xffff)
//! extensions, then compressed as `compressModule` does — the raw contents deflated, the
//! suffix kept, end address, SHA-256 and CRC redone. Device OS's AssetReader takes the name and
//! hash from those extensions (system/src/asset_manager.cpp:436-493 @ v6.2.0).

use sha2::{Digest, Sha256};

use crate::core::module::extension::{self, HASH, NAME, PRODUCT_DATA};
use crate::core::module::reseal::{self, field};
use crate::core::module::{Flags, ModuleError, ModuleFunction, PREFIX_LEN};

/// module_info_hash_ext_t's type for SHA-256 (MODULE_INFO_HASH_TYPE_SHA256).
const SHA256_TYPE: u8 = 0;
/// The fixed suffix after the extensions: reserved u16, SHA-256, size u16.
const SUFFIX_BASE: usize = 2 + 32 + 2;
const CRC_LEN: usize = 4;
/// compressed_module_header's own size (dynalib/inc/module_info.h:171-197 @ v6.2.0).
const COMPRESSED_HEADER: usize = 8;

fn suffix(name: &str, contents_sha: &[u8]) -> Vec<u8> {
    let mut hash = vec![SHA256_TYPE, contents_sha.len() as u8];
    hash.extend_from_slice(contents_sha);
    let mut product = vec![0xff, 0xff];
    product.extend_from_slice(&0xffffu16.to_le_bytes());
    product.extend_from_slice(&0xffffu16.to_le_bytes());
    let mut s = extension::encode(HASH, &hash);
    s.extend(extension::encode(NAME, name.as_bytes()));
    s.extend(extension::encode(PRODUCT_DATA, &product));
    let size = (s.len() + SUFFIX_BASE) as u16;
    s.extend_from_slice(&[0, 0]);
    s.extend_from_slice(&[0; 32]);
    s.extend_from_slice(&size.to_le_bytes());
    s
}

fn prefix(len: usize, flags: u8) -> [u8; PREFIX_LEN] {
    let mut p = [0u8; PREFIX_LEN];
    p[field::END..field::END + 4].copy_from_slice(&((len - CRC_LEN) as u32).to_le_bytes());
    p[field::FLAGS] = flags;
    p[field::FUNCTION] = ModuleFunction::Asset.as_byte();
    p
}

/// The asset module for `contents` named `name`.
pub fn wrap(name: &str, contents: &[u8]) -> Result<Vec<u8>, ModuleError> {
    let sha: [u8; 32] = Sha256::digest(contents).into();
    let suffix = suffix(name, &sha);
    let deflated = miniz_oxide::deflate::compress_to_vec(contents, 9);
    let len = PREFIX_LEN + COMPRESSED_HEADER + deflated.len() + suffix.len() + CRC_LEN;
    let flags = Flags::DROP_MODULE_INFO | Flags::COMPRESSED;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&prefix(len, flags));
    out.extend_from_slice(&(COMPRESSED_HEADER as u16).to_le_bytes());
    out.push(0); // raw deflate
    out.push(0); // the default window
    out.extend_from_slice(&(contents.len() as u32).to_le_bytes());
    out.extend_from_slice(&deflated);
    out.extend_from_slice(&suffix);
    out.extend_from_slice(&[0; CRC_LEN]);
    reseal::reseal(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::module::{Inner, Module};

    #[test]
    fn a_wrapped_asset_reads_as_the_fixture_built_by_binary_version_reader() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/particle-modern"
        );
        let fixture =
            Module::parse(std::fs::read(format!("{dir}/asset-hello.bin")).unwrap()).unwrap();
        let Some(Ok(Inner::Payload { sha256 })) = fixture.compressed().map(|c| &c.inner) else {
            panic!("the fixture is a compressed asset");
        };
        // The fixture's contents are not in the repository, only their hash: wrap other
        // contents and compare everything but what depends on them.
        let ours = Module::parse(wrap("hello.txt", b"hello world\n").unwrap()).unwrap();
        ours.check_integrity().unwrap();
        assert_eq!(ours.function(), ModuleFunction::Asset);
        assert_eq!(
            ours.flags().0,
            fixture.flags().0,
            "drop-module-info | compressed"
        );
        assert_eq!(ours.name(), fixture.name());
        assert_eq!(ours.platform, fixture.platform);
        assert_eq!(
            ours.suffix_len, fixture.suffix_len,
            "the same suffix layout"
        );
        assert_eq!(ours.product(), fixture.product());
        let Some(Ok(Inner::Payload { sha256: mine })) = ours.compressed().map(|c| &c.inner) else {
            panic!("ours is a compressed asset");
        };
        assert_eq!(ours.asset_hash(), Some(&mine[..]));
        assert_eq!(fixture.asset_hash(), Some(&sha256[..]));
    }
}
