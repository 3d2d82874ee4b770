//! The SSD1306 OLED (128×64, I2C). The core hands over a finished `Frame`; this only copies it
//! into the driver's buffer and pushes it over the bus.

use embedded_hal::i2c::I2c;
use ssd1306::mode::BufferedGraphicsMode;
use ssd1306::prelude::{DisplayConfig, DisplayRotation, DisplaySize128x64, I2CInterface};
use ssd1306::{I2CDisplayInterface, Ssd1306};

use crate::core::ui::{Frame, HEIGHT, WIDTH};
use crate::ports::{Display, DisplayError};

type Driver<I> =
    Ssd1306<I2CInterface<I>, DisplaySize128x64, BufferedGraphicsMode<DisplaySize128x64>>;

pub struct OledDisplay<I> {
    driver: Driver<I>,
    initialized: bool,
    label: String,
}

impl<I> OledDisplay<I>
where
    I: I2c + Send,
{
    /// Talks to nothing yet: the display is initialized on the first `show`, so a station can
    /// start with the OLED unplugged. `label` names the device in errors ("/dev/i2c-1 0x3c").
    pub fn new(i2c: I, address: u8, label: &str) -> Self {
        let interface = I2CDisplayInterface::new_custom_address(i2c, address);
        OledDisplay {
            driver: Ssd1306::new(interface, DisplaySize128x64, DisplayRotation::Rotate0)
                .into_buffered_graphics_mode(),
            initialized: false,
            label: label.to_string(),
        }
    }

    fn push(&mut self, frame: &Frame) -> Result<(), DisplayError> {
        if !self.initialized {
            self.driver
                .init()
                .map_err(|e| DisplayError(format!("{}: init failed: {e:?}", self.label)))?;
            self.initialized = true;
        }
        // clear_buffer marks the whole screen dirty, so every show sends all 1024 bytes: a
        // display that lost power mid-run gets the full picture back, not just what changed.
        self.driver.clear_buffer();
        for y in 0..HEIGHT {
            for x in (0..WIDTH).filter(|&x| frame.get(x, y)) {
                self.driver.set_pixel(x, y, true);
            }
        }
        self.driver
            .flush()
            .map_err(|e| DisplayError(format!("{}: write failed: {e:?}", self.label)))
    }
}

impl<I> Display for OledDisplay<I>
where
    I: I2c + Send,
{
    fn show(&mut self, frame: &Frame) -> Result<(), DisplayError> {
        let result = self.push(frame);
        if result.is_err() {
            // A failed write usually means the display was unplugged; a replugged one powers up
            // blank and off, so the next show must send the init sequence again.
            self.initialized = false;
        }
        result
    }
}

