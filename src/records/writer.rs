//! Writing records off the station's main loop: a slow disk never stalls the OLED, the
//! buttons or another slot, and every record handed over is written before the writer ends.

use std::path::PathBuf;
use std::sync::mpsc::{channel, Sender};
use std::thread::JoinHandle;

use super::store::{now_utc, Context, Records};
use crate::core::unit::UnitRecord;

pub struct RecordWriter {
    path: PathBuf,
    tx: Option<Sender<(Context, String, UnitRecord)>>,
    thread: Option<JoinHandle<()>>,
}

impl RecordWriter {
    /// Opens the database now (so a bad path fails at start) and writes from a thread.
    pub fn start(path: PathBuf) -> Result<RecordWriter, super::store::RecordsError> {
        let mut records = Records::open(&path)?;
        let db = path.clone();
        let (tx, rx) = channel::<(Context, String, UnitRecord)>();
        let thread = std::thread::spawn(move || {
            for (ctx, time, unit) in rx {
                match records.insert(&ctx, &time, &unit) {
                    Ok(id) => {
                        log::debug!("record {id}: slot {} {}", unit.slot, unit.outcome.as_str())
                    }
                    // Logged with the whole unit, so nothing is lost even when the disk is.
                    Err(e) => log::error!(
                        "{e}; unit was {}",
                        serde_json::to_string(&unit).unwrap_or_default()
                    ),
                }
            }
        });
        Ok(RecordWriter {
            path: db,
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    pub fn write(&self, ctx: Context, unit: UnitRecord) {
        if let Some(tx) = &self.tx {
            // The time is taken now, when the unit finished, not when the disk caught up.
            let _ = tx.send((ctx, now_utc(), unit));
        }
    }
}

impl Drop for RecordWriter {
    /// Waits until everything handed over is on disk.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
