//! PostgreSQL behind the replica and the line's readers, with the `postgres` sync client. No
//! TLS is built in (`docs/line.md`): a URL that demands it is refused with that reason, rather
//! than sending records in the clear.

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use std::str::FromStr;
use std::time::Duration;

use super::pg_schema;
pub use super::pg_schema::PG_MIGRATIONS;
use super::{ReplicaError, ReplicaStore};
use crate::core::board_test::Measurement;
use crate::records::Record;

/// A station gives up on one connection attempt after this long, then backs off.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A server that stops answering mid-push (cable pulled) is given up on after this long.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(20);

pub fn config(url: &str) -> Result<Config, ReplicaError> {
    let mut config = Config::from_str(url).map_err(|e| {
        ReplicaError::Config(format!(
            "`{}` is not a PostgreSQL URL ({e}); e.g. postgresql://flashline@db.local/line",
            super::target_of(url)
        ))
    })?;
    if matches!(config.get_ssl_mode(), SslMode::Require) {
        return Err(ReplicaError::Config(
            "sslmode=require: this build has no TLS; reach the server over a private network, \
             a unix socket or an SSH tunnel (docs/line.md)"
                .into(),
        ));
    }
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_user_timeout(TCP_USER_TIMEOUT)
        .keepalives(true)
        .application_name("flashline");
    Ok(config)
}

fn server(e: postgres::Error) -> ReplicaError {
    // The server's message (e.g. "password authentication failed"), not only "db error"; for a
    // connection, its cause too ("Connection refused").
    let text = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => match std::error::Error::source(&e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    };
    ReplicaError::Server(text)
}

/// Connects and brings the schema up to date.
pub fn connect(config: &Config) -> Result<Client, ReplicaError> {
    let mut client = config.connect(NoTls).map_err(server)?;
    let applied = pg_schema::migrate(&mut client).map_err(server)?;
    if !applied.is_empty() {
        log::info!("line: schema upgraded to version(s) {applied:?}");
    }
    Ok(client)
}

/// Whether the line database answers (`selftest`): connects and asks nothing of the schema.
pub fn ping(url: &str) -> Result<(), ReplicaError> {
    let mut client = config(url)?.connect(NoTls).map_err(server)?;
    client.simple_query("SELECT 1").map_err(server)?;
    Ok(())
}

/// The replica's store: one connection, opened when needed and again after any failure.
pub struct PgStore {
    config: Config,
    client: Option<Client>,
}

impl PgStore {
    pub fn new(url: &str) -> Result<PgStore, ReplicaError> {
        Ok(PgStore {
            config: config(url)?,
            client: None,
        })
    }
}

impl ReplicaStore for PgStore {
    fn upsert(&mut self, records: &[Record]) -> Result<(), ReplicaError> {
        let client = match &mut self.client {
            Some(c) => c,
            None => self.client.insert(connect(&self.config)?),
        };
        let result = upsert(client, records);
        if result.is_err() {
            self.client = None;
        }
        result
    }
}

const UPSERT_UNIT: &str = "INSERT INTO flashline.units (attempt_id, station, local_id, time_utc,
        slot, device_id, bundle_name, bundle_version, lock_hash, outcome, code, reason,
        duration_ms, flash_ms, test_ms, final_ms, final_code, flashed_by, device_os,
        board_modules, record)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
        $19, $20, $21)
    ON CONFLICT (attempt_id) DO UPDATE SET station = excluded.station,
        local_id = excluded.local_id, time_utc = excluded.time_utc, slot = excluded.slot,
        device_id = excluded.device_id, bundle_name = excluded.bundle_name,
        bundle_version = excluded.bundle_version, lock_hash = excluded.lock_hash,
        outcome = excluded.outcome, code = excluded.code, reason = excluded.reason,
        duration_ms = excluded.duration_ms, flash_ms = excluded.flash_ms,
        test_ms = excluded.test_ms, final_ms = excluded.final_ms,
        final_code = excluded.final_code, flashed_by = excluded.flashed_by,
        device_os = excluded.device_os, board_modules = excluded.board_modules,
        record = excluded.record, sends = flashline.units.sends + 1";

const UPSERT_MEASUREMENT: &str = "INSERT INTO flashline.measurements (attempt_id, seq, name,
        value, unit, low, high, passed, detail, attempts)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (attempt_id, seq) DO UPDATE SET name = excluded.name, value = excluded.value,
        unit = excluded.unit, low = excluded.low, high = excluded.high,
        passed = excluded.passed, detail = excluded.detail, attempts = excluded.attempts";

