//! What every object shares as a document: the [`XmlObject`] trait that renders one, and the
//! [`Target`] whose byte budget a pushed document must fit (40 KB over HTTP, 512 bytes over JTAPI).
//!
//! Which bytes count against the 40 KB: the spec says only "Any HTTP POST object is limited to
//! 40 Kbytes in size" (`shared/spec/cisco-xsi-control-spec.txt`, `limits.max_post_size_bytes:
//! 40960`), and nothing says whether a phone measures the XML after form-decoding it or the body
//! it receives. A phone receives the body (`XML=` and the percent-encoded object, the spec's
//! `form_field_name: "XML"`), so the safe reading is that the body counts: both the client (here
//! and in `push`) and the emulator limit the form-encoded body to 40,960 bytes. Encoding never
//! shrinks a document, so the XML then fits whichever way a phone counts. A JTAPI push is not
//! form-encoded: its 512 bytes are the document's.

use crate::error::Invalid;

/// Where a document is going, which decides how large it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// HTTP POST to `/CGI/Execute`: "limited to 40 Kbytes", counted on the form-encoded body
    /// (see the module doc). An HTTP GET reply is the bare XML and has the same budget.
    Phone,
    /// JTAPI pushes and legacy phones: "limited to a maximum size of 512 bytes".
    Legacy,
}

impl Target {
    /// The largest document this target accepts, in the bytes [`Target::counted_bytes`] counts.
    pub const fn max_bytes(self) -> usize {
        match self {
            Target::Phone => 40960,
            Target::Legacy => 512,
        }
    }

    /// The bytes of `xml` this target counts: the form-encoded POST body (`XML=` and the
    /// percent-encoded document) for [`Target::Phone`], the document's UTF-8 for
    /// [`Target::Legacy`].
    pub fn counted_bytes(self, xml: &str) -> usize {
        match self {
            Target::Phone => form_encoded_len(xml),
            Target::Legacy => xml.len(),
        }
    }

    /// Refuse `xml` (an object with root element `root`) when it is over this target's budget,
    /// naming the object and the rule.
    pub fn check(self, root: &str, xml: &str) -> Result<(), Invalid> {
        let bytes = self.counted_bytes(xml);
        if bytes > self.max_bytes() {
            let what = match self {
                Target::Phone => "POST body size",
                Target::Legacy => "document size",
            };
            return Err(Invalid::new(
                format!("{root} {what}"),
                format!("{bytes} bytes"),
                self.rule(),
            ));
        }
        Ok(())
    }

    fn rule(self) -> String {
        match self {
            Target::Phone => format!(
                "an HTTP POST body (XML= and the percent-encoded object) must be at most {} bytes",
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
    /// The size is counted in bytes because the phones' limit is on the HTTP body: non-ASCII
    /// text takes several bytes per character in UTF-8, and percent-encoding triples every byte
    /// but letters, digits and `*-._` (see [`Target::counted_bytes`]).
    fn to_xml_checked(&self, target: Target) -> Result<String, Invalid> {
        let xml = self.to_xml();
        target.check(self.root(), &xml)?;
        Ok(xml)
    }
}

/// The form field a pushed object travels in (case-sensitive): the body is `XML=` and the
/// percent-encoded object.
pub const FORM_FIELD: &str = "XML";

/// Length of the `application/x-www-form-urlencoded` body `XML=<xml percent-encoded>`: letters,
/// digits, `*-._` and the space (sent as `+`) take one byte, every other byte of the UTF-8 three
/// (`%XX`), as `push::form_body` writes it.
pub fn form_encoded_len(xml: &str) -> usize {
    let encoded: usize = xml
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_' | b' ') {
                1
            } else {
                3
            }
        })
        .sum();
    FORM_FIELD.len() + 1 + encoded
}

/// The root element's name of a document (after a declaration, comments and whitespace), or
/// `"document"` when there is none: how an over-budget body is named when only its text is known.
pub fn root_name(xml: &str) -> &str {
    let mut rest = xml;
    loop {
        rest = rest.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        if let Some(r) = rest.strip_prefix("<?") {
            rest = r.split_once("?>").map_or("", |(_, r)| r);
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = r.split_once("-->").map_or("", |(_, r)| r);
        } else if let Some(r) = rest.strip_prefix('<') {
            let end = r
                .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
                .unwrap_or(r.len());
            return if end == 0 { "document" } else { &r[..end] };
        } else {
            return "document";
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::form_body;

    #[test]
    fn encoded_length_is_the_push_clients_body_length() {
        for xml in [
            "",
            "<CiscoIPPhoneText><Text>a b*c-d.e_f</Text></CiscoIPPhoneText>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><X a=\"&amp;é日本+%~!\"/>",
        ] {
            assert_eq!(form_encoded_len(xml), form_body(xml).len(), "{xml}");
        }
    }

    #[test]
    fn phone_budget_counts_the_encoded_body_at_the_boundary() {
        // Letters encode as themselves, so n letters move the body by exactly n bytes.
        let doc = |n: usize| format!("<X>{}</X>", "a".repeat(n));
        let fixed = form_encoded_len(&doc(0));
        let at_limit = doc(40960 - fixed);
        assert_eq!(form_encoded_len(&at_limit), 40960);
        assert!(Target::Phone.check("X", &at_limit).is_ok());
        let over = doc(40961 - fixed);
        let e = Target::Phone.check("X", &over).unwrap_err();
        assert_eq!(e.field, "X POST body size");
        assert_eq!(e.value, "40961 bytes");
        assert!(
            e.rule.contains("percent-encoded") && e.rule.contains("40960"),
            "{e}"
        );
        // The XML itself is far under 40 KB once markup is a third of the body.
        let markup = "<".repeat(13_700);
        assert!(markup.len() < 40960 && form_encoded_len(&markup) > 40960);
        assert!(Target::Phone.check("X", &markup).is_err());
        // JTAPI counts the document.
        assert!(Target::Legacy.check("X", &"<".repeat(512)).is_ok());
        assert!(Target::Legacy.check("X", &"<".repeat(513)).is_err());
    }

    #[test]
    fn root_name_skips_declaration_comments_and_space() {
        assert_eq!(
            root_name("\u{feff}<?xml version=\"1.0\"?>\r\n<!-- c --> <CiscoIPPhoneMenu a=\"1\">"),
            "CiscoIPPhoneMenu"
        );
        assert_eq!(root_name("<getDeviceCaps/>"), "getDeviceCaps");
        assert_eq!(root_name("not xml"), "document");
        assert_eq!(root_name("<?xml"), "document");
    }
}
