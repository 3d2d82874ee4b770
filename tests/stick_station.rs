//! The USB stick at the station, as the operator sees it on the OLED: what it says about an
//! archive before and after its files are checked.

#[path = "support/common.rs"]
mod common;
use common::EXAMPLE;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use flashline::core::bundle::Bundle;
use flashline::core::station::{Station, StationOptions};
use flashline::ports::Clock;
use flashline::runtime::sim_world::{SimButton, SimSlot, SimWorld};
use flashline::runtime::{DebouncedInputs, Driver, Lights, Runtime, Shown, Spawner, StickSetup};
use flashline::sim::scheduler::VirtualScheduler;

/// Presses FUNC on a timetable and keeps every notice the OLED showed, in order.
struct Operator {
    world: SimWorld,
    presses: Vec<(u64, Duration)>,
    seen: Vec<String>,
}

impl Driver for Operator {
    fn tick(&mut self, now: Duration, station: &mut Station) -> bool {
        while let Some((at, hold)) = self.presses.first().copied() {
            if Duration::from_millis(at) > now {
                break;
            }
            self.world.press(SimButton::Func, now, hold);
            self.presses.remove(0);
        }
        self.world.tick(now);
        !self.presses.is_empty() || now < Duration::from_secs(20) || station.any_running()
    }

    fn frame(&mut self, shown: &Shown) {
        if let Some(n) = &shown.ui.notice {
            let text = format!("{}: {}", n.title, n.lines.join(" / "));
            if self.seen.last() != Some(&text) {
                self.seen.push(text);
            }
        }
    }
}

/// A one-slot station on virtual time, the example bundle active, `stick` its USB stick.
fn station(
    spawner: Box<dyn Spawner>,
    scheduler: VirtualScheduler,
    stick: &Path,
    keys: &Path,
    work: &Path,
) -> (Runtime, SimWorld) {
    let clock: Arc<dyn Clock> = Arc::new(scheduler);
    let world = SimWorld::new(clock.clone(), vec![SimSlot::new("A", vec![], vec![])]);
    let runtime = Runtime {
        clock,
        spawner,
        inputs: DebouncedInputs::new(world.inputs(), Duration::from_millis(30)),
        display: None,
        boards: Box::new(world.board_access()),
        station: Station::new(&["A".into()], StationOptions::default(), None),
        bundle: Some(Arc::new(Bundle::load(Path::new(EXAMPLE)).unwrap())),
        tick: Duration::from_millis(10),
        records: None,
        stick: Some(StickSetup {
            mount: stick.to_path_buf(),
            pubkey: keys.join("bundle.pub"),
            bundles: work.join("bundles"),
            records: work.join("records.db"),
            station: "test".into(),
        }),
        lights: Lights::new(Duration::ZERO, None),
        edges: Default::default(),
        labels: None,
    };
    (runtime, world)
}

/// Opens the menu, chooses "import bundle", then confirms: the notices the operator saw.
fn offer_and_confirm(stick: &Path, keys: &Path, work: &Path) -> Vec<String> {
    let scheduler = VirtualScheduler::new();
    let (runtime, world) = station(Box::new(scheduler.clone()), scheduler, stick, keys, work);
    let long = Duration::from_millis(1500);
    let short = Duration::from_millis(150);
    let mut operator = Operator {
        world,
        // Menu, → "import bundle", choose it (the offer), yes (the import).
        presses: vec![(0, long), (2000, short), (3000, long), (8000, long)],
        seen: Vec::new(),
    };
    runtime.run(&mut operator);
    operator.seen
}

type Work = Box<dyn FnOnce() + Send>;

/// Starts work on the virtual scheduler (so the offer is as deterministic as the rest of the
/// station), or keeps it back while closed: an import that takes as long as the test likes.
/// Plain threads would race the virtual clock: under load the offer arrived after the
/// scripted confirmation and the import never started.
#[derive(Clone)]
struct Gate {
    scheduler: VirtualScheduler,
    closed: Arc<std::sync::atomic::AtomicBool>,
    held: Arc<std::sync::Mutex<Vec<Work>>>,
}

impl Gate {
    fn new(scheduler: VirtualScheduler) -> Self {
        Gate {
            scheduler,
            closed: Default::default(),
            held: Default::default(),
        }
    }

    fn close(&self, closed: bool) {
        self.closed
            .store(closed, std::sync::atomic::Ordering::SeqCst);
        if !closed {
            for job in self.held.lock().unwrap().drain(..) {
                drop(self.scheduler.spawn(job));
            }
        }
    }
}

