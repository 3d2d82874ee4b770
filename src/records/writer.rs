//! Writing records off the station's main loop, with an answer for every unit: the main loop
//! hands a finished unit over and shows its verdict only when the writer reports it committed.
//! A slow disk never stalls the OLED, the buttons or another slot; a record that cannot be
//! written is held in memory and retried (oldest first), never dropped. Once committed, a unit
//! goes on to the sinks (labels, replication), each of which fails alone.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::store::{now_utc, Context, Records, RecordsError};
use crate::core::unit::UnitRecord;

/// How often a held record is tried again.
pub const RETRY_EVERY: Duration = Duration::from_secs(5);

/// Where the writer puts a unit: SQLite on a station, anything in a test.
pub trait Store: Send {
    /// Commits one unit (durably) and returns its record id.
    fn insert(
        &mut self,
        ctx: &Context,
        time_utc: &str,
        unit: &UnitRecord,
    ) -> Result<i64, RecordsError>;
}

/// Where a committed unit goes next. Called on the writer's thread after the commit, so a sink
/// hands the unit over and returns (its own thread does anything slow); its error is logged
/// and never touches the record or the verdict.
pub trait UnitSink: Send {
    fn name(&self) -> &str;
    fn committed(&mut self, unit: &Committed) -> Result<(), String>;
}

/// A unit waiting for its record; `tag` is the caller's (the runtime's slot index).
#[derive(Debug, Clone)]
pub struct Pending {
    pub tag: usize,
    pub ctx: Context,
    /// When the unit finished, not when the disk caught up.
    pub time_utc: String,
    pub unit: UnitRecord,
}

#[derive(Debug, Clone)]
pub struct Committed {
    pub id: i64,
    pub pending: Pending,
}

/// The writer's answer to one hand-over or retry.
#[derive(Debug, Default)]
pub struct Report {
    /// Written, in the order they were handed over.
    pub committed: Vec<Committed>,
    /// Tags of the units that could not be written (kept, retried), oldest first.
    pub held: Vec<usize>,
    /// Why they wait, when they do: the store's error, as one line.
    pub cause: Option<String>,
}

/// What `close` leaves: units written at the last attempt, and those never written.
#[derive(Debug, Default)]
pub struct Closed {
    pub committed: Vec<Committed>,
    pub unwritten: Vec<Pending>,
}

enum Request {
    Write(u64, Box<Pending>),
    Retry,
    Sink(Box<dyn UnitSink>),
}

/// The thread's side of a report: sequence numbers, the main side holds the units.
struct Answer {
    committed: Vec<(u64, i64)>,
    /// Still queued after a failure, oldest first.
    held: Vec<u64>,
    cause: Option<String>,
}

pub struct RecordWriter {
    path: PathBuf,
    requests: Option<Sender<Request>>,
    answers: Receiver<Answer>,
    thread: Option<JoinHandle<()>>,
    /// Every unit handed over and not yet committed, oldest first: a copy, so that not even a
    /// writer thread that died loses one.
    unwritten: VecDeque<(u64, Pending)>,
    next_seq: u64,
    /// Requests not answered yet.
    in_flight: usize,
    /// Answers received by `wait`, not yet returned by `poll`.
    early: VecDeque<Answer>,
    retry_at: Option<Duration>,
    /// The thread is gone: what it had is in `unwritten`, held.
    gone: bool,
}

impl RecordWriter {
    /// Opens the database now (so a bad path fails at start) and writes from a thread.
    pub fn start(path: PathBuf) -> Result<RecordWriter, RecordsError> {
        let records = Records::open(&path)?;
        let store = SqliteStore {
            path: path.clone(),
            records: Some(records),
        };
        Ok(Self::with_store(path, Box::new(store)))
    }

