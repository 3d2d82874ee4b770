//! What the operator sees: `UiState` → pixels on any `DrawTarget` (the OLED, a terminal,
//! a PNG). Pure: no display driver here.

mod frame;
mod grid;
mod render;
mod samples;
mod state;
mod text;

pub use frame::{Frame, HEIGHT, WIDTH};
pub use render::{render, short_id};
pub use samples::{samples, SampleBundle};
pub use state::{
    BundleLabel, Counters, LineView, MenuView, Notice, PortView, Screen, SlotPhase, SlotView,
    TraceView, UiState,
};
pub use text::fit;
pub(crate) use text::Scaled;

/// Renders into a fresh frame.
pub fn frame_of(ui: &UiState) -> Frame {
    let mut frame = Frame::default();
    // Drawing into memory cannot fail.
    let Ok(()) = render(ui, &mut frame);
    frame
}
