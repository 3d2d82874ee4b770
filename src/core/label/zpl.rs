//! Reading back the ZPL a label template lays out — the handful of commands a label of text,
//! boxes and a 2D code uses — for the preview and for the template's checks. Commands it
//! does not draw are listed, not guessed at.

/// What one label lays out, in printer dots.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    /// `^PW` / `^LL`, when given.
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub elements: Vec<Element>,
    /// Commands seen but not drawn (`^CI`, `^PQ`, …), once each.
    pub not_drawn: Vec<String>,
    /// The first field with a `{placeholder}` in its data but no `^FH`.
    pub unescaped_placeholder: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    /// `^A0N,h,w` (or `^CF`) text at `^FO`.
    Text {
        x: i32,
        y: i32,
        height: u32,
        width: u32,
        text: String,
    },
    /// `^GBw,h,t`: a box with a border `t` dots thick (filled when `t` reaches the middle).
    Box {
        x: i32,
        y: i32,
        width: u32,
        height: u32,
        thickness: u32,
    },
    /// `^BQN,2,m` with `^FD<ec>A,<data>`: a QR code of `m`-dot modules.
    Qr {
        x: i32,
        y: i32,
        magnification: u32,
        ec: char,
        data: String,
    },
    /// `^BXN,h`: a DataMatrix of `h`-dot modules (the preview marks its place).
    DataMatrix {
        x: i32,
        y: i32,
        module: u32,
        data: String,
    },
}

#[derive(Default)]
struct Field {
    x: i32,
    y: i32,
    hex: bool,
    barcode: Option<(char, Vec<u32>)>,
    /// The commands of the field as written, for messages.
    text: String,
}

/// Parses one label (`^XA` … `^XZ`); bytes past the first `^XZ` are ignored.
pub fn parse(bytes: &[u8]) -> Layout {
    let text = String::from_utf8_lossy(bytes);
    let mut layout = Layout::default();
    let (mut home_x, mut home_y) = (0, 0);
    let mut font = (30u32, 30u32);
    let mut field = Field::default();
    for (cmd, args) in commands(&text) {
        let nums = || -> Vec<u32> {
            args.split(',')
                .map(|a| a.trim().parse().unwrap_or(0))
                .collect()
        };
        let num = |i: usize| nums().get(i).copied().unwrap_or(0);
        field.text.push_str(&format!("^{cmd}{args}"));
        match cmd.as_str() {
            "XA" => {}
            "XZ" => break,
            "PW" => layout.width = Some(num(0)),
            "LL" => layout.height = Some(num(0)),
            "LH" => (home_x, home_y) = (num(0) as i32, num(1) as i32),
            "FO" | "FT" => {
                field = Field {
                    x: home_x + num(0) as i32,
                    y: home_y + num(1) as i32,
                    text: format!("^{cmd}{args}"),
                    ..Field::default()
                }
            }
            "FH" => field.hex = true,
            "CF" => font = font_size(&nums()[1..], font),
            c if c.starts_with('A') => {
                // `^A0N,h,w`: the command is `A` + font name, the first argument the
                // orientation.
                let n: Vec<u32> = args
                    .split(',')
                    .skip(1)
                    .map(|a| a.trim().parse().unwrap_or(0))
                    .collect();
                font = font_size(&n, font);
            }
            "GB" => {
                let n = nums();
                let at = |i: usize, default: u32| {
                    n.get(i).copied().filter(|v| *v > 0).unwrap_or(default)
                };
                let thickness = at(2, 1);
                layout.elements.push(Element::Box {
                    x: field.x,
                    y: field.y,
                    width: at(0, thickness),
                    height: at(1, thickness),
                    thickness,
                });
            }
            "BQ" => field.barcode = Some(('Q', nums())),
            "BX" => {
                field.barcode = Some((
                    'X',
                    args.split(',')
                        .skip(1)
                        .map(|a| a.trim().parse().unwrap_or(0))
                        .collect(),
                ))
            }
            "FD" => {
                if args.contains('{') && !field.hex && layout.unescaped_placeholder.is_none() {
                    layout.unescaped_placeholder = Some(field.text.clone());
                }
                let data = if field.hex {
                    unhex(&args)
                } else {
                    args.clone()
                };
                layout.elements.push(element(&field, font, data));
            }
            "FS" => field = Field::default(),
            other => {
                let name = format!("^{other}");
                if !layout.not_drawn.contains(&name) {
                    layout.not_drawn.push(name);
                }
            }
        }
    }
    layout
}

fn element(field: &Field, font: (u32, u32), data: String) -> Element {
    match &field.barcode {
        Some(('Q', n)) => {
            // `^FD` of a QR code: error correction (H, Q, M, L), input mode, a comma, data.
            let mut chars = data.chars();
            let (ec, mode, comma) = (chars.next(), chars.next(), chars.next());
            let (ec, payload) = match (ec, mode, comma) {
                (Some(ec), Some('A' | 'M'), Some(',')) => (ec, data[3..].to_string()),
                _ => ('Q', data),
            };
            Element::Qr {
                x: field.x,
                y: field.y,
                magnification: n.get(2).copied().filter(|m| *m > 0).unwrap_or(2),
                ec,
                data: payload,
            }
        }
        Some((_, n)) => Element::DataMatrix {
            x: field.x,
            y: field.y,
            module: n.first().copied().filter(|m| *m > 0).unwrap_or(4),
            data,
        },
        None => Element::Text {
            x: field.x,
            y: field.y,
            height: font.0,
            width: font.1,
            text: data,
        },
    }
}

fn font_size(n: &[u32], current: (u32, u32)) -> (u32, u32) {
    let h = n.first().copied().filter(|v| *v > 0).unwrap_or(current.0);
    let w = n.get(1).copied().filter(|v| *v > 0).unwrap_or(h);
    (h, w)
}

/// `^FH` data: `_` and two hex digits stand for one byte.
fn unhex(data: &str) -> String {
    let bytes = data.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'_', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `^XX args` pairs (`~` commands too). Field data runs to the next `^` — with `^FH` a `^`
/// inside a value is `_5E`, so it never ends a field early.
fn commands(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(['^', '~']) {
        let body = &rest[start + 1..];
        // Every command name is two characters (`^A0` is font `0` of `^A`).
        let name_len = body.char_indices().nth(2).map_or(body.len(), |(i, _)| i);
        let name: String = body[..name_len].to_uppercase();
        let after = &body[name_len..];
        let end = after.find(['^', '~']).unwrap_or(after.len());
        let args = if name == "FD" {
            after[..end].to_string()
        } else {
            after[..end].trim().to_string()
        };
        out.push((name, args));
        rest = &after[end..];
    }
    out
}
