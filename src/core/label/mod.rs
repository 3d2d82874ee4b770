//! Labels for passed units: a ZPL template (Zebra's language, which most label printers
//! speak) filled with the unit's serial, device ID, bundle and date → the bytes a printer
//! takes. `[label]` in station.toml says where they go. Pure: sending is
//! `adapters::printer`'s, drawing a preview is `preview`'s.

mod preview;
mod zpl;

pub use preview::{draw, preview_size};
pub use zpl::{parse, Element, Layout};

use serde::Deserialize;
use std::path::PathBuf;

use super::unit::UnitRecord;

/// `[label]` in station.toml.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LabelConfig {
    /// `tcp://host:9100` (a network printer's raw port) or a device such as `/dev/usb/lp0`.
    #[serde(default)]
    pub printer: Option<String>,
    /// A ZPL template, relative to station.toml's directory; else the bundle's `label`,
    /// else the built-in one.
    #[serde(default)]
    pub template: Option<PathBuf>,
}

/// Where labels go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterAddr {
    /// `host:port`.
    Tcp(String),
    /// A character device (`/dev/usb/lp0`) or any file.
    Device(PathBuf),
}

impl PrinterAddr {
    pub fn parse(text: &str) -> Result<PrinterAddr, String> {
        if let Some(rest) = text.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            if rest.is_empty() || rest.contains('/') {
                return Err(format!("`{text}`: give tcp://HOST:PORT"));
            }
            let has_port = rest.rsplit_once(':').is_some_and(|(h, p)| {
                !h.is_empty() && !h.ends_with(':') && p.parse::<u16>().is_ok()
            });
            return Ok(PrinterAddr::Tcp(match has_port {
                true => rest.to_string(),
                // 9100 is the raw printing port Zebra and most label printers listen on.
                false => format!("{rest}:9100"),
            }));
        }
        if text.starts_with('/') {
            return Ok(PrinterAddr::Device(PathBuf::from(text)));
        }
        Err(format!(
            "`{text}`: a printer is tcp://HOST:PORT or a device path such as /dev/usb/lp0"
        ))
    }
}

impl std::fmt::Display for PrinterAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrinterAddr::Tcp(a) => write!(f, "tcp://{a}"),
            PrinterAddr::Device(p) => write!(f, "{}", p.display()),
        }
    }
}

/// What a label can say: `{serial}`, `{device_id}`, … in a template. Missing values are
/// empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelFields {
    pub serial: String,
    pub device_id: String,
    pub bundle: String,
    pub bundle_version: String,
    /// The unit's date (UTC), `2026-12-01`.
    pub date: String,
    pub work_order: String,
    pub operator: String,
    pub record: String,
}

pub const PLACEHOLDERS: [&str; 8] = [
    "serial",
    "device_id",
    "bundle",
    "bundle_version",
    "date",
    "work_order",
    "operator",
    "record",
];

impl LabelFields {
    /// A finished unit's fields; `time_utc` is when it was recorded.
    pub fn of(
        unit: &UnitRecord,
        bundle: (&str, &str),
        time_utc: &str,
        record: Option<i64>,
    ) -> LabelFields {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        LabelFields {
            serial: opt(&unit.trace.serial),
            device_id: opt(&unit.device_id),
            bundle: bundle.0.into(),
            bundle_version: bundle.1.into(),
            date: time_utc.chars().take(10).collect(),
            work_order: opt(&unit.trace.work_order),
            operator: opt(&unit.trace.operator),
            record: record.map(|r| r.to_string()).unwrap_or_default(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "serial" => &self.serial,
            "device_id" => &self.device_id,
            "bundle" => &self.bundle,
            "bundle_version" => &self.bundle_version,
            "date" => &self.date,
            "work_order" => &self.work_order,
            "operator" => &self.operator,
            "record" => &self.record,
            _ => return None,
        })
    }

    /// Made-up fields for previews.
    pub fn sample() -> LabelFields {
        LabelFields {
            serial: "WC-0001".into(),
            device_id: "e00fce68f372fe94a3fad5fb".into(),
            bundle: "example-argon".into(),
            bundle_version: "1.0.0".into(),
            date: "2026-12-01".into(),
            work_order: "WO-1".into(),
            operator: "OP-7".into(),
            record: "17".into(),
        }
    }
}

/// 2 × 1 inch at 203 dpi (406 × 203 dots): serial large, device ID, bundle, date and work
/// order, a box, and the device ID again as a QR code (error correction M).
pub const DEFAULT_TEMPLATE: &str = include_str!("default.zpl");

/// Templates are a few hundred bytes; anything near this is not one.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// A checked ZPL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelTemplate {
    text: String,
    /// Where it came from, for messages: a path, `bundle label.zpl` or `built-in`.
    pub source: String,
}

impl LabelTemplate {
    pub fn builtin() -> LabelTemplate {
        LabelTemplate {
            text: DEFAULT_TEMPLATE.into(),
            source: "built-in".into(),
        }
    }

    /// Refuses what a printer would not take as one label, an unknown `{placeholder}`, and
    /// a placeholder in a field without `^FH` (its value could not be escaped).
    pub fn parse(text: &str, source: &str) -> Result<LabelTemplate, String> {
        let err = |reason: String| format!("{source}: {reason}");
        if text.len() > MAX_TEMPLATE_BYTES {
            return Err(err(format!("larger than {MAX_TEMPLATE_BYTES} bytes")));
        }
        let trimmed = text.trim();
        if !trimmed.starts_with("^XA") || !trimmed.ends_with("^XZ") {
            return Err(err("a label starts with ^XA and ends with ^XZ".into()));
        }
        for name in placeholders(text) {
            if !PLACEHOLDERS.contains(&name) {
                return Err(err(format!(
                    "unknown placeholder {{{name}}} (known: {})",
                    PLACEHOLDERS.join(", ")
                )));
            }
        }
        let layout = zpl::parse(text.as_bytes());
        if let Some(field) = layout.unescaped_placeholder {
            return Err(err(format!(
                "the field `{field}` has a placeholder but no ^FH before its ^FD, so its value \
                 could not be escaped"
            )));
        }
        Ok(LabelTemplate {
            text: text.into(),
            source: source.into(),
        })
    }

    /// The printer's bytes: each placeholder replaced by its value, escaped for `^FH`.
    pub fn render(&self, fields: &LabelFields) -> Vec<u8> {
        let mut out = String::with_capacity(self.text.len() + 64);
        let mut rest = self.text.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}').map(|close| (&after[..close], close)) {
                Some((name, close)) if fields.get(name).is_some() => {
                    out.push_str(&escape(fields.get(name).unwrap_or_default()));
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out.into_bytes()
    }
}

/// `{name}` words in a template.
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|s| {
        let name = &s[..s.find('}')?];
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .then_some(name)
    })
}

/// A value inside `^FH^FD…^FS`: `_`, `^` and `~` as `_` + hex (ZPL's field hex escape), so
/// a scanned value can never end the field or start a command; control characters dropped.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars().filter(|c| !c.is_control()) {
        match c {
            '_' | '^' | '~' => out.push_str(&format!("_{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
