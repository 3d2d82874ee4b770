//! Every reason a bundle is refused; `bundle lock` and `bundle verify` list them all at once.

use std::fmt;

use crate::core::module::{Dependency, ModuleFunction, Platform};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleProblem {
    UnknownPlatform(String),
    /// flashline has no flash map for the platform's family.
    NoFlashMap {
        platform: String,
        family: &'static str,
    },
    /// A file that cannot be read, or is not an intact module.
    Unloadable {
        file: String,
        reason: String,
    },
    WrongPlatform {
        file: String,
        module: String,
        bundle: String,
    },
    Duplicate {
        function: ModuleFunction,
        index: u8,
        first: String,
        second: String,
    },
    UnmetDependency {
        file: String,
        needs: Dependency,
        found: Option<u16>,
    },
    Placement {
        file: String,
        reason: String,
    },
    /// Two modules touch one 4 KiB page: erasing it for one destroys the other.
    SharedPage {
        first: String,
        second: String,
        page: u64,
        overlap: bool,
    },
    /// No route can write it to a board: the reason says what to use instead.
    NoRoute {
        file: String,
        reason: String,
    },
    /// An asset module listed under `modules`.
    AssetInModules(String),
    MissingAsset {
        file: String,
        name: String,
        hash: String,
    },
    AssetMismatch {
        file: String,
        name: String,
        needs: String,
        asset_file: String,
        has: String,
    },
    UnusedAsset(String),
    /// A form (assets, compressed or combined modules) the bundle's own Device OS receives
    /// and cannot install.
    NeedsNewerDeviceOs {
        file: String,
        what: &'static str,
        device_os: crate::core::target::DeviceOs,
        needs: crate::core::target::DeviceOs,
    },
    /// Both user-part slots: the compat one wins when valid, the other never runs.
    CompatWins {
        compat: String,
        app: String,
    },
    ProtectedNeedsNewerDeviceOs {
        file: String,
        device_os: String,
    },
    FinalNotUserPart {
        file: String,
        function: ModuleFunction,
    },
    ManifestChanged,
    Changed(String),
    Missing(String),
    NotInLock(String),
    Unreadable(String, String),
}

impl fmt::Display for BundleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use BundleProblem::*;
        match self {
            UnknownPlatform(p) => write!(
                f,
                "platform `{p}` is unknown (known: {})",
                Platform::names().join(", ")
            ),
            NoFlashMap { platform, family } => write!(
                f,
                "platform `{platform}` is an {family} board; flashline flashes nRF52840 (Gen3) boards: \
                 argon, boron, bsom, b5som, tracker, esomx …"
            ),
            Unloadable { file, reason } => write!(f, "{file}: {reason}"),
            WrongPlatform {
                file,
                module,
                bundle,
            } => write!(f, "{file}: module is for {module}, the bundle is for {bundle}"),
            Duplicate {
                function,
                index,
                first,
                second,
            } if first == second => write!(f, "{first} is listed twice ({function}#{index})"),
            Duplicate {
                function,
                index,
                first,
                second,
            } => write!(f, "{first} and {second} are both {function}#{index}"),
            UnmetDependency {
                file,
                needs,
                found: None,
            } => write!(f, "{file} needs {needs}, which the bundle does not contain"),
            UnmetDependency {
                file,
                needs,
                found: Some(v),
            } => write!(f, "{file} needs {needs}, the bundle has version {v}"),
            Placement { file, reason } => write!(f, "{file}: {reason}"),
            SharedPage {
                first,
                second,
                page,
                overlap,
            } => write!(
                f,
                "{first} and {second} {} flash page 0x{page:05x}: erasing it for one destroys the other",
                if *overlap { "overlap, from" } else { "share" }
            ),
            NoRoute { file, reason } => write!(f, "{file}: {reason}"),
            AssetInModules(file) => write!(
                f,
                "{file} is an asset (module function 9): list it in `assets = [...]`, not `modules`"
            ),
            MissingAsset { file, name, hash } => write!(
                f,
                "{file} needs asset `{name}` (SHA-256 {hash}): add the file to `assets = [...]`"
            ),
            AssetMismatch {
                file,
                name,
                needs,
                asset_file,
                has,
            } => write!(
                f,
                "{file} needs asset `{name}` with SHA-256 {needs}; {asset_file} has {has}"
            ),
            UnusedAsset(file) => write!(f, "{file}: no module of the bundle needs this asset"),
            NeedsNewerDeviceOs {
                file,
                what,
                device_os,
                needs,
            } => write!(
                f,
                "{file}: the bundle's Device OS {device_os} receives it and cannot take {what}: \
                 use a Device OS of {needs} or later"
            ),
            CompatWins { compat, app } => write!(
                f,
                "{compat} (user-part#1, the compat slot at 0xd4000) and {app} (user-part#2): Device OS \
                 runs the compat application whenever it is valid (ota_flash_hal.cpp:187-197), so {app} \
                 would never run: keep one"
            ),
            ProtectedNeedsNewerDeviceOs { file, device_os } => write!(
                f,
                "{file} is a protected bootloader (security mode extension), which needs Device OS 6.1.1 \
                 or later (particle-cli PROTECTED_MINIMUM_VERSION); the bundle's Device OS is {device_os}"
            ),
            FinalNotUserPart { file, function } => {
                write!(f, "final_firmware {file} is a {function}, not a user-part")
            }
            ManifestChanged => write!(f, "bundle.toml changed since it was locked"),
            Changed(file) => write!(f, "{file}: changed since it was locked (SHA-256 differs)"),
            Missing(file) => write!(f, "{file}: missing"),
            NotInLock(file) => write!(f, "{file}: not in the lock"),
            Unreadable(file, why) => write!(f, "{file}: {why}"),
        }
    }
}
