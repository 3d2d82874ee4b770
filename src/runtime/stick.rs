//! The USB stick at the station: offer a signed bundle found on it, import it on the operator's
//! confirmation (a second one for a downgrade), and export records to it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::Runtime;
use crate::core::bundle::Bundle;
use crate::core::station::Command;
use crate::core::ui::{BundleLabel, Counters};
use crate::records::{self, Records};
use crate::stick::{self, Imported, StickError};

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

/// Signed bundle archives on the stick, newest name first.
pub fn archives(mount: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(mount)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "tar"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.reverse();
    found
}

impl Runtime {
    /// Asks whether to import the first archive on the stick (menu, or a stick just inserted).
    pub(super) fn offer_import(&mut self, archive: Option<PathBuf>) {
        let now = self.clock.now();
        let Some(setup) = self.stick.clone() else {
            return;
        };
        let Some(archive) = archive.or_else(|| archives(&setup.mount).into_iter().next()) else {
            self.station.notify(
                "NO BUNDLE",
                vec!["no signed bundle".into(), "on the USB stick".into()],
                now + SHOW_FOR,
            );
            return;
        };
        match stick::inspect(&archive, &setup.pubkey, &setup.bundles) {
            Ok(offer) => {
                let lines = vec![
                    format!("{} {}", offer.name, offer.version),
                    "signed, verified".into(),
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
            Err(e) => {
                log::error!("stick {}: {e}", archive.display());
                self.station
                    .notify("REFUSED", vec![short(&e)], now + SHOW_FOR);
            }
        }
    }

    pub(super) fn confirm_import(&mut self, archive: PathBuf, allow_downgrade: bool) {
        let now = self.clock.now();
        let Some(setup) = self.stick.clone() else {
            return;
        };
        if self.station.any_running() {
            self.station.notify(
                "BUSY",
                vec!["import when every".into(), "slot is done".into()],
                now + SHOW_FOR,
            );
            return;
        }
        match stick::import(&archive, &setup.pubkey, &setup.bundles, allow_downgrade) {
            Ok(Imported::Activated { name, version, .. }) => {
                log::info!(
                    "active bundle is now {name} {version} (from {})",
                    archive.display()
                );
                self.reload_bundle(&setup);
                self.station.notify(
                    "IMPORTED",
                    vec![format!("{name} {version}")],
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
    pub(super) fn watch_stick(&mut self, seen: &mut Vec<PathBuf>) {
        let Some(setup) = &self.stick else { return };
        let now_there = archives(&setup.mount);
        let new = now_there.iter().find(|a| !seen.contains(a)).cloned();
        *seen = now_there;
        if let Some(archive) = new {
            if !self.station.is_asking() {
                self.offer_import(Some(archive));
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
