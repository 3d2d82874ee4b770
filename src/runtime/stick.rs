//! The USB stick at the station: offer a signed bundle found on it, import it on the operator's
//! confirmation (a second one for a downgrade), and export records to it. Reading the stick
//! happens on a worker, never in the main loop: the loop keeps ticking (and pinging the
//! watchdog) whatever the stick holds, and no unit starts while the bundle is being swapped.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use super::Runtime;
use crate::core::bundle::Bundle;
use crate::core::station::Command;
use crate::core::ui::{BundleLabel, Counters, Notice};
use crate::records::{self, Records};
use crate::stick::{self, Imported, Offer, StickError};

/// Where the stick is mounted and what the station needs to take a bundle from it.
#[derive(Debug, Clone)]
pub struct StickSetup {
    pub mount: PathBuf,
    pub pubkey: PathBuf,
    /// One directory per imported bundle and the `active` link.
    pub bundles: PathBuf,
    pub records: PathBuf,
    pub station: String,
}

/// How long result messages stay on the OLED.
const SHOW_FOR: Duration = Duration::from_secs(4);
/// How often the mount point is looked at for a new stick.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// Directory entries looked at on the stick: a stick is not a place for thousands of files.
const MAX_STICK_ENTRIES: usize = 256;

/// Signed bundle archives on the stick (`*.tar`, any case, as FAT shows names), newest name
/// first.
pub fn archives(mount: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(mount)
        .map(|d| {
            d.flatten()
                .take(MAX_STICK_ENTRIES)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("tar")))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.reverse();
    found
}

/// What the main loop knows of the stick: the archives it has seen, when to look again, and
/// the stick job running on a worker, if any.
pub(super) struct StickWatch {
    seen: Vec<PathBuf>,
    look_at: Duration,
    running: Option<Receiver<Finished>>,
}

impl StickWatch {
    pub(super) fn new(setup: Option<&StickSetup>) -> Self {
        StickWatch {
            seen: setup.map(|s| archives(&s.mount)).unwrap_or_default(),
            look_at: Duration::ZERO,
            running: None,
        }
    }

    /// A stick job is on a worker: the loop waits for it before it ends.
    pub(super) fn is_running(&self) -> bool {
        self.running.is_some()
    }
}

/// A stick job's result, back from its worker.
enum Finished {
    Offer(PathBuf, Result<Offer, StickError>),
    Import {
        archive: PathBuf,
        result: Result<Imported, StickError>,
    },
}

