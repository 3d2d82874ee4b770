//! The replication worker: pushes this station's committed records, oldest first, to the line
//! database and moves the durable cursor only once the server has confirmed them. SQLite stays
//! the truth: a record is never taken out of it, the server only ever gets copies (an upsert on
//! the attempt id, so sending one twice is harmless), and whatever the server has not confirmed
//! is sent again — after a restart, a power cut or an outage.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::backoff::Backoff;
use super::ReplicaError;
use crate::records::{Record, Records};

/// Where the copies go: PostgreSQL on a line, memory in a test.
pub trait ReplicaStore: Send {
    /// Upserts the records (with their measurements) in one transaction, and returns only once
    /// the server has committed them.
    fn upsert(&mut self, records: &[Record]) -> Result<(), ReplicaError>;
}

/// What the station shows of its replication (OLED, `selftest`, `/state`, the log).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LineStatus {
    /// The line database, without its password.
    pub target: String,
    /// Committed records the server has not confirmed yet.
    pub backlog: u64,
    /// Records confirmed since this station started.
    pub sent: u64,
    /// Whether the last attempt reached the server (`None` before the first).
    pub up: Option<bool>,
    /// Why the last attempt failed, while it does.
    pub error: Option<String>,
}

pub type SharedStatus = Arc<Mutex<LineStatus>>;

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Sent this many records; there may be more.
    Sent(usize),
    /// Nothing left to send.
    Idle,
    /// The attempt failed; the next is due at `poll_timeout`.
    Failed,
    /// Backing off: not due yet.
    Waiting,
}

/// Records per transaction: small enough that a kill mid-push loses little work, large enough
/// that a backlog of a day goes in seconds.
pub const BATCH: usize = 100;

pub struct Worker {
    store: Box<dyn ReplicaStore>,
    records: Records,
    target: String,
    backoff: Backoff,
    batch: usize,
    status: SharedStatus,
}

impl Worker {
    pub fn new(store: Box<dyn ReplicaStore>, records: Records, target: &str) -> Self {
        let status = LineStatus {
            target: target.into(),
            backlog: records.backlog(target).unwrap_or(0),
            ..LineStatus::default()
        };
        Worker {
            store,
            records,
            target: target.into(),
            backoff: Backoff::default(),
            batch: BATCH,
            status: Arc::new(Mutex::new(status)),
        }
    }

    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    pub fn status(&self) -> SharedStatus {
        self.status.clone()
    }

    /// When the next attempt is due while backing off (`None`: whenever there is work).
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.backoff.poll_timeout()
    }

    /// Lets the next step try at once (the last attempt when the station stops).
    pub fn try_now(&mut self) {
        self.backoff.succeeded();
    }

    /// Sends one batch if an attempt is due at `now`.
    pub fn step(&mut self, now: Duration) -> Step {
        if !self.backoff.ready(now) {
            return Step::Waiting;
        }
        let result = self.push_batch();
        let backlog = self.records.backlog(&self.target).ok();
        let mut status = lock(&self.status);
        if let Some(b) = backlog {
            status.backlog = b;
        }
        match result {
            Ok(n) => {
                if status.up == Some(false) {
                    log::info!(
                        "line: {} reachable again; {} unit(s) to send",
                        self.target,
                        status.backlog + n as u64
                    );
                }
                status.up = Some(true);
                status.error = None;
                status.sent += n as u64;
                self.backoff.succeeded();
                if n == 0 {
                    Step::Idle
                } else {
                    log::debug!("line: sent {n} unit(s), {} waiting", status.backlog);
                    Step::Sent(n)
                }
            }
            Err(e) => {
                let first = status.up != Some(false);
                status.up = Some(false);
                status.error = Some(e.to_string());
                self.backoff.failed(now);
                let wait = self
                    .backoff
                    .poll_timeout()
                    .map_or(0, |due| due.saturating_sub(now).as_secs());
                // Once per outage at warn; each retry at debug, so a day offline is one line.
                if first {
                    log::warn!(
                        "{e}; {} unit(s) kept on this station, retrying in {wait} s \
                         (flashing and recording go on)",
                        status.backlog
                    );
                } else {
                    log::debug!("line: still failing ({e}); next try in {wait} s");
                }
                Step::Failed
            }
        }
    }

    /// The records after the cursor, to the server, then the cursor: in that order, so a crash
    /// between the two only means sending them again.
    fn push_batch(&mut self) -> Result<usize, ReplicaError> {
        let cursor = self.records.replica_cursor(&self.target)?;
        let batch = self.records.after(cursor, self.batch)?;
        let Some(last) = batch.last().map(|r| r.id) else {
            return Ok(0);
        };
        self.store.upsert(&batch)?;
        self.records.set_replica_cursor(&self.target, last)?;
        Ok(batch.len())
    }
}

