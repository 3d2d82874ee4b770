//! The simulated station: boards that appear in fixtures when seated, fixture switches and
//! buttons as simulated pins, driven by a script or the keyboard.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::sync::mpsc::Sender;

use super::script::ScriptWorld;
use super::Boards;
use crate::core::module::Module;
use crate::core::scan::{keys_for, LineJoiner};
use crate::core::station::Input;
use crate::ports::{
    Clock, DigitalInput, GpioError, PortPath, SerialPorts, StationInputs, SwdProbe, UsbBus,
};
use crate::sim::serial::SimSerialPorts;
use crate::sim::swd::SimProbe;
use crate::sim::{Fault, SimArgon, SimBoardSpec, SimBus};

#[derive(Clone, Default)]
pub struct SimPin(Arc<AtomicBool>);

impl SimPin {
    pub fn set(&self, active: bool) {
        self.0.store(active, Ordering::SeqCst)
    }
}

impl DigitalInput for SimPin {
    fn is_active(&mut self) -> Result<bool, GpioError> {
        Ok(self.0.load(Ordering::SeqCst))
    }
}

/// The least time a simulated finger is off a button between two presses (well over the
/// debounce time).
const PRESS_GAP: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimButton {
    Start,
    Func,
}

pub struct SimSlot {
    pub name: String,
    pub faults: Vec<Fault>,
    pub preload: Vec<Module>,
    /// What each board seated here is (before the preload).
    pub board: SimBoardSpec,
    /// A simulated debug probe on the fixture's SWD pins (the slot flashes over SWD).
    pub probe: Option<String>,
    seats: u64,
    fixture: SimPin,
}

impl SimSlot {
    pub fn new(name: &str, faults: Vec<Fault>, preload: Vec<Module>) -> Self {
        SimSlot {
            name: name.into(),
            faults,
            preload,
            board: SimBoardSpec::argon(),
            probe: None,
            seats: 0,
            fixture: SimPin::default(),
        }
    }

    pub fn with_probe(mut self, serial: Option<String>) -> Self {
        self.probe = serial;
        self
    }

    pub fn with_board(mut self, board: SimBoardSpec) -> Self {
        self.board = board;
        self
    }
}

/// START and FUNC as pins a script or the keyboard presses and releases.
#[derive(Default)]
pub struct SimButtons {
    start: SimPin,
    func: SimPin,
    /// Button levels to set at a time: (when, button, pressed).
    presses: Vec<(Duration, SimButton, bool)>,
    /// When each button's last press ends (START, FUNC).
    released: [Duration; 2],
}

impl SimButtons {
    /// A press of `hold`. A press while the button is still held, or just after, waits for
    /// the finger to lift: a real one does, and a gap within the debounce time would merge
    /// the two presses into one (a press right after a long press was lost that way).
    pub fn press(&mut self, button: SimButton, now: Duration, hold: Duration) {
        let last = &mut self.released[button as usize];
        let at = match last.is_zero() {
            true => now,
            false => now.max(*last + PRESS_GAP),
        };
        *last = at + hold;
        self.presses.push((at, button, true));
        self.presses.push((at + hold, button, false));
        self.tick(now);
    }

    fn pin(&self, button: SimButton) -> &SimPin {
        match button {
            SimButton::Start => &self.start,
            SimButton::Func => &self.func,
        }
    }

    /// Presses and releases buttons whose time has come.
    pub fn tick(&mut self, now: Duration) {
        let (mut due, later): (Vec<_>, Vec<_>) =
            self.presses.drain(..).partition(|(at, _, _)| *at <= now);
        self.presses = later;
        due.sort_by_key(|(at, _, _)| *at);
        for (_, b, pressed) in due {
            self.pin(b).set(pressed);
        }
    }

    /// The station's inputs: these buttons and the given fixture switches.
    pub fn inputs(&self, fixtures: &[SimPin]) -> StationInputs {
        StationInputs {
            start: Box::new(self.start.clone()),
            func: Box::new(self.func.clone()),
            fixtures: fixtures
                .iter()
                .map(|f| Some(Box::new(f.clone()) as Box<dyn DigitalInput>))
                .collect(),
        }
    }
}

