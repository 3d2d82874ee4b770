//! The whole station on the virtual clock with a records store that fails on demand: a unit
//! whose record cannot be written holds its slot at E-RECORDS and keeps every slot from
//! starting, and once the store works again the held record is written and its PASS shown.

use std::sync::Arc;
use std::time::Duration;

use crate::core::bundle::Bundle;
use crate::core::module::ModuleFunction;
use crate::core::station::{Station, StationOptions};
use crate::core::ui::{SlotPhase, UiState};
use crate::ports::Clock;
use crate::records::flaky_store::FlakyStore;
use crate::records::{Context, RecordWriter};
use crate::runtime::sim_world::{SimButton, SimSlot, SimWorld};
use crate::runtime::{DebouncedInputs, Driver, Lights, Runtime, Shown};
use crate::sim::scheduler::VirtualScheduler;

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
                2 => self.store.set_failing(false),
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

    fn frame(&mut self, shown: &Shown) {
        self.seen.push((self.now, shown.ui.clone()));
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
    store.set_failing(true);
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
        lights: Lights::new(Duration::ZERO, None),
        edges: Default::default(),
        labels: None,
    };
    let mut shift = Shift {
        world,
        store: store.clone(),
        seen: Vec::new(),
        now: Duration::ZERO,
        step: 0,
    };
    let summary = runtime.run(&mut shift);

    // When the screen first showed slot `slot` in a phase that `is`.
    let first = |slot: usize, is: &dyn Fn(&SlotPhase) -> bool| {
        let seen = shift.seen.iter().find(|(_, ui)| is(&ui.slots[slot].phase));
        seen.map(|(t, _)| *t)
    };
    let held = |p: &SlotPhase| matches!(p, SlotPhase::Fail { code, .. } if code == "E-RECORDS");
    let held_at = first(0, &held).expect("slot A showed E-RECORDS");
    assert!(held_at < s(20), "A finished at about 17.6 s: {held_at:?}");
    let pass_at = first(0, &|p| matches!(p, SlotPhase::Pass { .. }));
    let pass_at = pass_at.expect("A's PASS once its record is written");
    assert!(
        (s(30)..=s(36)).contains(&pass_at),
        "the first PASS on screen comes after the store works again, retried within 5 s: \
         {pass_at:?}"
    );
    let b_started = first(1, &|p| matches!(p, SlotPhase::Working { .. }));
    let b_started = b_started.expect("B starts after the hold");
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
    let rows: Vec<String> = store.rows().into_iter().map(|u| u.slot).collect();
    assert_eq!(rows, vec!["A", "B"]);
}
