//! docs/wiring.png, drawn from the example station.toml (systemd/station.toml): the Pi's
//! header with the OLED, START, FUNC, the fixture switch, the optional lights and buzzer, and
//! the powered USB hub. The test fails when the committed picture is not what this draws;
//! `UPDATE_SNAPSHOTS=1 cargo test --release --test wiring_picture` redraws it.

use embedded_graphics::mono_font::ascii::{FONT_10X20, FONT_6X10, FONT_7X13_BOLD};
use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Circle, Line, PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Baseline, Text};
use embedded_graphics_simulator::{OutputSettingsBuilder, SimulatorDisplay};
use flashline::core::config::StationConfig;

const PICTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/wiring.png");
const EXAMPLE: &str = include_str!("../systemd/station.toml");

/// The Raspberry Pi 40-pin header (Pi 2 and later): physical pin → what it is. GPIO pins are
/// BCM numbers, as station.toml takes them.
const HEADER: [(u8, Pad); 40] = {
    use Pad::*;
    [
        (1, V3),
        (2, V5),
        (3, Gpio(2)),
        (4, V5),
        (5, Gpio(3)),
        (6, Gnd),
        (7, Gpio(4)),
        (8, Gpio(14)),
        (9, Gnd),
        (10, Gpio(15)),
        (11, Gpio(17)),
        (12, Gpio(18)),
        (13, Gpio(27)),
        (14, Gnd),
        (15, Gpio(22)),
        (16, Gpio(23)),
        (17, V3),
        (18, Gpio(24)),
        (19, Gpio(10)),
        (20, Gnd),
        (21, Gpio(9)),
        (22, Gpio(25)),
        (23, Gpio(11)),
        (24, Gpio(8)),
        (25, Gnd),
        (26, Gpio(7)),
        (27, Gpio(0)),
        (28, Gpio(1)),
        (29, Gpio(5)),
        (30, Gnd),
        (31, Gpio(6)),
        (32, Gpio(12)),
        (33, Gpio(13)),
        (34, Gnd),
        (35, Gpio(19)),
        (36, Gpio(16)),
        (37, Gpio(26)),
        (38, Gpio(20)),
        (39, Gnd),
        (40, Gpio(21)),
    ]
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pad {
    V3,
    V5,
    Gnd,
    Gpio(u8),
}

fn pin_of(pad: Pad) -> u8 {
    HEADER
        .iter()
        .find(|(_, p)| *p == pad)
        .map(|(n, _)| *n)
        .unwrap()
}

#[test]
fn the_header_table_has_every_gpio_once() {
    for bcm in 0..=27 {
        let n = HEADER.iter().filter(|(_, p)| *p == Pad::Gpio(bcm)).count();
        assert_eq!(n, 1, "BCM {bcm}");
    }
    assert!(HEADER
        .iter()
        .enumerate()
        .all(|(i, (n, _))| *n as usize == i + 1));
    // I2C-1 is BCM 2 (SDA) and 3 (SCL): pins 3 and 5.
    assert_eq!((pin_of(Pad::Gpio(2)), pin_of(Pad::Gpio(3))), (3, 5));
}

/// The example with its commented-out `[lights]` block switched on.
fn example_with_lights() -> StationConfig {
    let mut on = false;
    let text: String = EXAMPLE
        .lines()
        .map(|l| {
            if l.starts_with("# [lights]") {
                on = true;
                return "[lights]".to_string();
            }
            if on && l.starts_with("# ") && l.contains(" = ") {
                return l[2..].to_string();
            }
            on = false;
            l.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    StationConfig::parse(&text).unwrap()
}

const W: u32 = 1000;
const H: u32 = 720;
const INK: Rgb888 = Rgb888::new(20, 20, 20);
const PAPER: Rgb888 = Rgb888::new(250, 250, 245);
const BOARD: Rgb888 = Rgb888::new(46, 125, 50);
const RED: Rgb888 = Rgb888::new(200, 40, 40);
const BLACK: Rgb888 = Rgb888::new(0, 0, 0);
const GREY: Rgb888 = Rgb888::new(120, 120, 120);
const BLUE: Rgb888 = Rgb888::new(30, 90, 200);
const AMBER: Rgb888 = Rgb888::new(230, 150, 0);
const GREEN: Rgb888 = Rgb888::new(40, 160, 60);
const PURPLE: Rgb888 = Rgb888::new(130, 60, 170);

type Canvas = SimulatorDisplay<Rgb888>;

fn text(d: &mut Canvas, s: &str, x: i32, y: i32, color: Rgb888) {
    Text::with_baseline(
        s,
        Point::new(x, y),
        MonoTextStyle::new(&FONT_6X10, color),
        Baseline::Top,
    )
    .draw(d)
    .unwrap();
}

fn title(d: &mut Canvas, s: &str, x: i32, y: i32) {
    Text::with_baseline(
        s,
        Point::new(x, y),
        MonoTextStyle::new(&FONT_7X13_BOLD, INK),
        Baseline::Top,
    )
    .draw(d)
    .unwrap();
}

fn boxed(d: &mut Canvas, x: i32, y: i32, w: u32, h: u32, color: Rgb888) {
    Rectangle::new(Point::new(x, y), Size::new(w, h))
        .into_styled(PrimitiveStyle::with_stroke(color, 2))
        .draw(d)
        .unwrap();
}

fn wire(d: &mut Canvas, points: &[(i32, i32)], color: Rgb888) {
    for w in points.windows(2) {
        Line::new(Point::new(w[0].0, w[0].1), Point::new(w[1].0, w[1].1))
            .into_styled(PrimitiveStyle::with_stroke(color, 2))
            .draw(d)
            .unwrap();
    }
}

/// Where a header pin's pad is: odd pins on the left column, even on the right.
fn pad_at(pin: u8) -> (i32, i32) {
    let row = (pin as i32 - 1) / 2;
    let x = if pin % 2 == 1 { 250 } else { 276 };
    (x, 110 + row * 26)
}

fn pad_label(pad: Pad) -> String {
    match pad {
        Pad::V3 => "3V3".into(),
        Pad::V5 => "5V".into(),
        Pad::Gnd => "GND".into(),
        Pad::Gpio(n) => format!("BCM{n}"),
    }
}

/// A wire from a header pin into the gap below its row (clear of the labels), out to the
/// right along it, then down its lane to `(x, y)`.
fn from_pin(d: &mut Canvas, pin: u8, lane: i32, to: (i32, i32), color: Rgb888) {
    let (px, py) = pad_at(pin);
    let gap = py + 13;
    wire(
        d,
        &[(px, py), (px, gap), (lane, gap), (lane, to.1), to],
        color,
    );
}

fn draw(c: &StationConfig) -> Canvas {
    let mut d = Canvas::new(Size::new(W, H));
    d.clear(PAPER).unwrap();
    Text::with_baseline(
        "flashline station wiring (systemd/station.toml)",
        Point::new(20, 14),
        MonoTextStyle::new(&FONT_10X20, INK),
        Baseline::Top,
    )
    .draw(&mut d)
    .unwrap();
    text(&mut d, "buttons and fixture switches: a contact to GND, the pin's internal pull-up holds it high (active-low);", 20, 44, INK);
    text(&mut d, "lights: the Pi's 3.3 V pins drive a transistor or relay board, never a lamp or buzzer directly.", 20, 58, INK);

    // The header.
    Rectangle::new(Point::new(170, 90), Size::new(190, 575))
        .into_styled(PrimitiveStyle::with_fill(BOARD))
        .draw(&mut d)
        .unwrap();
    title(&mut d, "Raspberry Pi", 190, 672);
    text(
        &mut d,
        "40-pin header (pin 1 at the top left)",
        150,
        690,
        INK,
    );
    for (pin, pad) in HEADER {
        let (x, y) = pad_at(pin);
        let color = match pad {
            Pad::V3 => RED,
            Pad::V5 => Rgb888::new(255, 120, 120),
            Pad::Gnd => BLACK,
            Pad::Gpio(_) => Rgb888::new(220, 220, 200),
        };
        Circle::with_center(Point::new(x, y), 12)
            .into_styled(PrimitiveStyle::with_fill(color))
            .draw(&mut d)
            .unwrap();
        let label = format!("{pin:>2} {}", pad_label(pad));
        let lx = if pin % 2 == 1 {
            x - 14 - 6 * label.len() as i32
        } else {
            x + 14
        };
        let label = if pin % 2 == 1 {
            format!("{} {pin:>2}", pad_label(pad))
        } else {
            label
        };
        text(&mut d, &label, lx, y - 5, Rgb888::new(240, 240, 240));
    }

    // The OLED on I2C-1.
    let (ox, oy) = (470, 90);
    boxed(&mut d, ox, oy, 200, 90, INK);
    Rectangle::new(Point::new(ox + 20, oy + 30), Size::new(128, 50))
        .into_styled(PrimitiveStyle::with_fill(BLACK))
        .draw(&mut d)
        .unwrap();
    title(&mut d, "SSD1306 OLED 128x64", ox + 6, oy + 6);
    text(
        &mut d,
        &format!("I2C 0x{:02X}", c.display.address),
        ox + 40,
        oy + 50,
        Rgb888::new(230, 230, 230),
    );
    let oled = [
        ("VCC", Pad::V3, RED),
        ("GND", Pad::Gnd, BLACK),
        ("SDA", Pad::Gpio(2), BLUE),
        ("SCL", Pad::Gpio(3), PURPLE),
    ];
    for (i, (name, pad, color)) in oled.iter().enumerate() {
        let y = oy + 14 + 18 * i as i32;
        text(&mut d, name, ox + 160, y - 4, INK);
        let pin = match pad {
            Pad::Gnd => 9,
            other => pin_of(*other),
        };
        from_pin(&mut d, pin, 330 + 8 * i as i32, (ox, y), *color);
    }
    text(
        &mut d,
        &format!("{} (I2C-1)", c.display.i2c),
        ox,
        oy + 96,
        INK,
    );

    // Buttons and the fixture switch, each to GND.
    let mut inputs = vec![
        ("START button".to_string(), c.buttons.start),
        ("FUNC button".to_string(), c.buttons.func),
    ];
    for s in &c.slots {
        if let Some(p) = s.fixture_pin {
            inputs.push((format!("fixture switch, slot {}", s.name), p));
        }
    }
    for (i, (name, bcm)) in inputs.iter().enumerate() {
        let y = 230 + 56 * i as i32;
        let x = 470;
        boxed(&mut d, x, y - 16, 250, 40, INK);
        title(&mut d, name, x + 8, y - 12);
        text(
            &mut d,
            &format!(
                "BCM {bcm} (pin {}) -- contact -- GND",
                pin_of(Pad::Gpio(*bcm))
            ),
            x + 8,
            y + 6,
            INK,
        );
        from_pin(
            &mut d,
            pin_of(Pad::Gpio(*bcm)),
            370 + 10 * i as i32,
            (x, y),
            GREY,
        );
    }
    text(
        &mut d,
        "one switch per slot, on its own GPIO",
        470,
        230 + 56 * inputs.len() as i32 - 10,
        INK,
    );

    // The optional lights, through a driver board.
    let l = &c.lights;
    let lamps = [
        ("green PASS", l.green, GREEN),
        ("amber busy", l.amber, AMBER),
        ("red FAIL", l.red, RED),
        ("buzzer on FAIL", l.buzzer, INK),
    ];
    let (lx, ly) = (470, 430);
    boxed(&mut d, lx, ly, 250, 150, INK);
    title(&mut d, "optional: [lights]", lx + 8, ly + 6);
    text(&mut d, "to a relay / MOSFET board", lx + 8, ly + 22, INK);
    for (i, (name, pin, color)) in lamps.iter().enumerate() {
        let Some(bcm) = pin else { continue };
        let y = ly + 50 + 24 * i as i32;
        Circle::with_center(Point::new(lx + 20, y), 14)
            .into_styled(PrimitiveStyle::with_fill(*color))
            .draw(&mut d)
            .unwrap();
        text(
            &mut d,
            &format!("{name}: BCM {bcm} (pin {})", pin_of(Pad::Gpio(*bcm))),
            lx + 34,
            y - 5,
            INK,
        );
        from_pin(
            &mut d,
            pin_of(Pad::Gpio(*bcm)),
            410 + 8 * i as i32,
            (lx, y),
            *color,
        );
    }
    text(
        &mut d,
        &format!(
            "active_low = {}: a lamp lights at the {} level",
            l.active_low,
            if l.active_low { "low" } else { "high" }
        ),
        lx,
        ly + 156,
        INK,
    );

    // USB: the Pi, a powered hub, a board per fixture.
    let (ux, uy) = (760, 90);
    title(&mut d, "USB, one board per slot", ux, uy);
    boxed(&mut d, ux, uy + 24, 210, 60, INK);
    title(&mut d, "powered USB hub", ux + 8, uy + 30);
    text(
        &mut d,
        "its own 5 V supply: a flashing",
        ux + 8,
        uy + 48,
        INK,
    );
    text(&mut d, "board must not brown out", ux + 8, uy + 60, INK);
    // The Pi's own USB-A ports, at the board's lower edge.
    Rectangle::new(Point::new(300, 630), Size::new(56, 26))
        .into_styled(PrimitiveStyle::with_fill(GREY))
        .draw(&mut d)
        .unwrap();
    text(&mut d, "USB", 316, 638, PAPER);
    wire(
        &mut d,
        &[(356, 643), (745, 643), (745, uy + 54), (ux, uy + 54)],
        BLUE,
    );
    text(&mut d, "the Pi's USB port to the hub", 500, 648, BLUE);
    for (i, s) in c
        .slots
        .iter()
        .chain(std::iter::once(&c.slots[0]))
        .take(2)
        .enumerate()
    {
        let y = uy + 110 + 90 * i as i32;
        let (name, port) = match i {
            0 => (
                format!("Argon, slot {}", s.name),
                s.usb_port.clone().unwrap_or_default(),
            ),
            _ => ("Argon, next slot".to_string(), "1-1.3".to_string()),
        };
        boxed(&mut d, ux + 20, y, 170, 56, BOARD);
        title(&mut d, &name, ux + 28, y + 6);
        text(
            &mut d,
            &format!("usb_port = \"{port}\""),
            ux + 28,
            y + 26,
            INK,
        );
        wire(&mut d, &[(ux + 105, uy + 84), (ux + 105, y)], BLUE);
    }
    let notes = [
        "Which hub port is which slot:",
        "plug one board into a fixture,",
        "run  flashline flash --list",
        "",
        "usb_port  platform mode   device ID",
        "1-1.2     argon    normal e00fce68...",
        "",
        "and put the usb_port of that",
        "fixture's board in its [[slot]].",
        "The path names the physical port:",
        "it stays with the fixture, not",
        "with the board.",
    ];
    for (i, n) in notes.iter().enumerate() {
        text(&mut d, n, ux, uy + 300 + 14 * i as i32, INK);
    }
    d
}

#[test]
fn the_wiring_picture_is_drawn_from_the_example_configuration() {
    let c = example_with_lights();
    let picture = draw(&c);
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("wiring.png");
    picture
        .to_rgb_output_image(&OutputSettingsBuilder::new().scale(1).build())
        .save_png(&fresh)
        .unwrap();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::copy(&fresh, PICTURE).unwrap();
    }
    let drawn = std::fs::read(&fresh).unwrap();
    let committed = std::fs::read(PICTURE).unwrap_or_default();
    assert!(
        drawn == committed,
        "docs/wiring.png is not what this test draws (UPDATE_SNAPSHOTS=1)"
    );
}