    /// A writer over any store (`path` is what `path()` reports).
    pub fn with_store(path: PathBuf, store: Box<dyn Store>) -> RecordWriter {
        let (requests, rx) = channel();
        let (tx, answers) = channel();
        let thread = std::thread::Builder::new()
            .name("records".into())
            .spawn(move || serve(store, rx, tx))
            .map_err(|e| log::error!("records: cannot start the writer thread: {e}"))
            .ok();
        RecordWriter {
            path,
            gone: thread.is_none(),
            requests: Some(requests),
            answers,
            thread,
            unwritten: VecDeque::new(),
            next_seq: 0,
            in_flight: 0,
            early: VecDeque::new(),
            retry_at: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a sink for committed units, after the records (which come first, always).
    pub fn add_sink(&mut self, sink: Box<dyn UnitSink>) {
        self.send(Request::Sink(sink));
    }

    /// Hands a finished unit over; `poll` says when it is committed. Never blocks.
    pub fn submit(&mut self, tag: usize, ctx: Context, unit: UnitRecord) {
        let pending = Pending {
            tag,
            ctx,
            time_utc: now_utc(),
            unit,
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.unwritten.push_back((seq, pending.clone()));
        if self.send(Request::Write(seq, Box::new(pending))) {
            self.in_flight += 1;
        }
    }

    /// Whether a write is under way: a verdict is waiting for it.
    pub fn saving(&self) -> bool {
        self.in_flight > 0
    }

    /// Units held because their records could not be written.
    pub fn holding(&self) -> bool {
        !self.saving() && !self.unwritten.is_empty()
    }

    /// Waits up to `timeout` for the writer's next answer, when one is due (the runtime's tick
    /// while a verdict waits for its record). Never longer: the caller's loop goes on.
    pub fn wait(&mut self, timeout: Duration) {
        if self.in_flight == 0 || !self.early.is_empty() {
            return;
        }
        match self.answers.recv_timeout(timeout) {
            Ok(a) => self.early.push_back(a),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => self.thread_gone(),
        }
    }

    /// The answers so far; while units are held, asks for a retry every `RETRY_EVERY` of `now`.
    pub fn poll(&mut self, now: Duration) -> Vec<Report> {
        let mut reports = Vec::new();
        loop {
            let answer = match self.early.pop_front() {
                Some(a) => a,
                None => match self.answers.try_recv() {
                    Ok(a) => a,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        if self.in_flight > 0 {
                            self.thread_gone();
                            continue;
                        }
                        break;
                    }
                },
            };
            self.in_flight = self.in_flight.saturating_sub(1);
            if answer.cause.is_some() {
                self.retry_at = Some(now + RETRY_EVERY);
            }
            reports.push(self.report(answer));
        }
        if self.holding() && !self.gone && self.retry_at.is_some_and(|at| now >= at) {
            self.retry_at = None;
            if self.send(Request::Retry) {
                self.in_flight += 1;
            }
        }
        reports
    }

    /// Stops the writer after one last attempt at everything held, and says what became of it.
    pub fn close(mut self) -> Closed {
        self.finish()
    }

    fn finish(&mut self) -> Closed {
        self.requests.take();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!("records: the writer thread failed");
            }
        }
        let mut committed = Vec::new();
        let answers: Vec<Answer> = self
            .early
            .drain(..)
            .chain(self.answers.try_iter())
            .collect();
        for a in answers {
            committed.extend(self.report(a).committed);
        }
        Closed {
            committed,
            unwritten: self.unwritten.drain(..).map(|(_, p)| p).collect(),
        }
    }

    fn report(&mut self, answer: Answer) -> Report {
        let mut committed = Vec::new();
        for (seq, id) in answer.committed {
            if let Some(i) = self.unwritten.iter().position(|(s, _)| *s == seq) {
                if let Some((_, pending)) = self.unwritten.remove(i) {
                    committed.push(Committed { id, pending });
                }
            }
        }
        let held = match &answer.cause {
            // The thread is gone: whatever it had is lost with it, and kept here.
            Some(_) if self.gone => self.unwritten.iter().map(|(_, p)| p.tag).collect(),
            _ => answer
                .held
                .iter()
                .filter_map(|seq| self.unwritten.iter().find(|(s, _)| s == seq))
                .map(|(_, p)| p.tag)
                .collect(),
        };
        Report {
            committed,
            held,
            cause: answer.cause,
        }
    }

    fn send(&mut self, request: Request) -> bool {
        let sent = self
            .requests
            .as_ref()
            .is_some_and(|r| r.send(request).is_ok());
        if !sent {
            self.thread_gone();
        }
        sent
    }

