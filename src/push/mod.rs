//! Sending to phones: HTTP POST of XML objects to `/CGI/Execute`, device pages over GET, and
//! the fan-out of one push to thousands of phones with a concurrency limit.
//!
//! Owns the wire details the phones are picky about (see `shared/reference/SOURCES.md`): an
//! `application/x-www-form-urlencoded` body `XML=<percent-encoded object>`, an explicit
//! Content-Length, no `Expect: 100-continue`, no chunking, basic auth. It turns every answer or
//! failure into a typed [`PushOutcome`]; what the XML means is [`crate::xsi`]'s business.

mod client;
mod outcome;
mod secret;

pub use client::{
    HttpReply, MAX_REPLY_BYTES, Phone, PushClient, PushConfig, TransportError, client_builder,
    form_body,
};
pub use outcome::PushOutcome;
pub use secret::Secret;

/// A source of credentials made for one push (zonecast serve's one-time credentials, checked by
/// its Authentication URL). The push client asks it for phones whose password is
/// [`Secret::minted`]; each attempt gets fresh credentials.
pub trait Credentials: Send + Sync {
    /// User and password for one push to `phone`, or `None` when this source cannot mint.
    fn mint(&self, phone: &Phone) -> Option<(String, Secret)>;
}
