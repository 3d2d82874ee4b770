//! Modules written into a simulated board before it is seated, as Device OS would have left
//! them: each in its installed form (a compressed module inflated, a combined file's parts),
//! NCP firmware on the coprocessor, assets in the asset store, a bootloader in its region.

use crate::core::module::{Inner, Module, ModuleFunction};
use crate::sim::fault::Fault;

use super::boot::S140_7_0_1;
use super::scan::{SD_FWID_AT, SD_INFO_MAGIC_AT, SD_MAGIC};
use super::{Presence, SimBoard, StoredAsset};

impl SimBoard {
    /// Installs `modules` (and, with `stand_in_radio`, a stand-in S140 when none of them is a
    /// radio stack), then boots the board.
    pub(crate) fn install(&self, modules: &[Module], stand_in_radio: bool) {
        let mut b = self.lock();
        let mut has_radio = false;
        for m in modules.iter().flat_map(installed) {
            match m.function() {
                ModuleFunction::NcpFirmware => b.ncp_version = Some(m.version()),
                ModuleFunction::Asset => {
                    let stored = StoredAsset {
                        name: m.name().unwrap_or_default().to_string(),
                        hash: m.asset_hash().unwrap_or_default().to_vec(),
                        size: m
                            .compressed()
                            .map_or(m.bytes().len() as u32, |c| c.header.original_size),
                        storage_size: m.bytes().len() as u32,
                    };
                    b.assets.retain(|a| a.name != stored.name);
                    b.assets.push(stored);
                }
                function => {
                    if function == ModuleFunction::Bootloader {
                        b.bootloader_version = m.version();
                        if m.is_protected() {
                            b.protected = true;
                        }
                        b.bootloader = Some(m.clone());
                    }
                    has_radio |= function == ModuleFunction::RadioStack;
                    let at = m.image_address() as usize;
                    let image = m.image().to_vec();
                    for page in (at..at + image.len()).step_by(4096) {
                        b.internal.erase_page(page);
                    }
                    b.internal.program(at, &image);
                }
            }
        }
        if stand_in_radio && !has_radio {
            // Only the SoftDevice's info struct, which Device OS reads its version from.
            b.internal
                .program(SD_INFO_MAGIC_AT, &SD_MAGIC.to_le_bytes());
            b.internal.program(SD_FWID_AT, &S140_7_0_1.to_le_bytes());
        }
        if b.bricked {
            return;
        }
        b.configure_uicr_by_bootloader();
        let now = b.clock.now();
        b.presence = Presence::Rebooting {
            ready_at: now,
            since: now,
            into_dfu: false,
        };
        b.settle();
        // The app it was seated with disables updates; one written later does not.
        if b.faults.contains(&Fault::UpdatesDisabled) {
            b.updates_disabled_by = b.running_app();
        }
    }
}

/// What a module leaves in the board once Device OS installed it.
fn installed(m: &Module) -> Vec<Module> {
    if let Some(parts) = m.combined_parts() {
        return parts.iter().flat_map(installed).collect();
    }
    match m.compressed().map(|c| &c.inner) {
        // An asset is stored as it came.
        _ if m.function() == ModuleFunction::Asset => vec![m.clone()],
        Some(Ok(Inner::Module(inner))) => vec![(**inner).clone()],
        Some(_) => Vec::new(),
        None => vec![m.clone()],
    }
}
