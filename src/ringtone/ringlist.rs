//! `CiscoIPPhoneRingList`. (Owned by the ringtone-core helper: fill in, keep the signatures.)

/// Rings per list.
pub const MAX_RINGS: usize = 50;
/// Characters of a DisplayName or FileName.
pub const MAX_NAME: usize = 25;

/// One ring.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ring {
    /// `<DisplayName>`.
    pub display_name: String,
    /// `<FileName>`.
    pub file_name: String,
}

/// A ring list.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RingList {
    /// The rings in order.
    pub rings: Vec<Ring>,
}

/// Parse a ring list as found on TFTP servers (CRLF, Latin-1 or UTF-8, with or without an XML
/// declaration). Errors say what is wrong.
pub fn parse_ring_list(xml: &[u8]) -> Result<RingList, String> {
    let _ = xml;
    todo!()
}

/// Render a ring list (CRLF like the originals), escaping, truncating names to
/// [`MAX_NAME`] and the list to [`MAX_RINGS`]; the warnings say what was cut.
pub fn render_ring_list(list: &RingList) -> (String, Vec<String>) {
    let _ = list;
    todo!()
}
