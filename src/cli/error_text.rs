//! How an error reads on the terminal: each cause said once (an error that prints its source
//! is not followed by that source again), a permission problem named as one, and nothing
//! from a file or a device that could drive the terminal (control bytes are escaped).

/// Longest error text shown; the log keeps the whole.
const MAX_CHARS: usize = 2000;

pub fn error_text(e: &anyhow::Error) -> String {
    let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    let mut text = said_once(&chain);
    if let Some(hint) = permission_hint(e) {
        text.push_str(&format!("\n  {hint}"));
    }
    printable(&text)
}

/// Joins the chain with `: `, leaving out a cause whose words are already there: thiserror
/// errors print their source in their own message (`{path}: {source}`), and SQLite repeats
/// its message with `Error code N: ` in front.
fn said_once(chain: &[String]) -> String {
    let mut text = String::new();
    for cause in chain {
        let tail = cause.split_once(": ").map(|(_, rest)| rest);
        let repeated = text.contains(cause.as_str()) || tail.is_some_and(|t| text.contains(t));
        if repeated {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(cause);
    }
    text
}

/// A cause the OS refused for lack of permission, said plainly with what to do.
fn permission_hint(e: &anyhow::Error) -> Option<&'static str> {
    let io_denied = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
    });
    let text = e
        .chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let sqlite_denied =
        text.contains("attempt to write a readonly database") || text.contains("Permission denied");
    (io_denied || sqlite_denied).then_some(
        "permission denied: this user may not open it; on a station the files belong to the \
         `flashline` user (`sudo -u flashline flashline …`)",
    )
}

/// Escapes control characters (a line break stays) and bounds the length.
pub fn printable(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().take(MAX_CHARS) {
        match c {
            '\n' => out.push('\n'),
            '\u{fffd}' => out.push('?'),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    if text.chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(parts: &[&str]) -> String {
        said_once(&parts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn each_cause_is_said_once() {
        assert_eq!(
            chain(&[
                "/x/bundle.toml: No such file or directory (os error 2)",
                "No such file or directory (os error 2)"
            ]),
            "/x/bundle.toml: No such file or directory (os error 2)"
        );
        assert_eq!(
            chain(&[
                "records /etc/shadow: file is not a database",
                "file is not a database",
                "Error code 26: file is not a database"
            ]),
            "records /etc/shadow: file is not a database"
        );
        assert_eq!(
            chain(&[
                "records /root: unable to open database file: /root",
                "unable to open database file: /root",
                "Error code 14: unable to open database file"
            ]),
            "records /root: unable to open database file: /root"
        );
        assert_eq!(
            chain(&["E-BUNDLE", "/x: no bundle here"]),
            "E-BUNDLE: /x: no bundle here"
        );
    }

    #[test]
    fn control_bytes_are_escaped() {
        let shown = printable("bad \u{1b}[31mred\u{7} \u{fffd}\u{fffd}\nnext");
        assert_eq!(shown, "bad \\u{1b}[31mred\\u{7} ??\nnext");
    }

    #[test]
    fn a_permission_problem_is_named() {
        let e = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
            .context("reading /etc/flashline/station.toml");
        assert!(
            error_text(&e).contains("permission denied"),
            "{}",
            error_text(&e)
        );
        let other = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(!error_text(&other).contains("permission"));
    }
}
