//! The pure paths a station runs per unit or per frame, so regressions show:
//! `cargo bench --bench hot_paths`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::Path;

use flashline::core::bundle::Bundle;
use flashline::core::module::Module;
use flashline::core::plan::{BoardView, FlashPlan};
use flashline::core::ui::{frame_of, samples, SampleBundle};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bundles/example-argon");

fn module_parse(c: &mut Criterion) {
    let bytes =
        std::fs::read(format!("{EXAMPLE}/argon-system-part1@1.5.0.bin")).unwrap_or_default();
    c.bench_function("parse + CRC + SHA of the 635 KB system part", |b| {
        b.iter(|| Module::parse(black_box(bytes.clone())).map(|m| m.crc_ok()))
    });
}

fn plan(c: &mut Criterion) {
    let Ok(bundle) = Bundle::load(Path::new(EXAMPLE)) else {
        return;
    };
    c.bench_function("flash plan for a blank board", |b| {
        b.iter(|| FlashPlan::build(black_box(&bundle), &BoardView::Dfu).describe())
    });
}

fn render(c: &mut Criterion) {
    let Ok(bundle) = Bundle::load(Path::new(EXAMPLE)) else {
        return;
    };
    let screens = samples(&SampleBundle::from(&bundle));
    let flashing = &screens
        .iter()
        .find(|(n, _)| *n == "two-slots")
        .map(|(_, ui)| ui.clone())
        .unwrap_or_default();
    c.bench_function("render one OLED frame (two slots)", |b| {
        b.iter(|| frame_of(black_box(flashing)))
    });
}

criterion_group!(benches, module_parse, plan, render);
criterion_main!(benches);
