//! Who and what each unit is: the scans judged (serial, work order, operator, supervisor
//! badge), the serial each slot has, `require_serial`, the refused slots waiting for a
//! supervisor, and the work order's count. Part of the pure station; the records are asked
//! by the runtime (`Command::LoadWorkOrder`, the job's identity check).

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Command, Phase, Station};
use crate::core::operator_code::OperatorCode;
use crate::core::trace::{Patterns, Scan, TraceConfig, REFUSALS};
use crate::core::ui::{MenuView, TraceView};
use crate::core::unit::{Outcome, UnitRecord, UnitTrace};

/// How long a scan's confirmation stays on screen.
const SHOWN: Duration = Duration::from_secs(3);

/// The trace settings the station works with.
#[derive(Debug, Clone)]
pub struct TraceOptions {
    pub require_serial: bool,
    pub patterns: Patterns,
    pub work_orders: Vec<String>,
    pub operators: Vec<String>,
}

impl TraceOptions {
    pub fn from_config(config: &TraceConfig) -> Result<TraceOptions, String> {
        Ok(TraceOptions {
            require_serial: config.require_serial,
            patterns: Patterns::compile(config).map_err(|e| e.to_string())?,
            work_orders: config.work_orders.clone(),
            operators: config.operators.clone(),
        })
    }
}

impl Default for TraceOptions {
    fn default() -> Self {
        // The default patterns compile (a test checks it).
        TraceOptions::from_config(&TraceConfig::default()).unwrap_or_else(|e| panic!("{e}"))
    }
}

#[derive(Debug, Clone)]
pub(super) struct WorkOrder {
    id: String,
    planned: Option<u32>,
    /// Serials (or device IDs) that passed in this work order: each unit counts once.
    passed: BTreeSet<String>,
}

/// A supervisor confirmed that this slot's refused board may run with its serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rework {
    pub by: String,
    pub device_id: String,
}