pub(super) fn lock(status: &SharedStatus) -> std::sync::MutexGuard<'_, LineStatus> {
    status.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::unit::{Outcome, UnitRecord};
    use crate::records::Context;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// The server in memory: rows by attempt id, a switch to take it down, and a count of
    /// every upsert it saw.
    #[derive(Clone, Default)]
    struct MemoryServer {
        rows: Arc<Mutex<Vec<Record>>>,
        down: Arc<AtomicBool>,
        upserts: Arc<Mutex<usize>>,
    }

    impl ReplicaStore for MemoryServer {
        fn upsert(&mut self, records: &[Record]) -> Result<(), ReplicaError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(ReplicaError::Server("connection refused".into()));
            }
            let mut rows = self.rows.lock().unwrap();
            for r in records {
                *self.upserts.lock().unwrap() += 1;
                match rows.iter_mut().find(|x| x.attempt_id == r.attempt_id) {
                    Some(x) => *x = r.clone(),
                    None => rows.push(r.clone()),
                }
            }
            Ok(())
        }
    }

    fn station(dir: &std::path::Path, units: u32) -> std::path::PathBuf {
        let path = dir.join("records.db");
        let mut r = Records::open(&path).unwrap();
        for i in 0..units {
            insert(&mut r, i);
        }
        path
    }

    fn insert(r: &mut Records, i: u32) {
        let unit = UnitRecord {
            device_id: Some(format!("e00fce68{i:016x}")),
            outcome: Outcome::Pass,
            ..UnitRecord::new("A")
        };
        let ctx = Context {
            station: "line-1".into(),
            ..Context::default()
        };
        r.insert(&ctx, "2026-12-01T08:00:00.000Z", &unit).unwrap();
    }

    fn ids(server: &MemoryServer) -> Vec<i64> {
        server.rows.lock().unwrap().iter().map(|r| r.id).collect()
    }

    #[test]
    fn sends_in_order_in_batches_and_moves_the_cursor_after_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = station(dir.path(), 25);
        let server = MemoryServer::default();
        let mut w = Worker::new(
            Box::new(server.clone()),
            Records::open(&path).unwrap(),
            "pg",
        )
        .with_batch(10);
        assert_eq!(lock(&w.status()).backlog, 25);
        let steps: Vec<Step> = (0..4).map(|_| w.step(Duration::ZERO)).collect();
        assert_eq!(
            steps,
            [Step::Sent(10), Step::Sent(10), Step::Sent(5), Step::Idle]
        );
        assert_eq!(ids(&server), (1..=25).collect::<Vec<_>>());
        let records = Records::open(&path).unwrap();
        assert_eq!(records.replica_cursor("pg").unwrap(), 25);
        assert_eq!(records.replica_cursor("other").unwrap(), 0, "per target");
        let status = lock(&w.status()).clone();
        assert_eq!(
            (status.backlog, status.sent, status.up),
            (0, 25, Some(true))
        );
    }

    #[test]
    fn an_outage_keeps_everything_backs_off_on_the_clock_and_sends_each_once_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = station(dir.path(), 3);
        let server = MemoryServer::default();
        server.down.store(true, Ordering::SeqCst);
        let mut w = Worker::new(
            Box::new(server.clone()),
            Records::open(&path).unwrap(),
            "pg",
        );
        let t = Duration::from_secs(1000);
        assert_eq!(w.step(t), Step::Failed);
        assert_eq!(w.poll_timeout(), Some(t + Duration::from_secs(1)));
        assert_eq!(w.step(t), Step::Waiting, "not before it is due");
        assert_eq!(w.step(t + Duration::from_secs(1)), Step::Failed);
        assert_eq!(w.poll_timeout(), Some(t + Duration::from_secs(3)));
        let status = lock(&w.status()).clone();
        assert_eq!(status.up, Some(false));
        assert!(status.error.unwrap().contains("connection refused"));
        // The station goes on recording meanwhile: the backlog grows, nothing is lost.
        let mut r = Records::open(&path).unwrap();
        insert(&mut r, 3);
        insert(&mut r, 4);
        assert_eq!(Records::open(&path).unwrap().backlog("pg").unwrap(), 5);
        server.down.store(false, Ordering::SeqCst);
        let due = w.poll_timeout().unwrap();
        assert_eq!(w.step(due), Step::Sent(5));
        assert_eq!(w.step(due), Step::Idle);
        assert_eq!(ids(&server), [1, 2, 3, 4, 5]);
        assert_eq!(*server.upserts.lock().unwrap(), 5, "each sent once");
        assert_eq!(lock(&w.status()).backlog, 0);
    }

    #[test]
    fn a_restart_resumes_at_the_cursor_and_an_unconfirmed_batch_goes_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = station(dir.path(), 4);
        let mut server = MemoryServer::default();
        let mut first = Worker::new(
            Box::new(server.clone()),
            Records::open(&path).unwrap(),
            "pg",
        )
        .with_batch(2);
        assert_eq!(first.step(Duration::ZERO), Step::Sent(2));
        drop(first);
        // A push the server committed but whose confirmation never came back (killed between
        // the commit and the cursor): the cursor stayed, so the same rows go again.
        server
            .upsert(&Records::open(&path).unwrap().after(2, 1).unwrap())
            .unwrap();
        let mut second = Worker::new(
            Box::new(server.clone()),
            Records::open(&path).unwrap(),
            "pg",
        )
        .with_batch(2);
        assert_eq!(lock(&second.status()).backlog, 2);
        assert_eq!(second.step(Duration::ZERO), Step::Sent(2));
        assert_eq!(second.step(Duration::ZERO), Step::Idle);
        assert_eq!(ids(&server), [1, 2, 3, 4], "no gap, no double");
    }

    #[test]
    fn the_cursor_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let path = station(dir.path(), 1);
        let records = Records::open(&path).unwrap();
        records.set_replica_cursor("pg", 7).unwrap();
        records.set_replica_cursor("pg", 3).unwrap();
        assert_eq!(records.replica_cursor("pg").unwrap(), 7);
    }
}
