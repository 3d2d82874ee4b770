//! The label printer's edge: each passed unit, once its record is committed, is rendered from
//! the template and sent to the printer on this edge's own thread. A label that cannot be
//! printed is logged and shown as a notice (`E-LABEL`); the record and the verdict are
//! untouched, and the menu's "reprint label" sends the last one again.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;

use crate::adapters::printer;
use crate::core::label::{LabelFields, LabelTemplate, PrinterAddr};
use crate::core::operator_code::OperatorCode;
use crate::core::station::Input;
use crate::core::unit::Outcome;
use crate::records::{Committed, UnitSink};

enum Request {
    Print(Box<LabelFields>),
    Reprint,
}

/// The handle the runtime keeps: reprint, and close at the end of a run.
pub struct Labels {
    requests: Sender<Request>,
    thread: Option<JoinHandle<()>>,
}

/// What the records writer calls with each committed unit.
struct Sink {
    requests: Sender<Request>,
}

impl UnitSink for Sink {
    fn name(&self) -> &str {
        "labels"
    }

    fn committed(&mut self, c: &Committed) -> Result<(), String> {
        let unit = &c.pending.unit;
        if unit.outcome != Outcome::Pass {
            return Ok(());
        }
        let ctx = &c.pending.ctx;
        let bundle = (
            ctx.bundle_name.as_deref().unwrap_or_default(),
            ctx.bundle_version.as_deref().unwrap_or_default(),
        );
        let fields = LabelFields::of(unit, bundle, &c.pending.time_utc, Some(c.id));
        self.requests
            .send(Request::Print(Box::new(fields)))
            .map_err(|_| "the label thread is gone".to_string())
    }
}

impl Labels {
    /// Starts the printer's thread; returns its handle and the sink for the records writer.
    pub fn start(
        printer: PrinterAddr,
        template: LabelTemplate,
        notices: Sender<Input>,
    ) -> std::io::Result<(Labels, Box<dyn UnitSink>)> {
        let (requests, rx) = channel();
        log::info!(
            "labels: passed units are printed on {printer} ({} template)",
            template.source
        );
        let thread = std::thread::Builder::new()
            .name("labels".into())
            .spawn(move || serve(rx, &printer, &template, &notices))?;
        let sink = Box::new(Sink {
            requests: requests.clone(),
        });
        Ok((
            Labels {
                requests,
                thread: Some(thread),
            },
            sink,
        ))
    }

    pub fn reprint(&self) {
        let _ = self.requests.send(Request::Reprint);
    }

    /// Waits for the labels still queued (the records writer, holding the sink, is closed
    /// first).
    pub fn close(mut self) {
        drop(self.requests);
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!("labels: the printer thread failed");
            }
        }
    }
}

fn serve(
    requests: Receiver<Request>,
    printer: &PrinterAddr,
    template: &LabelTemplate,
    notices: &Sender<Input>,
) {
    let mut last: Option<Box<LabelFields>> = None;
    for request in requests.iter() {
        let fields = match request {
            Request::Print(f) => last.insert(f),
            Request::Reprint => match &last {
                Some(f) => f,
                None => {
                    let _ = notices.send(Input::Notify {
                        title: "REPRINT".into(),
                        lines: vec!["no label printed yet".into()],
                    });
                    continue;
                }
            },
        };
        let who = match fields.serial.is_empty() {
            true => fields.device_id.clone(),
            false => fields.serial.clone(),
        };
        match printer::send(printer, &template.render(fields)) {
            Ok(()) => log::info!(
                "labels: {who} (record {}) printed on {printer}",
                fields.record
            ),
            Err(e) => {
                log::error!(
                    "{}: label of {who} (record {}) not printed: {e}. The record is written; \
                     reprint from the menu or with `flashline records reprint`",
                    OperatorCode::Label,
                    fields.record
                );
                let _ = notices.send(Input::Notify {
                    title: OperatorCode::Label.as_str().into(),
                    lines: vec![
                        format!("{who}: not printed"),
                        "record is saved".into(),
                        "menu: reprint label".into(),
                    ],
                });
            }
        }
    }
}
