//! Bundles by USB stick: signed archives in, the active bundle swapped only when everything
//! checks out, and left exactly as it was otherwise.

#[path = "support/common.rs"]
mod common;
#[path = "support/hostile.rs"]
mod hostile;
use common::{flashline, versioned, EXAMPLE};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let s = Setup { dir };
        std::fs::create_dir(s.p("bundles")).unwrap();
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
        self.import_into(archive, &self.p("bundles"), extra)
    }

    fn import_into(&self, archive: &Path, into: &Path, extra: &[&str]) -> Output {
        let args = self.import_args(archive, into, extra);
        flashline(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn import_args(&self, archive: &Path, into: &Path, extra: &[&str]) -> Vec<String> {
        let path = |p: &Path| p.to_str().unwrap().to_string();
        let mut args = vec!["bundle".into(), "import".into(), path(archive)];
        args.extend(["--pubkey".into(), path(&self.p("keys/bundle.pub"))]);
        args.extend(["--into".into(), path(into)]);
        args.extend(extra.iter().map(|e| e.to_string()));
        args
    }

    /// Packs `bundle` as `name` and imports it, which must succeed.
    fn imports(&self, bundle: &Path, name: &str, extra: &[&str]) {
        let out = self.import(&self.pack(bundle, name), extra);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `import` with its memory capped (2 GiB) and killed after 30 s, measured.
    fn import_capped(&self, archive: &Path) -> hostile::Measured {
        let args = self.import_args(archive, &self.p("bundles"), &[]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hostile::capped(&args, 2 << 30, Duration::from_secs(30))
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
    s.imports(Path::new(EXAMPLE), "ex.tar", &[]);
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

/// A locked copy of the example renamed by hand, past `bundle lock`'s checks: what a station
/// may be offered by an archive signed before those checks existed, or by a careless signer.
fn with_identity(dir: &Path, name: &str, version: &str) -> PathBuf {
    let locked = versioned(dir, "1.0.0");
    let set = |text: &str| -> String {
        text.lines()
            .map(|l| match l {
                "name = \"example-argon\"" => format!("name = {name:?}"),
                "version = \"1.0.0\"" => format!("version = {version:?}"),
                other => other.to_string(),
            })
            .map(|l| l + "\n")
            .collect()
    };
    let manifest = set(&std::fs::read_to_string(locked.join("bundle.toml")).unwrap());
    std::fs::write(locked.join("bundle.toml"), &manifest).unwrap();
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(manifest.as_bytes()));
    let lock: String = set(&std::fs::read_to_string(locked.join("bundle.lock")).unwrap())
        .lines()
        .map(|l| match l.starts_with("manifest_sha256 = ") {
            true => format!("manifest_sha256 = \"{sha}\"\n"),
            false => format!("{l}\n"),
        })
        .collect();
    std::fs::write(locked.join("bundle.lock"), lock).unwrap();
    locked
}

/// Signs the bundle in `dir` (without loading it, so any name or version goes) and packs it
/// with `extra` entries the lock does not list, as `bundle pack` lays an archive out.
fn sign_by_hand(s: &Setup, dir: &Path, out: &str, extra: &[(&str, &[u8])]) -> PathBuf {
    let lock_bytes = std::fs::read(dir.join("bundle.lock")).unwrap();
    let lock: toml::Value = toml::from_str(std::str::from_utf8(&lock_bytes).unwrap()).unwrap();
    let mut files = vec!["bundle.toml".to_string(), "bundle.lock".to_string()];
    for m in lock["module"].as_array().unwrap() {
        files.push(m["file"].as_str().unwrap().into());
    }
    for key in ["final_firmware", "tests", "mbr"] {
        if let Some(f) = lock.get(key) {
            files.push(f["file"].as_str().unwrap().into());
        }
    }
    let comment = format!(
        "flashline-bundle name={} version={} platform=argon lock={}",
        lock["name"].as_str().unwrap(),
        lock["version"].as_str().unwrap(),
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&lock_bytes))
    );
    let sk = flashline::stick::keys::load_secret(&s.p("keys/bundle.key")).unwrap();
    let sig = minisign::sign(
        None,
        &sk,
        std::io::Cursor::new(&lock_bytes),
        Some(&comment),
        None,
    )
    .unwrap()
    .into_string();
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, data).unwrap();
    };
    for f in &files {
        add(f, &std::fs::read(dir.join(f)).unwrap());
    }
    for (name, data) in extra {
        add(name, data);
    }
    add("bundle.lock.minisig", sig.as_bytes());
    let path = s.p(out);
    std::fs::write(&path, b.into_inner().unwrap()).unwrap();
    path
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The command failed (exit 1) saying `why`.
fn refused(out: &Output, why: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    assert!(stderr(out).contains(why), "{}", stderr(out));
}

#[test]
fn a_long_name_full_of_nuls_is_refused_in_bounded_memory_and_time() {
    let s = Setup::new();
    // A GNU long-name header claiming 64 MiB of name (sparse: no disk used), then an entry.
    let name_len: u64 = 64 * 1024 * 1024;
    let archive = s.p("hostile.tar");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(&archive).unwrap();
        f.write_all(&hostile::tar_header(b"././@LongLink", name_len, b'L'))
            .unwrap();
        f.seek(SeekFrom::Start(512 + name_len)).unwrap();
        f.write_all(&hostile::tar_header(b"x", 0, b'0')).unwrap();
        f.write_all(&[0u8; 1024]).unwrap();
    }
    let m = s.import_capped(&archive);
    assert_eq!(m.code, Some(1), "{m:?}");
    assert!(m.stderr.contains("long name"), "{}", m.stderr);
    // Before: 820 MB resident and a 335 MB error message carrying the name.
    assert!(m.stderr_len < 1024, "a {} byte error", m.stderr_len);
    assert!(m.max_rss_kib < 32 * 1024, "{} KiB resident", m.max_rss_kib);
    assert!(m.elapsed < Duration::from_secs(5), "{:?}", m.elapsed);
    assert_eq!(s.active(), None);
}

