//! What every object shares as a document: the [`XmlObject`] trait that renders one, and the
//! [`Target`] whose byte budget a pushed document must fit (40 KB over HTTP, 512 bytes over JTAPI).

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
