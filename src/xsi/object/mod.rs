//! The XML objects zonecast sends to phones, built so that only valid ones can exist.
//!
//! This module owns the rendering of every object the phones accept from a server:
//! the push container [`Execute`], the display objects ([`Menu`], [`Text`], [`Input`],
//! [`Directory`], [`Image`], [`ImageFile`], [`GraphicMenu`], [`GraphicFileMenu`], [`IconMenu`],
//! [`IconFileMenu`], [`Status`], [`StatusFile`]), the [`Error`] object, and the RTP Streaming API
//! requests ([`StartMedia`], [`StopMedia`]) and the [`GetDeviceCaps`] query.
//!
//! Every limit is checked when a value is set, with an [`Invalid`] naming the object and field
//! (`CiscoIPPhoneMenu MenuItem count`, `CiscoIPPhoneStatus Text` ...). The limits follow Cisco's
//! `CiscoIpPhoneServices.xsd` where it defines the object, and the XSI notes where they are
//! stricter (three Execute items with at most one HTTP URL, no `Notify:` inside Execute, 32 icon
//! menu items). Text is escaped (`& " ' < >`) and characters XML 1.0 cannot carry are refused,
//! so a rendered document always parses and says exactly what the caller gave.
//!
//! Rendering is [`XmlObject::to_xml`]: a complete document, declaration included. Pushes have a
//! byte budget (40 KB over HTTP POST, 512 bytes over JTAPI), checked by
//! [`XmlObject::to_xml_checked`] for a [`Target`].
//!
//! Parsing what phones send back is not here: that is [`crate::xsi::response`].

mod common;
mod execute;
mod form;
mod graphic;
mod media;
mod menu;
mod xml;

pub use common::{Bitmap, MenuItem, SoftKeyItem, TouchArea};
pub use execute::{Error, Execute, ExecuteItem, ExecuteUrl, Priority};
pub use form::{AppEvents, Input, InputFlags, InputItem, InputKind, Text};
pub use graphic::{GraphicFileMenu, GraphicMenu, Image, ImageFile, Status, StatusFile};
pub use media::{Codec, GetDeviceCaps, MediaMode, MediaType, StartMedia, StopMedia};
pub use menu::{Directory, DirectoryEntry, IconFileItem, IconFileMenu, IconItem, IconMenu, Menu};
pub use xml::DECLARATION;

use crate::error::Invalid;

/// Where a document is going, which decides how large it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// HTTP POST to `/CGI/Execute` or an HTTP GET reply: "limited to 40 Kbytes".
    Phone,
    /// JTAPI pushes and legacy phones: "limited to a maximum size of 512 bytes".
    Legacy,
}

impl Target {
    /// The largest document, in bytes of UTF-8, this target accepts.
    pub const fn max_bytes(self) -> usize {
        match self {
            Target::Phone => 40960,
            Target::Legacy => 512,
        }
    }

    fn rule(self) -> String {
        match self {
            Target::Phone => format!(
                "an HTTP POST object must be at most {} bytes",
                self.max_bytes()
            ),
            Target::Legacy => format!(
                "a JTAPI/legacy pushed object must be at most {} bytes",
                self.max_bytes()
            ),
        }
    }
}

/// One XML object the phones understand.
pub trait XmlObject {
    /// The root element's name, e.g. `CiscoIPPhoneExecute` or `startMedia`.
    fn root(&self) -> &'static str;

    /// The complete document: the XML declaration (UTF-8 named), then the object.
    fn to_xml(&self) -> String;

    /// [`XmlObject::to_xml`], refused when the document is larger than `target` accepts.
    ///
    /// The size is counted in bytes because the phones' limit is on the HTTP body, and
    /// non-ASCII text takes several bytes per character in UTF-8.
    fn to_xml_checked(&self, target: Target) -> Result<String, Invalid> {
        let xml = self.to_xml();
        if xml.len() > target.max_bytes() {
            return Err(Invalid::new(
                format!("{} document size", self.root()),
                format!("{} bytes", xml.len()),
                target.rule(),
            ));
        }
        Ok(xml)
    }
}
