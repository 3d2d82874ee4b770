//! `--trace FILE`: every USB operation as a JSON line, written at the port boundary so traces
//! from hardware and from `--sim` have the same format. Complete enough to replay a session:
//! each control transfer's setup fields, its data in hex and its status.

use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ports::{Clock, ControlSetup, DeviceInfo, PortPath, UsbBus, UsbDevice, UsbError};

/// Where trace lines go; shared by the bus and every device it opens.
#[derive(Clone)]
pub struct TraceSink {
    out: Arc<Mutex<Output>>,
    clock: Arc<dyn Clock>,
}

struct Output {
    writer: Box<dyn Write + Send>,
    written: u64,
    failure: Option<TraceFailure>,
}

/// A trace that could not be written: every line from the first failed one on is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{lost} of {} line(s) could not be written ({error})", .written + .lost)]
pub struct TraceFailure {
    pub written: u64,
    pub lost: u64,
    pub error: String,
}

impl TraceSink {
    pub fn new(out: Box<dyn Write + Send>, clock: Arc<dyn Clock>) -> Self {
        TraceSink {
            out: Arc::new(Mutex::new(Output {
                writer: out,
                written: 0,
                failure: None,
            })),
            clock,
        }
    }

    /// A trace file at `path`, written without a buffer: each line reaches the file when it is
    /// emitted, so a killed process loses none of them.
    pub fn create(path: &Path, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        Ok(Self::new(Box::new(std::fs::File::create(path)?), clock))
    }

    /// One line, one write, then a flush: a line is in the file whole or not at all (a
    /// formatted `writeln!` would write it in pieces, and a full disk cuts it mid-line).
    fn emit(&self, mut line: Value) {
        let t_ms = self.clock.now().as_secs_f64() * 1000.0;
        if let Some(obj) = line.as_object_mut() {
            obj.insert("t_ms".into(), json!((t_ms * 1000.0).round() / 1000.0));
        }
        let text = format!("{line}\n");
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = &mut out.failure {
            f.lost += 1;
            return;
        }
        let result = out
            .writer
            .write_all(text.as_bytes())
            .and_then(|()| out.writer.flush());
        match result {
            Ok(()) => out.written += 1,
            // The flash goes on (a trace is diagnostics); the command fails at its end.
            Err(e) => {
                log::error!("trace: {e}; the trace is incomplete from here on");
                out.failure = Some(TraceFailure {
                    written: out.written,
                    lost: 1,
                    error: e.to_string(),
                });
            }
        }
    }

    /// Why the trace is incomplete, if it is.
    pub fn failure(&self) -> Option<TraceFailure> {
        self.out
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .failure
            .clone()
    }
}

fn status<T>(r: &Result<T, UsbError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.trace_word(),
    }
}

pub struct TracingBus {
    inner: Box<dyn UsbBus>,
    sink: TraceSink,
    last_list: Option<Vec<DeviceInfo>>,
}

impl TracingBus {
    pub fn new(inner: Box<dyn UsbBus>, sink: TraceSink) -> Self {
        TracingBus {
            inner,
            sink,
            last_list: None,
        }
    }
}

impl UsbBus for TracingBus {
    fn list(&mut self) -> Result<Vec<DeviceInfo>, UsbError> {
        let r = self.inner.list();
        // Enumeration is polled while waiting for a reset; trace it only when it changes.
        if let Ok(list) = &r {
            if self.last_list.as_ref() != Some(list) {
                self.sink.emit(json!({"kind": "list", "devices": list}));
                self.last_list = Some(list.clone());
            }
        }
        r
    }

    fn open(&mut self, port: &PortPath) -> Result<Box<dyn UsbDevice>, UsbError> {
        let r = self.inner.open(port);
        match r {
            Ok(device) => {
                let i = device.info().clone();
                self.sink.emit(json!({"kind": "open", "vid": i.vid, "pid": i.pid, "port": i.port, "serial": i.serial}));
                Ok(Box::new(TracingDevice {
                    inner: device,
                    sink: self.sink.clone(),
                }))
            }
            Err(e) => {
                self.sink
                    .emit(json!({"kind": "open", "port": port, "status": e.trace_word()}));
                Err(e)
            }
        }
    }
}

pub struct TracingDevice {
    inner: Box<dyn UsbDevice>,
    sink: TraceSink,
}

