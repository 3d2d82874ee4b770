//! Power cuts, simulated by SIGKILL at pseudo-random moments (100 trials each): the records database opens and
//! holds every record that was reported committed; the active bundle is the old or the new
//! one, complete. And killed right after a PASS appears, the unit that passed has its record.

#[path = "support/common.rs"]
mod common;

use common::{flashline, passed_device, shift_script, versioned};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use flashline::core::bundle::Bundle;
use flashline::records::{Filter, Records};

const BIN: &str = env!("CARGO_BIN_EXE_flashline");

/// A small deterministic generator: the same trials every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

#[test]
fn records_survive_100_kills_mid_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.db");
    let mut rng = Lcg(42);
    let mut committed: Vec<i64> = Vec::new();
    for _ in 0..100 {
        let mut child = Command::new(BIN)
            .args([
                "records",
                "stress",
                "--records",
                db.to_str().unwrap(),
                "--count",
                "100000",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let wait_for = 1 + rng.next(20);
        for _ in 0..wait_for {
            match lines.next() {
                Some(Ok(l)) => committed.push(l.trim_start_matches("committed ").parse().unwrap()),
                _ => break,
            }
        }
        std::thread::sleep(Duration::from_micros(rng.next(3000)));
        child.kill().unwrap();
        child.wait().unwrap();
        // Lines already in the pipe were committed before they were printed.
        for l in lines.map_while(Result::ok) {
            committed.push(l.trim_start_matches("committed ").parse().unwrap());
        }
    }
    let store = Records::open(&db).unwrap();
    assert!(store.integrity_ok().unwrap());
    let ids: Vec<i64> = store
        .list(&Filter::default())
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let missing: Vec<_> = committed.iter().filter(|id| !ids.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} reported committed but missing: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(committed.len() >= 100);
}

#[test]
fn the_active_bundle_is_old_or_new_after_kills_during_import() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    assert!(flashline(&["keygen", "--out", p("keys").to_str().unwrap()])
        .status
        .success());
    let key = p("keys/bundle.key");
    let mut archives = Vec::new();
    for v in ["1.0.0", "2.0.0"] {
        let src = versioned(&p(&format!("src-{v}")), v);
        let out = p(&format!("{v}.tar"));
        let packed = flashline(&[
            "bundle",
            "pack",
            src.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(packed.status.success());
        archives.push((v, out));
    }
    let bundles = p("bundles");
    std::fs::create_dir(&bundles).unwrap();
    let pubkey = p("keys/bundle.pub");
    let import = |archive: &Path| {
        Command::new(BIN)
            .args([
                "bundle",
                "import",
                archive.to_str().unwrap(),
                "--pubkey",
                pubkey.to_str().unwrap(),
            ])
            .args(["--into", bundles.to_str().unwrap(), "--allow-downgrade"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let started = std::time::Instant::now();
    let mut first = import(&archives[0].1);
    first.wait().unwrap();
    // Kills spread over twice what a whole import takes on this machine now (a loaded CI
    // machine imports several times slower than an idle one), so some land after the end.
    let window = (started.elapsed().as_micros() as u64 * 2).max(40_000);
    let mut rng = Lcg(7);
    let mut outcomes = [0usize; 2];
    for trial in 0..100 {
        let (_, archive) = &archives[(trial + 1) % 2];
        let mut child = import(archive);
        std::thread::sleep(Duration::from_micros(rng.next(window)));
        let _ = child.kill();
        child.wait().unwrap();
        let active = Bundle::load(&bundles.join("active"))
            .unwrap_or_else(|e| panic!("trial {trial}: the active bundle is broken: {e}"));
        let i = archives
            .iter()
            .position(|(v, _)| *v == active.version)
            .unwrap();
        outcomes[i] += 1;
    }
    // Both outcomes happen: some imports were cut off, some finished.
    assert!(outcomes.iter().all(|n| *n > 0), "{outcomes:?}");
}

#[test]
fn every_pass_shown_has_its_record_when_killed_right_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("shift.toml");
    std::fs::write(&script, shift_script(9)).unwrap();
    let mut rng = Lcg(18);
    let mut lost = Vec::new();
    for trial in 0..20 {
        let db = dir.path().join(format!("records-{trial}.db"));
        let mut child = Command::new(BIN)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["run", "--sim", "--script", script.to_str().unwrap()])
            .args(["--records", db.to_str().unwrap()])
            .env("RUST_LOG", "off")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let kill_after = 1 + rng.next(4);
        let mut shown = Vec::new();
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(id) = passed_device(&line) {
                shown.push(id);
                if shown.len() as u64 == kill_after {
                    break;
                }
            }
        }
        // SIGKILL: no destructor runs, as when the power goes.
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!shown.is_empty(), "trial {trial}: no PASS shown at all");
        let store = Records::open(&db).unwrap();
        let recorded: Vec<String> = store
            .list(&Filter::default())
            .unwrap()
            .into_iter()
            .filter_map(|r| r.device_id)
            .collect();
        if let Some(missing) = shown.iter().find(|id| !recorded.contains(id)) {
            lost.push(format!("trial {trial}: {missing}"));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of 20 trials showed PASS for a unit without a record: {lost:?}",
        lost.len()
    );
}
