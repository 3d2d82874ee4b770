//! The modern example and other Gen3 boards from the command line, as a user runs them:
//! `flash --sim` simulates a board of the bundle's platform, `--sim-board SPEC` a given one,
//! scripts give a slot's boards with `board = "…"`.

#[path = "support/common.rs"]
mod common;
#[path = "support/gen3.rs"]
mod gen3;

use common::{flashline, EXAMPLE};

const EXAMPLE_4_1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bundles/example-argon-4.1");

fn json(args: &[&str]) -> serde_json::Value {
    let out = flashline(args);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_4_1_example_flashes_a_blank_argon_and_one_running_1_5_0() {
    for extra in [vec![], vec!["--sim-preload", EXAMPLE]] {
        let mut args = vec!["flash", "--bundle", EXAMPLE_4_1, "--sim", "--json"];
        args.extend(extra);
        let doc = json(&args);
        assert_eq!(doc["outcome"], "ok", "{doc}");
        let modules = doc["board_modules"].as_array().unwrap();
        let has = |f: &str, i: u64| {
            modules
                .iter()
                .any(|m| m["function"] == f && m["index"] == i)
        };
        assert!(has("user-part", 2), "user-part#2 reported: {modules:?}");
        assert!(
            !has("user-part", 1),
            "the compat slot is empty: {modules:?}"
        );
        assert!(modules.iter().all(|m| m["failed"] == 0), "{modules:?}");
        assert!(
            doc["checked"][0]
                .as_str()
                .is_some_and(|c| c.contains("compat slot (0xd4000")),
            "the verification says it checked the compat slot: {doc}"
        );
    }
}

#[test]
fn a_boron_bundle_flashes_a_boron_and_another_board_is_refused_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("boron");
    gen3::boron_2_2(&dir);
    let dir = dir.to_str().unwrap();
    let doc = json(&["flash", "--bundle", dir, "--sim", "--json"]);
    assert_eq!(doc["outcome"], "ok", "{doc}");
    assert_eq!(
        doc["sim"]["pages_erased"].as_u64().map(|p| p > 0),
        Some(true)
    );
    let doc = json(&["flash", "--bundle", dir, "--sim=wrong-platform", "--json"]);
    assert_eq!(doc["code"], "E-WRONG-PLATFORM", "{doc}");
    assert_eq!(
        doc["error"],
        "board on sim-1 is platform argon, the bundle is for boron: nothing written"
    );
    assert_eq!(doc["sim"]["pages_erased"], 0, "nothing written");
    let doc = json(&[
        "flash",
        "--bundle",
        EXAMPLE,
        "--sim=wrong-platform",
        "--json",
    ]);
    assert_eq!(doc["code"], "E-WRONG-PLATFORM", "{doc}");
    assert!(doc["error"].as_str().unwrap().contains("boron"), "{doc}");
}

