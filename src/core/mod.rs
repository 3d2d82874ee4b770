//! The pure core: formats, protocols and state machines. No hardware, no wall clock.
pub mod atomic_file;
pub mod board_test;
pub mod bundle;
pub mod config;
pub mod control;
pub mod debounce;
pub mod dfu;
pub mod event;
pub mod flash;
pub mod image;
pub mod label;
pub mod lights;
pub mod module;
pub mod operator_code;
pub mod plan;
pub mod progress;
pub mod regular_file;
pub mod scan;
pub mod station;
pub mod target;
pub mod trace;
pub mod ui;
pub mod unit;

/// The flash map moved to `target::flash_map`; this path stays for existing callers.
pub use target::flash_map;
