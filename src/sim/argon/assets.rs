//! The asset store in external flash (Device OS ≥ 5.5, system/src/asset_manager.cpp @
//! v6.2.0): asset modules (function 9) arrive by firmware update and are stored by name;
//! the assets the running application needs are read from its ASSET_DEPENDENCY extensions
//! at boot; storing one first removes every stored asset the application does not need
//! (storeAsset → clearUnusedAssets, :301-349). GET_ASSET_INFO (91, from 5.6.0) reports both
//! lists (control/storage.cpp:183-192).

use crate::core::control::asset_info::{encode_asset_info, BoardAsset};
use crate::core::module::{Module, ModuleFunction};

use super::Board;

/// An asset in the store, as AssetReader validates it (asset_manager.cpp:436-493 @ v6.2.0):
/// name and hash from the module's suffix extensions (the hash is not recomputed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAsset {
    pub name: String,
    pub hash: Vec<u8>,
    /// Its contents' size (`originalSize`).
    pub size: u32,
    /// The module as stored, compression and metadata included.
    pub storage_size: u32,
}

/// Argon and Boron keep the asset store inside the 1500 KiB OTA area: a module received past
/// its first 592 KiB overwrites it (EXTERNAL_FLASH_OTA_SAFE_LENGTH 606208 and "on older Gen 3
/// platforms this overlaps asset filesystem", platform/MCU/nRF52840/inc/flash_mal.h:108-118;
/// HAL_PLATFORM_ASSETS_OTA_OVERLAP, hal/src/argon/hal_platform_config.h:19 @ v6.2.0). Over
/// USB nothing formats it first (AssetManager::prepareForOta runs on the cloud path only,
/// system_cloud_internal.cpp:174-178): the store is simply lost.
pub const OTA_SAFE_LEN: usize = 606_208;
const OTA_OVERLAP_PLATFORMS: &[&str] = &["argon", "boron"];

impl Board {
    /// Whether a firmware-update transfer this far into the OTA area destroys the asset store.
    pub(super) fn ota_clobbers_assets(&self, received: usize) -> bool {
        received > OTA_SAFE_LEN && OTA_OVERLAP_PLATFORMS.contains(&self.platform.name)
    }

    /// The assets the running application needs (parseRequiredAssets at boot).
    pub(super) fn required_assets(&self) -> Vec<BoardAsset> {
        self.last_boot
            .as_ref()
            .and_then(|b| b.running_user_part())
            .map(|m| {
                m.assets
                    .iter()
                    .map(|a| BoardAsset {
                        name: a.name.clone(),
                        hash: a.hash.clone(),
                        size: 0,
                        storage_size: 0,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// AssetManager::storeAsset: validate, drop what the application does not need, store.
    pub(super) fn store_asset(&mut self, module: &Module) -> Result<(), i32> {
        use crate::core::control::result;
        if module.function() != ModuleFunction::Asset
            || !module.flags().drops_module_info()
            || module.flags().prefix_extensions()
            || !module.crc_ok()
        {
            return Err(result::BAD_DATA);
        }
        let (Some(name), Some(hash)) = (module.name(), module.asset_hash()) else {
            return Err(result::BAD_DATA);
        };
        let required = self.required_assets();
        self.assets.retain(|a| {
            required
                .iter()
                .any(|r| r.name == a.name && r.hash == a.hash)
        });
        let storage_size = module.bytes().len() as u32;
        let size = module
            .compressed()
            .map_or(storage_size, |c| c.header.original_size);
        self.assets.retain(|a| a.name != name);
        self.assets.push(StoredAsset {
            name: name.to_string(),
            hash: hash.to_vec(),
            size,
            storage_size,
        });
        Ok(())
    }

    pub(super) fn asset_info_reply(&self) -> Vec<u8> {
        let available: Vec<BoardAsset> = self
            .assets
            .iter()
            .map(|a| BoardAsset {
                name: a.name.clone(),
                hash: a.hash.clone(),
                size: a.size,
                storage_size: a.storage_size,
            })
            .collect();
        encode_asset_info(&available, &self.required_assets())
    }
}
