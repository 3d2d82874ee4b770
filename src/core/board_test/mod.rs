//! Peripheral tests after flashing: `tests.toml` phases with measurements and limits, over
//! the board's USB serial line protocol (design §2).

mod plan;
mod reply;
mod run;

pub use plan::{Check, TestPlan, TestSpec, MAX_LINE};
pub use reply::{parse as parse_reply, Reply};
pub use run::{run_tests, Measurement, TestFailure, TestProgress, TestReport};
