//! The unit records in SQLite (design §7): one row per attempt, one per measurement. WAL with
//! synchronous=FULL on every connection: a commit returns once the WAL is fsync'd, so a
//! committed record survives a power cut; a crash mid-write leaves the previous state
//! (SQLite's journal does what `atomic_file` does for single files).

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use std::path::Path;

use super::chain::{self, Verification};
use super::schema::{durable, migrate};
use crate::core::board_test::Measurement;
use crate::core::trace::{Seen, REFUSALS};
use crate::core::unit::{FlashedModule, UnitRecord};

/// SQLite's own words are the cause, said once: it is the message, not also a `source` that
/// a chain printer would repeat.
#[derive(Debug, thiserror::Error)]
#[error("records {path}: {cause}")]
pub struct RecordsError {
    pub path: String,
    pub cause: rusqlite::Error,
}

/// Which bundle a unit was flashed with, and where.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub station: String,
    pub bundle_name: Option<String>,
    pub bundle_version: Option<String>,
    pub lock_hash: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Record {
    /// This station's own number for the attempt (SQLite's rowid, in commit order).
    pub id: i64,
    /// The attempt's id on the whole line: a UUID v4 (`docs/line.md` says why not station + id).
    pub attempt_id: String,
    pub time_utc: String,
    pub station: String,
    pub slot: String,
    pub device_id: Option<String>,
    pub bundle_name: Option<String>,
    pub bundle_version: Option<String>,
    pub lock_hash: Option<String>,
    pub outcome: String,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub duration_ms: i64,
    pub flash_ms: Option<i64>,
    pub test_ms: Option<i64>,
    pub final_ms: Option<i64>,
    pub final_code: Option<String>,
    pub flashed_by: Option<String>,
    pub device_os: Option<String>,
    /// The modules the board reported, e.g. `bootloader#0 v501; …; user-part#1 v6`.
    pub board_modules: Option<String>,
    pub serial: Option<String>,
    pub work_order: Option<String>,
    pub operator: Option<String>,
    pub rework_by: Option<String>,
    /// What went on the board: each module with the lock's SHA-256.
    pub modules: Vec<FlashedModule>,
    /// The row's seal (`chain.rs`); none for rows from before the chain began.
    pub row_hash: Option<String>,
    pub measurements: Vec<Measurement>,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `time_utc >= since` (an RFC 3339 prefix such as `2026-11-26`).
    pub since: Option<String>,
    pub device_id: Option<String>,
    pub work_order: Option<String>,
    pub serial: Option<String>,
    pub id: Option<i64>,
}

pub struct Records {
    pub(super) conn: Connection,
    pub(super) path: String,
}

impl Records {
    pub fn open(path: &Path) -> Result<Records, RecordsError> {
        let name = path.display().to_string();
        let err = |cause| RecordsError {
            path: name.clone(),
            cause,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let mut conn = Connection::open(path).map_err(err)?;
        // First, so that another station opening the same new file waits instead of failing.
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        durable(&conn).map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        migrate(&mut conn).map_err(err)?;
        Ok(Records { conn, path: name })
    }

    /// Opens an existing database to read it, writing nothing (no schema upgrade either):
    /// for `selftest`, which must not create or change the records.
    pub fn open_read_only(path: &Path) -> Result<Records, RecordsError> {
        let name = path.display().to_string();
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|cause| RecordsError {
            path: name.clone(),
            cause,
        })?;
        Ok(Records { conn, path: name })
    }

