//! The pure core: formats, protocols and state machines. No hardware, no wall clock.
pub mod atomic_file;
pub mod bundle;
pub mod flash_map;
pub mod module;
