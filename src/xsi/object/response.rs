//! `CiscoIPPhoneResponse`, the phone's answer to a pushed `CiscoIPPhoneExecute`: one
//! `ResponseItem` per executed item, built here so that the phone emulator answers with a
//! document Cisco's XSD accepts (reading one is [`crate::xsi::response`]'s).
//!
//! The XSD's rules: 1..=3 `ResponseItem`s, each with a `Status` (`xsd:short`), a `Data`
//! attribute and an optional `URL` of at most 256 characters. It also limits `Data` to 32
//! characters, which Cisco's own phones break: the 8821's documented answer to `Device:PRTStatus`
//! is `Data="There is no pending PRT invoked from XSI"` (40 characters, in
//! `shared/reference/cisco-doc-execute-response-examples.xml`), and its `Generated PRT at
//! https://...` is longer still. A builder that refused them could not say what a phone says, so
//! `Data` is limited only to what XML can carry; `tests/xsi_objects_xsd.rs` shows both sides.
//!
//! Phones write the attributes in the order `URL`, `Data`, `Status`, one item per line with CRLF
//! line ends and no declaration: [`PhoneResponse::to_phone_xml`] writes exactly that;
//! [`XmlObject::to_xml`] puts the declaration in front.

use crate::error::Invalid;

use super::document::XmlObject;
use super::xml::{self, DECLARATION, escape_into};

/// Items in one response, as in one `CiscoIPPhoneExecute` (the XSD's `maxOccurs="3"`).
const MAX_ITEMS: usize = 3;
/// Longest `URL` attribute (the XSD's and the ExecuteItem's limit).
const MAX_URL: usize = 256;

/// One `<ResponseItem URL=".." Data=".." Status=".."/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseRow {
    url: String,
    data: String,
    status: i16,
}

impl ResponseRow {
    /// The answer for the item `url` (empty for a pushed display object, as phones send it):
    /// `status` (0 success, 1 parse error, 6 internal error) and its `data` (`Success`,
    /// `Invalid URI` ...). The URL is at most 256 characters; both carry only XML characters.
    pub fn new(url: &str, status: i16, data: &str) -> Result<ResponseRow, Invalid> {
        Ok(ResponseRow {
            url: xml::text("ResponseItem URL", url, MAX_URL)?,
            data: xml::text("ResponseItem Data", data, usize::MAX)?,
            status,
        })
    }

    /// The item's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its `Data`.
    pub fn data(&self) -> &str {
        &self.data
    }

    /// Its `Status`.
    pub fn status(&self) -> i16 {
        self.status
    }
}

/// A `CiscoIPPhoneResponse` of 1..=3 items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneResponse {
    items: Vec<ResponseRow>,
}

impl PhoneResponse {
    /// A response with these items, in the order given (phones do not keep the request's).
    pub fn new(items: impl IntoIterator<Item = ResponseRow>) -> Result<PhoneResponse, Invalid> {
        let items: Vec<ResponseRow> = items.into_iter().collect();
        if !(1..=MAX_ITEMS).contains(&items.len()) {
            return Err(Invalid::new(
                "CiscoIPPhoneResponse ResponseItem count",
                items.len(),
                format!("must be 1..={MAX_ITEMS}, one per ExecuteItem"),
            ));
        }
        Ok(PhoneResponse { items })
    }

    /// The items.
    pub fn items(&self) -> &[ResponseRow] {
        &self.items
    }

    /// The bytes a phone sends: no declaration, one item per line, CRLF line ends, the
    /// attributes in the order `URL`, `Data`, `Status`.
    pub fn to_phone_xml(&self) -> String {
        let mut out = String::from("<CiscoIPPhoneResponse>\r\n");
        for item in &self.items {
            out.push_str("<ResponseItem URL=\"");
            escape_into(&mut out, &item.url);
            out.push_str("\" Data=\"");
            escape_into(&mut out, &item.data);
            out.push_str("\" Status=\"");
            out.push_str(&item.status.to_string());
            out.push_str("\"/>\r\n");
        }
        out.push_str("</CiscoIPPhoneResponse>\r\n");
        out
    }
}

impl XmlObject for PhoneResponse {
    fn root(&self) -> &'static str {
        "CiscoIPPhoneResponse"
    }

    fn to_xml(&self) -> String {
        format!("{DECLARATION}{}", self.to_phone_xml())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xsi::response::{ExecuteReply, parse_execute_reply};

    fn row(url: &str, status: i16, data: &str) -> ResponseRow {
        ResponseRow::new(url, status, data).unwrap()
    }

    #[test]
    fn writes_what_phones_write_and_reads_back() {
        let r = PhoneResponse::new([
            row("Key:Headset", 0, "Success"),
            row("Dial:<&\">", 1, "Invalid URI"),
        ])
        .unwrap();
        assert_eq!(
            r.to_phone_xml(),
            "<CiscoIPPhoneResponse>\r\n\
             <ResponseItem URL=\"Key:Headset\" Data=\"Success\" Status=\"0\"/>\r\n\
             <ResponseItem URL=\"Dial:&lt;&amp;&quot;&gt;\" Data=\"Invalid URI\" Status=\"1\"/>\r\n\
             </CiscoIPPhoneResponse>\r\n"
        );
        assert!(r.to_xml().starts_with(DECLARATION));
        let Ok(ExecuteReply::Response(items)) = parse_execute_reply(r.to_xml().as_bytes()) else {
            panic!("not a response");
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].url, "Dial:<&\">");
    }

    #[test]
    fn one_to_three_items_and_urls_of_256_characters() {
        assert!(PhoneResponse::new([]).is_err());
        let e = PhoneResponse::new((0..4).map(|_| row("", 0, "Success"))).unwrap_err();
        assert_eq!(e.field, "CiscoIPPhoneResponse ResponseItem count");
        assert!(PhoneResponse::new((0..3).map(|_| row("", 0, "Success"))).is_ok());
        assert!(ResponseRow::new(&"u".repeat(256), 0, "Success").is_ok());
        let e = ResponseRow::new(&"u".repeat(257), 0, "Success").unwrap_err();
        assert_eq!(e.field, "ResponseItem URL");
        assert!(ResponseRow::new("x", 0, "a\u{0}b").is_err());
        // Data as long as a real phone's PRT answer.
        let long = "There is no pending PRT invoked from XSI";
        assert_eq!(row("Device:PRTStatus", 6, long).data(), long);
    }
}
