use super::*;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn work() -> UnitWork {
    let m = |label: &str, bytes, route| ModuleWork {
        label: label.into(),
        bytes,
        route,
    };
    UnitWork {
        modules: vec![
            m("radio-stack#0 v202", 153_024, Route::Dfu),
            m("system-part#1 v1502", 634_692, Route::Dfu),
            m("user-part#1 v5", 11_972, Route::Dfu),
            m("bootloader#0 v501", 41_948, Route::Control),
        ],
        tests: 5,
        ready_line: true,
        final_module: Some(m("user-part#1 v6", 11_972, Route::Dfu)),
    }
}

fn stage(stage: Stage, detail: &str) -> Event {
    Event::Stage {
        stage,
        detail: detail.into(),
    }
}

fn progress(module: &str, phase: Phase, done: u64, total: u64) -> Event {
    Event::Progress {
        module: module.into(),
        phase,
        done,
        total,
    }
}

#[test]
fn a_wait_moves_the_bar_and_says_what_it_waits_for() {
    let mut p = UnitProgress::new(work(), ARGON, ms(0));
    p.on_event(&stage(Stage::Dfu, "user-part#1 v5"), ms(0));
    p.on_event(&stage(Stage::Leave, "reset into firmware"), ms(200));
    let a = p.view(ms(300));
    let b = p.view(ms(1200));
    assert_eq!(a.doing, "restarting board");
    assert!(b.percent > a.percent, "{a:?} {b:?}");
    assert!(b.remaining_s < a.remaining_s || b.percent > a.percent);
    assert_eq!((a.waiting_s, b.waiting_s), (Some(0), Some(1)));
}

#[test]
fn the_bar_never_goes_back_across_modules_stages_and_a_smaller_plan() {
    let mut p = UnitProgress::new(work(), ARGON, ms(0));
    let mut shown = Vec::new();
    let mut t = 0;
    let mut at = |p: &mut UnitProgress, e: Event, step: u64| {
        t += step;
        p.on_event(&e, ms(t));
        shown.push(p.view(ms(t)).percent);
    };
    at(&mut p, stage(Stage::ReadBoard, "module info"), 5);
    // The board has everything but the user part: the plan shrinks, the bar jumps ahead.
    at(
        &mut p,
        stage(
            Stage::Plan,
            "skip   radio-stack#0 v202       board has it\nskip   system-part#1 v1502      \
             board has it\nwrite  user-part#1 v5           DFU alt 0\nskip   bootloader#0 v501",
        ),
        1,
    );
    at(&mut p, stage(Stage::EnterDfu, "control request"), 1);
    at(&mut p, stage(Stage::Dfu, "user-part#1 v5"), 800);
    for done in [1u64, 2, 3] {
        at(
            &mut p,
            progress("user-part#1 v5", Phase::Erase, done, 3),
            20,
        );
    }
    for done in [4096u64, 8192, 11_972] {
        at(
            &mut p,
            progress("user-part#1 v5", Phase::Write, done, 11_972),
            45,
        );
    }
    at(&mut p, stage(Stage::Leave, "reset into firmware"), 1);
    at(&mut p, stage(Stage::Verify, "module info"), 1500);
    p.begin(UnitStage::Test, ms(t));
    shown.push(p.view(ms(t)).percent);
    assert!(shown.windows(2).all(|w| w[0] <= w[1]), "{shown:?}");
    assert!(*shown.last().unwrap() > 40, "{shown:?}");
}

#[test]
fn a_slow_board_gets_a_longer_estimate_as_it_goes() {
    let run = |slowdown: u64| {
        let mut p = UnitProgress::new(work(), ARGON, ms(0));
        p.on_event(&stage(Stage::Dfu, "system-part#1 v1502"), ms(0));
        // Half the module written, in `slowdown` times the time it should take.
        let half = (ARGON.dfu_module_ms(634_692) / 2.0) as u64 * slowdown;
        p.on_event(
            &progress("system-part#1 v1502", Phase::Write, 400_000, 634_692),
            ms(half),
        );
        p.view(ms(half)).remaining_s
    };
    let (normal, slow) = (run(1), run(2));
    assert!(slow > normal * 3 / 2, "{normal} s, slow {slow} s");
}

#[test]
fn the_estimate_of_a_blank_board_is_the_sum_of_its_stages() {
    let p = UnitProgress::new(work(), ARGON, ms(0));
    let v = p.view(ms(0));
    assert_eq!((v.stage, v.percent), (UnitStage::Flash, 0));
    // Radio stack, Device OS, application, bootloader, tests, final: about 20 s on an Argon.
    assert!((15..=25).contains(&v.remaining_s), "{v:?}");
}
