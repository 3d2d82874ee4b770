//! The display: the core renders a whole frame into memory, the adapter shows it. Keeping the
//! port this small means the SSD1306, the terminal and PNG screenshots all show the same bytes.

use crate::core::ui::Frame;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("display: {0}")]
pub struct DisplayError(pub String);

pub trait Display: Send {
    fn show(&mut self, frame: &Frame) -> Result<(), DisplayError>;
}
