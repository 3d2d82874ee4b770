//! A records store for tests that fails on demand, as a full disk does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::{Context, RecordsError, Store};
use crate::core::unit::UnitRecord;

/// Clones share the switch and the rows. A unit on slot `panic` makes the store panic.
#[derive(Clone, Default)]
pub struct FlakyStore {
    failing: Arc<AtomicBool>,
    rows: Arc<Mutex<Vec<UnitRecord>>>,
}

impl FlakyStore {
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// The units written, in order.
    pub fn rows(&self) -> Vec<UnitRecord> {
        self.rows.lock().unwrap().clone()
    }
}

impl Store for FlakyStore {
    fn insert(&mut self, _: &Context, _: &str, unit: &UnitRecord) -> Result<i64, RecordsError> {
        if unit.slot == "panic" {
            panic!("a store that breaks");
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(RecordsError {
                path: "flaky.db".into(),
                cause: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                    Some("database or disk is full".into()),
                ),
            });
        }
        let mut rows = self.rows.lock().unwrap();
        rows.push(unit.clone());
        Ok(rows.len() as i64)
    }
}
