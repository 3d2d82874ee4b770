//! The line's view of many stations' records: one report computed in Rust from rows, whichever
//! database they come from (a station's SQLite or the line's PostgreSQL), so the two can never
//! disagree on what "first-pass yield" means (`docs/line.md`).

mod report;
mod source;
mod time;

pub use report::{Bucket, CodeCount, Group, Report, StageTime};
pub use source::{LineError, Source};
pub use time::{parse_since, parse_utc_ms};