pub struct SimWorld {
    clock: Arc<dyn Clock>,
    slots: Vec<SimSlot>,
    boards: Arc<Mutex<Vec<Option<SimArgon>>>>,
    buttons: SimButtons,
    test_firmware: Option<Module>,
    /// The board each slot had last, for `reseat`.
    removed: Vec<Option<SimArgon>>,
    /// Added to every board's seed, so two simulated stations seat different boards.
    seed_base: u64,
    /// A simulated barcode scanner: codes typed as key events, joined as the real one's are.
    scanner: Option<(Sender<Input>, LineJoiner)>,
}

impl SimWorld {
    pub fn new(clock: Arc<dyn Clock>, slots: Vec<SimSlot>) -> Self {
        let boards = Arc::new(Mutex::new(vec![None; slots.len()]));
        SimWorld {
            clock,
            slots,
            boards,
            buttons: SimButtons::default(),
            test_firmware: None,
            removed: Vec::new(),
            seed_base: 0,
            scanner: None,
        }
    }

    /// Scans go to the station's edge channel.
    pub fn with_scanner(mut self, to: Sender<Input>) -> Self {
        self.scanner = Some((to, LineJoiner::default()));
        self
    }

    /// The operator scans a label: its keys, then Enter, as the scanner types them.
    pub fn scan(&mut self, code: &str, now: Duration) {
        let Some((to, joiner)) = self.scanner.as_mut() else {
            log::warn!("sim: no scanner to scan `{code}` with");
            return;
        };
        for key in keys_for(code) {
            if let Some(line) = joiner.key(key, now) {
                let _ = to.send(Input::Scanned(line));
            }
        }
    }

    /// Boards seated from now on are seeded from `base` as well (their device IDs differ from
    /// another station's).
    pub fn with_seed_base(mut self, base: u64) -> Self {
        self.seed_base = base;
        self
    }

    /// Boards seated from now on run this user part as test firmware once it is flashed.
    pub fn with_test_firmware(mut self, module: Option<Module>) -> Self {
        self.test_firmware = module;
        self
    }

    pub fn slot_names(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.name.clone()).collect()
    }

    pub fn slot_index(&self, name: &str) -> Option<usize> {
        self.slots.iter().position(|s| s.name == name)
    }

    fn boards(&self) -> std::sync::MutexGuard<'_, Vec<Option<SimArgon>>> {
        self.boards.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new unit goes into the fixture: a fresh board (the slot's faults on its first one).
    pub fn seat(&mut self, i: usize) {
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        let faults = if slot.seats == 0 {
            slot.faults.clone()
        } else {
            Vec::new()
        };
        let seed = self
            .seed_base
            .wrapping_add((i as u64 + 1) * 1000 + slot.seats);
        slot.seats += 1;
        let (spec, faults) = slot.board.clone().with_words(faults);
        let board = spec.build(
            self.clock.clone(),
            &format!("sim-{}", slot.name),
            seed,
            faults,
        );
        if let Some(m) = &self.test_firmware {
            board.set_test_firmware(m);
        }
        if !slot.preload.is_empty() {
            board.preload(&slot.preload);
        }
        slot.fixture.set(true);
        let mut boards = self.boards();
        if let Some(old) = boards[i].replace(board) {
            old.unplug();
        }
        log::debug!("sim: board seated in slot {}", self.slots[i].name);
    }

    pub fn unseat(&mut self, i: usize) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        slot.fixture.set(false);
        let name = slot.name.clone();
        let taken = self.boards()[i].take();
        if let Some(board) = taken {
            board.unplug();
            self.removed.resize(self.slots.len(), None);
            self.removed[i] = Some(board);
        }
        log::debug!("sim: board removed from slot {name}");
    }

    /// The same unit goes back in: it powers up with whatever its flash holds.
    pub fn reseat(&mut self, i: usize) {
        let Some(board) = self.removed.get_mut(i).and_then(Option::take) else {
            return self.seat(i);
        };
        board.replug();
        self.slots[i].fixture.set(true);
        self.boards()[i] = Some(board);
    }

    pub fn toggle_seat(&mut self, i: usize) {
        if i < self.slots.len() {
            if self.boards()[i].is_some() {
                self.unseat(i)
            } else {
                self.seat(i)
            }
        }
    }

    /// A press of `hold` (see `SimButtons::press`).
    pub fn press(&mut self, button: SimButton, now: Duration, hold: Duration) {
        self.buttons.press(button, now, hold);
    }

    /// Presses and releases buttons whose time has come.
    pub fn tick(&mut self, now: Duration) {
        self.buttons.tick(now);
    }

    pub fn inputs(&self) -> StationInputs {
        let fixtures: Vec<SimPin> = self.slots.iter().map(|s| s.fixture.clone()).collect();
        self.buttons.inputs(&fixtures)
    }

    pub fn board_access(&self) -> SimBoards {
        SimBoards {
            boards: self.boards.clone(),
            probes: self.slots.iter().map(|s| s.probe.clone()).collect(),
        }
    }
}

