//! `CiscoIPPhoneExecute`, the push container, and `CiscoIPPhoneError`.

use std::fmt;

use crate::error::Invalid;

use super::document::XmlObject;
use super::xml::{self, Doc};

/// When the phone runs an item. Phones honour it for HTTP URLs only; internal URIs always run
/// at once, but the attribute is still sent on every item, as Cisco's own examples do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Priority {
    /// 0: execute immediately.
    #[default]
    Immediate = 0,
    /// 1: execute when the user is idle.
    WhenIdle = 1,
    /// 2: execute only if the user is idle.
    IfIdle = 2,
}

impl Priority {
    /// From the number in the XML (0, 1 or 2; the XSD's 3 is not in the XSI notes).
    pub fn new(n: u8) -> Result<Priority, Invalid> {
        match n {
            0 => Ok(Priority::Immediate),
            1 => Ok(Priority::WhenIdle),
            2 => Ok(Priority::IfIdle),
            _ => Err(Invalid::new(
                "ExecuteItem Priority",
                n,
                "must be 0 (immediate), 1 (when idle) or 2 (if idle)",
            )),
        }
    }

    /// The number in the XML.
    pub const fn get(self) -> u8 {
        self as u8
    }
}

/// What an [`ExecuteItem`] runs: an HTTP(S) URL the phone fetches, or an internal URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExecuteUrl {
    /// `http://...` or `https://...`.
    Http(String),
    /// An internal URI such as `RTPRx:Stop` or `Key:Headset`.
    Internal(String),
}

fn has_http_scheme(s: &str) -> bool {
    let lower = |n: usize| s.get(..n).map(str::to_ascii_lowercase);
    lower(7).as_deref() == Some("http://") || lower(8).as_deref() == Some("https://")
}

impl ExecuteUrl {
    /// An HTTP or HTTPS URL, at most 256 characters.
    pub fn http(s: &str) -> Result<ExecuteUrl, Invalid> {
        let s = xml::url("ExecuteItem URL", s)?;
        if !has_http_scheme(&s) {
            return Err(Invalid::new(
                "ExecuteItem URL",
                &s,
                "an HTTP URL must start with http:// or https://",
            ));
        }
        Ok(ExecuteUrl::Http(s))
    }

    /// An internal URI (`Scheme:...`), at most 256 characters, not `Notify:`.
    pub fn internal(s: &str) -> Result<ExecuteUrl, Invalid> {
        let s = xml::url("ExecuteItem URL", s)?;
        if has_http_scheme(&s) {
            return Err(Invalid::new(
                "ExecuteItem URL",
                &s,
                "this is an HTTP URL: use ExecuteUrl::http",
            ));
        }
        let Some((scheme, _)) = s.split_once(':') else {
            return Err(Invalid::new(
                "ExecuteItem URL",
                &s,
                "an internal URI has the form Scheme:... (e.g. RTPRx:Stop)",
            ));
        };
        if scheme.is_empty() {
            return Err(Invalid::new(
                "ExecuteItem URL",
                &s,
                "an internal URI starts with its scheme (e.g. RTPRx:Stop)",
            ));
        }
        if scheme.eq_ignore_ascii_case("Notify") {
            return Err(Invalid::new(
                "ExecuteItem URL",
                &s,
                "Notify URIs are not supported inside CiscoIPPhoneExecute",
            ));
        }
        Ok(ExecuteUrl::Internal(s))
    }

    /// The URL or URI as written in the XML.
    pub fn as_str(&self) -> &str {
        match self {
            ExecuteUrl::Http(s) | ExecuteUrl::Internal(s) => s,
        }
    }

    /// Whether this is an HTTP(S) URL.
    pub fn is_http(&self) -> bool {
        matches!(self, ExecuteUrl::Http(_))
    }
}

impl fmt::Display for ExecuteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One item of an [`Execute`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExecuteItem {
    /// What to run.
    pub url: ExecuteUrl,
    /// When to run it.
    pub priority: Priority,
}

impl ExecuteItem {
    /// An item run with [`Priority::Immediate`].
    pub fn new(url: ExecuteUrl) -> ExecuteItem {
        ExecuteItem {
            url,
            priority: Priority::Immediate,
        }
    }
}

/// `CiscoIPPhoneExecute`: one to three items, at most one of them an HTTP URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execute {
    items: Vec<ExecuteItem>,
}

impl Execute {
    const ROOT: &'static str = "CiscoIPPhoneExecute";

    /// An Execute with its first item (an empty one is not valid).
    pub fn new(first: ExecuteItem) -> Execute {
        Execute { items: vec![first] }
    }

    /// An Execute from 1..=3 items.
    pub fn from_items(items: impl IntoIterator<Item = ExecuteItem>) -> Result<Execute, Invalid> {
        let mut items = items.into_iter();
        let Some(first) = items.next() else {
            return Err(Invalid::new(
                "CiscoIPPhoneExecute ExecuteItem count",
                0,
                "at least one ExecuteItem",
            ));
        };
        items.try_fold(Execute::new(first), Execute::item)
    }

    /// Add an item: "one HTTP URL plus two URIs, or three URIs".
    pub fn item(mut self, item: ExecuteItem) -> Result<Execute, Invalid> {
        xml::room("CiscoIPPhoneExecute ExecuteItem count", self.items.len(), 3)?;
        if item.url.is_http() && self.items.iter().any(|i| i.url.is_http()) {
            return Err(Invalid::new(
                "CiscoIPPhoneExecute ExecuteItem URL",
                item.url.as_str(),
                "at most one HTTP URL per Execute (one HTTP URL plus two URIs, or three URIs)",
            ));
        }
        self.items.push(item);
        Ok(self)
    }

