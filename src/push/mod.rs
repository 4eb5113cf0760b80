//! Sending to phones: HTTP POST of XML objects to `/CGI/Execute`, device pages over GET, and
//! the fan-out of one push to thousands of phones with a concurrency limit.
//!
//! Owns the wire details the phones are picky about (see `shared/reference/SOURCES.md`): an
//! `application/x-www-form-urlencoded` body `XML=<percent-encoded object>`, an explicit
//! Content-Length, no `Expect: 100-continue`, no chunking, basic auth. It turns every answer or
//! failure into a typed [`PushOutcome`]; what the XML means is [`crate::xsi`]'s business.
//!
//! Submodules: `client` (the one HTTP client, the semaphore, retries), `exchange` (what one
//! exchange gave back, unjudged), `outcome` ([`PushOutcome`], the one judgement), `secret`
//! ([`Secret`] passwords).

mod client;
mod exchange;
mod outcome;
mod secret;

pub use client::{
    Credentials, Phone, PushClient, PushConfig, checked_form_body, client_builder, form_body,
};
pub use exchange::{HttpReply, MAX_REPLY_BYTES, TransportError};
pub use outcome::PushOutcome;
pub use secret::Secret;
