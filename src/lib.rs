//! flashline: a production flashing and test station for Particle Gen3 boards.
//!
//! Layers (see docs/architecture.md): `core` is pure, `ports` are the traits hardware hides
//! behind, `adapters` implement them for real hardware, `sim` implements them in memory.
pub mod adapters;
pub mod cli;
pub mod core;
pub mod dashboard;
pub mod line;
pub mod ports;
pub mod records;
pub mod replica;
pub mod runtime;
pub mod sim;
pub mod stick;
