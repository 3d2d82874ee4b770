//! Everything that reaches a page from a database goes through `esc`: device IDs, reasons and
//! measurement replies come from boards and operators, and a reply like `<script>` is text.

/// HTML-escapes text for element content and quoted attribute values alike.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path segment for a link (`/unit/…`): only what an ID is made of passes, the rest is
/// percent-encoded.
pub fn path_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn opt(v: &Option<String>) -> String {
    esc(v.as_deref().unwrap_or(""))
}

pub fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |p| format!("{p:.1}%"))
}

pub fn num(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.1}"))
}

pub fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The page around a body: a small stylesheet, and the refresh a line lead's screen needs.
pub fn page(title: &str, refresh_s: Option<u32>, body: &str) -> String {
    let refresh = refresh_s
        .map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">"))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{refresh}\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        esc(title)
    )
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.2em 2em;color:#222;background:#fafafa}\
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin:1.2em 0 .4em}\
table{border-collapse:collapse;background:#fff}td,th{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:right}\
td:first-child,th:first-child{text-align:left}th{background:#eee}\
table[data-table=last] td,table[data-table=last] th,.kv td{text-align:left}\
.pass{color:#17823b;font-weight:600}.fail{color:#b42318;font-weight:600}\
.muted{color:#777}.charts{display:flex;gap:2em;flex-wrap:wrap}\
.card{background:#fff;border:1px solid #ddd;padding:.6em 1em}a{color:#1659a8}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_boards_cannot_become_markup() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(path_segment("e00f/../x y"), "e00f%2F..%2Fx%20y");
    }
}
