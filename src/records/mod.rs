//! Unit records: every unit that was on a fixture, pass or fail, with its measurements.
mod chain;
mod dhr;
mod export;
#[cfg(test)]
pub(crate) mod flaky_store;
mod line;
mod schema;
mod store;
mod writer;

pub use chain::{Break, Verification};
pub use dhr::{chain_line, Dhr, DhrUnit};
pub use export::{device_ids, to_csv};
pub use store::{now_utc, Context, Filter, Record, Records, RecordsError};
pub use writer::{
    log_unwritten, Closed, Committed, Pending, RecordWriter, Report, Store, UnitSink, RETRY_EVERY,
};
