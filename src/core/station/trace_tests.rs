//! Scans as the station judges them: require_serial, which slot a serial goes to, mix-ups
//! refused until a supervisor badge, the work order's count.

use super::*;
use crate::core::trace::TraceConfig;
use crate::core::ui::SlotPhase;
use crate::core::unit::{Outcome, UnitRecord};

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn station(slots: &[&str], require_serial: bool) -> Station {
    let label = BundleLabel {
        name: "b".into(),
        version: "1".into(),
        lock_hash: String::new(),
        platform: "argon".into(),
    };
    let names: Vec<String> = slots.iter().map(|s| s.to_string()).collect();
    let mut st = Station::new(&names, StationOptions::default(), Some(label));
    let config: TraceConfig = toml::from_str(&format!(
        r#"
        require_serial = {require_serial}
        patterns = {{ serial = "^WC-\\d{{4}}$", work_order = "^WO-\\d+$", operator = "^OP-\\d+$" }}
        supervisors = ["OP-900"]
        work_orders = ["WO-5", "WO-6"]
        "#
    ))
    .unwrap();
    st.set_trace(TraceOptions::from_config(&config).unwrap());
    st
}

fn scan(st: &mut Station, code: &str, at: u64) -> Vec<Command> {
    st.handle(Input::Scanned(code.into()), s(at))
}

fn recorded(st: &mut Station, slot: usize, serial: &str, device: &str, code: Option<OperatorCode>) {
    let mut unit = UnitRecord::new("A");
    unit.device_id = Some(device.into());
    unit.trace = st.slot_start(slot).trace;
    unit.trace.serial = Some(serial.into());
    match code {
        Some(c) => unit.fail(c, "x".into()),
        None => unit.outcome = Outcome::Pass,
    }
    st.trace_recorded(slot, &unit);
    st.job_done(slot, unit.verdict());
}

#[test]
fn require_serial_holds_a_seated_board_until_its_serial_is_scanned() {
    let mut st = station(&["A"], true);
    assert!(st.handle(Input::Seated(0), s(0)).is_empty());
    assert_eq!(
        st.ui(s(1)).slots[0].phase,
        SlotPhase::Waiting {
            what: "serial".into(),
            chosen: false
        }
    );
    assert!(
        st.handle(Input::Start, s(2)).is_empty(),
        "START does not skip it"
    );
    assert_eq!(scan(&mut st, "WC-0001", 3), vec![Command::StartJob(0)]);
    assert_eq!(st.slot_start(0).trace.serial.as_deref(), Some("WC-0001"));
}

#[test]
fn a_serial_scanned_first_goes_to_the_next_board_seated() {
    let mut st = station(&["A", "B"], true);
    assert!(scan(&mut st, "WC-0001", 0).is_empty());
    assert_eq!(st.ui(s(0)).notice.unwrap().title, "SERIAL");
    assert_eq!(
        st.handle(Input::Seated(1), s(1)),
        vec![Command::StartJob(1)]
    );
    assert_eq!(st.slot_start(1).trace.serial.as_deref(), Some("WC-0001"));
}

#[test]
fn with_several_boards_waiting_func_chooses_which_gets_the_next_serial() {
    let mut st = station(&["A", "B"], true);
    st.handle(Input::Seated(0), s(0));
    st.handle(Input::Seated(1), s(0));
    st.handle(Input::Func(ButtonEvent::Short), s(1));
    assert_eq!(st.ui(s(1)).screen, Screen::Status, "FUNC chose, not cycled");
    assert!(matches!(
        st.ui(s(1)).slots[1].phase,
        SlotPhase::Waiting { chosen: true, .. }
    ));
    assert_eq!(scan(&mut st, "WC-0002", 2), vec![Command::StartJob(1)]);
    assert_eq!(scan(&mut st, "WC-0002", 3), vec![], "one serial, one board");
    assert_eq!(st.ui(s(3)).notice.unwrap().title, "SERIAL IN USE");
    assert_eq!(scan(&mut st, "WC-0001", 4), vec![Command::StartJob(0)]);
}

#[test]
fn work_order_and_operator_are_carried_and_counted_once_per_unit() {
    let mut st = station(&["A"], false);
    assert_eq!(
        scan(&mut st, "WO-12", 0),
        vec![Command::LoadWorkOrder("WO-12".into())]
    );
    st.set_work_order_passed("WO-12", vec!["WC-0007".into()]);
    scan(&mut st, "OP-3", 1);
    scan(&mut st, "WC-0001", 2);
    assert_eq!(
        st.handle(Input::Seated(0), s(3)),
        vec![Command::StartJob(0)]
    );
    let start = st.slot_start(0).trace;
    assert_eq!(
        (start.work_order.as_deref(), start.operator.as_deref()),
        (Some("WO-12"), Some("OP-3"))
    );
    recorded(&mut st, 0, "WC-0001", "d1", None);
    recorded(&mut st, 0, "WC-0001", "d1", None);
    let trace = st.ui(s(4)).trace.unwrap();
    assert_eq!((trace.done, trace.line()), (2, "WO-12 2 OP-3".to_string()));
    assert_eq!(scan(&mut st, "XX", 5), vec![]);
    assert_eq!(st.ui(s(5)).notice.unwrap().title, "UNKNOWN SCAN");
}

#[test]
fn a_refused_board_waits_for_a_supervisor_badge_and_then_runs_again() {
    let mut st = station(&["A"], true);
    st.handle(Input::Seated(0), s(0));
    scan(&mut st, "WC-0001", 1);
    recorded(&mut st, 0, "WC-0001", "dev2", Some(OperatorCode::SerialDup));
    assert!(st.handle(Input::Start, s(2)).is_empty());
    assert_eq!(st.ui(s(2)).notice.unwrap().title, "E-SERIAL-DUP");
    assert!(
        scan(&mut st, "OP-7", 3).is_empty(),
        "an operator cannot confirm"
    );
    assert_eq!(scan(&mut st, "OP-900", 4), vec![Command::StartJob(0)]);
    let start = st.slot_start(0);
    assert_eq!(start.trace.rework_by.as_deref(), Some("OP-900"));
    assert_eq!(
        start.rework,
        Some(Rework {
            by: "OP-900".into(),
            device_id: "dev2".into()
        })
    );
}

#[test]
fn the_menu_picks_a_work_order_from_station_toml() {
    let mut st = station(&["A"], false);
    st.handle(Input::Func(ButtonEvent::Long), s(0));
    for _ in 0..4 {
        st.handle(Input::Func(ButtonEvent::Short), s(1));
    }
    assert_eq!(st.ui(s(1)).menu.unwrap().selected, 4, "work order");
    assert!(st.handle(Input::Func(ButtonEvent::Long), s(2)).is_empty());
    let menu = st.ui(s(2)).menu.unwrap();
    assert_eq!(menu.items, ["WO-5", "WO-6", "(none)"]);
    st.handle(Input::Func(ButtonEvent::Short), s(3));
    assert_eq!(
        st.handle(Input::Func(ButtonEvent::Long), s(4)),
        vec![Command::LoadWorkOrder("WO-6".into())]
    );
    assert!(st.ui(s(4)).menu.is_none());
}
