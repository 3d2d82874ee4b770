//! The line database's schema, in versioned migrations the stations apply themselves: in one
//! transaction under an advisory lock, so two stations starting at once against a new server
//! serialise and each migration runs once. Everything lives in the `flashline` schema, so a
//! database shared with other tools keeps its own `units` tables.

use postgres::Client;

/// `pg_advisory_xact_lock` key: "flashlin" in ASCII, held until the transaction ends.
const LOCK: i64 = 0x666c_6173_686c_696e;

/// Each entry upgrades the line database by one version (`flashline.schema_version`). Columns
/// a report reads are columns; the whole record is also kept as `record` (JSON), so a field a
/// later release adds to the station's records reaches the line before it has a column.
pub const PG_MIGRATIONS: &[&str] = &["CREATE TABLE flashline.units (
        attempt_id uuid PRIMARY KEY,
        station text NOT NULL,
        local_id bigint NOT NULL,
        time_utc text NOT NULL,
        slot text NOT NULL,
        device_id text,
        bundle_name text,
        bundle_version text,
        lock_hash text,
        outcome text NOT NULL,
        code text,
        reason text,
        duration_ms bigint NOT NULL,
        flash_ms bigint,
        test_ms bigint,
        final_ms bigint,
        final_code text,
        flashed_by text,
        device_os text,
        board_modules text,
        record jsonb NOT NULL,
        received_utc timestamptz NOT NULL DEFAULT now(),
        sends integer NOT NULL DEFAULT 1
    );
    CREATE INDEX units_time ON flashline.units (time_utc);
    CREATE INDEX units_device ON flashline.units (device_id);
    CREATE INDEX units_station ON flashline.units (station, local_id);
    CREATE TABLE flashline.measurements (
        attempt_id uuid NOT NULL REFERENCES flashline.units (attempt_id) ON DELETE CASCADE,
        seq integer NOT NULL,
        name text NOT NULL,
        value double precision,
        unit text,
        low double precision,
        high double precision,
        passed boolean NOT NULL,
        detail text,
        attempts integer NOT NULL,
        PRIMARY KEY (attempt_id, seq)
    );"];

/// Brings the line database up to date; returns the versions this call applied.
pub fn migrate(client: &mut Client) -> Result<Vec<i32>, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])?;
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS flashline;
         CREATE TABLE IF NOT EXISTS flashline.schema_version (
            version integer PRIMARY KEY,
            applied_utc timestamptz NOT NULL DEFAULT now()
         );",
    )?;
    let current: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM flashline.schema_version",
            &[],
        )?
        .get(0);
    let mut applied = Vec::new();
    for (i, sql) in PG_MIGRATIONS
        .iter()
        .enumerate()
        .skip(current.max(0) as usize)
    {
        let version = i as i32 + 1;
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO flashline.schema_version (version) VALUES ($1)",
            &[&version],
        )?;
        applied.push(version);
    }
    tx.commit()?;
    Ok(applied)
}
