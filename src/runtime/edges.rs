//! What the main loop shares with the station's edges, through three narrow interfaces: the
//! supervised threads (`Tasks`), the line's status for the counters screen, and the latest
//! picture in a shared cell for the dashboard's `/state` and `/screen.png`. The loop calls
//! each once a tick; an edge that is not there costs nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::tasks::Tasks;
use crate::core::station::Station;
use crate::core::ui::{Frame, LineView, UiState};

/// How long a dead edge's notice stays over the station's screen.
const NOTICE_FOR: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct Edges {
    pub tasks: Tasks,
    /// The line's replication as the counters screen shows it.
    pub line: Option<Box<dyn Fn() -> LineView + Send>>,
    /// Where the latest picture goes.
    pub state: Option<StateCell>,
}

impl Edges {
    /// An edge that stopped is logged and shown; nothing else changes.
    pub(super) fn supervise(&mut self, now: Duration, station: &mut Station) {
        let ended = self.tasks.ended();
        if ended.is_empty() {
            return;
        }
        let mut lines = Vec::new();
        for e in &ended {
            let how = if e.panicked { "failed" } else { "stopped" };
            log::error!(
                "{}: the {} edge {how}; flashing and recording go on without it",
                e.name,
                e.name
            );
            lines.push(format!("{} {how}", e.name));
        }
        lines.truncate(2);
        lines.push("flashing goes on".into());
        lines.push("see the log".into());
        station.notify("NOTICE", lines, now + NOTICE_FOR);
    }

    pub(super) fn decorate(&self, ui: &mut UiState) {
        ui.line = self.line.as_ref().map(|view| view());
    }

    pub(super) fn publish(&self, ui: &UiState, frame: &Frame) {
        if let Some(cell) = &self.state {
            cell.set(ui.clone(), frame.clone());
        }
    }
}

/// The latest picture the station drew: what its OLED shows now.
#[derive(Clone, Default)]
pub struct StateCell(Arc<Mutex<Option<(UiState, Frame)>>>);

impl StateCell {
    pub fn set(&self, ui: UiState, frame: Frame) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((ui, frame));
    }

    pub fn get(&self) -> Option<(UiState, Frame)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::station::StationOptions;

    #[test]
    fn an_edge_that_dies_is_a_notice_and_the_station_goes_on() {
        let mut station = Station::new(&["A".into()], StationOptions::default(), None);
        let mut edges = Edges::default();
        let now = Duration::from_secs(100);
        edges.tasks.failed_to_start("dashboard");
        edges.supervise(now, &mut station);
        let notice = station.ui(now).notice.unwrap();
        assert_eq!(notice.lines[..2], ["dashboard stopped", "flashing goes on"]);
        assert!(
            station.ui(now + NOTICE_FOR).notice.is_none(),
            "the notice passes"
        );
        edges
            .tasks
            .spawn("replica", || panic!("the server sent garbage"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let later = now + NOTICE_FOR;
        while station.ui(later).notice.is_none() && std::time::Instant::now() < deadline {
            edges.supervise(later, &mut station);
            std::thread::yield_now();
        }
        assert_eq!(station.ui(later).notice.unwrap().lines[0], "replica failed");
        let mut ui = station.ui(later);
        edges.decorate(&mut ui);
        assert_eq!(ui.line, None, "no line database, no line on the screen");
    }
}
