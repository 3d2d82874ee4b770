//! The whole station on the virtual clock with a records store that fails on demand: a unit
//! whose record cannot be written holds its slot at E-RECORDS and keeps every slot from
//! starting, and once the store works again the held record is written and its PASS shown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::core::bundle::Bundle;
use crate::core::module::ModuleFunction;
use crate::core::station::{Station, StationOptions};
use crate::core::ui::{Frame, SlotPhase, UiState};
use crate::core::unit::UnitRecord;
use crate::ports::Clock;
use crate::records::{Context, RecordWriter, RecordsError, Store};
use crate::runtime::sim_world::{SimButton, SimSlot, SimWorld};
use crate::runtime::{DebouncedInputs, Driver, Runtime};
use crate::sim::scheduler::VirtualScheduler;

#[derive(Clone, Default)]
struct FlakyStore {
    failing: Arc<AtomicBool>,
    rows: Arc<Mutex<Vec<String>>>,
}

impl Store for FlakyStore {
    fn insert(&mut self, _: &Context, _: &str, unit: &UnitRecord) -> Result<i64, RecordsError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(RecordsError {
                path: "flaky.db".into(),
                cause: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                    Some("database or disk is full".into()),
                ),
            });
        }
        let mut rows = self.rows.lock().unwrap();
        rows.push(unit.slot.clone());
        Ok(rows.len() as i64)
    }
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// Seats A at once and B at 20 s, makes the store work again at 30 s, takes A's board out at
/// 38 s and presses START at 40 s (B was seated while starting was refused), and watches the
/// screen.
struct Shift {
    world: SimWorld,
    store: FlakyStore,
    seen: Vec<(Duration, UiState)>,
    now: Duration,
    /// The next of the steps above.
    step: usize,
}

impl Driver for Shift {
    fn tick(&mut self, now: Duration, station: &mut Station) -> bool {
        self.now = now;
        const AT: [u64; 5] = [0, 20, 30, 38, 40];
        while AT.get(self.step).is_some_and(|at| s(*at) <= now) {
            match self.step {
                0 => self.world.seat(0),
                1 => self.world.seat(1),
                2 => self.store.failing.store(false, Ordering::SeqCst),
                3 => self.world.unseat(0),
                _ => self
                    .world
                    .press(SimButton::Start, now, Duration::from_millis(150)),
            }
            self.step += 1;
        }
        self.world.tick(now);
        now < s(45) || station.any_running()
    }

    fn frame(&mut self, ui: &UiState, _: &Frame) {
        self.seen.push((self.now, ui.clone()));
    }
}

#[test]
fn a_held_record_stops_new_units_until_it_is_written_then_its_pass_shows() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bundle = Bundle::load(&root.join("bundles/example-argon")).unwrap();
    let firmware = bundle
        .module(ModuleFunction::UserPart, 1)
        .map(|m| m.module.clone());
    let scheduler = VirtualScheduler::new();
    let clock: Arc<dyn Clock> = Arc::new(scheduler.clone());
    let slots = vec![
        SimSlot::new("A", vec![], vec![]),
        SimSlot::new("B", vec![], vec![]),
    ];
    let world = SimWorld::new(clock.clone(), slots).with_test_firmware(firmware);
    let store = FlakyStore::default();
    store.failing.store(true, Ordering::SeqCst);
    let writer = RecordWriter::with_store("flaky.db".into(), Box::new(store.clone()));
    let label = crate::core::ui::BundleLabel {
        name: bundle.name.clone(),
        version: bundle.version.clone(),
        lock_hash: bundle.lock_hash.clone(),
        platform: bundle.platform.name.into(),
    };
    let station = Station::new(
        &["A".into(), "B".into()],
        StationOptions::default(),
        Some(label),
    );
    let runtime = Runtime {
        clock: clock.clone(),
        spawner: Box::new(scheduler),
        inputs: DebouncedInputs::new(world.inputs(), Duration::from_millis(30)),
        display: None,
        boards: Box::new(world.board_access()),
        bundle: Some(Arc::new(bundle)),
        station,
        tick: Duration::from_millis(10),
        records: Some((writer, Context::default())),
        stick: None,
    };
    let mut shift = Shift {
        world,
        store: store.clone(),
        seen: Vec::new(),
        now: Duration::ZERO,
        step: 0,
    };
    let summary = runtime.run(&mut shift);

    let phase = |ui: &UiState, slot: usize| ui.slots[slot].phase.clone();
    let held_at = shift
        .seen
        .iter()
        .find(|(_, ui)| matches!(phase(ui, 0), SlotPhase::Fail { code, .. } if code == "E-RECORDS"))
        .map(|(t, _)| *t)
        .expect("slot A showed E-RECORDS");
    assert!(held_at < s(20), "A finished at about 17.6 s: {held_at:?}");
    let pass_at = shift
        .seen
        .iter()
        .find(|(_, ui)| matches!(phase(ui, 0), SlotPhase::Pass { .. }))
        .map(|(t, _)| *t)
        .expect("A's PASS once its record is written");
    // The first PASS on screen came after the store worked again, and A's record is first.
    assert!(
        (s(30)..=s(36)).contains(&pass_at),
        "retried within 5 s: {pass_at:?}"
    );
    let b_started = shift
        .seen
        .iter()
        .find(|(_, ui)| matches!(phase(ui, 1), SlotPhase::Working { .. }))
        .map(|(t, _)| *t)
        .expect("B starts after the hold");
    assert!(
        b_started >= s(40),
        "B seated at 20 s waited for START: {b_started:?}"
    );
    assert!(
        shift.seen.iter().any(|(t, ui)| *t >= s(20)
            && *t < s(30)
            && ui.notice.as_ref().is_some_and(|n| n.title == "E-RECORDS")),
        "seating B during the hold says why nothing starts"
    );
    let slots: Vec<&str> = summary.units.iter().map(|u| u.slot.as_str()).collect();
    assert_eq!(slots, vec!["A", "B"]);
    assert!(summary.unrecorded.is_empty());
    assert_eq!(*store.rows.lock().unwrap(), vec!["A", "B"]);
}