    /// The thread died: everything not committed is held, by one answer for every request
    /// it will never answer.
    fn thread_gone(&mut self) {
        self.gone = true;
        self.early.push_back(Answer {
            committed: Vec::new(),
            held: Vec::new(),
            cause: Some(format!(
                "records {}: the writer stopped",
                self.path.display()
            )),
        });
        self.in_flight = self.early.len();
    }
}

impl Drop for RecordWriter {
    /// Waits until everything handed over is on disk; what cannot be is logged whole, the
    /// last place it can go.
    fn drop(&mut self) {
        if self.thread.is_none() && self.unwritten.is_empty() {
            return;
        }
        for p in self.finish().unwritten {
            log_unwritten(&p);
        }
    }
}

/// The last resort for a unit whose record could not be written: the log keeps it whole.
pub fn log_unwritten(p: &Pending) {
    log::error!(
        "E-RECORDS: slot {}: unit NOT recorded: {}",
        p.unit.slot,
        serde_json::to_string(&p.unit).unwrap_or_default()
    );
}

fn serve(mut store: Box<dyn Store>, requests: Receiver<Request>, answers: Sender<Answer>) {
    let mut queue: VecDeque<(u64, Pending)> = VecDeque::new();
    let mut sinks: Vec<Box<dyn UnitSink>> = Vec::new();
    for request in requests.iter() {
        match request {
            Request::Write(seq, pending) => queue.push_back((seq, *pending)),
            Request::Retry => {}
            Request::Sink(sink) => {
                sinks.push(sink);
                continue;
            }
        }
        // The main loop may be gone at shutdown; what it did not hear is still in its copy.
        let _ = answers.send(flush(store.as_mut(), &mut queue, &mut sinks));
    }
    // Closing: one last attempt at whatever is held.
    if !queue.is_empty() {
        let _ = answers.send(flush(store.as_mut(), &mut queue, &mut sinks));
    }
}

/// Writes the queue in order until one fails: that one and those behind it stay queued.
fn flush(
    store: &mut dyn Store,
    queue: &mut VecDeque<(u64, Pending)>,
    sinks: &mut [Box<dyn UnitSink>],
) -> Answer {
    let mut committed = Vec::new();
    while let Some((seq, p)) = queue.front() {
        match store.insert(&p.ctx, &p.time_utc, &p.unit) {
            Ok(id) => {
                log::debug!(
                    "record {id}: slot {} {}",
                    p.unit.slot,
                    p.unit.outcome.as_str()
                );
                committed.push((*seq, id));
                if let Some((_, pending)) = queue.pop_front() {
                    fan_out(sinks, &Committed { id, pending });
                }
            }
            Err(e) => {
                return Answer {
                    committed,
                    held: queue.iter().map(|(seq, _)| *seq).collect(),
                    cause: Some(e.to_string()),
                }
            }
        }
    }
    Answer {
        committed,
        held: Vec::new(),
        cause: None,
    }
}

/// Each sink in its own try (OpenHTF's output callbacks): a failing or panicking sink is
/// logged, and the next one still gets the unit.
fn fan_out(sinks: &mut [Box<dyn UnitSink>], unit: &Committed) {
    for sink in sinks.iter_mut() {
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.committed(unit)));
        let problem = match result {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(_) => "panicked".into(),
        };
        log::warn!("{}: {problem} (record {} is written)", sink.name(), unit.id);
    }
}

/// SQLite, reopened after a failed write: the file may have been replaced or remounted.
struct SqliteStore {
    path: PathBuf,
    records: Option<Records>,
}

impl Store for SqliteStore {
    fn insert(
        &mut self,
        ctx: &Context,
        time_utc: &str,
        unit: &UnitRecord,
    ) -> Result<i64, RecordsError> {
        let records = match &mut self.records {
            Some(r) => r,
            None => self.records.insert(Records::open(&self.path)?),
        };
        let result = records.insert(ctx, time_utc, unit);
        if result.is_err() {
            self.records = None;
        }
        result
    }
}

#[cfg(test)]
mod tests;
