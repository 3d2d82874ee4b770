//! `/screen.png`: the station's OLED frame as it is now, light pixels on black, ×2.

use crate::core::ui::{Frame, HEIGHT, WIDTH};

const SCALE: u32 = 2;

pub fn png(frame: &Frame) -> Vec<u8> {
    let (w, h) = (WIDTH * SCALE, HEIGHT * SCALE);
    let mut pixels = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            pixels.push(if frame.get(x / SCALE, y / SCALE) {
                0xE8
            } else {
                0x00
            });
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let written = encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&pixels));
    if let Err(e) = written {
        log::warn!("dashboard: cannot encode the screen: {e}");
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ui::{frame_of, Notice, UiState};

    #[test]
    fn the_frame_becomes_a_png_of_twice_its_size() {
        let ui = UiState {
            notice: Some(Notice {
                title: "NOTICE".into(),
                lines: vec!["replica stopped".into()],
            }),
            ..UiState::default()
        };
        let bytes = png(&frame_of(&ui));
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (256, 128));
    }
}
