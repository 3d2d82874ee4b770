//! `flashline label preview`: the label as its template lays it out, as PNG (and its ZPL),
//! with made-up fields — no printer, no online renderer.

use anyhow::{Context, Result};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics_simulator::{BinaryColorTheme, SimulatorDisplay};
use std::path::PathBuf;
use std::process::ExitCode;

use super::trace_setup::Sections;
use crate::core::label::{self, LabelFields, LabelTemplate};

#[derive(clap::Subcommand)]
pub enum LabelCommand {
    /// Render a label to PNG: the built-in template, a bundle's, or station.toml's
    Preview {
        /// Take [label] template from this station.toml
        #[arg(long, conflicts_with = "template")]
        config: Option<PathBuf>,
        /// A ZPL template file
        #[arg(long)]
        template: Option<PathBuf>,
        /// A bundle whose `label` template to use
        #[arg(long)]
        bundle: Option<PathBuf>,
        #[arg(short = 'o', long, default_value = "label.png")]
        output: PathBuf,
        /// Also write the label's ZPL here
        #[arg(long)]
        zpl: Option<PathBuf>,
    },
}

pub fn run(cmd: LabelCommand) -> Result<ExitCode> {
    let LabelCommand::Preview {
        config,
        template,
        bundle,
        output,
        zpl,
    } = cmd;
    let bundle = bundle
        .map(|dir| super::bundle_arg::load_bundle(&dir))
        .transpose()?;
    let template = match (&config, &template) {
        (Some(path), _) => Sections::load(path)?.template(bundle.as_ref())?,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            LabelTemplate::parse(&text, &path.display().to_string()).map_err(anyhow::Error::msg)?
        }
        (None, None) => Sections::default().template(bundle.as_ref())?,
    };
    let bytes = template.render(&LabelFields::sample());
    let layout = label::parse(&bytes);
    let size = label::preview_size(&layout);
    let mut display = SimulatorDisplay::<BinaryColor>::new(size);
    let Ok(()) = label::draw(&layout, &mut display);
    // Dots as ink on white, 2× so a 203 dpi label reads at its printed size on a screen.
    super::screenshot_cmd::save_bitmap(&display, 2, BinaryColorTheme::Inverted, &output)?;
    if let Some(path) = &zpl {
        std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "{} ({}×{} dots, {} template){}",
        output.display(),
        size.width,
        size.height,
        template.source,
        match layout.not_drawn.is_empty() {
            true => String::new(),
            false => format!("; not drawn: {}", layout.not_drawn.join(" ")),
        }
    );
    Ok(ExitCode::SUCCESS)
}