    /// The items, in order.
    pub fn items(&self) -> &[ExecuteItem] {
        &self.items
    }
}

impl XmlObject for Execute {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        doc.open(Self::ROOT);
        for item in &self.items {
            doc.start("ExecuteItem")
                .attr("Priority", &item.priority.get().to_string())
                .attr("URL", item.url.as_str())
                .end_empty();
        }
        doc.close(Self::ROOT).finish()
    }
}

/// `CiscoIPPhoneError`: what a server answers when a phone's request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    number: u8,
}

impl Error {
    /// 1 parse error, 2 framing error, 3 internal file error, 4 authentication error.
    pub fn new(number: u8) -> Result<Error, Invalid> {
        Ok(Error {
            number: xml::in_range("CiscoIPPhoneError Number", number, 1, 4)?,
        })
    }

    /// The error number.
    pub const fn number(self) -> u8 {
        self.number
    }
}

impl XmlObject for Error {
    fn root(&self) -> &'static str {
        "CiscoIPPhoneError"
    }

    fn to_xml(&self) -> String {
        Doc::new()
            .start("CiscoIPPhoneError")
            .attr("Number", &self.number.to_string())
            .end_empty()
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xsi::object::{DECLARATION, Target};

    fn uri(s: &str) -> ExecuteItem {
        ExecuteItem::new(ExecuteUrl::internal(s).unwrap())
    }

    fn http(s: &str) -> ExecuteItem {
        ExecuteItem::new(ExecuteUrl::http(s).unwrap())
    }

    #[test]
    fn renders_cisco_example_shape() {
        let x = Execute::new(uri("Play:chime.raw"))
            .item(ExecuteItem {
                url: ExecuteUrl::http("http://server/textmessage.xml").unwrap(),
                priority: Priority::WhenIdle,
            })
            .unwrap();
        assert_eq!(
            x.to_xml(),
            format!(
                "{DECLARATION}<CiscoIPPhoneExecute>\
                 <ExecuteItem Priority=\"0\" URL=\"Play:chime.raw\"/>\
                 <ExecuteItem Priority=\"1\" URL=\"http://server/textmessage.xml\"/>\
                 </CiscoIPPhoneExecute>"
            )
        );
    }

    #[test]
    fn fourth_item_refused() {
        let x =
            Execute::from_items([uri("Key:Line1"), uri("Key:Line2"), uri("RTPRx:Stop")]).unwrap();
        let e = x.item(uri("RTPTx:Stop")).unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneExecute ExecuteItem count");
        assert!(Execute::from_items([]).is_err());
    }

    #[test]
    fn two_http_urls_refused() {
        let x = Execute::from_items([http("http://a/1"), uri("RTPRx:Stop")]).unwrap();
        let e = x.item(http("https://b/2")).unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneExecute ExecuteItem URL");
        assert!(e.rule.contains("one HTTP URL"), "{e}");
    }

    #[test]
    fn url_kinds_are_checked() {
        assert!(ExecuteUrl::http("HTTPS://x/").is_ok());
        assert!(ExecuteUrl::http("ftp://x/").is_err());
        assert!(ExecuteUrl::http("RTPRx:Stop").is_err());
        assert!(ExecuteUrl::internal("http://x/").is_err());
        assert!(ExecuteUrl::internal("Stop").is_err());
        assert!(ExecuteUrl::internal(":Stop").is_err());
        let e = ExecuteUrl::internal("Notify:http:host:80:path").unwrap_err();
        assert!(e.rule.contains("Notify"), "{e}");
        let long = format!("http://x/{}", "a".repeat(248));
        assert_eq!(long.len(), 257);
        assert!(ExecuteUrl::http(&long).is_err());
        assert!(ExecuteUrl::http(&long[..256]).is_ok());
    }

    #[test]
    fn priority_is_0_1_or_2() {
        assert_eq!(Priority::new(2).unwrap(), Priority::IfIdle);
        assert!(Priority::new(3).is_err());
        assert_eq!(Priority::default().get(), 0);
    }

    #[test]
    fn urls_are_escaped_in_attributes() {
        let x = Execute::new(http("http://a/?x=1&y='2'"));
        assert!(
            x.to_xml()
                .contains(r#"URL="http://a/?x=1&amp;y=&apos;2&apos;""#),
            "{}",
            x.to_xml()
        );
    }

    #[test]
    fn legacy_limit_is_512_bytes() {
        let long = |c: char| ExecuteUrl::internal(&format!("Dial:{}", c.to_string().repeat(200)));
        let x = Execute::from_items([
            ExecuteItem::new(long('1').unwrap()),
            ExecuteItem::new(long('2').unwrap()),
        ])
        .unwrap();
        let xml = x.to_xml_checked(Target::Phone).unwrap();
        assert!(xml.len() > 512);
        let e = x.to_xml_checked(Target::Legacy).unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneExecute document size");
        assert!(e.rule.contains("512"), "{e}");
        let small = Execute::new(uri("RTPRx:Stop"));
        assert!(small.to_xml_checked(Target::Legacy).is_ok());
    }

    #[test]
    fn error_number_is_1_to_4() {
        assert!(Error::new(0).is_err());
        assert!(Error::new(5).is_err());
        assert_eq!(
            Error::new(4).unwrap().to_xml(),
            format!("{DECLARATION}<CiscoIPPhoneError Number=\"4\"/>")
        );
    }
}
