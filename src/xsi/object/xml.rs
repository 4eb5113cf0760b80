//! The low-level XML rules every object shares: the declaration, the document builder, and the
//! checks on text before it is accepted (characters XML 1.0 can carry, length in characters).
//! Escaping and the character check are the toolkit's ([`crate::xsi::xml`]).

use std::fmt::Display;

use crate::error::Invalid;
pub(crate) use crate::xsi::xml::escape_into;
use crate::xsi::xml::is_xml_char;

/// The first line of every document: XML 1.0, encoding named so phones that default to
/// ISO-8859-1 read non-ASCII text as UTF-8.
pub const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

/// Accept `value` for `field` when XML 1.0 can carry it and it has at most `max` characters.
///
/// Lengths are counted in characters, as the XSD's `maxLength` does, not in bytes.
/// Control characters are refused rather than stripped: silently changing what the caller
/// asked to display would hide the bug that produced them.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    if let Some(bad) = value.chars().find(|&c| !is_xml_char(c)) {
        return Err(Invalid::new(
            field,
            value.escape_debug(),
            format!("XML 1.0 cannot carry the control character {:?}", bad),
        ));
    }
    let n = value.chars().count();
    if n > max {
        return Err(Invalid::new(
            field,
            value,
            format!("at most {max} characters (this has {n})"),
        ));
    }
    Ok(value.to_owned())
}

/// Accept a URL or internal URI for `field`: 1..=256 characters, no whitespace.
///
/// The phones take the string as is; a space would end the URL on some firmware, so it must
/// arrive percent-encoded.
pub(crate) fn url(field: &str, value: &str) -> Result<String, Invalid> {
    let value = text(field, value, 256)?;
    if value.is_empty() {
        return Err(Invalid::new(field, &value, "must not be empty"));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(Invalid::new(
            field,
            &value,
            "must not contain whitespace (percent-encode it)",
        ));
    }
    Ok(value)
}

/// Refuse `value` for `field` unless it is within `range`.
pub(crate) fn in_range<T: PartialOrd + Display + Copy>(
    field: &str,
    value: T,
    min: T,
    max: T,
) -> Result<T, Invalid> {
    if value < min || value > max {
        return Err(Invalid::new(field, value, format!("must be {min}..={max}")));
    }
    Ok(value)
}

/// Refuse adding to a list of `len` items when it already holds `max`.
pub(crate) fn room(field: &str, len: usize, max: usize) -> Result<(), Invalid> {
    if len >= max {
        return Err(Invalid::new(
            field,
            len + 1,
            format!("at most {max} allowed"),
        ));
    }
    Ok(())
}

/// A document under construction: appends markup to one string.
pub(crate) struct Doc {
    out: String,
}

impl Doc {
    /// A new document, the declaration already written.
    pub(crate) fn new() -> Doc {
        let mut out = String::with_capacity(512);
        out.push_str(DECLARATION);
        Doc { out }
    }

    /// `<name`, for attributes to follow; end with [`Doc::end_open`] or [`Doc::end_empty`].
    pub(crate) fn start(&mut self, name: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self
    }

    /// ` name="value"` with the value escaped.
    pub(crate) fn attr(&mut self, name: &str, value: &str) -> &mut Self {
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        escape_into(&mut self.out, value);
        self.out.push('"');
        self
    }

    /// `>`: the started element has content.
    pub(crate) fn end_open(&mut self) -> &mut Self {
        self.out.push('>');
        self
    }

    /// `/>`: the started element is empty.
    pub(crate) fn end_empty(&mut self) -> &mut Self {
        self.out.push_str("/>");
        self
    }

    /// `<name>` with no attributes.
    pub(crate) fn open(&mut self, name: &str) -> &mut Self {
        self.start(name).end_open()
    }

    /// `</name>`.
    pub(crate) fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// `<name>text</name>` with the text escaped.
    pub(crate) fn text(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name).escaped(text).close(name)
    }

    /// Text content, escaped, inside an element opened by the caller.
    pub(crate) fn escaped(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.out, text);
        self
    }

    /// [`Doc::text`] when there is a value.
    pub(crate) fn opt_text(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.text(name, t);
        }
        self
    }

    /// `<name>n</name>` for a number (nothing to escape).
    pub(crate) fn num(&mut self, name: &str, n: impl Display) -> &mut Self {
        self.open(name);
        self.out.push_str(&n.to_string());
        self.close(name)
    }

    /// The finished document.
    pub(crate) fn finish(&mut self) -> String {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xsi::xml::escape;

    #[test]
    fn escapes_the_five_mandatory_characters() {
        assert_eq!(escape(r#"a&b"c'd<e>f"#), "a&amp;b&quot;c&apos;d&lt;e&gt;f");
        assert_eq!(escape("]]>"), "]]&gt;");
        assert_eq!(escape("é 日本"), "é 日本");
        assert_eq!(escape("a\tb\r\nc"), "a&#9;b&#13;&#10;c");
    }

    #[test]
    fn escapes_attributes_too() {
        let xml = Doc::new()
            .start("x")
            .attr("a", "<&\"'>")
            .end_empty()
            .finish();
        assert!(
            xml.ends_with(r#"<x a="&lt;&amp;&quot;&apos;&gt;"/>"#),
            "{xml}"
        );
    }

    #[test]
    fn refuses_control_characters() {
        for bad in ["a\u{0}b", "\u{1b}[31m", "\u{7}", "\u{FFFE}", "x\u{FFFF}"] {
            let e = text("CiscoIPPhoneText Text", bad, 100).unwrap_err();
            assert_eq!(e.field, "CiscoIPPhoneText Text");
            assert!(e.rule.contains("control character"), "{e}");
        }
        assert!(text("f", "tab\tnew\nline\r", 100).is_ok());
        assert!(text("f", "\u{10000}😀", 100).is_ok());
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert!(text("f", &"日".repeat(32), 32).is_ok());
        let e = text("f", &"日".repeat(33), 32).unwrap_err();
        assert!(e.rule.contains("at most 32 characters"), "{e}");
    }

    #[test]
    fn urls_are_non_empty_short_and_without_spaces() {
        assert!(url("u", "http://x/a?b=1&c=2").is_ok());
        assert!(url("u", "").is_err());
        assert!(url("u", "http://x/a b").is_err());
        assert!(url("u", &format!("http://x/{}", "a".repeat(247))).is_ok());
        assert!(url("u", &format!("http://x/{}", "a".repeat(248))).is_err());
    }
}
