//! Parsers for everything a phone sends back: replies to a push, startMedia replies, the
//! callbacks a phone POSTs to us, getDeviceCaps replies and the `...X` device pages.
//!
//! This module owns reading, never sending or deciding: every parser is a pure function from the
//! bytes (or text) as received to a typed value or a [`ParseError`]. They are deliberately
//! tolerant, because phones and Cisco's own documentation send XML that a strict parser refuses:
//! duplicated or missing XML declarations, ISO-8859-1 bodies, bare `&` in text, typographic
//! quotes where attribute quotes belong, unclosed elements, CRLF and stray whitespace. They are
//! also bounded: documents over [`MAX_DOCUMENT_BYTES`] or nested deeper than [`MAX_DEPTH`] are
//! refused before any work is done, and no input makes them panic.
//!
//! - [`execute`]: `CiscoIPPhoneResponse` / `CiscoIPPhoneError` → [`ExecuteReply`].
//! - [`media`]: startMedia's `<mediaStream id=".."/>` or `<errorResponse>` → [`MediaReply`].
//! - [`callback`]: `DATA=<notifyMediaEvent ...>` and friends → [`Callback`].
//! - [`caps`]: `getDeviceCapsResponse` → [`DeviceCaps`].
//! - [`device_page`]: DeviceInformationX, StreamingStatisticsX ... → [`DevicePage`].
//!
//! The shared lenient XML reader lives in the private `xml` submodule; the error and the bounds
//! in the private `error` submodule.

pub mod callback;
pub mod caps;
pub mod device_page;
mod error;
pub mod execute;
pub mod media;
mod xml;

pub use callback::{AppEventType, Callback, MediaEventType, parse_callback};
pub use caps::{DeviceCaps, DisplayCaps, parse_device_caps};
pub use device_page::{DevicePage, DevicePageKind, StreamingStats, parse_device_page};
pub use error::{MAX_DEPTH, MAX_DOCUMENT_BYTES, ParseError};
pub use execute::{ExecuteReply, ItemStatus, PhoneError, ResponseItem, parse_execute_reply};
pub use media::{MediaError, MediaErrorType, MediaReply, MediaStarted, parse_media_reply};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all_parsers(input: &[u8]) {
        let _ = parse_execute_reply(input);
        let _ = parse_media_reply(input);
        let _ = parse_callback(input);
        let _ = parse_device_caps(input);
        let _ = parse_device_page(input);
    }

    proptest! {
        #[test]
        fn no_bytes_make_a_parser_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            all_parsers(&input);
        }

        #[test]
        fn no_xmlish_text_makes_a_parser_panic(
            input in "(<|>|/|=|\"|'|&|;|#|x|%|\\?|!|-|\\[|CDATA|DATA=|\u{201D}|\u{e9}|a|CiscoIPPhoneResponse|ResponseItem|Status|mediaStream|id| |\r\n){0,60}"
        ) {
            all_parsers(input.as_bytes());
        }
    }

    #[test]
    fn every_parser_refuses_oversized_input() {
        let big = vec![b'<'; MAX_DOCUMENT_BYTES + 1];
        let too_large = |r: Result<(), ParseError>| matches!(r, Err(ParseError::TooLarge { .. }));
        assert!(too_large(parse_execute_reply(&big).map(drop)));
        assert!(too_large(parse_media_reply(&big).map(drop)));
        assert!(too_large(parse_callback(&big).map(drop)));
        assert!(too_large(parse_device_caps(&big).map(drop)));
        assert!(too_large(parse_device_page(&big).map(drop)));
    }
}
