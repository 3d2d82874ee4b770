//! The bundle a command works with when it is given one (or the example), loaded with the
//! operator code its failure means.

use anyhow::{Context, Result};
use std::path::Path;

use crate::core::bundle::Bundle;

pub const EXAMPLE_BUNDLE: &str = "bundles/example-argon";

pub fn load_bundle(dir: &Path) -> Result<Bundle> {
    // The bundle's error names the directory already.
    Bundle::load(dir).context("E-BUNDLE")
}