impl ScriptWorld for SimWorld {
    fn slot_index(&self, name: &str) -> Option<usize> {
        SimWorld::slot_index(self, name)
    }
    fn scan(&mut self, code: &str, now: Duration) {
        SimWorld::scan(self, code, now)
    }
    fn seat(&mut self, slot: usize) {
        SimWorld::seat(self, slot)
    }
    fn unseat(&mut self, slot: usize) {
        SimWorld::unseat(self, slot)
    }
    fn reseat(&mut self, slot: usize) {
        SimWorld::reseat(self, slot)
    }
    fn press(&mut self, button: SimButton, now: Duration, hold: Duration) {
        self.buttons.press(button, now, hold)
    }
    fn tick(&mut self, now: Duration) {
        self.buttons.tick(now)
    }
}

/// What a job on a simulated slot talks to: the board seated there when it started, and
/// the slot's simulated debug probe if it has one.
pub struct SimBoards {
    boards: Arc<Mutex<Vec<Option<SimArgon>>>>,
    probes: Vec<Option<String>>,
}

impl SimBoards {
    fn board(&self, slot: usize) -> Option<SimArgon> {
        self.boards
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(slot)?
            .clone()
    }

    fn probe_serial(&self, slot: usize) -> Option<String> {
        self.probes.get(slot)?.clone()
    }
}

impl Boards for SimBoards {
    fn bus_for(&mut self, slot: usize) -> Option<(Box<dyn UsbBus>, Option<PortPath>)> {
        let board = self.board(slot)?;
        // A probe slot has no port configured: it finds its board by the ID the probe reads.
        let port = self.probe_serial(slot).is_none().then(|| board.port());
        Some((Box::new(SimBus::new(vec![board])), port))
    }

    fn probe_for(&mut self, slot: usize) -> Option<Box<dyn SwdProbe>> {
        let serial = self.probe_serial(slot)?;
        Some(Box::new(SimProbe::new(&serial, self.board(slot), false)))
    }

    fn ports(&mut self) -> Vec<crate::core::ui::PortView> {
        use crate::sim::argon::Presence;
        // From each board's presence, not by listing a bus: a listing charges the board's
        // time, which only a job's thread may spend on the virtual clock.
        let boards = self.boards.lock().unwrap_or_else(|p| p.into_inner());
        boards
            .iter()
            .flatten()
            .filter_map(|b| {
                let board = match b.presence() {
                    Presence::Dfu => "argon DFU",
                    Presence::Firmware { .. } => "argon",
                    Presence::Unplugged | Presence::Rebooting { .. } => return None,
                };
                let port = b.port().0;
                Some(crate::core::ui::PortView {
                    // A simulated board's port is named after its slot (`sim-A`).
                    slot: Some(port.trim_start_matches("sim-").to_string()),
                    port,
                    board: board.into(),
                })
            })
            .collect()
    }

    fn serial_for(&mut self, slot: usize) -> Box<dyn SerialPorts> {
        Box::new(SimSerialPorts::new(self.board(slot).into_iter().collect()))
    }
}