#[test]
fn an_archive_that_is_a_fifo_is_refused_without_waiting_for_a_writer() {
    let s = Setup::new();
    let fifo = s.p("bundle.tar");
    hostile::mkfifo(&fifo);
    let m = s.import_capped(&fifo);
    assert!(!m.killed_at_time_limit, "import waited on the FIFO");
    assert_eq!(m.code, Some(1), "{m:?}");
    assert!(m.stderr.contains("not a regular file"), "{}", m.stderr);
}

#[test]
fn a_pre_release_is_below_its_release() {
    let s = Setup::new();
    s.imports(Path::new(EXAMPLE), "v1.tar", &[]);
    let before = s.active();
    let rc = s.pack(&versioned(&s.p("rc"), "1.0.0-rc1"), "rc.tar");
    let out = s.import(&rc, &[]);
    refused(&out, "downgrade from 1.0.0 to 1.0.0-rc1");
    assert_eq!(s.active(), before);
    assert!(s.import(&rc, &["--allow-downgrade"]).status.success());
    // And back up: the release is above its pre-release.
    s.imports(Path::new(EXAMPLE), "v1.tar", &[]);
}

#[test]
fn a_signed_version_that_is_not_semantic_is_refused() {
    let s = Setup::new();
    s.imports(&versioned(&s.p("v2"), "2.0.0"), "v2.tar", &[]);
    let before = s.active();
    let dev = sign_by_hand(
        &s,
        &with_identity(&s.p("dev"), "example-argon", "dev"),
        "dev.tar",
        &[],
    );
    for extra in [&[][..], &["--allow-downgrade"][..]] {
        let out = s.import(&dev, extra);
        refused(&out, "not a semantic version");
    }
    assert_eq!(s.active(), before);
}

#[test]
fn a_signed_name_cannot_put_the_bundle_outside_the_bundles_directory() {
    let s = Setup::new();
    std::fs::create_dir_all(s.p("in/bundles")).unwrap();
    std::fs::create_dir_all(s.p("escape")).unwrap();
    let evil = with_identity(&s.p("evil"), "../../escape/EVIL", "1.0.0");
    let archive = sign_by_hand(&s, &evil, "evil.tar", &[]);
    let out = s.import_into(&archive, &s.p("in/bundles"), &[]);
    refused(&out, "name");
    assert_eq!(std::fs::read_dir(s.p("escape")).unwrap().count(), 0);
    assert!(std::fs::read_link(s.p("in/bundles/active")).is_err());
}