#[test]
fn sim_board_gives_the_board_and_a_dry_run_shows_the_plan_with_its_reasons() {
    let out = flashline(&[
        "flash",
        "--bundle",
        EXAMPLE_4_1,
        "--sim",
        "--sim-board",
        "argon@1.5.0",
        "--dry-run",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let first_write = stdout.lines().find(|l| l.contains("write ")).unwrap();
    assert!(first_write.contains("bootloader#0 v1200"), "{stdout}");
    assert!(stdout.contains("skip   radio-stack#0 v202"), "{stdout}");
    // Each write says what the board has instead.
    assert!(
        first_write.ends_with("(board has bootloader#0 v501)"),
        "{first_write}"
    );
    assert!(
        stdout.contains("0x30000, 469386 bytes: plain: the bootloader writes it as it is (board has system-part#1 v1502)"),
        "{stdout}"
    );
    assert!(stdout.contains("(board has no user-part#2)"), "{stdout}");
    let out = flashline(&[
        "flash",
        "--bundle",
        EXAMPLE_4_1,
        "--sim",
        "--sim-board",
        "p2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a simulated platform"), "{stderr}");
}

#[test]
fn a_script_slot_names_its_board_and_the_station_passes_the_4_1_example() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("s.toml");
    std::fs::write(
        &script,
        format!(
            "bundle = \"{EXAMPLE_4_1}\"\n\
             [[slot]]\nname = \"A\"\n\
             [[slot]]\nname = \"B\"\nboard = \"argon@1.5.0\"\n\
             [[event]]\nat_ms = 0\naction = \"seat\"\nslot = \"A\"\n\
             [[event]]\nat_ms = 100\naction = \"seat\"\nslot = \"B\"\n"
        ),
    )
    .unwrap();
    let records = tmp.path().join("r.db");
    let doc = json(&[
        "run",
        "--sim",
        "--script",
        script.to_str().unwrap(),
        "--records",
        records.to_str().unwrap(),
        "--json",
    ]);
    let units = doc["units"].as_array().unwrap();
    assert_eq!(units.len(), 2, "{doc}");
    for u in units {
        assert_eq!(u["outcome"], "pass", "{u}");
        assert!(u["board_modules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "user-part#2 v6"));
    }
}

/// `corrupt` flips a bit in code the board checks, whatever the bundle writes first: on the
/// 4.1 example the first DFU write past 0x30000 is the compat slot's erased page, where a
/// flipped bit harms nothing and the unit passed.
#[test]
fn a_flipped_bit_fails_the_4_1_example_too() {
    let doc = json(&["flash", "--bundle", EXAMPLE_4_1, "--sim=corrupt", "--json"]);
    assert_eq!(doc["code"], "E-VERIFY", "{doc}");
    // Said once: the full message only repeated the short reason behind a prefix.
    let out = flashline(&["flash", "--bundle", EXAMPLE_4_1, "--sim=corrupt"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.matches("its system firmware does not start").count(),
        1,
        "{stdout}"
    );
}

const MODERN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/particle-modern"
);

/// A bundle directory of `modules` and `assets` (paths; each copied under its file name),
/// platform argon, not locked.
fn argon_bundle(modules: &[String], assets: &[String]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let names = |paths: &[String]| -> Vec<String> {
        paths
            .iter()
            .map(|p| {
                let name = std::path::Path::new(p).file_name().unwrap();
                std::fs::copy(p, tmp.path().join(name)).unwrap();
                format!("{:?}", name.to_str().unwrap())
            })
            .collect()
    };
    let (modules, assets) = (names(modules), names(assets));
    std::fs::write(
        tmp.path().join("bundle.toml"),
        format!(
            "name = \"b\"\nversion = \"1.0.0\"\nplatform = \"argon\"\nmodules = [{}]\n\
             assets = [{}]\n",
            modules.join(", "),
            assets.join(", ")
        ),
    )
    .unwrap();
    tmp
}

fn lock_refused(dir: &std::path::Path) -> String {
    let out = flashline(&["bundle", "lock", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!dir.join("bundle.lock").exists());
    stderr
}

/// Assets with a Device OS that cannot store and list them make a bundle no board can take:
/// lock says so, instead of every flash ending in E-BOARD-TOO-OLD.
#[test]
fn lock_refuses_assets_on_a_device_os_before_5_6() {
    let modules: Vec<String> = [
        "argon-bootloader@4.1.0.bin",
        "argon-softdevice@4.1.0.bin",
        "argon-system-part1@4.1.0.bin",
        "argon-app-with-assets.bin",
    ]
    .map(|f| format!("{MODERN}/{f}"))
    .into();
    let assets: Vec<String> = ["cat.txt", "house.txt", "water.txt"]
        .map(|f| format!("{MODERN}/app-with-assets-bundle/assets/{f}"))
        .into();
    let dir = argon_bundle(&modules, &assets);
    let stderr = lock_refused(dir.path());
    assert!(
        stderr.contains("cat.txt: the bundle's Device OS 4.1.0 receives it and cannot take assets"),
        "{stderr}"
    );
}

/// A compressed application after a 1.5.0 system part: the bundle's own Device OS receives it
/// and cannot install it, on any board.
#[test]
fn lock_refuses_a_compressed_module_its_own_device_os_cannot_install() {
    let app = "tinker-0.8.0-rc.27-argon.compressed.bin";
    let mut modules: Vec<String> = [
        "argon-bootloader@1.5.0.bin",
        "argon-softdevice@1.5.0.bin",
        "argon-system-part1@1.5.0.bin",
    ]
    .map(|f| format!("{EXAMPLE}/{f}"))
    .into();
    modules.push(format!("{MODERN}/{app}"));
    let dir = argon_bundle(&modules, &[]);
    let stderr = lock_refused(dir.path());
    assert!(
        stderr.contains(&format!(
            "{app}: the bundle's Device OS 1.5.0 receives it and cannot take compressed"
        )),
        "{stderr}"
    );
}

/// A dry run ends as the run would: refused (exit 1) when the plan refuses a module, and its
/// count names writes and skips only (not the plan's notes).
#[test]
fn a_dry_run_fails_where_the_run_would_and_counts_only_writes_and_skips() {
    let modules = [
        format!("{EXAMPLE_4_1}/argon-bootloader@4.1.0.bin"),
        format!("{EXAMPLE_4_1}/argon-softdevice@4.1.0.bin"),
        format!("{MODERN}/argon-system-part1@4.1.0.compressed.bin"),
        format!("{EXAMPLE_4_1}/app-dos4006-argon-userpart2.bin"),
    ];
    let tmp = argon_bundle(&modules, &[]);
    let bundle = tmp.path().to_str().unwrap();
    assert!(flashline(&["bundle", "lock", bundle]).status.success());
    let on = |board: &str| {
        flashline(&[
            "flash",
            "--bundle",
            bundle,
            "--sim",
            "--sim-board",
            board,
            "--dry-run",
        ])
    };
    let refused = on("argon@1.5.0");
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL E-BOARD-TOO-OLD"), "{stdout}");
    let planned = on("argon");
    let stdout = String::from_utf8_lossy(&planned.stdout);
    assert!(stdout.contains("\n  note "), "{stdout}");
    assert!(
        stdout.contains("would write 5 module(s), skip 0  (dry run"),
        "{stdout}"
    );
}

/// A module the plan wrote down as a write but the board turned out to have is named, with why
/// it was not written; two options that each say the board's platform are refused.
#[test]
fn a_module_skipped_after_the_plan_is_named_and_conflicting_board_options_are_refused() {
    let out = flashline(&["flash", "--bundle", EXAMPLE, "--sim"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("skipped 1"), "{stdout}");
    assert!(
        stdout.contains("  skipped bootloader#0 v501       the board reported it"),
        "{stdout}"
    );
    let out = flashline(&[
        "flash",
        "--bundle",
        EXAMPLE,
        "--sim=wrong-platform",
        "--sim-board",
        "boron",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("both say what the board is"), "{stderr}");
}