/// Opens the I2C bus at `i2c_path` (e.g. "/dev/i2c-1") for an SSD1306 at `address` (0x3c or
/// 0x3d). Only the bus is opened here; whether the display answers shows on the first `show`.
pub fn open_linux_oled(
    i2c_path: &str,
    address: u8,
) -> Result<OledDisplay<linux_embedded_hal::I2cdev>, DisplayError> {
    let label = format!("{i2c_path} {address:#04x}");
    let i2c = linux_embedded_hal::I2cdev::new(i2c_path)
        .map_err(|e| DisplayError(format!("{label}: cannot open I2C bus: {e}")))?;
    Ok(OledDisplay::new(i2c, address, &label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::pixelcolor::BinaryColor;
    use embedded_graphics::prelude::*;
    use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
    use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource};
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction};

    const ADDR: u8 = 0x3c;
    const LABEL: &str = "/dev/i2c-1 0x3c";

    /// One command write: control byte 0x00 (Co=0, D/C#=0), then the command and its arguments.
    fn cmd(bytes: &[u8]) -> Transaction {
        Transaction::write(ADDR, [&[0x00], bytes].concat())
    }

    /// What ssd1306 0.10's `init()` sends for a 128×64 panel, Rotate0, horizontal addressing:
    /// one I2C write per command, in this order.
    fn init_sequence() -> Vec<Transaction> {
        vec![
            cmd(&[0xAE]),       // display off
            cmd(&[0xD5, 0x80]), // clock: oscillator frequency 8, divide ratio 1
            cmd(&[0xA8, 0x3F]), // multiplex ratio 64
            cmd(&[0xD3, 0x00]), // display offset 0
            cmd(&[0x40]),       // display start line 0
            cmd(&[0x8D, 0x14]), // charge pump on
            cmd(&[0x20, 0x00]), // memory addressing mode: horizontal
            cmd(&[0xDA, 0x12]), // COM pins: alternative, no left/right remap
            cmd(&[0xA1]),       // segment remap: column 127 drives SEG0
            cmd(&[0xC8]),       // COM scan direction: COM63 down to COM0
            cmd(&[0xD9, 0x21]), // pre-charge: phase 1 = 1 DCLK, phase 2 = 2 DCLK
            cmd(&[0x81, 0x5F]), // contrast 0x5F
            cmd(&[0xDB, 0x40]), // VCOMH deselect level (0x40: the crate's "auto", not in the table)
            cmd(&[0xA4]),       // entire display on: resume to RAM content
            cmd(&[0xA6]),       // normal display (not inverted)
            cmd(&[0x2E]),       // deactivate scroll
            cmd(&[0xAF]),       // display on
        ]
    }

    /// A full-screen flush: the address window, then GDDRAM in 16-byte writes behind control
    /// byte 0x40 (data). GDDRAM layout: byte `page * 128 + x`, page = y / 8, bit y % 8 (LSB top).
    fn frame_writes(gddram: &[u8; 1024]) -> Vec<Transaction> {
        let mut writes = vec![
            cmd(&[0x21, 0x00, 0x7F]), // column address: 0 to 127
            cmd(&[0x22, 0x00, 0x07]), // page address: 0 to 7
        ];
        let data = gddram.chunks(16).map(|c| [&[0x40], c].concat());
        writes.extend(data.map(|w| Transaction::write(ADDR, w)));
        writes
    }

    const BLANK: [u8; 1024] = [0; 1024];

    #[test]
    fn first_show_sends_the_init_sequence_then_the_whole_frame() {
        let mut i2c = Mock::new(&[init_sequence(), frame_writes(&BLANK)].concat());
        let mut oled = OledDisplay::new(i2c.clone(), ADDR, LABEL);
        assert_eq!(oled.show(&Frame::default()), Ok(()));
        i2c.done();
    }

    #[test]
    fn lit_pixels_land_in_their_page_bytes() {
        let mut frame = Frame::default();
        let on = BinaryColor::On;
        Pixel(Point::new(0, 0), on).draw(&mut frame).unwrap();
        Pixel(Point::new(5, 9), on).draw(&mut frame).unwrap();
        Rectangle::new(Point::new(120, 60), Size::new(8, 4))
            .into_styled(PrimitiveStyle::with_fill(on))
            .draw(&mut frame)
            .unwrap();

        let mut gddram = [0u8; 1024];
        gddram[0] = 0x01; // (0, 0): page 0, column 0, bit 0
        gddram[128 + 5] = 0x02; // (5, 9): page 1, column 5, bit 1
        gddram[7 * 128 + 120..].fill(0xF0); // rows 60..=63: page 7, bits 4..=7, columns 120..=127

        // Already initialized by the first show, so the second sends only the frame.
        let expected = [init_sequence(), frame_writes(&BLANK), frame_writes(&gddram)].concat();
        let mut i2c = Mock::new(&expected);
        let mut oled = OledDisplay::new(i2c.clone(), ADDR, LABEL);
        assert_eq!(oled.show(&Frame::default()), Ok(()));
        assert_eq!(oled.show(&frame), Ok(()));
        i2c.done();
    }

    #[test]
    fn a_nack_during_init_fails_the_show_and_the_next_show_reinitializes() {
        let nack = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
        // The mock checks the count: one init that dies on its first write, then one full init.
        let expected = [
            vec![cmd(&[0xAE]).with_error(nack)],
            init_sequence(),
            frame_writes(&BLANK),
        ]
        .concat();
        let mut i2c = Mock::new(&expected);
        let mut oled = OledDisplay::new(i2c.clone(), ADDR, LABEL);

        let err = oled.show(&Frame::default()).unwrap_err();
        assert!(err.0.starts_with("/dev/i2c-1 0x3c: init failed"), "{err}");
        assert_eq!(oled.show(&Frame::default()), Ok(()));
        i2c.done();
    }

    #[test]
    fn a_failed_flush_makes_the_next_show_reinitialize() {
        let unplugged = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
        let expected = [
            init_sequence(),
            vec![cmd(&[0x21, 0x00, 0x7F]).with_error(unplugged)],
            init_sequence(),
            frame_writes(&BLANK),
        ]
        .concat();
        let mut i2c = Mock::new(&expected);
        let mut oled = OledDisplay::new(i2c.clone(), ADDR, LABEL);

        let err = oled.show(&Frame::default()).unwrap_err();
        assert!(err.0.starts_with("/dev/i2c-1 0x3c: write failed"), "{err}");
        assert_eq!(oled.show(&Frame::default()), Ok(()));
        i2c.done();
    }

    #[test]
    fn open_linux_oled_fails_cleanly_without_the_bus() {
        // A path that cannot exist, so the test means the same on a Pi with /dev/i2c-1.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i2c-1");
        let path = path.to_str().unwrap();
        let err = open_linux_oled(path, 0x3c)
            .err()
            .expect("opening must fail");
        assert!(
            err.0.starts_with(&format!("{path} 0x3c: cannot open")),
            "{err}"
        );
    }
}
