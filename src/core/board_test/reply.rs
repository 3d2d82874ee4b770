//! The board's answer to one command: `OK [value] [unit]` or `ERR <reason>`.

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Ok {
        text: String,
        value: Option<f64>,
        unit: Option<String>,
    },
    Err(String),
    /// Not a protocol line (binary noise, another printout).
    Garbled(String),
}

pub fn parse(line: &[u8]) -> Reply {
    let Ok(text) = std::str::from_utf8(line) else {
        return Reply::Garbled(format!("{} bytes, not text", line.len()));
    };
    let text = text.trim();
    if text.chars().any(|c| c.is_control()) {
        return Reply::Garbled(escape(text));
    }
    let mut words = text.splitn(2, char::is_whitespace);
    match (words.next(), words.next().map(str::trim)) {
        (Some("OK"), rest) => {
            let rest = rest.unwrap_or_default().to_string();
            let mut parts = rest.split_whitespace();
            let value = parts.next().and_then(parse_number);
            let unit = value.and(parts.next()).map(str::to_string);
            Reply::Ok {
                text: rest,
                value,
                unit,
            }
        }
        (Some("ERR"), rest) => Reply::Err(rest.unwrap_or("(no reason)").to_string()),
        _ => Reply::Garbled(escape(text)),
    }
}

fn parse_number(word: &str) -> Option<f64> {
    let v = match word.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok()? as f64,
        None => word.parse::<f64>().ok()?,
    };
    v.is_finite().then_some(v)
}

fn escape(text: &str) -> String {
    text.chars()
        .take(40)
        .flat_map(char::escape_default)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn replies() {
        assert_eq!(
            parse(b"OK 12.02 V\r"),
            Reply::Ok {
                text: "12.02 V".into(),
                value: Some(12.02),
                unit: Some("V".into())
            }
        );
        assert_eq!(
            parse(b"OK"),
            Reply::Ok {
                text: String::new(),
                value: None,
                unit: None
            }
        );
        assert_eq!(
            parse(b"OK 0x48"),
            Reply::Ok {
                text: "0x48".into(),
                value: Some(72.0),
                unit: None
            }
        );
        assert_eq!(
            parse(b"OK found"),
            Reply::Ok {
                text: "found".into(),
                value: None,
                unit: None
            }
        );
        assert_eq!(parse(b"ERR no sensor"), Reply::Err("no sensor".into()));
        assert!(matches!(parse(b"\xff\xfe"), Reply::Garbled(_)));
        assert!(matches!(parse(b"OKAY"), Reply::Garbled(_)));
        assert!(matches!(parse(b"OK NaN V"), Reply::Ok { value: None, .. }));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&bytes);
        }
    }
}
