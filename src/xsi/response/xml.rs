//! The lenient XML reader every parser in [`super`] shares: bytes in, a small element tree out.
//!
//! It owns the tolerance rules, so each reply parser only looks up elements and attributes:
//! - bytes are decoded from the declared charset (ISO-8859-1, Shift_JIS ...), with UTF-8 and then
//!   Latin-1 as fallbacks, so no byte sequence is refused;
//! - every `<?xml ...?>` declaration is dropped, so a missing or duplicated one does not matter;
//! - typographic quotes inside tags become ASCII quotes (Cisco's PDF examples are full of them);
//! - a bare `&` stays a literal `&`, unknown entities stay as written;
//! - end tags close the nearest matching open element and stray ones are ignored, and elements
//!   still open at the end (or at the first syntax error after the root began) are closed, so a
//!   damaged document still yields everything before the damage.
//!
//! The reader's setup, the tree, attribute splitting and reference resolution are the toolkit's
//! ([`crate::xsi::xml`], under its lenient rules); what is here is decoding and clean-up.

use std::borrow::Cow;

use quick_xml::events::Event;

use super::error::{MAX_DEPTH, MAX_DOCUMENT_BYTES, ParseError};
use crate::xsi::xml::{self as toolkit, Refs, Rules, Tree, latin1};

pub(super) use crate::xsi::xml::Element;

/// Refuse inputs over the size bound before touching them.
pub(super) fn check_size(len: usize) -> Result<(), ParseError> {
    if len > MAX_DOCUMENT_BYTES {
        return Err(ParseError::TooLarge {
            len,
            max: MAX_DOCUMENT_BYTES,
        });
    }
    Ok(())
}

/// Decode and parse bytes as received from a phone; returns the first top-level element.
pub(super) fn parse_bytes(input: &[u8]) -> Result<Element, ParseError> {
    check_size(input.len())?;
    parse_str(&decode(input))
}

/// Parse already-decoded text; returns the first top-level element. Not bounded here: callers
/// check the size of the bytes they received, because decoding Latin-1 may grow the text.
pub(super) fn parse_str(input: &str) -> Result<Element, ParseError> {
    let cleaned = normalise(input);
    build_tree(&cleaned)
}

/// Bytes to text. The declared charset wins, except that a body declared as a single-byte
/// charset but valid multi-byte UTF-8 is read as UTF-8: phones that copy an old template's
/// `iso-8859-1` declaration while sending UTF-8 are far more common than Latin-1 text that
/// happens to be valid UTF-8. Without a usable declaration: UTF-8, else Latin-1.
pub(super) fn decode(input: &[u8]) -> String {
    let bytes = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let utf8 = std::str::from_utf8(bytes).ok();
    if let Some(text) = decode_declared(bytes, utf8) {
        return text;
    }
    utf8.map_or_else(|| latin1(bytes), str::to_owned)
}

