//! The phones' XML Services Interface (XSI): what zonecast says to a phone and what it hears back.
//!
//! Pure code, no I/O: values are checked at construction, rendered to the exact strings and XML
//! documents the phones accept, and parsed back from what phones (and their callbacks) send.
//!
//! - [`uri`]: the internal URIs (`Key:`, `RTPRx:`, `Init:AppStatus` ...) as one [`uri::Uri`] enum.
//! - [`object`]: the XML objects (CiscoIPPhoneExecute, Text, Status, Menu, startMedia ...).
//! - [`response`]: parsers for replies, callbacks and device pages.
//! - [`xml`]: the one XML toolkit (escaping, the valid characters, the shared reader plumbing).
//! - [`model`]: what each phone model family supports; [`plan`] checks a push against it.
//! - [`query`]: the device pages a phone serves over GET (`/PortInformationX?n` ...), checked.
//! - [`request`]: what a phone receives (a `POST /CGI/Execute` body and its object), parsed the
//!   way a phone does; the emulator's reading of our pushes. [`object_limits`]: the item and
//!   length limits it holds a received object to.
//!
//! Sending is not here: that is `push`.

pub mod model;

pub use xml::predefined_entity;

pub mod object;
pub mod object_limits;
pub mod plan;
pub mod query;
pub mod request;
pub mod response;
pub mod uri;
pub mod xml;
