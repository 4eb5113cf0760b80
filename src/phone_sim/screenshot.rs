//! `/CGI/Screenshot`: a PNG of what the phone's screen shows. (Owned by the pages helper: fill
//! in; keep the signatures.)

/// What is on the screen, top to bottom.
#[derive(Debug, Clone, Default)]
pub struct ScreenView {
    /// Display width, px.
    pub width: u16,
    /// Display height, px.
    pub height: u16,
    /// Colour display (else greyscale).
    pub color: bool,
    /// Lines of text: title, prompt, body, menu items, the status banner ...
    pub lines: Vec<String>,
    /// Display switched off (`Display:Off`): a black screen.
    pub off: bool,
}

/// Render the screen as a PNG (8-bit RGB or greyscale).
pub fn screenshot_png(view: &ScreenView) -> Vec<u8> {
    let _ = view;
    todo!()
}