/// Decode with the charset named by the first `<?xml ... encoding="..."?>`, when quick-xml
/// knows the label and it is not UTF-8 (which the caller handles).
fn decode_declared(bytes: &[u8], utf8: Option<&str>) -> Option<String> {
    let start = find(bytes, b"<?xml")?;
    let len = find(&bytes[start..], b"?>")? + 2;
    // The declaration itself may carry typographic quotes; make them ASCII so it parses.
    let decl =
        String::from_utf8_lossy(&bytes[start..start + len]).replace(['\u{201C}', '\u{201D}'], "\"");
    let mut reader = toolkit::reader(&decl, Rules::Standard);
    let enc = match reader.read_event() {
        Ok(Event::Decl(d)) => d.encoder()?,
        _ => return None,
    };
    // We found the declaration as ASCII bytes, so a UTF-16 label cannot be true.
    if enc.name() == "UTF-8"
        || enc.name().starts_with("UTF-16")
        || utf8.is_some_and(|s| !s.is_ascii())
    {
        return None;
    }
    // Lossy on purpose: an unmappable byte becomes U+FFFD rather than a refused reply.
    Some(enc.decode_without_bom_handling(bytes).0.into_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Drop every XML declaration (we already used it to decode; a second one would be a syntax
/// error) and make typographic quotes inside tags ASCII.
fn normalise(input: &str) -> Cow<'_, str> {
    let has_decl = input.contains("<?xml") || input.contains("<?XML");
    let has_curly = input.contains(['\u{201C}', '\u{201D}', '\u{2018}', '\u{2019}']);
    if !has_decl && !has_curly {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find("<?xml").or_else(|| rest.find("<?XML")) {
        out.push_str(&rest[..pos]);
        match rest[pos..].find("?>") {
            Some(end) => rest = &rest[pos + end + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    let mut in_tag = false;
    let quoted: String = out
        .chars()
        .map(|c| {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                _ => {}
            }
            match c {
                '\u{201C}' | '\u{201D}' if in_tag => '"',
                '\u{2018}' | '\u{2019}' if in_tag => '\'',
                other => other,
            }
        })
        .collect();
    Cow::Owned(quoted)
}

fn build_tree(text: &str) -> Result<Element, ParseError> {
    let mut reader = toolkit::reader(text, Rules::Lenient);
    let mut tree = Tree::default();
    while tree.root().is_none() {
        let event = match reader.read_event() {
            Ok(event) => event,
            // Before the root began there is nothing to salvage; after, keep what we have.
            Err(e) if tree.depth() == 0 => return Err(ParseError::Malformed(e.to_string())),
            Err(_) => break,
        };
        match event {
            Event::Start(e) => {
                if tree.depth() >= MAX_DEPTH {
                    return Err(ParseError::TooDeep(MAX_DEPTH));
                }
                tree.open(toolkit::lenient_element(&e));
            }
            Event::Empty(e) => tree.add(toolkit::lenient_element(&e)),
            Event::End(e) => tree.close_to(e.local_name().as_ref()),
            Event::Eof => break,
            event => {
                if let (Some(text), Some(top)) =
                    (toolkit::text_of(&event, Refs::Lenient), tree.innermost())
                {
                    top.text.push_str(&text);
                }
            }
        }
    }
    tree.finish().ok_or(ParseError::NoElement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Element {
        parse_str(s).expect("parses")
    }

    #[test]
    fn missing_declaration() {
        assert_eq!(parse("<a x=\"1\"/>").attr("x"), Some("1"));
    }

    #[test]
    fn duplicate_declarations() {
        let doc = "<?xml version=\"1.0\"?>\n<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>t</a>";
        assert_eq!(parse(doc).text, "t");
    }

    #[test]
    fn latin1_declared_and_latin1_bytes() {
        let doc = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><a>Pr\xE9sent</a>";
        assert_eq!(parse_bytes(doc).unwrap().text, "Présent");
    }

    #[test]
    fn latin1_declared_but_utf8_bytes() {
        let doc = "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><a>Présent</a>";
        assert_eq!(parse_bytes(doc.as_bytes()).unwrap().text, "Présent");
    }

    #[test]
    fn shift_jis_declared() {
        let doc = b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a>\x83\x65\x83\x58\x83\x67</a>";
        assert_eq!(parse_bytes(doc).unwrap().text, "\u{30C6}\u{30B9}\u{30C8}");
    }

    #[test]
    fn false_utf16_declaration_is_ignored() {
        let doc = b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>ok</a>";
        assert_eq!(parse_bytes(doc).unwrap().text, "ok");
    }

    #[test]
    fn undeclared_invalid_utf8_falls_back_to_latin1() {
        assert_eq!(parse_bytes(b"<a>\xFCber</a>").unwrap().text, "über");
    }

    #[test]
    fn bare_ampersand_is_literal() {
        let el = parse("<a b=\"x & y\">AT&T &amp; R&D; &#65;</a>");
        assert_eq!(el.text, "AT&T & R&D; A");
        assert_eq!(el.attr("b"), Some("x & y"));
    }

    #[test]
    fn typographic_quotes_in_tags_only() {
        let el = parse("<a id=\u{201D}abc\u{201D} t=\u{201C}x\u{201D}>say \u{201C}hi\u{201D}</a>");
        assert_eq!(el.attr("id"), Some("abc"));
        assert_eq!(el.attr("t"), Some("x"));
        assert_eq!(el.text, "say \u{201C}hi\u{201D}");
    }

    #[test]
    fn crlf_and_whitespace() {
        let el = parse("\r\n  <a>\r\n <b  k = \"v\" />\r\n</a >\r\n");
        assert_eq!(el.child("b").and_then(|b| b.attr("k")), Some("v"));
        assert!(!el.text.contains('\r'));
    }

    #[test]
    fn unclosed_element_keeps_what_came_before() {
        let el = parse("<r><p><m>CP-7970</m></p><s v=\"5\"><b></s></r>");
        assert_eq!(el.find("m").unwrap().text, "CP-7970");
        assert_eq!(el.child("s").unwrap().attr("v"), Some("5"));
    }

    #[test]
    fn truncated_document_is_closed() {
        let el = parse("<r><a>1</a><b>2");
        assert_eq!(el.child("b").unwrap().text, "2");
    }

    #[test]
    fn refusals() {
        assert_eq!(parse_str(""), Err(ParseError::NoElement));
        assert_eq!(parse_str("just text"), Err(ParseError::NoElement));
        // At the bound, Latin-1 bytes that double in size when decoded are still accepted.
        let mut at_bound = b"<a>".to_vec();
        at_bound.resize(MAX_DOCUMENT_BYTES - 4, 0xE9);
        at_bound.extend_from_slice(b"</a>");
        assert_eq!(
            parse_bytes(&at_bound).unwrap().text.chars().count(),
            MAX_DOCUMENT_BYTES - 7
        );
        let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
        assert!(matches!(
            parse_bytes(&big),
            Err(ParseError::TooLarge { .. })
        ));
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse_str(&deep), Err(ParseError::TooDeep(MAX_DEPTH)));
    }

    #[test]
    fn garbage_never_panics() {
        for doc in [
            "<",
            "<<>>",
            "</a>",
            "<a",
            "<a b=>",
            "<a b=\"",
            "&",
            "<![CDATA[",
            "<!--",
            "<?xml",
            "<a>&#xFFFFFFFF;</a>",
            "<a>&#;</a>",
            "\u{201C}<\u{201D}>",
        ] {
            let _ = parse_str(doc);
            let _ = parse_bytes(doc.as_bytes());
        }
        let _ = parse_bytes(&[0xFF, 0xFE, 0x00, 0x3C]);
    }
}
