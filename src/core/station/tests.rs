use super::*;
use crate::core::operator_code::OperatorCode;
use crate::core::ui::SlotPhase;

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn station(auto_start: bool) -> Station {
    let label = BundleLabel {
        name: "b".into(),
        version: "1".into(),
        lock_hash: String::new(),
        platform: "argon".into(),
    };
    Station::new(
        &["A".into(), "B".into()],
        StationOptions { auto_start },
        Some(label),
    )
}

#[test]
fn seating_a_board_starts_it_when_auto_start_is_on() {
    let mut st = station(true);
    assert_eq!(
        st.handle(Input::Seated(1), s(0)),
        vec![Command::StartJob(1)]
    );
    assert!(st.any_running());
    assert!(matches!(
        st.ui(s(5)).slots[1].phase,
        SlotPhase::Working { elapsed_s: 5, .. }
    ));
}

#[test]
fn start_starts_the_first_seated_slot() {
    let mut st = station(false);
    assert!(st.handle(Input::Seated(0), s(0)).is_empty());
    assert_eq!(st.handle(Input::Start, s(1)), vec![Command::StartJob(0)]);
    assert!(
        st.handle(Input::Start, s(2)).is_empty(),
        "nothing else is seated"
    );
}

#[test]
fn a_verdict_lasts_while_its_board_is_seated_and_names_it() {
    let mut st = station(true);
    st.handle(Input::Seated(0), s(0));
    st.job_done(
        0,
        Verdict::Pass {
            device_id: "e00fce68f372fe94a3fad5fb".into(),
            duration: s(17),
        },
    );
    assert!(matches!(
        &st.ui(s(18)).slots[0].phase,
        SlotPhase::Pass { device_id, .. } if device_id == "e00fce68f372fe94a3fad5fb"
    ));
    // Taken out: the PASS goes with it, so the next board (whose fixture switch may fail to
    // close) is never shown under it.
    st.handle(Input::Removed(0), s(20));
    let ui = st.ui(s(21));
    assert_eq!(ui.slots[0].phase, SlotPhase::Empty);
    assert_eq!(ui.counters.pass, 1);
    assert_eq!(
        st.handle(Input::Seated(0), s(30)),
        vec![Command::StartJob(0)]
    );
}

#[test]
fn a_board_pulled_out_before_its_verdict_leaves_the_slot_empty_and_counts() {
    let mut st = station(true);
    st.handle(Input::Seated(0), s(0));
    st.handle(Input::Removed(0), s(3));
    st.job_done(
        0,
        Verdict::Fail {
            code: "E-UNPLUGGED".into(),
            reason: "board unplugged".into(),
            device_id: None,
        },
    );
    let ui = st.ui(s(4));
    assert_eq!(ui.slots[0].phase, SlotPhase::Empty);
    assert_eq!(ui.counters.fail, 1);
}

#[test]
fn a_failure_is_said_in_plain_words_and_a_test_names_what_it_measured() {
    let mut st = station(true);
    st.handle(Input::Seated(0), s(0));
    st.job_done(
        0,
        Verdict::Fail {
            code: "E-DFU-WRITE".into(),
            reason: "errWRITE system-part".into(),
            device_id: Some("e00fce68f372fe94a3fad5fb".into()),
        },
    );
    let SlotPhase::Fail {
        reason,
        detail,
        device_id,
        ..
    } = st.ui(s(1)).slots[0].phase.clone()
    else {
        panic!("not a FAIL")
    };
    assert_eq!(
        (reason.as_str(), detail.as_str()),
        ("flash write failed", "reseat and retry once")
    );
    assert!(device_id.is_some());
    st.handle(Input::Seated(1), s(2));
    st.job_done(
        1,
        Verdict::Fail {
            code: "E-TEST".into(),
            reason: "vin 10.2V < 11.4".into(),
            device_id: None,
        },
    );
    assert!(matches!(
        &st.ui(s(3)).slots[1].phase,
        SlotPhase::Fail { reason, detail, .. } if reason == "a test failed" && detail == "vin 10.2V < 11.4"
    ));
}

#[test]
fn the_menu_ends_with_close_and_close_closes_it() {
    let mut st = station(true);
    st.handle(Input::Func(ButtonEvent::Long), s(0));
    for t in 1..=6 {
        st.handle(Input::Func(ButtonEvent::Short), s(t));
    }
    let menu = st.ui(s(7)).menu.unwrap();
    assert_eq!((menu.items.len(), menu.selected), (7, 6));
    assert_eq!(menu.items[6], "close");
    assert!(st.handle(Input::Func(ButtonEvent::Long), s(5)).is_empty());
    assert!(st.ui(s(5)).menu.is_none());
}

#[test]
fn func_cycles_screens_and_the_long_press_menu_aborts() {
    let mut st = station(true);
    st.handle(Input::Seated(0), s(0));
    st.handle(Input::Func(ButtonEvent::Short), s(1));
    assert_eq!(st.ui(s(1)).screen, Screen::Counters);
    st.handle(Input::Func(ButtonEvent::Long), s(2));
    assert_eq!(st.ui(s(2)).menu.unwrap().selected, 0);
    assert_eq!(
        st.handle(Input::Func(ButtonEvent::Long), s(3)),
        vec![Command::AbortJob(0)]
    );
    assert!(st.ui(s(3)).menu.is_none());
    st.handle(Input::Func(ButtonEvent::Long), s(4));
    st.handle(Input::Func(ButtonEvent::Short), s(5));
    st.handle(Input::Func(ButtonEvent::Short), s(6));
    assert_eq!(
        st.handle(Input::Func(ButtonEvent::Long), s(7)),
        vec![Command::ExportRecords]
    );
}

