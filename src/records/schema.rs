//! The records database's schema and how every connection is opened: the migrations in
//! order, applied under the write lock, and WAL with synchronous=FULL checked on each
//! connection (what makes a commit durable).

use rusqlite::{Connection, TransactionBehavior};

/// A random UUID v4 in SQL (RFC 4122 §4.4: version nibble 4, variant bits 10), lowercase like
/// `uuid::Uuid`'s text; `randomblob` is evaluated once per row.
macro_rules! uuid_v4 {
    () => {
        "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || \
         substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || \
         substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))"
    };
}

/// Each entry upgrades the schema by one version; the ones a database lacks are applied in
/// order, in one transaction (`migrate`).
pub(super) const MIGRATIONS: &[&str] = &[
    "CREATE TABLE units (
        id INTEGER PRIMARY KEY,
        time_utc TEXT NOT NULL,
        station TEXT NOT NULL,
        slot TEXT NOT NULL,
        device_id TEXT,
        bundle_name TEXT,
        bundle_version TEXT,
        lock_hash TEXT,
        outcome TEXT NOT NULL,
        code TEXT,
        reason TEXT,
        duration_ms INTEGER NOT NULL,
        flash_ms INTEGER,
        test_ms INTEGER
    );
    CREATE TABLE measurements (
        unit_id INTEGER NOT NULL REFERENCES units(id),
        name TEXT NOT NULL,
        value REAL,
        unit TEXT,
        low REAL,
        high REAL,
        passed INTEGER NOT NULL,
        detail TEXT,
        attempts INTEGER NOT NULL
    );
    CREATE INDEX units_time ON units(time_utc);
    CREATE INDEX units_device ON units(device_id);",
    // Two-stage bundles: the final firmware stage's own outcome and time.
    "ALTER TABLE units ADD COLUMN final_ms INTEGER;
     ALTER TABLE units ADD COLUMN final_code TEXT;",
    // What the board runs, as it reported it, and how the bundle went in (DFU or SWD).
    "ALTER TABLE units ADD COLUMN flashed_by TEXT;
     ALTER TABLE units ADD COLUMN device_os TEXT;
     ALTER TABLE units ADD COLUMN board_modules TEXT;",
    // A line of stations (docs/line.md): a UUID v4 per attempt, so the records of many stations
    // meet in one database without colliding; rows from before get theirs here (SQLite's
    // `randomblob` laid out as RFC 4122 version 4). The trigger gives one to a row written by
    // an older release that opens this database after it was upgraded. The cursor says how
    // far each line database has confirmed this station's records.
    concat!(
        "ALTER TABLE units ADD COLUMN attempt_id TEXT;
     UPDATE units SET attempt_id = ",
        uuid_v4!(),
        " WHERE attempt_id IS NULL;
     CREATE UNIQUE INDEX units_attempt ON units(attempt_id);
     CREATE TRIGGER units_attempt_id AFTER INSERT ON units WHEN NEW.attempt_id IS NULL
     BEGIN UPDATE units SET attempt_id = ",
        uuid_v4!(),
        " WHERE id = NEW.id; END;
     CREATE TABLE replica_cursor (
        target TEXT PRIMARY KEY,
        last_id INTEGER NOT NULL,
        updated_utc TEXT NOT NULL
     );"
    ),
    // Traceability: the product's serial, work order, operator, a supervisor's rework, what
    // went on the board (modules with the lock's SHA-256, JSON), and the hash chain
    // (`chain.rs`). Rows from before are not covered; the chain starts here. Sealed rows and
    // measurements can no longer be changed or removed through SQLite — so a later migration
    // cannot backfill a column into existing rows (the triggers refuse it, and a sealed row's
    // hash covers every column): a backfill belongs in a migration before this one.
    "ALTER TABLE units ADD COLUMN serial TEXT;
     ALTER TABLE units ADD COLUMN work_order TEXT;
     ALTER TABLE units ADD COLUMN operator TEXT;
     ALTER TABLE units ADD COLUMN rework_by TEXT;
     ALTER TABLE units ADD COLUMN modules TEXT;
     ALTER TABLE units ADD COLUMN row_hash TEXT;
     CREATE INDEX units_serial ON units(serial);
     CREATE INDEX units_work_order ON units(work_order);
     CREATE TABLE chain_origin (before_id INTEGER NOT NULL, time_utc TEXT NOT NULL);
     INSERT INTO chain_origin SELECT COALESCE(MAX(id), 0), strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM units;
     CREATE TRIGGER units_append_only BEFORE UPDATE ON units
       WHEN OLD.row_hash IS NOT NULL OR OLD.id <= (SELECT MAX(before_id) FROM chain_origin)
       BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
     CREATE TRIGGER units_no_delete BEFORE DELETE ON units
       BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
     CREATE TRIGGER measurements_no_update BEFORE UPDATE ON measurements
       BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
     CREATE TRIGGER measurements_no_delete BEFORE DELETE ON measurements
       BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
     CREATE TRIGGER measurements_of_sealed BEFORE INSERT ON measurements
       WHEN (SELECT row_hash FROM units WHERE id = NEW.unit_id) IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
     CREATE TRIGGER chain_origin_fixed BEFORE UPDATE ON chain_origin
       BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;",
];

/// WAL with synchronous=FULL, checked: both are what makes a commit durable, and
/// `synchronous` is a setting of the connection, not of the file.
pub(super) fn durable(conn: &Connection) -> rusqlite::Result<()> {
    let mode = wal(conn)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    let synchronous: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") || synchronous != SYNCHRONOUS_FULL {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!(
                "journal_mode {mode}, synchronous {synchronous}: a commit would not be durable"
            )),
        ));
    }
    Ok(())
}

/// Switching a new file to WAL takes its exclusive lock without SQLite's busy handler, so a
/// second station opening the same new file at that moment gets SQLITE_BUSY at once: it tries
/// again, for as long as the busy timeout. (A file already in WAL needs no lock for this.)
fn wal(conn: &Connection) -> rusqlite::Result<String> {
    let pause = std::time::Duration::from_millis(10);
    for _ in 0..500 {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)) {
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                std::thread::sleep(pause)
            }
            result => return result,
        }
    }
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
}

/// `PRAGMA synchronous` reads FULL as 2.
const SYNCHRONOUS_FULL: i64 = 2;

pub(super) fn schema_version(conn: &Connection) -> rusqlite::Result<usize> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(0);
    }
    let v: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    Ok(v.max(0) as usize)
}

/// Brings the schema up to date in one immediate transaction: the write lock is taken first
/// and the version read under it, so two stations opening a new file at once cannot both
/// apply a migration. An up-to-date database is only read (a read-only copy still opens).
pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    if schema_version(conn)? >= MIGRATIONS.len() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
        [],
    )?;
    let current = schema_version(&tx)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [i as i64 + 1],
        )?;
    }
    tx.commit()
}