fn upsert(client: &mut Client, records: &[Record]) -> Result<(), ReplicaError> {
    let mut tx = client.transaction().map_err(server)?;
    let unit = tx.prepare(UPSERT_UNIT).map_err(server)?;
    let measurement = tx.prepare(UPSERT_MEASUREMENT).map_err(server)?;
    for r in records {
        let attempt = uuid::Uuid::parse_str(&r.attempt_id).map_err(|e| {
            ReplicaError::Config(format!(
                "record {} has no valid attempt id ({e}); run `flashline records list` once",
                r.id
            ))
        })?;
        let json = serde_json::to_value(r).map_err(|e| ReplicaError::Config(e.to_string()))?;
        tx.execute(
            &unit,
            &[
                &attempt,
                &r.station,
                &r.id,
                &r.time_utc,
                &r.slot,
                &r.device_id,
                &r.bundle_name,
                &r.bundle_version,
                &r.lock_hash,
                &r.outcome,
                &r.code,
                &r.reason,
                &r.duration_ms,
                &r.flash_ms,
                &r.test_ms,
                &r.final_ms,
                &r.final_code,
                &r.flashed_by,
                &r.device_os,
                &r.board_modules,
                &json,
            ],
        )
        .map_err(server)?;
        for (seq, m) in r.measurements.iter().enumerate() {
            let seq = seq as i32;
            let attempts = m.attempts as i32;
            tx.execute(
                &measurement,
                &[
                    &attempt, &seq, &m.name, &m.value, &m.unit, &m.low, &m.high, &m.passed,
                    &m.detail, &attempts,
                ],
            )
            .map_err(server)?;
        }
    }
    tx.commit().map_err(server)
}

/// Every record on the line (since `since`, an RFC 3339 prefix), oldest first, in a read-only
/// transaction: a report or the dashboard never writes the line database.
pub fn read(config: &Config, since: Option<&str>) -> Result<Vec<Record>, ReplicaError> {
    let mut client = config.connect(NoTls).map_err(server)?;
    let mut tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .map_err(server)?;
    // A line no station has reached yet has no schema: nothing to show (and nothing to create
    // here, this transaction is read-only).
    let schema: bool = tx
        .query_one("SELECT to_regclass('flashline.units') IS NOT NULL", &[])
        .map_err(server)?
        .get(0);
    if !schema {
        return Ok(Vec::new());
    }
    let since = since.unwrap_or("");
    let rows = tx
        .query(
            "SELECT attempt_id, station, local_id, time_utc, slot, device_id, bundle_name,
                    bundle_version, lock_hash, outcome, code, reason, duration_ms, flash_ms,
                    test_ms, final_ms, final_code, flashed_by, device_os, board_modules, record
             FROM flashline.units WHERE time_utc >= $1
             ORDER BY time_utc, station, local_id",
            &[&since],
        )
        .map_err(server)?;
    let mut records: Vec<Record> = rows
        .iter()
        .map(|r| {
            // The traceability fields ride in the record's JSON (the table has no columns
            // of their own).
            let whole: Option<serde_json::Value> = r.get(20);
            let whole = whole.unwrap_or_default();
            let text = |key: &str| whole.get(key).and_then(|v| v.as_str()).map(String::from);
            Record {
                serial: text("serial"),
                work_order: text("work_order"),
                operator: text("operator"),
                rework_by: text("rework_by"),
                row_hash: text("row_hash"),
                modules: serde_json::from_value(whole.get("modules").cloned().unwrap_or_default())
                    .unwrap_or_default(),
                attempt_id: r.get::<_, uuid::Uuid>(0).to_string(),
                station: r.get(1),
                id: r.get(2),
                time_utc: r.get(3),
                slot: r.get(4),
                device_id: r.get(5),
                bundle_name: r.get(6),
                bundle_version: r.get(7),
                lock_hash: r.get(8),
                outcome: r.get(9),
                code: r.get(10),
                reason: r.get(11),
                duration_ms: r.get(12),
                flash_ms: r.get(13),
                test_ms: r.get(14),
                final_ms: r.get(15),
                final_code: r.get(16),
                flashed_by: r.get(17),
                device_os: r.get(18),
                board_modules: r.get(19),
                measurements: Vec::new(),
            }
        })
        .collect();
    let index: std::collections::HashMap<String, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.attempt_id.clone(), i))
        .collect();
    let rows = tx
        .query(
            "SELECT m.attempt_id, m.name, m.value, m.unit, m.low, m.high, m.passed, m.detail,
                    m.attempts
             FROM flashline.measurements m JOIN flashline.units u USING (attempt_id)
             WHERE u.time_utc >= $1 ORDER BY m.attempt_id, m.seq",
            &[&since],
        )
        .map_err(server)?;
    for row in rows {
        let attempt = row.get::<_, uuid::Uuid>(0).to_string();
        let Some(&i) = index.get(&attempt) else {
            continue;
        };
        records[i].measurements.push(Measurement {
            name: row.get(1),
            value: row.get(2),
            unit: row.get(3),
            low: row.get(4),
            high: row.get(5),
            passed: row.get(6),
            detail: row.get::<_, Option<String>>(7).unwrap_or_default(),
            attempts: row.get::<_, i32>(8).max(0) as u32,
        });
    }
    tx.commit().map_err(server)?;
    Ok(records)
}