#[test]
fn without_a_bundle_nothing_starts_and_the_screen_says_so() {
    let mut st = Station::new(&["A".into()], StationOptions::default(), None);
    assert!(st.handle(Input::Seated(0), s(0)).is_empty());
    assert_eq!(st.ui(s(1)).notice.unwrap().title, "NO BUNDLE");
    assert!(st.ui(s(5)).notice.is_none());
}

#[test]
fn a_question_is_answered_by_holding_func_and_cancelled_by_a_short_press() {
    let mut st = station(true);
    let yes = Command::ConfirmImport {
        archive: "x.tar".into(),
        allow_downgrade: false,
    };
    st.ask("IMPORT?", vec!["b 2".into()], yes.clone());
    assert_eq!(st.ui(s(0)).notice.unwrap().title, "IMPORT?");
    assert_eq!(
        st.handle(Input::Func(ButtonEvent::Long), s(1)),
        vec![yes.clone()]
    );
    assert!(st.ui(s(1)).notice.is_none() && st.ui(s(1)).menu.is_none());
    st.ask("IMPORT?", vec![], yes);
    assert!(st.handle(Input::Func(ButtonEvent::Short), s(2)).is_empty());
    assert!(!st.is_asking());
    assert_eq!(
        st.ui(s(2)).screen,
        Screen::Status,
        "the cancelling press does not also cycle screens"
    );
}

#[test]
fn an_expired_message_does_not_swallow_the_next_press() {
    let mut st = station(true);
    st.notify("IMPORTED", vec![], s(4));
    st.handle(Input::Func(ButtonEvent::Short), s(10));
    assert_eq!(st.ui(s(10)).screen, Screen::Counters);
}

fn pass() -> Verdict {
    Verdict::Pass {
        device_id: "e00fce68f93275e93fc1f8f3".into(),
        duration: s(17),
    }
}

#[test]
fn a_verdict_waits_for_its_record_and_the_slot_says_it_is_saving() {
    let mut st = station(true);
    st.handle(Input::Seated(0), s(0));
    st.job_saving(0, s(17));
    assert!(matches!(
        &st.ui(s(18)).slots[0].phase,
        SlotPhase::Working { stage, .. } if stage == "SAVE"
    ));
    assert_eq!(st.ui(s(18)).counters.pass, 0, "counted once recorded");
    assert!(st.any_running(), "a script does not end mid-save");
    st.job_done(0, pass());
    assert!(matches!(
        st.ui(s(19)).slots[0].phase,
        SlotPhase::Pass { .. }
    ));
    assert_eq!(st.ui(s(19)).counters.pass, 1);
}

#[test]
fn a_board_swapped_while_the_record_is_saved_never_shows_the_last_ones_verdict() {
    let mut st = station(true);
    st.handle(Input::Seated(0), s(0));
    st.job_saving(0, s(17));
    st.handle(Input::Removed(0), s(18));
    assert!(
        st.handle(Input::Seated(0), s(18)).is_empty(),
        "the slot's last unit is not recorded yet"
    );
    st.job_done(0, pass());
    // The PASS belongs to the board taken out; the one seated now waits for START.
    assert_eq!(st.ui(s(19)).slots[0].phase, SlotPhase::Ready);
    assert_eq!(st.ui(s(19)).counters.pass, 1);
    assert_eq!(st.handle(Input::Start, s(20)), vec![Command::StartJob(0)]);
}

#[test]
fn a_held_record_shows_e_records_and_no_slot_starts_until_it_is_written() {
    let mut st = station(true);
    st.handle(Input::Seated(0), s(0));
    st.job_saving(0, s(17));
    st.record_held(0);
    let held = SlotPhase::Fail {
        code: "E-RECORDS".into(),
        reason: "record not saved".into(),
        detail: OperatorCode::Records.action().into(),
        device_id: None,
    };
    assert_eq!(st.ui(s(18)).slots[0].phase, held);
    assert!(!st.any_running());
    assert!(
        st.handle(Input::Seated(1), s(20)).is_empty(),
        "the other slot does not start either"
    );
    assert_eq!(st.ui(s(20)).notice.unwrap().title, "E-RECORDS");
    assert!(st.handle(Input::Start, s(21)).is_empty());
    st.handle(Input::Removed(0), s(22));
    assert_eq!(st.ui(s(22)).slots[0].phase, held, "held until written");

    st.job_done(0, pass());
    assert_eq!(
        st.ui(s(30)).slots[0].phase,
        SlotPhase::Empty,
        "written, and its board was taken out meanwhile: no verdict to show"
    );
    assert_eq!(st.ui(s(30)).counters.pass, 1);
    assert_eq!(
        st.handle(Input::Start, s(31)),
        vec![Command::StartJob(1)],
        "B, seated during the hold, starts"
    );
}

#[test]
fn nothing_starts_while_held_and_start_begins_it_after() {
    let mut st = station(true);
    let why = Notice {
        title: "IMPORTING".into(),
        lines: vec![],
    };
    st.hold_for_swap(Some(why.clone()));
    assert!(st.handle(Input::Seated(0), s(0)).is_empty());
    assert!(st.handle(Input::Start, s(1)).is_empty());
    assert!(!st.any_running());
    assert_eq!(st.ui(s(1)).notice, Some(why));
    st.hold_for_swap(None);
    assert_eq!(st.handle(Input::Start, s(2)), vec![Command::StartJob(0)]);
}