fn setup_json(kind: &str, s: &ControlSetup, data: &[u8], status: String) -> Value {
    json!({
        "kind": kind, "request_type": s.request_type, "request": s.request, "value": s.value,
        "index": s.index, "length": s.length, "data": hex::encode(data), "status": status,
    })
}

impl UsbDevice for TracingDevice {
    fn info(&self) -> &DeviceInfo {
        self.inner.info()
    }

    fn control_in(&mut self, setup: ControlSetup, timeout: Duration) -> Result<Vec<u8>, UsbError> {
        let r = self.inner.control_in(setup, timeout);
        let data = r.as_deref().unwrap_or_default();
        self.sink
            .emit(setup_json("control", &setup, data, status(&r)));
        r
    }

    fn control_out(
        &mut self,
        setup: ControlSetup,
        data: &[u8],
        timeout: Duration,
    ) -> Result<(), UsbError> {
        let r = self.inner.control_out(setup, data, timeout);
        self.sink
            .emit(setup_json("control", &setup, data, status(&r)));
        r
    }

    fn set_alt_setting(&mut self, interface: u8, alt: u8) -> Result<(), UsbError> {
        let r = self.inner.set_alt_setting(interface, alt);
        self.sink
            .emit(json!({"kind": "alt", "interface": interface, "alt": alt, "status": status(&r)}));
        r
    }

    fn alt_setting_names(&mut self, interface: u8) -> Result<Vec<(u8, String)>, UsbError> {
        let r = self.inner.alt_setting_names(interface);
        let names: Vec<Value> = r
            .iter()
            .flatten()
            .map(|(a, n)| json!({"alt": a, "name": n}))
            .collect();
        self.sink.emit(json!({"kind": "alt-names", "interface": interface, "names": names, "status": status(&r)}));
        r
    }

    fn dfu_functional_descriptor(&mut self, interface: u8) -> Result<Option<Vec<u8>>, UsbError> {
        let r = self.inner.dfu_functional_descriptor(interface);
        let data = r.as_ref().ok().and_then(|d| d.as_deref()).map(hex::encode);
        self.sink.emit(json!({"kind": "dfu-descriptor", "interface": interface, "data": data, "status": status(&r)}));
        r
    }
}

impl Drop for TracingDevice {
    fn drop(&mut self) {
        self.sink.emit(json!({"kind": "close"}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::VirtualClock;

    /// Remembers each call the sink makes, to see how lines reach the file.
    #[derive(Clone, Default)]
    struct Calls(Arc<Mutex<Vec<String>>>);

    impl Write for Calls {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut calls = self.0.lock().unwrap();
            calls.push(format!("write {}", String::from_utf8_lossy(buf)));
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.0.lock().unwrap().push("flush".into());
            Ok(())
        }
    }

    #[test]
    fn each_line_is_one_write_then_a_flush() {
        let calls = Calls::default();
        let sink = TraceSink::new(Box::new(calls.clone()), Arc::new(VirtualClock::new()));
        sink.emit(json!({"kind": "list", "devices": []}));
        sink.emit(json!({"kind": "close"}));
        let calls = calls.0.lock().unwrap().clone();
        assert_eq!(calls.len(), 4, "{calls:?}");
        for pair in calls.chunks(2) {
            assert!(
                pair[0].starts_with("write {") && pair[0].ends_with("}\n"),
                "{pair:?}"
            );
            assert_eq!(pair[1], "flush");
        }
    }

    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from_raw_os_error(28))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_that_fails_is_kept_and_counts_the_lines_lost() {
        let sink = TraceSink::new(Box::new(Full), Arc::new(VirtualClock::new()));
        assert_eq!(sink.failure(), None);
        for _ in 0..3 {
            sink.emit(json!({"kind": "close"}));
        }
        let f = sink.failure().unwrap();
        assert_eq!((f.written, f.lost), (0, 3));
        assert!(f.to_string().contains("No space left"), "{f}");
    }

    #[test]
    fn a_trace_file_has_each_line_before_the_sink_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let sink = TraceSink::create(&path, Arc::new(VirtualClock::new())).unwrap();
        sink.emit(json!({"kind": "close"}));
        // As a SIGKILL would find it: nothing flushed at exit, nothing dropped.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{") && text.ends_with("}\n"), "{text:?}");
        std::mem::forget(sink);
    }
}
