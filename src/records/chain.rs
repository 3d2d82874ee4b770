//! Tamper evidence: every unit row is sealed with a hash chained to the row before it, so
//! changing, removing or inserting a row anywhere breaks the chain from there on, and
//! `records verify` says where.
//!
//! What is hashed (docs/traceability.md says the same):
//!
//! ```text
//! row_hash(n) = hex( SHA-256( "flashline-chain-v1\n" || row_hash(n-1) || "\n" || canonical(n) ) )
//! ```
//!
//! - `row_hash(n-1)` is the stored hash of the unit row before it by id (empty for the first
//!   row of the chain);
//! - `canonical(n)` is one line of JSON, `{"measurements":[…],"unit":{…}}`: `unit` has every
//!   column of the `units` row but `row_hash`, `measurements` every column of each of its
//!   measurement rows in insertion order. Keys are sorted (bytewise), there is no
//!   whitespace, columns that are NULL are left out (so a column a later schema adds leaves
//!   older hashes as they were), integers are JSON integers, reals the shortest decimal that
//!   reads back as the same double, text is a JSON string, a blob lowercase hex.
//!
//! The chain starts at the schema upgrade that introduced it: rows written before it (their
//! id at most `chain_origin.before_id`) are reported as not covered.

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const DOMAIN: &str = "flashline-chain-v1";

/// One row's columns as the canonical form takes them: sorted, NULLs left out.
fn columns(
    conn: &Connection,
    sql: &str,
    id: i64,
    skip: &str,
) -> rusqlite::Result<Vec<BTreeMap<String, Value>>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt.query([id])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut map = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            if name == skip {
                continue;
            }
            let value = match row.get_ref(i)? {
                ValueRef::Null => continue,
                ValueRef::Integer(v) => Value::from(v),
                ValueRef::Real(v) => serde_json::Number::from_f64(v)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(v.to_string())),
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::String(hex::encode(b)),
            };
            map.insert(name.clone(), value);
        }
        out.push(map);
    }
    Ok(out)
}

