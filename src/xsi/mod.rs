//! The phones' XML Services Interface (XSI): what zonecast says to a phone and what it hears back.
//!
//! Pure code, no I/O: values are checked at construction, rendered to the exact strings and XML
//! documents the phones accept, and parsed back from what phones (and their callbacks) send.
//!
//! - [`uri`]: the internal URIs (`Key:`, `RTPRx:`, `Init:AppStatus` ...) as one [`uri::Uri`] enum.
//! - [`object`]: the XML objects (CiscoIPPhoneExecute, Text, Status, Menu, startMedia ...).
//! - [`response`]: parsers for replies, callbacks and device pages.
//! - [`model`]: what each phone model family supports; [`plan`] checks a push against it.
//!
//! Sending is not here: that is `push`.

pub mod model;

/// The character of one of XML's five predefined entities (`amp`, `lt`, `gt`, `quot`, `apos`).
pub fn predefined_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

pub mod object;
pub mod plan;
pub mod request;
pub mod response;
pub mod uri;
