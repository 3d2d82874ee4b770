use super::*;
use crate::core::module::Module;
use std::path::Path;

fn example() -> Bundle {
    Bundle::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bundles/example-argon"
    )))
    .unwrap()
}

fn reported(bundle: &Bundle) -> Vec<BoardModule> {
    bundle
        .modules
        .iter()
        .map(|m| BoardModule {
            function: m.module.function(),
            index: m.module.index(),
            version: m.module.version(),
            size: 0,
            failed: 0,
            store: Default::default(),
            dependencies: Vec::new(),
            hash: None,
        })
        .collect()
}

fn labels(modules: Vec<&BundleModule>) -> Vec<ModuleFunction> {
    modules.iter().map(|m| m.module.function()).collect()
}

#[test]
fn a_board_in_dfu_gets_dfu_modules_first_then_the_bootloader() {
    let b = example();
    let plan = FlashPlan::build(&b, &BoardView::Dfu);
    let order: Vec<_> = plan
        .entries
        .iter()
        .map(|e| e.module().unwrap().module.function())
        .collect();
    use ModuleFunction::*;
    assert_eq!(order, vec![RadioStack, SystemPart, UserPart, Bootloader]);
    assert_eq!(plan.next_route(), Some(Route::Dfu));
    assert!(plan.describe()[0].contains("without its 24-byte prefix"));
}

#[test]
fn a_running_board_gets_the_bootloader_first_and_skips_what_it_has() {
    let b = example();
    let mut board = reported(&b);
    board.retain(|m| m.function != ModuleFunction::UserPart);
    board
        .iter_mut()
        .find(|m| m.function == ModuleFunction::Bootloader)
        .unwrap()
        .version = 400;
    let plan = FlashPlan::build(&b, &BoardView::firmware(board));
    assert_eq!(plan.next_route(), Some(Route::Control));
    assert_eq!(
        labels(plan.to_write(Route::Control)),
        vec![ModuleFunction::Bootloader]
    );
    assert_eq!(
        labels(plan.to_write(Route::Dfu)),
        vec![ModuleFunction::UserPart]
    );
}

#[test]
fn newer_or_invalid_modules_on_the_board_are_rewritten() {
    let b = example();
    let mut board = reported(&b);
    for m in &mut board {
        match m.function {
            ModuleFunction::SystemPart => m.version = 2202,
            ModuleFunction::UserPart => m.failed = 1,
            _ => {}
        }
    }
    let plan = FlashPlan::build(&b, &BoardView::firmware(board));
    assert_eq!(
        labels(plan.to_write(Route::Dfu)),
        vec![ModuleFunction::SystemPart, ModuleFunction::UserPart]
    );
    assert!(plan.to_write(Route::Control).is_empty());
    let identical = FlashPlan::build(&b, &BoardView::firmware(reported(&b)));
    assert!(identical.is_empty());
}

#[test]
fn dependency_order_puts_needed_modules_first() {
    let b = example();
    let order = labels(dependency_order(&b.modules));
    use ModuleFunction::*;
    assert_eq!(order, vec![Bootloader, RadioStack, SystemPart, UserPart]);
}

/// The guard: DFU writes bytes as they are, so nothing but a plain module of internal
/// flash may ever take that route, whatever its function.
#[test]
fn no_compressed_combined_or_encrypted_module_takes_the_dfu_route() {
    use crate::core::module::reseal;
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/particle-modern"
    );
    let mut seen = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let Ok(bytes) = std::fs::read(e.path()) else {
            continue;
        };
        let Ok(m) = Module::parse(bytes.clone()) else {
            continue;
        };
        let mut encrypted = bytes;
        if reseal::edit_prefix(&mut encrypted, |p| p[reseal::field::FLAGS] |= 0x08).is_ok() {
            let e = Module::parse(encrypted).unwrap();
            assert_eq!(e.form(), ModuleForm::Encrypted);
            assert_eq!(Route::of(&e), Route::Control);
            assert!(Route::check(&e, &e.platform).is_err());
        }
        if m.form() != ModuleForm::Plain {
            seen += 1;
            assert_eq!(Route::of(&m), Route::Control, "{}", e.path().display());
        }
        if Route::of(&m) == Route::Dfu {
            assert!(m.in_internal_flash() && m.function() != ModuleFunction::Bootloader);
        }
    }
    assert!(
        seen >= 4,
        "compressed, combined and asset fixtures were looked at"
    );
}
