//! Simulated hardware behind the same ports as the real thing: a faithful Argon (DFU
//! bootloader, flash with NOR semantics and timing, Device OS control requests), and a virtual
//! clock. `--sim` anywhere a board is expected.
pub mod argon;
pub mod bus;
pub mod clock;
pub mod fault;
pub mod scheduler;
pub mod serial;
pub mod swd;
pub mod usbdevfs;

pub use argon::{SimArgon, SimBoard, SimBoardSpec};
pub use bus::SimBus;
pub use clock::VirtualClock;
pub use fault::Fault;