/// A sorted map as compact JSON, whatever serde_json's own map order.
fn object(map: &BTreeMap<String, Value>) -> String {
    let fields: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// The canonical form of unit `id` and its measurements, as hashed.
pub fn canonical(conn: &Connection, id: i64) -> rusqlite::Result<String> {
    let unit = columns(conn, "SELECT * FROM units WHERE id = ?1", id, "row_hash")?;
    let measurements = columns(
        conn,
        "SELECT * FROM measurements WHERE unit_id = ?1 ORDER BY rowid",
        id,
        "",
    )?;
    let unit = unit.first().map(object).unwrap_or_else(|| "{}".into());
    let measurements: Vec<String> = measurements.iter().map(object).collect();
    Ok(format!(
        "{{\"measurements\":[{}],\"unit\":{unit}}}",
        measurements.join(",")
    ))
}

pub fn row_hash(previous: &str, canonical: &str) -> String {
    let mut h = Sha256::new();
    h.update(DOMAIN.as_bytes());
    h.update(b"\n");
    h.update(previous.as_bytes());
    h.update(b"\n");
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

/// Rows with an id up to this were written before the chain began.
pub fn origin(conn: &Connection) -> rusqlite::Result<i64> {
    let before: Option<i64> = conn
        .query_row("SELECT MAX(before_id) FROM chain_origin", [], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(before.unwrap_or(0))
}

/// Seals unit `id` (just inserted, in the caller's transaction): its hash over the row
/// before it.
pub fn seal(conn: &Connection, id: i64) -> rusqlite::Result<String> {
    let previous: Option<Option<String>> = conn
        .query_row(
            "SELECT row_hash FROM units WHERE id < ?1 AND id > ?2 ORDER BY id DESC LIMIT 1",
            params![id, origin(conn)?],
            |r| r.get(0),
        )
        .optional()?;
    let hash = row_hash(
        &previous.flatten().unwrap_or_default(),
        &canonical(conn, id)?,
    );
    conn.execute(
        "UPDATE units SET row_hash = ?1 WHERE id = ?2",
        params![hash, id],
    )?;
    Ok(hash)
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    pub id: i64,
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Unit rows in the database.
    pub rows: u64,
    /// Rows written before the chain began (not covered), ids `1..=before_chain`.
    pub before_chain: i64,
    pub chained: u64,
    /// The last row's hash: written down elsewhere, it also shows later that no row was
    /// cut off the end.
    pub head: Option<String>,
    pub breaks: Vec<Break>,
}

impl Verification {
    pub fn intact(&self) -> bool {
        self.breaks.is_empty()
    }
}

/// Recomputes every sealed row's hash in id order. After a break it goes on from the stored
/// hash, so each altered row is named, not only the first.
pub fn verify(conn: &Connection) -> rusqlite::Result<Verification> {
    let before = origin(conn)?;
    let mut stmt = conn.prepare("SELECT id, row_hash FROM units ORDER BY id")?;
    let rows: Vec<(i64, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut v = Verification {
        rows: rows.len() as u64,
        before_chain: before,
        chained: 0,
        head: None,
        breaks: Vec::new(),
    };
    let mut previous = String::new();
    let mut last_id = before;
    for (id, stored) in rows.into_iter().filter(|(id, _)| *id > before) {
        if id != last_id + 1 {
            v.breaks.push(Break {
                id,
                problem: format!("rows {}..{} are missing", last_id + 1, id - 1),
            });
        }
        last_id = id;
        v.chained += 1;
        let expected = row_hash(&previous, &canonical(conn, id)?);
        match &stored {
            None => v.breaks.push(Break {
                id,
                problem: "not sealed (written around the station, or its hash removed)".into(),
            }),
            Some(s) if *s != expected => v.breaks.push(Break {
                id,
                problem: format!(
                    "hash differs: stored {}…, its contents give {}…: the row, its \
                     measurements or the row before it changed",
                    &s[..s.len().min(12)],
                    &expected[..12]
                ),
            }),
            Some(_) => {}
        }
        // Go on from what is stored (as `seal` chains to it), so the next row is judged on
        // its own.
        previous = stored.unwrap_or_default();
        v.head = Some(previous.clone());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use crate::core::board_test::Measurement;
    use crate::core::unit::{Outcome, UnitRecord};
    use crate::records::{Context, Records};
    use rusqlite::Connection;

    fn unit(serial: &str, device: &str) -> UnitRecord {
        let mut u = UnitRecord::new("A");
        u.outcome = Outcome::Pass;
        u.device_id = Some(device.into());
        u.trace.serial = Some(serial.into());
        u.measurements.push(Measurement {
            name: "vin".into(),
            value: Some(12.0),
            unit: Some("V".into()),
            low: Some(11.4),
            high: Some(12.6),
            passed: true,
            detail: "OK 12.0 V".into(),
            attempts: 1,
        });
        u
    }

    fn three(path: &std::path::Path) -> Records {
        let mut r = Records::open(path).unwrap();
        for (i, s) in ["WC-0001", "WC-0002", "WC-0003"].iter().enumerate() {
            let time = format!("2026-12-01T08:0{i}:00.000Z");
            r.insert(&Context::default(), &time, &unit(s, &format!("d{i}")))
                .unwrap();
        }
        r
    }

    #[test]
    fn an_untouched_chain_verifies_and_its_rows_cannot_be_changed_through_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let r = three(&path);
        let v = r.verify_chain().unwrap();
        assert!(v.intact(), "{v:?}");
        assert_eq!((v.rows, v.chained, v.before_chain), (3, 3, 0));
        let conn = Connection::open(&path).unwrap();
        for sql in [
            "UPDATE units SET serial = 'WC-9999' WHERE id = 2",
            "DELETE FROM units WHERE id = 3",
            "UPDATE measurements SET value = 10.0",
            "INSERT INTO measurements (unit_id, name, passed, attempts) VALUES (1, 'x', 1, 1)",
        ] {
            let e = conn.execute(sql, []).unwrap_err().to_string();
            assert!(e.contains("append-only"), "{sql}: {e}");
        }
    }

    #[test]
    fn a_changed_measurement_or_a_removed_row_breaks_the_chain_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let r = three(&path);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TRIGGER measurements_no_update;
             UPDATE measurements SET value = 12.5 WHERE unit_id = 2;",
        )
        .unwrap();
        let v = r.verify_chain().unwrap();
        assert_eq!(v.breaks.iter().map(|b| b.id).collect::<Vec<_>>(), [2]);
        conn.execute_batch(
            "DROP TRIGGER units_no_delete;
             DROP TRIGGER measurements_no_delete;
             DELETE FROM measurements WHERE unit_id = 2;
             DELETE FROM units WHERE id = 2;",
        )
        .unwrap();
        let v = r.verify_chain().unwrap();
        assert_eq!(v.breaks.len(), 2, "{v:?}");
        assert!(v.breaks.iter().all(|b| b.id == 3), "{v:?}");
        assert!(
            v.breaks[0].problem.contains("rows 2..2 are missing"),
            "{v:?}"
        );
    }

    #[test]
    fn the_hash_covers_every_column_the_attempt_id_too_and_recomputes_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
        let (ra, rb) = (three(&a), three(&b));
        let (va, vb) = (ra.verify_chain().unwrap(), rb.verify_chain().unwrap());
        assert!(va.intact() && vb.intact());
        assert_ne!(
            va.head, vb.head,
            "same units, other attempt ids: other hashes"
        );
        let conn = Connection::open(&a).unwrap();
        let canonical = super::canonical(&conn, 1).unwrap();
        assert!(
            canonical
                .starts_with(r#"{"measurements":[{"attempts":1,"detail":"OK 12.0 V","high":12.6,"#),
            "{canonical}"
        );
        assert!(canonical.contains(r#""attempt_id":""#), "{canonical}");
        assert!(canonical.contains(r#""serial":"WC-0001""#) && !canonical.contains("row_hash"));
        assert!(
            !canonical.contains("null"),
            "NULL columns are left out: {canonical}"
        );
        let stored: String = conn
            .query_row("SELECT row_hash FROM units WHERE id = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            super::row_hash("", &canonical),
            stored,
            "the first row chains to nothing"
        );
    }
}