/// What a slot's unit starts with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotStart {
    pub trace: UnitTrace,
    /// With `rework_by` in `trace`: the one device the confirmation is for.
    pub rework: Option<Rework>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct SlotTrace {
    serial: Option<String>,
    start: Option<SlotStart>,
    rework: Option<Rework>,
    /// The board was refused (E-SERIAL-DUP, E-DEVICE-DUP): its device ID, until a supervisor
    /// confirms or the board leaves.
    refused: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PickerKind {
    WorkOrder,
    Operator,
}

#[derive(Debug, Clone)]
pub(super) struct Picker {
    kind: PickerKind,
    items: Vec<String>,
    selected: usize,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Trace {
    options: TraceOptions,
    work_order: Option<WorkOrder>,
    operator: Option<String>,
    /// Scanned before any slot asked: goes to the next board seated.
    next_serial: Option<String>,
    /// The slot the next serial goes to (FUNC cycles it when several wait).
    chosen: Option<usize>,
    slots: Vec<SlotTrace>,
    picker: Option<Picker>,
}

impl Trace {
    pub(super) fn new(slots: usize) -> Trace {
        Trace {
            slots: vec![SlotTrace::default(); slots],
            ..Trace::default()
        }
    }
}

impl Station {
    pub fn set_trace(&mut self, options: TraceOptions) {
        self.trace.options = options;
    }

    /// The work order's passed units from the records (after `Command::LoadWorkOrder`).
    pub fn set_work_order_passed(&mut self, work_order: &str, passed: Vec<String>) {
        if let Some(wo) = self
            .trace
            .work_order
            .as_mut()
            .filter(|w| w.id == work_order)
        {
            wo.passed.extend(passed);
        }
    }

    /// What the unit starting on `slot` is: its serial, the work order and operator now.
    pub fn slot_start(&self, slot: usize) -> SlotStart {
        self.trace
            .slots
            .get(slot)
            .and_then(|s| s.start.clone())
            .unwrap_or_default()
    }

    /// A script's `scan` with `slot`, or FUNC: the next serial goes to this slot.
    pub fn choose_scan_slot(&mut self, slot: usize) {
        if slot < self.slots.len() {
            self.trace.chosen = Some(slot);
        }
    }

    /// A unit's record is committed: count it for its work order, and remember a refusal
    /// so a supervisor badge can confirm it.
    pub fn trace_recorded(&mut self, slot: usize, unit: &UnitRecord) {
        let Some(t) = self.trace.slots.get_mut(slot) else {
            return;
        };
        t.rework = None;
        let refused = unit
            .code
            .is_some_and(|c| REFUSALS.contains(&c.code) && !c.final_stage);
        t.refused = refused.then(|| unit.device_id.clone()).flatten();
        if let (Outcome::Pass, Some(wo)) = (unit.outcome, self.trace.work_order.as_mut()) {
            if unit.trace.work_order.as_deref() == Some(wo.id.as_str()) {
                let key = unit.trace.serial.clone().or(unit.device_id.clone());
                wo.passed.extend(key);
            }
        }
    }

    /// A new board in `slot`: it takes a serial scanned before it came.
    pub(super) fn trace_seated(&mut self, slot: usize) {
        if let Some(t) = self.trace.slots.get_mut(slot) {
            *t = SlotTrace {
                serial: self.trace.next_serial.take(),
                ..SlotTrace::default()
            };
        }
    }

    /// Whether `slot` may start, saying why not on screen; snapshots the trace it starts
    /// with.
    pub(super) fn trace_may_start(&mut self, slot: usize, now: Duration) -> bool {
        let Some(t) = self.trace.slots.get(slot) else {
            return false;
        };
        if t.refused.is_some() && t.rework.is_none() {
            self.notify(
                OperatorCode::SerialDup.as_str(),
                vec!["a supervisor badge".into(), "confirms a rework".into()],
                now + SHOWN,
            );
            return false;
        }
        if self.trace.options.require_serial && t.serial.is_none() {
            return false;
        }
        let start = SlotStart {
            trace: UnitTrace {
                serial: t.serial.clone(),
                work_order: self.trace.work_order.as_ref().map(|w| w.id.clone()),
                operator: self.trace.operator.clone(),
                rework_by: t.rework.as_ref().map(|r| r.by.clone()),
            },
            rework: t.rework.clone(),
        };
        self.trace.slots[slot].start = Some(start);
        if self.trace.chosen == Some(slot) {
            self.trace.chosen = None;
        }
        true
    }

    /// Slots with a board that waits for its serial, in slot order.
    fn waiting_for_serial(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&i| self.is_waiting_for_serial(i))
            .collect()
    }

    pub(super) fn is_waiting_for_serial(&self, slot: usize) -> bool {
        let (Some(s), Some(t)) = (self.slots.get(slot), self.trace.slots.get(slot)) else {
            return false;
        };
        self.trace.options.require_serial
            && s.present
            && s.phase == Phase::Ready
            && t.serial.is_none()
    }

    pub(super) fn is_chosen(&self, slot: usize) -> bool {
        self.trace.chosen == Some(slot) && self.waiting_for_serial().len() > 1
    }

    /// FUNC short while several slots wait for a serial: the next one gets the next scan.
    pub(super) fn cycle_chosen(&mut self) -> bool {
        let waiting = self.waiting_for_serial();
        if waiting.len() < 2 {
            return false;
        }
        let current = self.trace.chosen.unwrap_or(waiting[0]);
        let next = waiting
            .iter()
            .copied()
            .find(|&i| i > current)
            .unwrap_or(waiting[0]);
        self.trace.chosen = Some(next);
        true
    }

    pub(super) fn scanned(&mut self, code: &str, now: Duration) -> Vec<Command> {
        match self.trace.options.patterns.classify(code) {
            Scan::Unknown(code) => {
                log::warn!("scan `{code}` matches no pattern in [trace] patterns");
                self.notify(
                    "UNKNOWN SCAN",
                    vec![code, "matches no pattern".into()],
                    now + SHOWN,
                );
                vec![]
            }
            Scan::Operator(op) => {
                log::info!("operator {op}");
                self.notify("OPERATOR", vec![op.clone()], now + SHOWN);
                self.trace.operator = Some(op);
                vec![]
            }
            Scan::WorkOrder { id, planned } => self.work_order(id, planned, now),
            Scan::Supervisor(badge) => self.supervisor(badge, now),
            Scan::Serial(serial) => self.serial(serial, now),
        }
    }

    fn work_order(&mut self, id: String, planned: Option<u32>, now: Duration) -> Vec<Command> {
        log::info!("work order {id}");
        let lines = vec![
            id.clone(),
            planned.map_or(String::new(), |p| format!("planned {p}")),
        ];
        self.notify("WORK ORDER", lines, now + SHOWN);
        self.trace.work_order = Some(WorkOrder {
            id: id.clone(),
            planned,
            passed: BTreeSet::new(),
        });
        vec![Command::LoadWorkOrder(id)]
    }

    fn supervisor(&mut self, badge: String, now: Duration) -> Vec<Command> {
        let refused = (0..self.slots.len()).find(|&i| {
            self.slots[i].present
                && self.trace.slots[i].refused.is_some()
                && !self.slots[i].is_running()
        });
        let Some(slot) = refused else {
            self.notify(
                "SUPERVISOR",
                vec![badge, "nothing to confirm".into()],
                now + SHOWN,
            );
            return vec![];
        };
        let t = &mut self.trace.slots[slot];
        let device_id = t.refused.take().unwrap_or_default();
        log::warn!(
            "slot {}: rework of {} (serial {}) confirmed by {badge}",
            self.slots[slot].name,
            device_id,
            t.serial.as_deref().unwrap_or("-")
        );
        t.rework = Some(Rework {
            by: badge.clone(),
            device_id,
        });
        self.notify(
            "REWORK",
            vec![
                format!("slot {}", self.slots[slot].name),
                format!("by {badge}"),
            ],
            now + SHOWN,
        );
        self.start(slot, now)
    }

    fn serial(&mut self, serial: String, now: Duration) -> Vec<Command> {
        let on = (0..self.slots.len()).find(|&i| {
            self.slots[i].present && self.trace.slots[i].serial.as_deref() == Some(&serial)
        });
        if let Some(i) = on {
            self.notify(
                "SERIAL IN USE",
                vec![serial, format!("is on slot {}", self.slots[i].name)],
                now + SHOWN,
            );
            return vec![];
        }
        let waiting = self.waiting_for_serial();
        let target = self
            .trace
            .chosen
            .filter(|c| waiting.contains(c))
            .or(waiting.first().copied());
        let Some(slot) = target else {
            log::info!("serial {serial}: for the next board seated");
            self.notify(
                "SERIAL",
                vec![serial.clone(), "seat the board".into()],
                now + SHOWN,
            );
            self.trace.next_serial = Some(serial);
            return vec![];
        };
        log::info!("slot {}: serial {serial}", self.slots[slot].name);
        self.trace.slots[slot].serial = Some(serial);
        match self.options.auto_start {
            true => self.start(slot, now),
            false => vec![],
        }
    }

    /// The line under the idle screen: work order, its count, operator.
    pub(super) fn trace_view(&self) -> Option<TraceView> {
        let t = &self.trace;
        if t.work_order.is_none() && t.operator.is_none() && t.next_serial.is_none() {
            return None;
        }
        Some(TraceView {
            work_order: t.work_order.as_ref().map(|w| w.id.clone()),
            done: t.work_order.as_ref().map_or(0, |w| w.passed.len() as u32),
            planned: t.work_order.as_ref().and_then(|w| w.planned),
            operator: t.operator.clone(),
            next_serial: t.next_serial.clone(),
        })
    }

    /// The menu's "work order" and "operator": pick from station.toml's lists.
    pub(super) fn open_picker(&mut self, work_order: bool, now: Duration) {
        let (kind, list, title) = match work_order {
            true => (
                PickerKind::WorkOrder,
                &self.trace.options.work_orders,
                "WORK ORDER",
            ),
            false => (
                PickerKind::Operator,
                &self.trace.options.operators,
                "OPERATOR",
            ),
        };
        if list.is_empty() {
            let key = if work_order {
                "work_orders"
            } else {
                "operators"
            };
            self.notify(
                title,
                vec!["scan it, or list it".into(), format!("in [trace] {key}")],
                now + SHOWN,
            );
            return;
        }
        let mut items = list.clone();
        items.push("(none)".into());
        self.trace.picker = Some(Picker {
            kind,
            items,
            selected: 0,
        });
    }

    pub(super) fn picker_view(&self) -> Option<MenuView> {
        self.trace.picker.as_ref().map(|p| MenuView {
            items: p.items.clone(),
            selected: p.selected,
        })
    }

    /// FUNC while a picker is open: short moves, long takes the choice. `None`: no picker.
    pub(super) fn picker_input(&mut self, long: bool, now: Duration) -> Option<Vec<Command>> {
        let picker = self.trace.picker.as_mut()?;
        if !long {
            picker.selected = (picker.selected + 1) % picker.items.len();
            return Some(vec![]);
        }
        let picker = self.trace.picker.take()?;
        let choice = Some(picker.items[picker.selected].clone())
            .filter(|_| picker.selected + 1 < picker.items.len());
        Some(match (picker.kind, choice) {
            (PickerKind::Operator, choice) => {
                log::info!("operator {} (menu)", choice.as_deref().unwrap_or("(none)"));
                self.trace.operator = choice;
                vec![]
            }
            (PickerKind::WorkOrder, None) => {
                self.trace.work_order = None;
                vec![]
            }
            (PickerKind::WorkOrder, Some(id)) => {
                let planned = match self.trace.options.patterns.classify(&id) {
                    Scan::WorkOrder { planned, .. } => planned,
                    _ => None,
                };
                self.work_order(id, planned, now)
            }
        })
    }
}
