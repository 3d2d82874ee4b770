//! Composing the traceability edges for `run`: `[trace]` and `[label]` read (from the whole
//! station.toml, or from a file with only those sections for `run --sim --config`), the
//! label template chosen, and the scanner and printer threads started.

use anyhow::{Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::Arc;

use crate::core::bundle::Bundle;
use crate::core::label::{LabelConfig, LabelTemplate, PrinterAddr, MAX_TEMPLATE_BYTES};
use crate::core::regular_file::read_text;
use crate::core::station::{Input, Station, TraceOptions};
use crate::core::trace::TraceConfig;
use crate::ports::Clock;
use crate::records::RecordWriter;
use crate::runtime::labels::Labels;

/// A station.toml is a few kilobytes.
const MAX_CONFIG_BYTES: u64 = 256 * 1024;

/// The two sections, whatever else the file holds.
#[derive(Debug, Default, Deserialize)]
pub struct Sections {
    #[serde(default)]
    pub trace: TraceConfig,
    #[serde(default)]
    pub label: LabelConfig,
    /// Where relative paths in them are taken from.
    #[serde(skip)]
    pub dir: PathBuf,
    /// The file is a whole station.toml (it has `buttons` or `[[slot]]`), not only these
    /// sections.
    #[serde(skip)]
    pub whole_station: bool,
}

impl Sections {
    pub fn load(path: &Path) -> Result<Sections> {
        let text = read_text(path, MAX_CONFIG_BYTES)
            .with_context(|| format!("reading {}", path.display()))?;
        let table: toml::Table =
            toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
        let whole_station = table.contains_key("buttons") || table.contains_key("slot");
        let mut s: Sections = toml::Value::Table(table)
            .try_into()
            .with_context(|| format!("{}", path.display()))?;
        s.whole_station = whole_station;
        TraceOptions::from_config(&s.trace)
            .map_err(anyhow::Error::msg)
            .with_context(|| path.display().to_string())?;
        s.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(s)
    }

    pub fn of(trace: TraceConfig, label: LabelConfig, config: &Path) -> Sections {
        Sections {
            trace,
            label,
            dir: config.parent().map(Path::to_path_buf).unwrap_or_default(),
            whole_station: true,
        }
    }

    /// The template: `[label] template`, else the bundle's, else the built-in one.
    pub fn template(&self, bundle: Option<&Bundle>) -> Result<LabelTemplate> {
        if let Some(file) = &self.label.template {
            let path = self.dir.join(file);
            let text = read_text(&path, MAX_TEMPLATE_BYTES as u64)
                .with_context(|| format!("[label] template: {}", path.display()))?;
            return LabelTemplate::parse(&text, &path.display().to_string())
                .map_err(anyhow::Error::msg);
        }
        if let Some(t) = bundle.and_then(|b| b.label_template.clone()) {
            return Ok(t);
        }
        Ok(LabelTemplate::builtin())
    }

    /// Sets the station's trace options and starts the scanner and the label printer.
    pub fn start(
        &self,
        station: &mut Station,
        bundle: Option<&Bundle>,
        clock: Arc<dyn Clock>,
        writer: &mut RecordWriter,
        edges: &Sender<Input>,
    ) -> Result<Option<Labels>> {
        station.set_trace(TraceOptions::from_config(&self.trace).map_err(anyhow::Error::msg)?);
        if let Some(path) = &self.trace.scanner {
            crate::adapters::scanner::start(path.clone(), clock, edges.clone())
                .context("starting the scanner thread")?;
        }
        let Some(printer) = &self.label.printer else {
            return Ok(None);
        };
        let printer = PrinterAddr::parse(printer)
            .map_err(anyhow::Error::msg)
            .context("[label] printer")?;
        let (labels, sink) = Labels::start(printer, self.template(bundle)?, edges.clone())
            .context("starting the label printer thread")?;
        writer.add_sink(sink);
        Ok(Some(labels))
    }
}
