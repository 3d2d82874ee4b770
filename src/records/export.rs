//! Records out: CSV for a quality engineer's spreadsheet, JSON for tools, and the device-ID
//! list Particle's product import takes.

use super::store::Record;

/// The fixed columns, then one per measurement. The trace columns came last (after
/// `attempt_id`): a consumer reading the older columns by position still finds each where it
/// was, and the measurements stay the tail whose number varies.
const COLUMNS: [&str; 24] = [
    "time_utc",
    "station",
    "slot",
    "device_id",
    "bundle",
    "bundle_version",
    "lock_hash",
    "outcome",
    "code",
    "reason",
    "duration_ms",
    "flash_ms",
    "test_ms",
    "final_ms",
    "final_code",
    "flashed_by",
    "device_os",
    "board_modules",
    "measurements_failed",
    "attempt_id",
    "serial",
    "work_order",
    "operator",
    "rework_by",
];

/// One row per unit; one extra column per measurement name (its value, or its reply when
/// it has no value), in the order they first appear.
pub fn to_csv(records: &[Record]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for r in records {
        for m in &r.measurements {
            if !names.contains(&m.name.as_str()) {
                names.push(&m.name);
            }
        }
    }
    let mut out = String::new();
    let header: Vec<String> = COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(names.iter().map(|n| format!("m:{n}")))
        .collect();
    push_row(&mut out, &header);
    for r in records {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let num = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        let failed: Vec<&str> = r
            .measurements
            .iter()
            .filter(|m| !m.passed)
            .map(|m| m.name.as_str())
            .collect();
        let mut row = vec![
            r.time_utc.clone(),
            r.station.clone(),
            r.slot.clone(),
            opt(&r.device_id),
            opt(&r.bundle_name),
            opt(&r.bundle_version),
            opt(&r.lock_hash),
            r.outcome.clone(),
            opt(&r.code),
            opt(&r.reason),
            r.duration_ms.to_string(),
            num(r.flash_ms),
            num(r.test_ms),
            num(r.final_ms),
            opt(&r.final_code),
            opt(&r.flashed_by),
            opt(&r.device_os),
            opt(&r.board_modules),
            failed.join(" "),
            r.attempt_id.clone(),
            opt(&r.serial),
            opt(&r.work_order),
            opt(&r.operator),
            opt(&r.rework_by),
        ];
        for name in &names {
            let cell = r
                .measurements
                .iter()
                .find(|m| m.name == *name)
                .map(|m| m.value.map_or_else(|| m.detail.clone(), |v| v.to_string()))
                .unwrap_or_default();
            row.push(cell);
        }
        push_row(&mut out, &row);
    }
    out
}

pub(super) fn push_row(out: &mut String, cells: &[String]) {
    let escaped: Vec<String> = cells.iter().map(|c| escape(c)).collect();
    out.push_str(&escaped.join(","));
    out.push_str("\r\n");
}

/// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is defused so a spreadsheet never runs a
/// formula that came from a board's serial output.
pub(super) fn escape(cell: &str) -> String {
    let defused = match cell.chars().next() {
        Some('=' | '+' | '@') => format!("'{cell}"),
        Some('-') if cell.parse::<f64>().is_err() => format!("'{cell}"),
        _ => cell.to_string(),
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// Device IDs of units that passed, once each, in first-pass order: one per line, as
/// Particle's console takes them for a product import.
pub fn device_ids(records: &[Record]) -> String {
    let mut seen = Vec::new();
    for r in records.iter().filter(|r| r.outcome == "pass") {
        if let Some(id) = &r.device_id {
            if !seen.contains(id) {
                seen.push(id.clone());
            }
        }
    }
    seen.iter().map(|id| format!("{id}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a,b"), "\"a,b\"");
        assert_eq!(escape("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(escape("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(escape("-1.5"), "-1.5");
        assert_eq!(escape("-cmd"), "'-cmd");
    }

    /// A scanner types whatever the label says when no pattern is set: the trace cells go
    /// through the same quoting as every other cell.
    #[test]
    fn trace_cells_follow_the_fixed_columns_quoted_like_the_rest() {
        let rec = Record {
            serial: Some("=1+2".into()),
            work_order: Some("WO-1, lot 3".into()),
            operator: Some("OP-7".into()),
            rework_by: Some("OP-900".into()),
            ..Record::default()
        };
        let csv = to_csv(&[rec]);
        let (header, row) = csv.split_once("\r\n").unwrap();
        assert!(header.ends_with(",attempt_id,serial,work_order,operator,rework_by"));
        assert!(
            row.ends_with(",'=1+2,\"WO-1, lot 3\",OP-7,OP-900\r\n"),
            "{row}"
        );
    }
}
