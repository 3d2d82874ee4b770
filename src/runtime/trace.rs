//! The runtime's side of traceability: a unit's identity checked against the records before
//! anything is written, and a work order's count read from them.

use std::path::PathBuf;
use std::sync::Arc;

use super::Runtime;
use crate::core::flash::IdentityCheck;
use crate::core::operator_code::OperatorCode;
use crate::core::station::SlotStart;
use crate::core::trace::{judge, Refusal};
use crate::records::Records;

/// The check a job runs with the board's device ID, when its serial is known: the records
/// must not pair the serial with another device or the device with another serial, unless
/// a supervisor confirmed this board's rework.
pub(super) fn identity_check(records: PathBuf, start: &SlotStart) -> Option<IdentityCheck> {
    let serial = start.trace.serial.clone()?;
    let rework = start.rework.clone();
    Some(IdentityCheck(Arc::new(move |device_id: &str| {
        if let Some(r) = rework
            .as_ref()
            .filter(|r| r.device_id.eq_ignore_ascii_case(device_id))
        {
            log::warn!(
                "serial {serial} on {device_id}: rework confirmed by {}",
                r.by
            );
            return Ok(());
        }
        let seen = Records::open(&records).and_then(|r| r.seen(&serial, device_id));
        match seen {
            Ok(seen) => judge(&serial, device_id, &seen),
            // Unchecked is not accepted: a serial goes on a board only once the records say
            // it may.
            Err(e) => Err(Refusal {
                code: OperatorCode::Records,
                short: "cannot check serial".into(),
                detail: format!("serial {serial} could not be checked against the records: {e}"),
            }),
        }
    })))
}

impl Runtime {
    /// A work order was scanned: its passed units come from the records (once per scan).
    pub(super) fn load_work_order(&mut self, work_order: &str) {
        let Some((writer, _)) = &self.records else {
            return;
        };
        match Records::open(writer.path()).and_then(|r| r.work_order_passed(work_order)) {
            Ok(passed) => {
                log::info!(
                    "work order {work_order}: {} unit(s) passed so far",
                    passed.len()
                );
                self.station.set_work_order_passed(work_order, passed);
            }
            Err(e) => log::error!("work order {work_order}: {e}; counting from 0"),
        }
    }
}
