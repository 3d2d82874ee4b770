//! Simulated faults given on the command line or in a script, checked against what they
//! will meet: a test fault must name one of the bundle's tests, and `flashline test` (which
//! does not flash) takes test faults only.

use anyhow::{bail, Result};

use crate::core::bundle::Bundle;
use crate::sim::Fault;

/// The test a peripheral-test fault names, if it is one.
fn test_named(fault: &Fault) -> Option<&str> {
    match fault {
        Fault::Meas(t, _)
        | Fault::NoReply(t)
        | Fault::Err(t)
        | Fault::Garbage(t)
        | Fault::SerialDrop(t) => Some(t),
        _ => None,
    }
}

/// `flashing`: whether the run flashes (then any fault may apply), or only tests.
pub fn check(faults: &[Fault], bundle: &Bundle, flashing: bool) -> Result<()> {
    let names: Vec<&str> = bundle
        .tests
        .iter()
        .flat_map(|t| t.plan.tests.iter().map(|s| s.name.as_str()))
        .collect();
    for f in faults {
        match test_named(f) {
            Some(t) if !names.iter().any(|n| n.eq_ignore_ascii_case(t)) => bail!(
                "sim fault `{f}`: the bundle has no test `{t}` (its tests: {})",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            ),
            None if !flashing => bail!(
                "sim fault `{f}` happens while flashing, and `flashline test` does not flash \
                 (give it to `flashline flash --sim={f}`); test faults: meas:TEST=VALUE, \
                 no-reply:TEST, err:TEST, garbage:TEST, serial-drop:TEST"
            ),
            _ => {}
        }
    }
    Ok(())
}
