//! Oversize and malformed input from outside: bounded memory, clear errors naming the file.

#[path = "support/common.rs"]
mod common;
use common::{copy_example, flashline};

#[test]
fn an_oversize_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("huge.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(2 * 1024 * 1024 * 1024).unwrap(); // sparse: 2 GiB claimed, nothing on disk
    let out = flashline(&["inspect", big.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("huge.bin") && err.contains("larger than any module"),
        "{err}"
    );
}

#[test]
fn a_tests_toml_that_is_not_text_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    copy_example(dir.path());
    std::fs::write(dir.path().join("tests.toml"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let out = flashline(&["bundle", "lock", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tests.toml") && err.contains("not UTF-8"),
        "{err}"
    );
}

#[test]
fn a_stick_full_of_junk_offers_nothing_and_breaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    assert!(flashline(&["keygen", "--out", keys.to_str().unwrap()])
        .status
        .success());
    for (i, junk) in [
        vec![],
        vec![0u8; 10_000],
        b"not a tar at all".to_vec(),
        vec![0xff; 1024],
    ]
    .iter()
    .enumerate()
    {
        let archive = dir.path().join(format!("junk{i}.tar"));
        std::fs::write(&archive, junk).unwrap();
        let out = flashline(&[
            "bundle",
            "import",
            archive.to_str().unwrap(),
            "--pubkey",
            keys.join("bundle.pub").to_str().unwrap(),
            "--into",
            dir.path().join("bundles").to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "junk {i}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    assert!(!dir.path().join("bundles/active").exists());
}
