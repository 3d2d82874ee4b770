//! Bundles by USB stick: signed archives in, the active bundle swapped only when everything
//! checks out, and left exactly as it was otherwise.

#[path = "support/common.rs"]
mod common;
use common::{flashline, versioned, EXAMPLE};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let s = Setup { dir };
        assert!(
            flashline(&["keygen", "--out", s.p("keys").to_str().unwrap()])
                .status
                .success()
        );
        s
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn pack(&self, bundle: &Path, name: &str) -> PathBuf {
        let out = self.p(name);
        let r = flashline(&[
            "bundle",
            "pack",
            bundle.to_str().unwrap(),
            "--key",
            self.p("keys/bundle.key").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        out
    }

    fn import(&self, archive: &Path, extra: &[&str]) -> Output {
        let mut args = vec![
            "bundle",
            "import",
            archive.to_str().unwrap(),
            "--pubkey",
            self.p("keys/bundle.pub")
                .to_str()
                .unwrap()
                .to_string()
                .leak(),
            "--into",
            self.p("bundles").to_str().unwrap().to_string().leak(),
        ];
        args.extend_from_slice(extra);
        flashline(&args)
    }

    fn active(&self) -> Option<PathBuf> {
        std::fs::read_link(self.p("bundles/active")).ok()
    }
}

#[test]
fn pack_and_import_round_trip() {
    let s = Setup::new();
    let archive = s.pack(Path::new(EXAMPLE), "ex.tar");
    let out = s.import(&archive, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let active = s.active().unwrap();
    assert!(active.to_str().unwrap().starts_with("example-argon-1.0.0-"));
    let b = flashline::core::bundle::Bundle::load(&s.p("bundles/active")).unwrap();
    assert_eq!(b.modules.len(), 4);
    assert!(String::from_utf8_lossy(&s.import(&archive, &[]).stdout).contains("already active"));
}

#[test]
fn a_tampered_byte_is_refused_and_the_active_bundle_is_untouched() {
    let s = Setup::new();
    assert!(s
        .import(&s.pack(Path::new(EXAMPLE), "ex.tar"), &[])
        .status
        .success());
    let before = s.active();
    let v2 = versioned(&s.p("v2"), "2.0.0");
    let archive = s.pack(&v2, "v2.tar");
    let mut bytes = std::fs::read(&archive).unwrap();
    // Flip one byte inside the system part's data (well past the headers).
    let at = bytes.windows(8).position(|w| w == b"argon-sy").unwrap() + 512 + 100_000;
    bytes[at] ^= 0x01;
    std::fs::write(&archive, &bytes).unwrap();
    let out = s.import(&archive, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("changed since it was locked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.active(), before);
    assert!(!s.p("bundles").read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".staging")));
}

#[test]
fn a_bundle_signed_with_another_key_is_refused() {
    let s = Setup::new();
    let other = Setup::new();
    let archive = other.pack(Path::new(EXAMPLE), "ex.tar");
    let out = s.import(&archive, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad signature"));
    assert_eq!(s.active(), None);
}

#[test]
fn path_traversal_links_and_junk_are_refused() {
    let s = Setup::new();
    // An archive with a `../` entry, written by hand since tar builders refuse to.
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..10].copy_from_slice(b"../evil.sh");
    header.set_size(4);
    header.set_mode(0o755);
    header.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&header, &b"boom"[..]).unwrap();
    std::fs::write(s.p("evil.tar"), b.into_inner().unwrap()).unwrap();
    let out = s.import(&s.p("evil.tar"), &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a plain file name"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!s.dir.path().join("evil.sh").exists());

    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, "bundle.lock", "/etc/shadow").unwrap();
    std::fs::write(s.p("link.tar"), b.into_inner().unwrap()).unwrap();
    assert!(
        String::from_utf8_lossy(&s.import(&s.p("link.tar"), &[]).stderr)
            .contains("not a regular file")
    );

    std::fs::write(s.p("junk.tar"), vec![0x5a; 4096]).unwrap();
    assert_eq!(s.import(&s.p("junk.tar"), &[]).status.code(), Some(1));
    assert_eq!(s.active(), None);
}

#[test]
fn a_downgrade_needs_explicit_confirmation() {
    let s = Setup::new();
    let v2 = versioned(&s.p("v2"), "2.0.0");
    assert!(s.import(&s.pack(&v2, "v2.tar"), &[]).status.success());
    let before = s.active();
    let old = s.pack(Path::new(EXAMPLE), "v1.tar");
    let out = s.import(&old, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("downgrade from 2.0.0 to 1.0.0"));
    assert_eq!(s.active(), before);
    assert!(s.import(&old, &["--allow-downgrade"]).status.success());
    assert!(s.active().unwrap().to_str().unwrap().contains("1.0.0"));
}

#[test]
fn the_station_imports_from_the_stick_on_confirmation_and_exports_records_to_it() {
    let s = Setup::new();
    let stick = s.p("stick");
    std::fs::create_dir_all(&stick).unwrap();
    let v2 = versioned(&s.p("v2"), "2.0.0");
    std::fs::rename(s.pack(&v2, "v2.tar"), stick.join("v2.tar")).unwrap();
    let ev = |at: u64, action: &str| format!("[[event]]\nat_ms = {at}\naction = \"{action}\"\n");
    let script: String = [
        ev(0, "func_long"),    // menu
        ev(2000, "func"),      // → import bundle
        ev(3000, "func_long"), // choose it: IMPORT? v2.0.0
        ev(6000, "func_long"), // yes
        ev(9000, "seat"),
        ev(30000, "func_long"), // menu
        ev(32000, "func"),
        ev(33000, "func"), // → export records
        ev(34000, "func_long"),
    ]
    .concat();
    std::fs::write(s.p("script.toml"), script).unwrap();
    let db = s.p("records.db");
    let home = s.p("home");
    let out = Command::new(env!("CARGO_BIN_EXE_flashline"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "--sim",
            "--json",
            "--script",
            s.p("script.toml").to_str().unwrap(),
        ])
        .args([
            "--records",
            db.to_str().unwrap(),
            "--stick",
            stick.to_str().unwrap(),
        ])
        .args(["--pubkey", s.p("keys/bundle.pub").to_str().unwrap()])
        .env("XDG_DATA_HOME", &home)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = flashline::records::Records::open(&db)
        .unwrap()
        .list(&Default::default())
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].bundle_version.as_deref(),
        Some("2.0.0"),
        "the unit was flashed with the imported bundle"
    );
    assert_eq!(records[0].outcome, "pass");
    let active = std::fs::read_link(home.join("flashline/sim-bundles/active")).unwrap();
    assert!(active.to_str().unwrap().starts_with("example-argon-2.0.0-"));
    let exported: Vec<_> = std::fs::read_dir(stick.join("flashline-export"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(exported.len(), 1);
    let csv = std::fs::read_to_string(exported[0].path()).unwrap();
    assert_eq!(csv.lines().count(), 2, "header and the one unit");
}
