//! The XML objects zonecast sends to phones, built so that only valid ones can exist.
//!
//! This module owns the rendering of every object the phones accept from a server:
//! the push container [`Execute`], the display objects ([`Menu`], [`Text`], [`Input`],
//! [`Directory`], [`Image`], [`ImageFile`], [`GraphicMenu`], [`GraphicFileMenu`], [`IconMenu`],
//! [`IconFileMenu`], [`Status`], [`StatusFile`]), the [`Error`] object, the RTP Streaming API
//! requests ([`StartMedia`], [`StopMedia`]) and the [`GetDeviceCaps`] query, and the phone's own
//! answer [`PhoneResponse`] (the emulator sends it).
//!
//! Every limit is checked when a value is set, with an [`Invalid`](crate::error::Invalid) naming the object and field
//! (`CiscoIPPhoneMenu MenuItem count`, `CiscoIPPhoneStatus Text` ...). The limits follow Cisco's
//! `CiscoIpPhoneServices.xsd` where it defines the object, and the XSI notes where they are
//! stricter (three Execute items with at most one HTTP URL, no `Notify:` inside Execute, 32 icon
//! menu items). Text is escaped (`& " ' < >`) and characters XML 1.0 cannot carry are refused,
//! so a rendered document always parses and says exactly what the caller gave.
//!
//! Rendering is [`XmlObject::to_xml`]: a complete document, declaration included. Pushes have a
//! byte budget (40 KB over HTTP POST, counted on the form-encoded body; 512 bytes over JTAPI),
//! checked by [`XmlObject::to_xml_checked`] for a [`Target`].
//!
//! Parsing what phones send back is not here: that is [`crate::xsi::response`].
//!
//! Files: `document` (the [`XmlObject`] trait and the [`Target`] budget), `xml` (the declaration
//! and the text checks every object shares), `common` (menu items, soft keys, bitmaps, touch
//! areas), `execute` ([`Execute`] and [`Error`]), `form` ([`Text`], [`Input`]), `menu` (the menus
//! and the [`Directory`]), `graphic` (images, graphic menus, [`Status`]), `window`
//! ([`WindowMode`] of the graphic menus), `media` ([`StartMedia`], [`StopMedia`],
//! [`GetDeviceCaps`]), `response` ([`PhoneResponse`], a phone's CiscoIPPhoneResponse, and where
//! Cisco's phones break the XSD's 32-character `Data`).

mod common;
mod document;
mod execute;
mod form;
mod graphic;
mod media;
mod menu;
mod response;
mod window;
mod xml;

pub use common::{Bitmap, MenuItem, SoftKeyItem, TouchArea};
pub use document::{FORM_FIELD, Target, XmlObject, form_encoded_len, root_name};
pub use execute::{Error, Execute, ExecuteItem, ExecuteUrl, Priority};
pub use form::{AppEvents, Input, InputFlags, InputItem, InputKind, Text};
pub use graphic::{GraphicFileMenu, GraphicMenu, Image, ImageFile, Status, StatusFile};
pub use media::{Codec, GetDeviceCaps, MediaMode, MediaType, StartMedia, StopMedia};
pub use menu::{Directory, DirectoryEntry, IconFileItem, IconFileMenu, IconItem, IconMenu, Menu};
pub use response::{PhoneResponse, ResponseRow};
pub use window::WindowMode;
pub use xml::DECLARATION;
