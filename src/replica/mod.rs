//! Replication of the station's records to the line's PostgreSQL (`[line] database`,
//! `docs/line.md`), as an edge that fails alone: the station's SQLite stays the truth and the
//! line never waits for the network. A worker thread pushes every committed record, oldest
//! first, and the records writer only wakes it (a `UnitSink`); the backlog is bounded only by
//! the station's disk.

mod backoff;
#[cfg(feature = "postgres")]
pub mod pg;
#[cfg(feature = "postgres")]
mod pg_schema;
mod worker;

pub use backoff::Backoff;
pub use worker::{LineStatus, ReplicaStore, SharedStatus, Step, Worker, BATCH};

use std::path::Path;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use crate::ports::clock::{Clock, SystemClock};
use crate::records::{Committed, Records, RecordsError, UnitSink};
use crate::runtime::Tasks;

#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The server's (or the connection's) own words.
    #[error("line database: {0}")]
    Server(String),
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error("line database: {0}")]
    Config(String),
}

/// How long a stopping station keeps pushing what is left before it exits; the rest goes at
/// its next start.
pub const DRAIN_ON_STOP: Duration = Duration::from_secs(10);

enum Wake {
    Unit,
    Stop,
}

/// The running replication: its status, and the way to stop it.
pub struct Replica {
    wake: Sender<Wake>,
    status: SharedStatus,
    done: Receiver<()>,
}

/// Opens the line database's client (not the connection: that happens on the worker's thread,
/// and an unreachable server is a backlog, not a failed start) and starts the worker.
pub fn start(url: &str, records: &Path, tasks: &mut Tasks) -> Result<Replica, ReplicaError> {
    let store = open_store(url)?;
    let target = target_of(url);
    let worker = Worker::new(store, Records::open(records)?, &target);
    Ok(spawn(worker, tasks))
}

/// Starts `worker` on its own thread, supervised by `tasks`.
pub fn spawn(worker: Worker, tasks: &mut Tasks) -> Replica {
    let (wake, rx) = channel();
    let (done_tx, done) = channel();
    let status = worker.status();
    {
        let s = worker::lock(&status);
        log::info!(
            "line: replicating to {}; {} unit(s) to send",
            s.target,
            s.backlog
        );
    }
    tasks.spawn("replica", move || {
        serve(worker, rx);
        let _ = done_tx.send(());
    });
    Replica { wake, status, done }
}

impl Replica {
    pub fn status(&self) -> SharedStatus {
        self.status.clone()
    }

    /// The sink that wakes the worker for each committed unit.
    pub fn sink(&self) -> Box<dyn UnitSink> {
        Box::new(ReplicaSink {
            wake: self.wake.clone(),
            status: self.status.clone(),
        })
    }

    /// Pushes what is left for up to `grace`, then stops; says what stays on the station.
    pub fn stop(self, grace: Duration) -> LineStatus {
        let _ = self.wake.send(Wake::Stop);
        let finished = self
            .done
            .recv_timeout(grace + Duration::from_secs(1))
            .is_ok();
        let status = worker::lock(&self.status).clone();
        if status.backlog > 0 || !finished {
            log::warn!(
                "line: {} unit(s) not yet on {}; they are kept here and go at the next start",
                status.backlog,
                status.target
            );
        } else {
            log::info!("line: {} unit(s) sent to {}", status.sent, status.target);
        }
        status
    }
}

/// The worker's loop: a batch whenever there is work and no backoff; a wake-up for a new unit
/// never cuts a backoff short (a down server is not hammered once per unit).
fn serve(mut worker: Worker, wake: Receiver<Wake>) {
    let clock = SystemClock::default();
    let mut stop_by: Option<Duration> = None;
    loop {
        let now = clock.now();
        if stop_by.is_some_and(|t| now >= t) {
            return;
        }
        let wait = match worker.step(now) {
            Step::Sent(_) => Some(Duration::ZERO),
            Step::Idle if stop_by.is_some() => return,
            Step::Idle => None,
            Step::Failed if stop_by.is_some() => return,
            Step::Failed | Step::Waiting => Some(
                worker
                    .poll_timeout()
                    .map_or(Duration::ZERO, |due| due.saturating_sub(now)),
            ),
        };
        let woken = match wait {
            Some(d) if d.is_zero() => match wake.try_recv() {
                Ok(w) => Ok(w),
                Err(_) => continue,
            },
            Some(d) => wake.recv_timeout(d),
            None => wake.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match woken {
            Ok(Wake::Unit) | Err(RecvTimeoutError::Timeout) => {}
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => {
                if stop_by.is_none() {
                    stop_by = Some(clock.now() + DRAIN_ON_STOP);
                    worker.try_now();
                }
            }
        }
    }
}

struct ReplicaSink {
    wake: Sender<Wake>,
    status: SharedStatus,
}

impl UnitSink for ReplicaSink {
    fn name(&self) -> &str {
        "line replication"
    }

    fn committed(&mut self, _unit: &Committed) -> Result<(), String> {
        worker::lock(&self.status).backlog += 1;
        self.wake
            .send(Wake::Unit)
            .map_err(|_| "the replication thread stopped; the unit waits on this station".into())
    }
}

#[cfg(feature = "postgres")]
fn open_store(url: &str) -> Result<Box<dyn ReplicaStore>, ReplicaError> {
    Ok(Box::new(pg::PgStore::new(url)?))
}

#[cfg(not(feature = "postgres"))]
fn open_store(_url: &str) -> Result<Box<dyn ReplicaStore>, ReplicaError> {
    Err(ReplicaError::Config(NO_POSTGRES.into()))
}

pub const NO_POSTGRES: &str =
    "this flashline was built without the `postgres` feature (cargo build --features postgres)";

/// The line database as the log and the cursor name it: the URL without its password.
pub fn target_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // `host=db user=flashline password=…`: every word but the password.
        return url
            .split_whitespace()
            .filter(|kv| !kv.starts_with("password="))
            .collect::<Vec<_>>()
            .join(" ");
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((auth, host)) => (Some(auth), host),
        None => (None, rest),
    };
    let user = auth.map(|a| a.split(':').next().unwrap_or(""));
    match user {
        Some(u) if !u.is_empty() => format!("{scheme}://{u}@{host}"),
        _ => format!("{scheme}://{host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_never_shows_the_password() {
        assert_eq!(
            target_of("postgresql://line:s3cret@db.local:5432/flashline"),
            "postgresql://line@db.local:5432/flashline"
        );
        assert_eq!(
            target_of("postgresql://db.local/flashline"),
            "postgresql://db.local/flashline"
        );
        assert_eq!(target_of("postgres://:pw@h/d"), "postgres://h/d");
        assert_eq!(
            target_of("host=db user=line password=s3cret dbname=l"),
            "host=db user=line dbname=l"
        );
    }
}
