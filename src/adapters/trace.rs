//! `--trace FILE`: every USB operation as a JSON line, written at the port boundary so traces
//! from hardware and from `--sim` have the same format. Complete enough to replay a session:
//! each control transfer's setup fields, its data in hex and its status.

use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ports::{Clock, ControlSetup, DeviceInfo, PortPath, UsbBus, UsbDevice, UsbError};

/// Where trace lines go; shared by the bus and every device it opens.
#[derive(Clone)]
pub struct TraceSink {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    clock: Arc<dyn Clock>,
}

impl TraceSink {
    pub fn new(out: Box<dyn Write + Send>, clock: Arc<dyn Clock>) -> Self {
        TraceSink {
            out: Arc::new(Mutex::new(out)),
            clock,
        }
    }

    fn emit(&self, mut line: Value) {
        let t_ms = self.clock.now().as_secs_f64() * 1000.0;
        if let Some(obj) = line.as_object_mut() {
            obj.insert("t_ms".into(), json!((t_ms * 1000.0).round() / 1000.0));
        }
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // A trace is diagnostics: a full disk must not fail the flash itself.
        let _ = writeln!(out, "{line}");
    }

    pub fn flush(&self) {
        let _ = self.out.lock().unwrap_or_else(|p| p.into_inner()).flush();
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