impl Runtime {
    /// Each tick: takes a finished stick job, and every [`POLL_EVERY`] looks for a new archive.
    pub(super) fn tick_stick(&mut self, watch: &mut StickWatch, now: Duration) {
        if let Some(rx) = &watch.running {
            match rx.try_recv() {
                Ok(done) => {
                    watch.running = None;
                    self.stick_job_done(done);
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => {
                    watch.running = None;
                    self.station.hold_for_swap(None);
                    log::error!("stick: the worker ended without a result");
                }
            }
        }
        if now >= watch.look_at {
            watch.look_at = now + POLL_EVERY;
            self.watch_stick(watch);
        }
    }

    /// Runs `job` on a worker; its result comes back through `watch`.
    fn on_worker(
        &mut self,
        watch: &mut StickWatch,
        job: impl FnOnce(&StickSetup) -> Finished + Send + 'static,
    ) {
        let Some(setup) = self.stick.clone() else {
            return;
        };
        let (tx, rx) = channel();
        watch.running = Some(rx);
        self.spawner.spawn(Box::new(move || {
            let _ = tx.send(job(&setup));
        }));
    }

    fn stick_busy(&mut self, watch: &StickWatch) -> bool {
        if watch.running.is_some() {
            let until = self.clock.now() + SHOW_FOR;
            let lines = vec!["the USB stick is".into(), "still being read".into()];
            self.station.notify("BUSY", lines, until);
        }
        watch.running.is_some()
    }

    /// Asks whether to import the first archive on the stick (menu, or a stick just inserted),
    /// once its signature is checked.
    pub(super) fn offer_import(&mut self, watch: &mut StickWatch, archive: Option<PathBuf>) {
        let now = self.clock.now();
        let Some(setup) = self.stick.clone() else {
            return;
        };
        if self.stick_busy(watch) {
            return;
        }
        let Some(archive) = archive.or_else(|| archives(&setup.mount).into_iter().next()) else {
            self.station.notify(
                "NO BUNDLE",
                vec!["no signed bundle".into(), "on the USB stick".into()],
                now + SHOW_FOR,
            );
            return;
        };
        self.on_worker(watch, move |setup| {
            let offer = stick::inspect(&archive, &setup.pubkey);
            Finished::Offer(archive, offer)
        });
    }

    pub(super) fn confirm_import(
        &mut self,
        watch: &mut StickWatch,
        archive: PathBuf,
        allow_downgrade: bool,
    ) {
        let now = self.clock.now();
        if self.station.any_running() {
            self.station.notify(
                "BUSY",
                vec!["import when every".into(), "slot is done".into()],
                now + SHOW_FOR,
            );
            return;
        }
        if self.stick.is_none() || self.stick_busy(watch) {
            return;
        }
        let shown: String = archive
            .file_name()
            .map(|n| n.to_string_lossy().chars().take(21).collect())
            .unwrap_or_default();
        self.station.hold_for_swap(Some(Notice {
            title: "IMPORTING".into(),
            lines: vec![shown, "checking every file".into(), "boards wait".into()],
        }));
        self.on_worker(watch, move |setup| {
            // The station's own data directory; `bundle import --into` must name one that is.
            let result = std::fs::create_dir_all(&setup.bundles)
                .map_err(|e| StickError::io(&setup.bundles, e))
                .and_then(|()| {
                    stick::import(&archive, &setup.pubkey, &setup.bundles, allow_downgrade)
                });
            Finished::Import { archive, result }
        });
    }

    fn stick_job_done(&mut self, done: Finished) {
        let now = self.clock.now();
        match done {
            Finished::Offer(archive, Ok(offer)) => {
                let lines = vec![
                    format!("{} {}", offer.name, offer.version),
                    // The files are checked by the import, not yet: not "verified".
                    "signature ok".into(),
                    "FUNC held: import".into(),
                    "FUNC short: cancel".into(),
                ];
                self.station.ask(
                    "IMPORT?",
                    lines,
                    Command::ConfirmImport {
                        archive,
                        allow_downgrade: false,
                    },
                );
            }
            Finished::Offer(archive, Err(e)) => {
                log::error!("stick {}: {e}", archive.display());
                self.station
                    .notify("REFUSED", vec![short(&e)], now + SHOW_FOR);
            }
            Finished::Import { archive, result } => {
                self.station.hold_for_swap(None);
                self.imported(archive, result);
            }
        }
    }

    fn imported(&mut self, archive: PathBuf, result: Result<Imported, StickError>) {
        let now = self.clock.now();
        let Some(setup) = self.stick.clone() else {
            return;
        };
        match result {
            Ok(Imported::Activated {
                name,
                version,
                left_out,
                ..
            }) => {
                if !left_out.is_empty() {
                    log::warn!(
                        "{}: left out {} file(s) the signed lock does not list: {}",
                        archive.display(),
                        left_out.len(),
                        left_out.join(", ")
                    );
                }
                log::info!(
                    "active bundle is now {name} {version}, every file verified (from {})",
                    archive.display()
                );
                self.reload_bundle(&setup);
                self.station.notify(
                    "IMPORTED",
                    vec![format!("{name} {version}"), "every file verified".into()],
                    now + SHOW_FOR,
                );
            }
            Ok(Imported::AlreadyActive { name, version }) => self.station.notify(
                "ALREADY ACTIVE",
                vec![format!("{name} {version}")],
                now + SHOW_FOR,
            ),
            Err(StickError::Downgrade { active, offered }) => self.station.ask(
                "DOWNGRADE?",
                vec![
                    format!("{active} -> {offered}"),
                    "FUNC held: downgrade".into(),
                    "FUNC short: cancel".into(),
                ],
                Command::ConfirmImport {
                    archive,
                    allow_downgrade: true,
                },
            ),
            Err(StickError::ActiveUnknown { offered, why }) => {
                log::warn!("import {}: the active bundle: {why}", archive.display());
                self.station.ask(
                    "REPLACE?",
                    vec![
                        "active unreadable".into(),
                        format!("-> {offered}"),
                        "FUNC held: replace".into(),
                        "FUNC short: cancel".into(),
                    ],
                    Command::ConfirmImport {
                        archive,
                        allow_downgrade: true,
                    },
                )
            }
            Err(e) => {
                log::error!("import {}: {e}", archive.display());
                self.station.notify(
                    "IMPORT FAILED",
                    vec![short(&e), "bundle unchanged".into()],
                    now + SHOW_FOR,
                );
            }
        }
    }

    fn reload_bundle(&mut self, setup: &StickSetup) {
        match Bundle::load(&setup.bundles.join(stick::ACTIVE_LINK)) {
            Ok(b) => {
                self.station.set_bundle(Some(label(&b)));
                let today: String = records::now_utc().chars().take(10).collect();
                let counts =
                    Records::open(&setup.records).and_then(|r| r.counts(&b.lock_hash, &today));
                let (pass, fail) = counts.unwrap_or_default();
                self.station.set_counters(Counters { pass, fail });
                if let Some((_, ctx)) = &mut self.records {
                    ctx.bundle_name = Some(b.name.clone());
                    ctx.bundle_version = Some(b.version.clone());
                    ctx.lock_hash = Some(b.lock_hash.clone());
                }
                self.bundle = Some(Arc::new(b));
            }
            Err(e) => log::error!("E-BUNDLE: {e}"),
        }
    }

    /// Writes the records as CSV onto the stick: a temporary name, fsync, rename, so a stick
    /// pulled mid-write holds the previous export or none, never half of one.
    pub(super) fn export_records(&mut self) {
        let now = self.clock.now();
        let Some(setup) = self.stick.clone() else {
            return;
        };
        let result = (|| -> Result<(usize, PathBuf), String> {
            if !setup.mount.is_dir() {
                return Err("no USB stick".into());
            }
            let list = Records::open(&setup.records)
                .and_then(|r| r.list(&Default::default()))
                .map_err(|e| e.to_string())?;
            let dir = setup.mount.join("flashline-export");
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let stamp: String = records::now_utc()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(15)
                .collect();
            let path = dir.join(format!("records-{}-{stamp}.csv", setup.station));
            crate::core::atomic_file::write(&path, records::to_csv(&list).as_bytes())
                .map_err(|e| e.to_string())?;
            Ok((list.len(), path))
        })();
        match result {
            Ok((n, path)) => {
                log::info!("exported {n} record(s) to {}", path.display());
                self.station.notify(
                    "EXPORTED",
                    vec![format!("{n} records"), "to the USB stick".into()],
                    now + SHOW_FOR,
                );
            }
            Err(e) => {
                log::error!("export: {e}");
                self.station.notify(
                    "EXPORT FAILED",
                    vec![e.chars().take(21).collect()],
                    now + SHOW_FOR,
                );
            }
        }
    }

    /// Offers an archive that appeared on the stick since the last look.
    fn watch_stick(&mut self, watch: &mut StickWatch) {
        let Some(setup) = &self.stick else { return };
        let now_there = archives(&setup.mount);
        let new = now_there.iter().find(|a| !watch.seen.contains(a)).cloned();
        watch.seen = now_there;
        if let Some(archive) = new {
            if !self.station.is_asking() && watch.running.is_none() {
                self.offer_import(watch, Some(archive));
            }
        }
    }
}

fn short(e: &StickError) -> String {
    let text = match e {
        StickError::Signature(_) => "bad signature".to_string(),
        StickError::Archive(_) => "bad archive".to_string(),
        StickError::Bundle(_) => "bundle check failed".to_string(),
        StickError::Key(_) => "no station key".to_string(),
        StickError::Busy(_) => "another import runs".to_string(),
        StickError::NoBundlesDir(_) => "no bundles directory".to_string(),
        other => other.to_string(),
    };
    text.chars().take(21).collect()
}

fn label(b: &Bundle) -> BundleLabel {
    BundleLabel {
        name: b.name.clone(),
        version: b.version.clone(),
        lock_hash: b.lock_hash.clone(),
        platform: b.platform.name.into(),
    }
}