    pub(super) fn err(&self) -> impl Fn(rusqlite::Error) -> RecordsError + '_ {
        move |cause| RecordsError {
            path: self.path.clone(),
            cause,
        }
    }

    /// Stores one finished unit with its measurements, in one transaction.
    pub fn insert(
        &mut self,
        ctx: &Context,
        time_utc: &str,
        u: &UnitRecord,
    ) -> Result<i64, RecordsError> {
        let path = self.path.clone();
        let err = move |cause| RecordsError {
            path: path.clone(),
            cause,
        };
        // Immediate: the chain's previous row is read under the write lock, so two stations
        // appending to one file cannot both chain to the same row.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let modules =
            (!u.modules.is_empty()).then(|| serde_json::to_string(&u.modules).unwrap_or_default());
        tx.execute(
            "INSERT INTO units (time_utc, station, slot, device_id, bundle_name, bundle_version, lock_hash,
                outcome, code, reason, duration_ms, flash_ms, test_ms, final_ms, final_code,
                flashed_by, device_os, board_modules, attempt_id, serial, work_order, operator,
                rework_by, modules)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                ?19, ?20, ?21, ?22, ?23, ?24)",
            params![
                time_utc,
                ctx.station,
                u.slot,
                u.device_id,
                ctx.bundle_name,
                ctx.bundle_version,
                ctx.lock_hash,
                u.outcome.as_str(),
                u.code.map(|c| c.to_string()),
                u.reason,
                u.duration_ms as i64,
                u.flash_ms.map(|v| v as i64),
                u.test_ms.map(|v| v as i64),
                u.final_ms.map(|v| v as i64),
                u.final_code.map(|c| c.to_string()),
                u.flashed_by,
                u.device_os,
                // `;` keeps the CSV cell free of commas (no quoting needed in a spreadsheet).
                (!u.board_modules.is_empty()).then(|| u.board_modules.join("; ")),
                uuid::Uuid::new_v4().to_string(),
                u.trace.serial,
                u.trace.work_order,
                u.trace.operator,
                u.trace.rework_by,
                modules,
            ],
        )
        .map_err(&err)?;
        let id = tx.last_insert_rowid();
        for m in &u.measurements {
            tx.execute(
                "INSERT INTO measurements (unit_id, name, value, unit, low, high, passed, detail, attempts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![id, m.name, m.value, m.unit, m.low, m.high, m.passed, m.detail, m.attempts],
            )
            .map_err(&err)?;
        }
        chain::seal(&tx, id).map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(id)
    }

    pub fn list(&self, filter: &Filter) -> Result<Vec<Record>, RecordsError> {
        self.select(
            "(?1 IS NULL OR time_utc >= ?1) AND (?2 IS NULL OR device_id = ?2)
               AND (?3 IS NULL OR work_order = ?3) AND (?4 IS NULL OR serial = ?4)
               AND (?5 IS NULL OR id = ?5)
             ORDER BY id",
            params![
                filter.since,
                filter.device_id.as_ref().map(|d| d.to_lowercase()),
                filter.work_order,
                filter.serial,
                filter.id,
            ],
        )
    }

    /// The records that match `condition` (SQL after `WHERE`, may end in ORDER BY and LIMIT),
    /// with their measurements.
    pub(super) fn select(
        &self,
        condition: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<Record>, RecordsError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT id, time_utc, station, slot, device_id, bundle_name, bundle_version, lock_hash, outcome,
                        code, reason, duration_ms, flash_ms, test_ms, final_ms, final_code,
                        flashed_by, device_os, board_modules, attempt_id, serial, work_order,
                        operator, rework_by, modules, row_hash
                 FROM units WHERE {condition}"
            ))
            .map_err(self.err())?;
        let rows = stmt
            .query_map(args, |r| {
                Ok(Record {
                    id: r.get(0)?,
                    time_utc: r.get(1)?,
                    station: r.get(2)?,
                    slot: r.get(3)?,
                    device_id: r.get(4)?,
                    bundle_name: r.get(5)?,
                    bundle_version: r.get(6)?,
                    lock_hash: r.get(7)?,
                    outcome: r.get(8)?,
                    code: r.get(9)?,
                    reason: r.get(10)?,
                    duration_ms: r.get(11)?,
                    flash_ms: r.get(12)?,
                    test_ms: r.get(13)?,
                    final_ms: r.get(14)?,
                    final_code: r.get(15)?,
                    flashed_by: r.get(16)?,
                    device_os: r.get(17)?,
                    board_modules: r.get(18)?,
                    attempt_id: r.get::<_, Option<String>>(19)?.unwrap_or_default(),
                    serial: r.get(20)?,
                    work_order: r.get(21)?,
                    operator: r.get(22)?,
                    rework_by: r.get(23)?,
                    // Written by `insert` from the same type; unreadable JSON is a tampered
                    // row, which `verify` names.
                    modules: r
                        .get::<_, Option<String>>(24)?
                        .and_then(|m| serde_json::from_str(&m).ok())
                        .unwrap_or_default(),
                    row_hash: r.get(25)?,
                    measurements: Vec::new(),
                })
            })
            .map_err(self.err())?;
        let mut records = rows.collect::<Result<Vec<_>, _>>().map_err(self.err())?;
        let mut m = self
            .conn
            .prepare(
                "SELECT name, value, unit, low, high, passed, detail, attempts FROM measurements
                 WHERE unit_id = ?1 ORDER BY rowid",
            )
            .map_err(self.err())?;
        for r in &mut records {
            r.measurements = m
                .query_map([r.id], |row| {
                    Ok(Measurement {
                        name: row.get(0)?,
                        value: row.get(1)?,
                        unit: row.get(2)?,
                        low: row.get(3)?,
                        high: row.get(4)?,
                        passed: row.get(5)?,
                        detail: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
                        attempts: row.get(7)?,
                    })
                })
                .map_err(self.err())?
                .collect::<Result<Vec<_>, _>>()
                .map_err(self.err())?;
        }
        Ok(records)
    }

    /// Pass and fail counts for a bundle since a time (the OLED's counters: today, this bundle).
    pub fn counts(&self, lock_hash: &str, since: &str) -> Result<(u32, u32), RecordsError> {
        let count = |outcome: &str| -> Result<u32, RecordsError> {
            self.conn
                .query_row(
                    "SELECT COUNT(*) FROM units WHERE lock_hash = ?1 AND time_utc >= ?2 AND outcome = ?3",
                    params![lock_hash, since, outcome],
                    |r| r.get(0),
                )
                .map_err(self.err())
        };
        Ok((count("pass")?, count("fail")?))
    }

    /// Whether this device's last attempt with this bundle passed its tests and failed only
    /// in the final stage.
    pub fn final_stage_pending(
        &self,
        device_id: &str,
        lock_hash: &str,
    ) -> Result<bool, RecordsError> {
        let last: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT final_code FROM units WHERE device_id = ?1 AND lock_hash = ?2 ORDER BY id DESC LIMIT 1",
                params![device_id, lock_hash],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        Ok(matches!(last, Some(Some(_))))
    }

    /// What the records already pair this serial and device with (refusals not counted).
    pub fn seen(&self, serial: &str, device_id: &str) -> Result<Seen, RecordsError> {
        let device_id = device_id.to_lowercase();
        let refusals = REFUSALS.map(|c| format!("'{}'", c.as_str())).join(", ");
        let counted = format!("(code IS NULL OR code NOT IN ({refusals}))");
        let pair = |sql: &str| -> Result<Option<(String, i64)>, RecordsError> {
            self.conn
                .query_row(
                    &format!("{sql} AND {counted} ORDER BY id DESC LIMIT 1"),
                    params![serial, device_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(self.err())
        };
        let confirmed: bool = self
            .conn
            .query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM units WHERE serial = ?1 AND device_id = ?2
                       AND rework_by IS NOT NULL AND {counted})"
                ),
                params![serial, device_id],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        Ok(Seen {
            serial_elsewhere: pair(
                "SELECT device_id, id FROM units WHERE serial = ?1 AND device_id IS NOT NULL
                   AND device_id != ?2",
            )?,
            device_elsewhere: pair(
                "SELECT serial, id FROM units WHERE device_id = ?2 AND serial IS NOT NULL
                   AND serial != ?1",
            )?,
            confirmed,
        })
    }

    /// The units that passed in a work order, once each (by serial, else device ID).
    pub fn work_order_passed(&self, work_order: &str) -> Result<Vec<String>, RecordsError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT COALESCE(serial, device_id) FROM units
                 WHERE work_order = ?1 AND outcome = 'pass' AND COALESCE(serial, device_id) IS NOT NULL",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([work_order], |r| r.get(0))
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Recomputes the hash chain (`chain.rs`).
    pub fn verify_chain(&self) -> Result<Verification, RecordsError> {
        chain::verify(&self.conn).map_err(self.err())
    }

    /// The schema upgrades applied to this database, in order (each once: 1, 2, …).
    pub fn schema_versions(&self) -> Result<Vec<i64>, RecordsError> {
        let mut stmt = self
            .conn
            .prepare("SELECT version FROM schema_version ORDER BY version")
            .map_err(self.err())?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn integrity_ok(&self) -> Result<bool, RecordsError> {
        let result: Option<String> = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .optional()
            .map_err(self.err())?;
        Ok(result.as_deref() == Some("ok"))
    }
}

/// Now as RFC 3339 UTC with milliseconds: sorts as text, reads in a spreadsheet.
pub fn now_utc() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