#[test]
fn bundle_lock_refuses_names_and_versions_that_are_not_safe() {
    let s = Setup::new();
    let long = "1".repeat(100_000);
    for (name, version, why) in [
        ("../../escape/EVIL", "1.0.0", "name"),
        ("", "1.0.0", "name"),
        ("example-argon", long.as_str(), "version"),
        ("example-argon", "dev", "not a semantic version"),
    ] {
        let dir = s.p("b");
        let _ = std::fs::remove_dir_all(&dir);
        common::copy_example(&dir);
        let text = std::fs::read_to_string(dir.join("bundle.toml")).unwrap();
        let text = text
            .replace("name = \"example-argon\"", &format!("name = {name:?}"))
            .replace("version = \"1.0.0\"", &format!("version = {version:?}"));
        std::fs::write(dir.join("bundle.toml"), text).unwrap();
        std::fs::remove_file(dir.join("bundle.lock")).unwrap();
        let out = flashline(&["bundle", "lock", dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name:?} {:.20}", version);
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
        assert!(stderr(&out).len() < 1024, "the error repeats the input");
        assert!(!dir.join("bundle.lock").exists());
    }
}

#[test]
fn only_the_files_the_lock_lists_are_kept() {
    let s = Setup::new();
    let dir = versioned(&s.p("b"), "1.0.0");
    let archive = sign_by_hand(
        &s,
        &dir,
        "extra.tar",
        &[("evil.sh", b"#!/bin/sh\n"), ("EXTRA.BIN", b"not signed")],
    );
    let out = s.import(&archive, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let active = s.p("bundles/active");
    assert!(!active.join("evil.sh").exists());
    assert!(!active.join("EXTRA.BIN").exists());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("EXTRA.BIN") && said.contains("evil.sh"),
        "{said}"
    );
}

#[test]
fn an_existing_bundle_directory_is_verified_not_trusted() {
    let s = Setup::new();
    let v2 = s.pack(&versioned(&s.p("v2"), "2.0.0"), "v2.tar");
    assert!(s.import(&v2, &[]).status.success());
    let v2_dir = s.p("bundles").join(s.active().unwrap());
    s.imports(Path::new(EXAMPLE), "v1.tar", &["--allow-downgrade"]);
    // The old directory is damaged while another bundle is active.
    let part = v2_dir.join("argon-system-part1@1.5.0.bin");
    let mut bytes = std::fs::read(&part).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&part, bytes).unwrap();
    std::fs::remove_file(v2_dir.join("tests.toml")).unwrap();
    let out = s.import(&v2, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let active = flashline::core::bundle::Bundle::load(&s.p("bundles/active"))
        .expect("the active bundle is whole");
    assert_eq!(active.version, "2.0.0");
}

#[test]
fn a_second_import_at_the_same_time_is_refused_not_mixed() {
    use std::os::fd::AsRawFd;
    let s = Setup::new();
    let held = std::fs::File::create(s.p("bundles/.import.lock")).unwrap();
    // SAFETY: an open descriptor of ours.
    assert_eq!(
        unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let out = s.import(&s.pack(Path::new(EXAMPLE), "ex.tar"), &[]);
    refused(&out, "another import is running");
    assert_eq!(s.active(), None);
    drop(held);
    s.imports(Path::new(EXAMPLE), "ex.tar", &[]);
}

#[test]
fn concurrent_imports_leave_one_whole_bundle_active() {
    let s = Setup::new();
    let archives = [
        s.pack(&versioned(&s.p("v2"), "2.0.0"), "v2.tar"),
        s.pack(&versioned(&s.p("v3"), "3.0.0"), "v3.tar"),
    ];
    for round in 0..4 {
        let children: Vec<_> = archives
            .iter()
            .map(|a| {
                Command::new(env!("CARGO_BIN_EXE_flashline"))
                    .args(["bundle", "import", a.to_str().unwrap()])
                    .args(["--pubkey", s.p("keys/bundle.pub").to_str().unwrap()])
                    .args(["--into", s.p("bundles").to_str().unwrap()])
                    .arg("--allow-downgrade")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success() || stderr(&out).contains("another import is running"),
                "round {round}: {}",
                stderr(&out)
            );
        }
        flashline::core::bundle::Bundle::load(&s.p("bundles/active"))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
}

#[test]
fn import_into_a_directory_that_does_not_exist_says_so() {
    let s = Setup::new();
    let archive = s.pack(Path::new(EXAMPLE), "ex.tar");
    let out = s.import_into(&archive, &s.p("no/such/dir"), &[]);
    refused(&out, "does not exist");
    assert!(!s.p("no").exists(), "created it silently");
}
