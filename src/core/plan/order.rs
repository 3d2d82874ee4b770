//! Dependency order: what a module builds on goes first.

use crate::core::bundle::BundleModule;
use crate::core::module::ModuleFunction;

/// Device OS layers, lowest first: what a module of each function builds on.
pub(super) fn layer(f: ModuleFunction) -> u8 {
    match f {
        ModuleFunction::Bootloader => 0,
        ModuleFunction::RadioStack => 1,
        ModuleFunction::SystemPart | ModuleFunction::Monolithic => 2,
        ModuleFunction::NcpFirmware => 3,
        ModuleFunction::UserPart => 4,
        _ => 5,
    }
}

/// Modules ordered so dependencies come first. Device OS modules depend on each other in
/// cycles (system part ↔ radio stack ↔ bootloader), so when no module is free of unmet
/// dependencies the lowest layer goes next.
pub fn dependency_order(modules: &[BundleModule]) -> Vec<&BundleModule> {
    let mut left: Vec<&BundleModule> = modules.iter().collect();
    left.sort_by_key(|m| (layer(m.module.function()), m.module.index()));
    let mut out: Vec<&BundleModule> = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let waits_on_another = |m: &BundleModule, left: &[&BundleModule]| {
            m.module.prefix.dependencies.iter().any(|d| {
                left.iter().any(|o| {
                    !std::ptr::eq(*o, m)
                        && o.module.function() == d.function
                        && o.module.index() == d.index
                })
            })
        };
        let next = left
            .iter()
            .position(|m| !waits_on_another(m, &left))
            .unwrap_or(0);
        out.push(left.remove(next));
    }
    out
}
