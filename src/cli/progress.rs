//! A progress bar on the terminal, fed by the same events as the OLED and records.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

use crate::core::event::{Event, Phase};

pub struct TerminalProgress {
    enabled: bool,
    bar: Option<ProgressBar>,
    module: String,
    phase: Option<Phase>,
}

impl TerminalProgress {
    /// A bar when stderr is a terminal; otherwise stage lines in the log; nothing when
    /// disabled (`--json`).
    pub fn new(enabled: bool) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(1);
            let style = ProgressStyle::with_template(
                "{prefix:>26} [{bar:30}] {bytes:>9}/{total_bytes:9} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        TerminalProgress {
            enabled,
            bar,
            module: String::new(),
            phase: None,
        }
    }

    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::Board {
                device_id,
                platform,
            } => {
                let id = device_id.as_deref().unwrap_or("unknown ID");
                match &self.bar {
                    Some(bar) => bar.println(format!("board {id} ({platform})")),
                    None if self.enabled => log::info!("board {id} ({platform})"),
                    None => {}
                }
            }
            Event::Stage { stage, detail } => {
                let first_line = detail.lines().next().unwrap_or_default();
                match &self.bar {
                    Some(bar) => bar.set_message(format!("{stage:?} {first_line}")),
                    None if self.enabled => log::info!("{stage:?}: {detail}"),
                    None => log::debug!("{stage:?}: {detail}"),
                }
            }
            Event::Progress {
                module,
                phase,
                done,
                total,
            } => {
                let Some(bar) = &self.bar else { return };
                if *module != self.module || Some(*phase) != self.phase {
                    self.module = module.clone();
                    self.phase = Some(*phase);
                    bar.set_prefix(format!("{phase:?} {module}"));
                    bar.set_length(*total);
                }
                bar.set_position(*done);
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
