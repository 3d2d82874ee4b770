//! What the operator sees: `UiState` → pixels on any `DrawTarget` (the OLED, a terminal,
//! a PNG). Pure: no display driver here.

mod frame;
mod render;
mod samples;
mod state;

pub use frame::{Frame, HEIGHT, WIDTH};
pub use render::render;
pub use samples::samples;
pub use state::{BundleLabel, Counters, MenuView, Notice, Screen, SlotPhase, SlotView, UiState};

/// Renders into a fresh frame.
pub fn frame_of(ui: &UiState) -> Frame {
    let mut frame = Frame::default();
    // Drawing into memory cannot fail.
    let Ok(()) = render(ui, &mut frame);
    frame
}