impl Spawner for Gate {
    fn spawn(&self, job: Work) {
        match self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            true => self.held.lock().unwrap().push(job),
            false => drop(self.scheduler.spawn(job)),
        }
    }
}

/// Offers and confirms the import with the stick's reads kept back from 5 s to 20 s (virtual),
/// a board seated at 9 s; counts the loop's ticks while the import is outstanding.
struct Patient {
    world: SimWorld,
    gate: Gate,
    presses: Vec<(u64, Duration)>,
    ticks_while_importing: u32,
    started_while_importing: bool,
    imported_at: Option<Duration>,
}

impl Driver for Patient {
    fn tick(&mut self, now: Duration, station: &mut Station) -> bool {
        let ms = now.as_millis() as u64;
        while let Some((at, hold)) = self.presses.first().copied() {
            if at > ms {
                break;
            }
            self.world.press(SimButton::Func, now, hold);
            self.presses.remove(0);
        }
        if (5000..20_000).contains(&ms) {
            self.gate.close(true);
        } else if ms >= 20_000 {
            self.gate.close(false);
        }
        if ms == 9000 {
            self.world.seat(0);
        }
        self.world.tick(now);
        match station.ui(now).notice.map(|n| n.title) {
            Some(t) if t == "IMPORTING" => {
                self.ticks_while_importing += 1;
                self.started_while_importing |= station.any_running();
            }
            Some(t) if t == "IMPORTED" => {
                self.imported_at.get_or_insert(now);
            }
            _ => {}
        }
        let done = self
            .imported_at
            .is_some_and(|at| now > at + Duration::from_secs(1));
        !done && now < Duration::from_secs(600)
    }
}

#[test]
fn the_loop_keeps_ticking_and_holds_starts_while_an_import_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (stick, keys) = stick_with(dir.path(), false);
    let scheduler = VirtualScheduler::new();
    let gate = Gate::new(scheduler.clone());
    let (runtime, world) = station(Box::new(gate.clone()), scheduler, &stick, &keys, dir.path());
    let long = Duration::from_millis(1500);
    let mut patient = Patient {
        world,
        gate,
        presses: vec![
            (0, long),
            (2000, Duration::from_millis(150)),
            (3000, long),
            (6000, long),
        ],
        ticks_while_importing: 0,
        started_while_importing: false,
        imported_at: None,
    };
    runtime.run(&mut patient);
    // From the confirmation (7.5 s) to the gate opening (20 s): over a thousand 10 ms ticks.
    assert!(
        patient.ticks_while_importing > 1000,
        "the loop ticked {} times while importing",
        patient.ticks_while_importing
    );
    assert!(!patient.started_while_importing, "a unit started mid-swap");
    assert!(patient.imported_at.is_some(), "the import never finished");
}

fn stick_with(dir: &Path, tamper: bool) -> (PathBuf, PathBuf) {
    let keys = dir.join("keys");
    flashline::stick::keys::generate(&keys).unwrap();
    let stick = dir.join("stick");
    std::fs::create_dir_all(&stick).unwrap();
    let archive = stick.join("b.tar");
    flashline::stick::pack(Path::new(EXAMPLE), &keys.join("bundle.key"), &archive).unwrap();
    if tamper {
        // One byte of the system part: the signature (over bundle.lock) still checks out.
        let mut bytes = std::fs::read(&archive).unwrap();
        let at = bytes.windows(8).position(|w| w == b"argon-sy").unwrap() + 512 + 100_000;
        bytes[at] ^= 1;
        std::fs::write(&archive, bytes).unwrap();
    }
    (stick, keys)
}

#[test]
fn the_offer_does_not_say_verified_before_the_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (stick, keys) = stick_with(dir.path(), true);
    let seen = offer_and_confirm(&stick, &keys, dir.path());
    let offer = seen
        .iter()
        .find(|n| n.starts_with("IMPORT?"))
        .expect("an offer");
    assert!(!offer.contains("verified"), "{seen:?}");
    assert!(
        seen.iter().any(|n| n.starts_with("IMPORT FAILED")),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|n| n.contains("verified")), "{seen:?}");
}

#[test]
fn a_good_import_says_verified_once_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (stick, keys) = stick_with(dir.path(), false);
    let seen = offer_and_confirm(&stick, &keys, dir.path());
    let done = seen
        .iter()
        .find(|n| n.starts_with("IMPORTED"))
        .expect("imported");
    assert!(done.contains("verified"), "{seen:?}");
    assert!(Bundle::load(&dir.path().join("bundles/active")).is_ok());
}
