//! The verdict path: a finished unit's record is committed first, and only then is its verdict
//! shown (OLED, terminal, `--json`). While the writer works the slot says it is saving; a record
//! that cannot be written holds its slot at `E-RECORDS`, the unit is kept and retried, and no
//! slot starts a new unit until it is written. The main loop never waits for the disk longer
//! than its own tick.

use std::collections::BTreeSet;

use super::{Driver, Runtime};
use crate::core::unit::UnitRecord;
use crate::records::{log_unwritten, RETRY_EVERY};

/// What the main loop knows of its units' verdicts.
#[derive(Default)]
pub(super) struct Verdicts {
    /// Units whose verdicts were shown, in that order: each has its record, when records are
    /// kept.
    pub units: Vec<UnitRecord>,
    /// Slots at `E-RECORDS`.
    held: BTreeSet<usize>,
}

impl Runtime {
    /// A job's unit is done: its record goes to the writer, and the slot says it is saving.
    pub(super) fn finished(
        &mut self,
        slot: usize,
        unit: UnitRecord,
        verdicts: &mut Verdicts,
        driver: &mut dyn Driver,
    ) {
        match &mut self.records {
            Some((writer, ctx)) => {
                log::debug!("slot {}: saving its record", unit.slot);
                self.station.job_saving(slot, self.clock.now());
                writer.submit(slot, ctx.clone(), unit);
            }
            None => self.show_verdict(slot, unit, None, verdicts, driver),
        }
    }

    /// The writer's answers: verdicts of committed units shown, slots of unwritten ones held.
    pub(super) fn collect_records(&mut self, verdicts: &mut Verdicts, driver: &mut dyn Driver) {
        let now = self.clock.now();
        let Some((writer, _)) = &mut self.records else {
            return;
        };
        for report in writer.poll(now) {
            for c in report.committed {
                self.show_verdict(c.pending.tag, c.pending.unit, Some(c.id), verdicts, driver);
            }
            if let Some(cause) = report.cause {
                self.hold(&report.held, &cause, verdicts, driver);
            }
        }
    }

    /// Instead of a tick's sleep while a verdict waits for its record: waits for the writer's
    /// answer, up to a tick of real time. A virtual clock stands still meanwhile, so a
    /// scripted run is the same however fast the disk is.
    pub(super) fn wait_tick(&mut self) {
        match &mut self.records {
            Some((writer, _)) if writer.saving() => writer.wait(self.tick),
            _ => self.clock.sleep(self.tick),
        }
    }

    /// At the end: the writer's last attempt; returns the units it could not write (each is
    /// logged whole, the last place it can go).
    pub(super) fn close_records(
        &mut self,
        verdicts: &mut Verdicts,
        driver: &mut dyn Driver,
    ) -> Vec<UnitRecord> {
        let Some((writer, _)) = self.records.take() else {
            return Vec::new();
        };
        let closed = writer.close();
        for c in closed.committed {
            self.show_verdict(c.pending.tag, c.pending.unit, Some(c.id), verdicts, driver);
        }
        for p in &closed.unwritten {
            log_unwritten(p);
        }
        closed.unwritten.into_iter().map(|p| p.unit).collect()
    }

    fn show_verdict(
        &mut self,
        slot: usize,
        unit: UnitRecord,
        record: Option<i64>,
        verdicts: &mut Verdicts,
        driver: &mut dyn Driver,
    ) {
        let verdict = unit.verdict();
        let code = unit.code.map(|c| format!(" {c}")).unwrap_or_default();
        let record = record
            .map(|id| format!(" (record {id})"))
            .unwrap_or_default();
        log::info!(
            "slot {}: {}{code} in {} ms{record}",
            unit.slot,
            unit.outcome.as_str().to_uppercase(),
            unit.duration_ms
        );
        if verdicts.held.remove(&slot) && verdicts.held.is_empty() {
            log::info!("records can be written again; the held units are recorded");
        }
        self.station.trace_recorded(slot, &unit);
        self.station.job_done(slot, verdict);
        driver.unit(&unit);
        verdicts.units.push(unit);
    }

    /// Holds the slots whose units could not be written; says the cause once per episode.
    fn hold(
        &mut self,
        slots: &[usize],
        cause: &str,
        verdicts: &mut Verdicts,
        driver: &mut dyn Driver,
    ) {
        let names = self.station.slot_names();
        for &slot in slots {
            let first = verdicts.held.is_empty();
            if !verdicts.held.insert(slot) {
                continue;
            }
            let name = names.get(slot).map_or("?", String::as_str);
            if first {
                log::error!(
                    "slot {name}: E-RECORDS: {cause}. The unit is kept and retried every {} s; \
                     no slot starts a new unit until it is written",
                    RETRY_EVERY.as_secs()
                );
            } else {
                log::error!("slot {name}: E-RECORDS: held as well");
            }
            self.station.record_held(slot);
            driver.record_held(name, cause);
        }
    }
}

#[cfg(test)]
mod tests;
