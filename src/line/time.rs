//! Record times are RFC 3339 UTC text (`records::now_utc`); the report needs them as numbers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since 1970 of a record's `time_utc`, `None` if it is not RFC 3339.
pub fn parse_utc_ms(text: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_millis() as i64)
}

/// `--since`: a date or time prefix as the records have it (`2026-11-26`, `2026-11-26T08`),
/// or a span back from `now` (`8h`, `2days`), as the RFC 3339 text records compare against.
pub fn parse_since(text: &str, now: SystemTime) -> Result<String, String> {
    let text = text.trim();
    if text.starts_with(|c: char| c.is_ascii_digit()) && text.contains('-') {
        return Ok(text.to_string());
    }
    let span: Duration = humantime::parse_duration(text).map_err(|e| {
        format!("--since `{text}`: {e}; give a date (2026-11-26), a time or a span (8h, 2days)")
    })?;
    let at = now.checked_sub(span).unwrap_or(UNIX_EPOCH);
    Ok(humantime::format_rfc3339_millis(at).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_times_and_since_spans() {
        assert_eq!(parse_utc_ms("1970-01-01T00:00:01.500Z"), Some(1500));
        assert_eq!(parse_utc_ms("1970-01-01T00:01:00Z"), Some(60_000));
        assert_eq!(parse_utc_ms("yesterday"), None);
        let now = UNIX_EPOCH + Duration::from_secs(10 * 3600);
        assert_eq!(parse_since("8h", now).unwrap(), "1970-01-01T02:00:00.000Z");
        assert_eq!(parse_since("2026-11-26", now).unwrap(), "2026-11-26");
        assert!(parse_since("soon", now).unwrap_err().contains("--since"));
    }
}
