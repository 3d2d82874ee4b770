//! A USB DFU 1.1 + ST DfuSe host, as Particle's Gen3 bootloader speaks it
//! (docs/particle-usb.md §3, docs/dfu-host.md for why it is our own and not dfu-core).

mod error;
mod layout;
pub mod request;
mod session;
mod status;

pub use error::{DfuError, DfuStep};
pub use layout::{LayoutError, MemoryLayout, Segment};
pub use session::{DfuOptions, DfuSession, WritePhase};
pub use status::{DfuState, DfuStatus, DfuStatusCode};
