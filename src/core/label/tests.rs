use super::*;
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;

/// A bitmap to draw the preview into.
struct Dots {
    size: Size,
    on: Vec<bool>,
}

impl Dots {
    fn new(size: Size) -> Dots {
        Dots {
            size,
            on: vec![false; (size.width * size.height) as usize],
        }
    }
    fn count(&self, x: std::ops::Range<u32>, y: std::ops::Range<u32>) -> usize {
        y.flat_map(|y| x.clone().map(move |x| (x, y)))
            .filter(|(x, y)| self.on[(y * self.size.width + x) as usize])
            .count()
    }
}

impl OriginDimensions for Dots {
    fn size(&self) -> Size {
        self.size
    }
}

impl DrawTarget for Dots {
    type Color = BinaryColor;
    type Error = std::convert::Infallible;
    fn draw_iter<I: IntoIterator<Item = Pixel<BinaryColor>>>(
        &mut self,
        px: I,
    ) -> Result<(), Self::Error> {
        for Pixel(p, c) in px {
            if p.x >= 0
                && p.y >= 0
                && (p.x as u32) < self.size.width
                && (p.y as u32) < self.size.height
            {
                self.on[(p.y as u32 * self.size.width + p.x as u32) as usize] = c.is_on();
            }
        }
        Ok(())
    }
}

#[test]
fn the_default_label_of_a_unit_is_its_snapshot() {
    let zpl = LabelTemplate::builtin().render(&LabelFields::sample());
    let text = String::from_utf8(zpl).unwrap();
    let snapshot = include_str!("../../../tests/snapshots/label/sample.zpl");
    if text != snapshot && std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/snapshots/label/sample.zpl"
        );
        std::fs::write(path, &text).unwrap();
    }
    assert_eq!(text, snapshot, "UPDATE_SNAPSHOTS=1 rewrites it");
    assert!(text.contains("^FDWC-0001^FS") && text.contains("^FDMA,e00fce68f372fe94a3fad5fb^FS"));
}

#[test]
fn the_fields_of_a_unit_come_from_its_record() {
    let mut unit = UnitRecord::new("A");
    unit.device_id = Some("e00fce68f93275e93fc1f8f3".into());
    unit.trace.serial = Some("WC-0042".into());
    unit.trace.work_order = Some("WO-1".into());
    let f = LabelFields::of(
        &unit,
        ("wheelchair-ctl", "3.2.1"),
        "2026-12-01T08:00:00.000Z",
        Some(9),
    );
    assert_eq!(
        (f.serial.as_str(), f.date.as_str(), f.record.as_str()),
        ("WC-0042", "2026-12-01", "9")
    );
    assert_eq!(f.operator, "", "no operator logged in");
}

#[test]
fn a_scanned_value_cannot_end_its_field_or_start_a_command() {
    let fields = LabelFields {
        serial: "A^XZ~JA_1\n".into(),
        ..LabelFields::sample()
    };
    let zpl = LabelTemplate::builtin().render(&fields);
    let text = String::from_utf8(zpl.clone()).unwrap();
    assert!(text.contains("^FDA_5EXZ_7EJA_5F1^FS"), "{text}");
    assert_eq!(text.matches("^XZ").count(), 1);
    let layout = parse(&zpl);
    assert!(layout
        .elements
        .iter()
        .any(|e| matches!(e, Element::Text { text, .. } if text == "A^XZ~JA_1")));
}

#[test]
fn templates_are_checked_when_loaded() {
    let bad = |t: &str| LabelTemplate::parse(t, "label.zpl").unwrap_err();
    assert!(bad("^FO1,1^FDx^FS").contains("^XA"));
    assert!(bad("^XA^FO1,1^FH^FD{lot}^FS^XZ").contains("unknown placeholder {lot}"));
    let e = bad("^XA^FO1,1^A0N,20,20^FD{serial}^FS^XZ");
    assert!(e.contains("^FH") && e.contains("^FO1,1"), "{e}");
    assert!(LabelTemplate::parse(DEFAULT_TEMPLATE, "built-in").is_ok());
    assert!(LabelTemplate::parse(&"^XA".repeat(30_000), "x")
        .unwrap_err()
        .contains("larger"));
}

#[test]
fn the_layout_has_the_label_size_texts_box_and_qr_code() {
    let layout = parse(&LabelTemplate::builtin().render(&LabelFields::sample()));
    assert_eq!((layout.width, layout.height), (Some(406), Some(203)));
    let texts: Vec<&str> = layout
        .elements
        .iter()
        .filter_map(|e| match e {
            Element::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        [
            "WC-0001",
            "e00fce68f372fe94a3fad5fb",
            "example-argon 1.0.0",
            "2026-12-01",
            "WO-1"
        ]
    );
    assert!(
        layout.elements.iter().any(|e| matches!(e,
        Element::Qr { magnification: 4, ec: 'M', data, .. } if data == "e00fce68f372fe94a3fad5fb"))
    );
    assert_eq!(layout.not_drawn, ["^CI"]);
}

#[test]
fn the_preview_draws_the_box_the_text_and_the_qr_code_where_the_label_puts_them() {
    let layout = parse(&LabelTemplate::builtin().render(&LabelFields::sample()));
    let mut dots = Dots::new(preview_size(&layout));
    draw(&layout, &mut dots).unwrap();
    assert_eq!(dots.count(8..398, 8..10), 390 * 2, "the box's top edge");
    // A 24-byte ID is a version 2 QR code (25 modules) of 4-dot modules at (290, 82).
    let qr = dots.count(290..390, 82..182);
    assert!(
        (3_000..7_000).contains(&qr),
        "about half the modules are dark: {qr}"
    );
    assert_eq!(
        dots.count(290..318, 82..86),
        28 * 4,
        "the finder pattern's top row"
    );
    assert!(
        dots.count(20..120, 18..52) > 200,
        "the serial in large type"
    );
    assert_eq!(dots.count(300..396, 18..58), 0, "nothing beside the serial");
}

#[test]
fn printers_are_tcp_or_device_paths() {
    assert_eq!(
        PrinterAddr::parse("tcp://127.0.0.1:9100"),
        Ok(PrinterAddr::Tcp("127.0.0.1:9100".into()))
    );
    assert_eq!(
        PrinterAddr::parse("tcp://zebra-1"),
        Ok(PrinterAddr::Tcp("zebra-1:9100".into()))
    );
    assert_eq!(
        PrinterAddr::parse("/dev/usb/lp0"),
        Ok(PrinterAddr::Device("/dev/usb/lp0".into()))
    );
    assert!(PrinterAddr::parse("lp0")
        .unwrap_err()
        .contains("/dev/usb/lp0"));
    assert!(PrinterAddr::parse("tcp://").is_err());
}
