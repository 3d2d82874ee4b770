//! The writer through a store that fails on demand: held records are kept, retried on the
//! main loop's clock, written once the store works again, and only then reported committed.

use super::*;
use crate::core::unit::Outcome;
use crate::records::flaky_store::FlakyStore;
use std::sync::{Arc, Mutex};

fn unit(device: &str) -> UnitRecord {
    UnitRecord {
        device_id: Some(device.into()),
        outcome: Outcome::Pass,
        ..UnitRecord::new("A")
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The next report, as the runtime gets it: a tick's wait, then a poll at `now`.
fn next_report(w: &mut RecordWriter, now: Duration) -> Report {
    for _ in 0..100 {
        w.wait(Duration::from_millis(100));
        if let Some(r) = w.poll(now).pop() {
            return r;
        }
    }
    panic!("no answer from the writer");
}

#[test]
fn a_held_record_is_written_once_the_store_works_again_and_only_then_committed() {
    let store = FlakyStore::default();
    store.set_failing(true);
    let mut w = RecordWriter::with_store("flaky.db".into(), Box::new(store.clone()));
    w.submit(0, Context::default(), unit("first"));
    assert!(w.saving());
    let r = next_report(&mut w, secs(0));
    assert!(r.committed.is_empty());
    assert_eq!(r.held, vec![0]);
    assert_eq!(
        r.cause.as_deref(),
        Some("records flaky.db: database or disk is full"),
        "the cause, once"
    );
    assert!(w.holding() && !w.saving());

    // Not retried before its time, and nothing is asked of the disk meanwhile.
    assert!(w.poll(secs(4)).is_empty());
    assert!(!w.saving());
    // Retried at its time, still failing: still held, nothing lost.
    assert!(w.poll(secs(5)).is_empty());
    assert!(w.saving(), "a retry is under way");
    let r = next_report(&mut w, secs(5));
    assert_eq!((r.held.clone(), r.committed.len()), (vec![0], 0));

    // A second unit while the first is held queues behind it.
    w.submit(1, Context::default(), unit("second"));
    let r = next_report(&mut w, secs(6));
    assert_eq!(r.held, vec![0, 1]);

    store.set_failing(false);
    assert!(
        w.poll(secs(10)).is_empty(),
        "5 s after the last try, not yet"
    );
    w.poll(secs(11));
    let r = next_report(&mut w, secs(11));
    let written: Vec<_> = r
        .committed
        .iter()
        .map(|c| {
            (
                c.pending.tag,
                c.id,
                c.pending.unit.device_id.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        written,
        vec![(0, 1, "first".into()), (1, 2, "second".into())],
        "oldest first, each once"
    );
    assert!(r.held.is_empty() && r.cause.is_none());
    assert!(!w.holding() && !w.saving());
    let closed = w.close();
    assert!(closed.unwritten.is_empty());
    assert_eq!(store.rows(), vec![unit("first"), unit("second")]);
}

#[test]
fn closing_tries_once_more_and_returns_what_could_not_be_written() {
    let store = FlakyStore::default();
    store.set_failing(true);
    let mut w = RecordWriter::with_store("flaky.db".into(), Box::new(store.clone()));
    w.submit(0, Context::default(), unit("kept"));
    next_report(&mut w, secs(0));
    let closed = w.close();
    assert!(closed.committed.is_empty());
    let unwritten: Vec<_> = closed.unwritten.iter().map(|p| p.unit.clone()).collect();
    assert_eq!(unwritten, vec![unit("kept")], "the whole unit, for the log");

    // And a disk that recovers by the end gets the held record at the last attempt.
    let mut w = RecordWriter::with_store("flaky.db".into(), Box::new(store.clone()));
    w.submit(0, Context::default(), unit("late"));
    next_report(&mut w, secs(0));
    store.set_failing(false);
    let closed = w.close();
    assert_eq!(closed.committed.len(), 1);
    assert!(closed.unwritten.is_empty());
    assert_eq!(store.rows(), vec![unit("late")]);
}

#[test]
fn a_writer_thread_that_dies_loses_nothing() {
    let store = FlakyStore::default();
    let mut w = RecordWriter::with_store("flaky.db".into(), Box::new(store));
    w.submit(3, Context::default(), UnitRecord::new("panic"));
    let r = next_report(&mut w, secs(0));
    assert_eq!(r.held, vec![3]);
    assert!(r.cause.unwrap().contains("the writer stopped"));
    w.submit(4, Context::default(), unit("after"));
    let r = next_report(&mut w, secs(1));
    assert_eq!(r.held, vec![3, 4]);
    let closed = w.close();
    assert_eq!(closed.unwritten.len(), 2);
}

struct Sink {
    name: &'static str,
    fails: bool,
    seen: Arc<Mutex<Vec<(String, i64)>>>,
}

impl UnitSink for Sink {
    fn name(&self) -> &str {
        self.name
    }
    fn committed(&mut self, unit: &Committed) -> Result<(), String> {
        if self.fails {
            return Err("printer offline".into());
        }
        let id = unit.pending.unit.device_id.clone().unwrap_or_default();
        self.seen.lock().unwrap().push((id, unit.id));
        Ok(())
    }
}

#[test]
fn sinks_get_each_unit_after_its_commit_and_fail_alone() {
    let store = FlakyStore::default();
    store.set_failing(true);
    let mut w = RecordWriter::with_store("flaky.db".into(), Box::new(store.clone()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    for (name, fails) in [("labels", true), ("replica", false)] {
        let seen = seen.clone();
        w.add_sink(Box::new(Sink { name, fails, seen }));
    }
    w.submit(0, Context::default(), unit("u1"));
    next_report(&mut w, secs(0));
    assert!(seen.lock().unwrap().is_empty(), "nothing before the commit");
    store.set_failing(false);
    w.poll(secs(5));
    let r = next_report(&mut w, secs(5));
    assert_eq!(
        r.committed.len(),
        1,
        "a failing sink does not fail the record"
    );
    assert_eq!(*seen.lock().unwrap(), vec![("u1".to_string(), 1)]);
}
