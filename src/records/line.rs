//! What the line's edges read from a station's records: the replication cursor (how far a line
//! database has confirmed this station's records), the records after it in commit order, and a
//! read-only view for reports and the dashboard that never writes the file.

use rusqlite::{params, OptionalExtension};
use std::path::Path;

use super::store::{now_utc, Record, Records, RecordsError};

impl Records {
    /// Opens records to report on (`line report`, the dashboard): read-only as
    /// `open_read_only`, with `query_only` on so not even a bug here can write, and of this
    /// release's schema or newer (an older file is upgraded by the station that owns it, not
    /// by a viewer).
    pub fn open_to_report(path: &Path) -> Result<Records, RecordsError> {
        let records = Records::open_read_only(path)?;
        records
            .conn
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(records.err())?;
        records
            .conn
            .pragma_update(None, "query_only", "ON")
            .map_err(records.err())?;
        let has_attempts: bool = records
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM pragma_table_info('units') WHERE name = 'attempt_id')",
                [],
                |r| r.get(0),
            )
            .map_err(records.err())?;
        if !has_attempts {
            return Err(RecordsError {
                path: records.path.clone(),
                cause: rusqlite::Error::InvalidQuery,
            }
            .with_cause(
                "written by an older release: run the station (or `flashline records list`) once to upgrade it",
            ));
        }
        Ok(records)
    }

    /// How far `target` (a line database) has confirmed this station's records: the last
    /// record id it holds, 0 for none.
    pub fn replica_cursor(&self, target: &str) -> Result<i64, RecordsError> {
        // A file from before the line (read by `selftest` without upgrading it): no cursor yet.
        let has_cursor: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'replica_cursor')",
                [],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        if !has_cursor {
            return Ok(0);
        }
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT last_id FROM replica_cursor WHERE target = ?1",
                [target],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        Ok(id.unwrap_or(0))
    }

    /// Moves the cursor (durably: the connection is synchronous=FULL); only forward, so a
    /// late confirmation never takes it back.
    pub fn set_replica_cursor(&self, target: &str, last_id: i64) -> Result<(), RecordsError> {
        self.conn
            .execute(
                "INSERT INTO replica_cursor (target, last_id, updated_utc) VALUES (?1, ?2, ?3)
                 ON CONFLICT (target) DO UPDATE
                 SET last_id = max(last_id, excluded.last_id), updated_utc = excluded.updated_utc",
                params![target, last_id, now_utc()],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Up to `limit` records after `after_id`, oldest first, with their measurements.
    pub fn after(&self, after_id: i64, limit: usize) -> Result<Vec<Record>, RecordsError> {
        self.select(
            "id > ?1 ORDER BY id LIMIT ?2",
            params![after_id, limit as i64],
        )
    }

    /// Records not yet confirmed by `target`.
    pub fn backlog(&self, target: &str) -> Result<u64, RecordsError> {
        let after = self.replica_cursor(target)?;
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM units WHERE id > ?1", [after], |r| {
                r.get(0)
            })
            .map_err(self.err())?;
        Ok(n.max(0) as u64)
    }
}

impl RecordsError {
    /// The same path with a cause of our own words (SQLite had none to give).
    fn with_cause(self, words: &str) -> RecordsError {
        RecordsError {
            cause: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some(words.into()),
            ),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::MIGRATIONS;
    use super::super::store::{Context, Filter};
    use super::*;
    use crate::core::unit::UnitRecord;
    use rusqlite::Connection;

    #[test]
    fn records_from_before_the_line_get_attempt_ids_in_place_and_keep_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.db");
        {
            // The release before the line: schema version 3, three units with measurements.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL);")
                .unwrap();
            for (i, sql) in MIGRATIONS[..3].iter().enumerate() {
                conn.execute_batch(sql).unwrap();
                conn.execute("INSERT INTO schema_version VALUES (?1)", [i as i64 + 1])
                    .unwrap();
            }
            for n in 1..=3 {
                conn.execute(
                    "INSERT INTO units (time_utc, station, slot, device_id, outcome, duration_ms)
                     VALUES ('2026-11-01T08:00:00Z', 'line-1', 'A', ?1, 'pass', 17615)",
                    [format!("e00fce68000000000000000{n}")],
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO measurements (unit_id, name, value, passed, attempts)
                     VALUES (?1, 'vin', 12.0, 1, 1)",
                    [n],
                )
                .unwrap();
            }
        }
        let mut records = Records::open(&path).unwrap();
        // Every upgrade once, the traceability one (5) after the attempt ids it chains.
        assert_eq!(records.schema_versions().unwrap(), [1, 2, 3, 4, 5]);
        records
            .insert(
                &Context::default(),
                "2026-12-01T08:00:00Z",
                &UnitRecord::new("B"),
            )
            .unwrap();
        let all = records.list(&Filter::default()).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(
            all[0].device_id.as_deref(),
            Some("e00fce680000000000000001")
        );
        assert_eq!(all[2].measurements.len(), 1, "measurements kept");
        let ids: std::collections::HashSet<&str> =
            all.iter().map(|r| r.attempt_id.as_str()).collect();
        assert_eq!(ids.len(), 4, "each its own");
        for r in &all {
            let uuid = uuid::Uuid::parse_str(&r.attempt_id).unwrap();
            assert_eq!(uuid.get_version_num(), 4, "{}", r.attempt_id);
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(r.attempt_id, r.attempt_id.to_lowercase());
        }
        // A row written without one (an older release on this upgraded file) still gets one.
        records
            .conn
            .execute(
                "INSERT INTO units (time_utc, station, slot, outcome, duration_ms)
                 VALUES ('2026-12-01T09:00:00Z', 'line-1', 'A', 'fail', 5)",
                [],
            )
            .unwrap();
        let last = records.list(&Filter::default()).unwrap().pop().unwrap();
        assert_eq!(
            uuid::Uuid::parse_str(&last.attempt_id)
                .unwrap()
                .get_version_num(),
            4
        );
    }
}
