//! Facts about the boards flashline flashes, as checked data tables: platforms, Device OS
//! releases, and the flash map of each release line.

pub mod device_os;
pub mod flash_map;
pub mod platform;

pub use device_os::{DeviceOs, Release, RELEASES};
pub use flash_map::{Area, FlashMap, Slot, FLASH_MAPS, PAGE_SIZE};
pub use platform::{LayoutFamily, Ncp, Platform, Quirks, PARTICLE_VID};
