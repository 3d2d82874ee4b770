//! `flashline screenshot`: the OLED as PNG, from a UI state file or every screen of a bundle.

use anyhow::{bail, Context, Result};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics_simulator::{BinaryColorTheme, OutputSettingsBuilder, SimulatorDisplay};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::bundle_arg::{load_bundle, EXAMPLE_BUNDLE};
use crate::core::ui::{render, samples, SampleBundle, UiState, HEIGHT, WIDTH};

#[derive(clap::Args)]
pub struct Args {
    /// A UI state as JSON (see `core::ui::UiState`; `run --frames DIR` writes them)
    #[arg(long, conflicts_with = "all")]
    state: Option<PathBuf>,
    /// Output PNG (with --state)
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    /// Write every screen as DIR/NAME.png
    #[arg(long, value_name = "DIR")]
    all: Option<PathBuf>,
    /// With --all: the bundle whose name, version, lock hash, modules and tests they show
    #[arg(long, default_value = EXAMPLE_BUNDLE, requires = "all")]
    bundle: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    if let Some(dir) = &args.all {
        let bundle = load_bundle(&args.bundle)?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, ui) in samples(&SampleBundle::from(&bundle)) {
            let path = dir.join(format!("{name}.png"));
            save_png(&ui, &path)?;
            println!("{}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(state), Some(output)) = (&args.state, &args.output) else {
        bail!("give --state FILE -o X.png, or --all DIR");
    };
    let text =
        std::fs::read_to_string(state).with_context(|| format!("reading {}", state.display()))?;
    let ui: UiState = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a UI state", state.display()))?;
    save_png(&ui, output)?;
    println!("{}", output.display());
    Ok(ExitCode::SUCCESS)
}

/// The OLED as a PNG, scaled ×4 with its look (light pixels on black).
pub fn save_png(ui: &UiState, path: &Path) -> Result<()> {
    let mut display = SimulatorDisplay::<BinaryColor>::new(Size::new(WIDTH, HEIGHT));
    let Ok(()) = render(ui, &mut display);
    save_bitmap(&display, 4, BinaryColorTheme::OledWhite, path)
}

/// A one-bit picture as PNG, each pixel `scale` × `scale`.
pub fn save_bitmap(
    display: &SimulatorDisplay<BinaryColor>,
    scale: u32,
    theme: BinaryColorTheme,
    path: &Path,
) -> Result<()> {
    let settings = OutputSettingsBuilder::new()
        .scale(scale)
        .pixel_spacing(0)
        .theme(theme)
        .build();
    display
        .to_rgb_output_image(&settings)
        .save_png(path)
        .with_context(|| format!("writing {}", path.display()))
}
