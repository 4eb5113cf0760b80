//! The one XML toolkit of the crate: every module that writes or reads XML takes these pieces
//! from here instead of keeping its own copy.
//!
//! It owns:
//! - the characters XML 1.0 can carry ([`is_xml_char`], its `Char` production);
//! - escaping, in the three styles the crate's outputs need ([`Escape`]): the exact one of the
//!   `xsi::object` builders, the markup-only one of the emulator's wire replies, the ASCII-only
//!   one of the emulator's XML-and-HTML device pages;
//! - the reader plumbing the parsers share: the quick-xml setup for each set of rules
//!   (`Rules`, `reader`), the element tree ([`Element`], `Tree`), attribute decoding
//!   (strict, normalised, lenient), reference resolution (strict, standard, lenient) and the
//!   text an event adds to an element (`text_of`); these are crate-internal.
//!
//! What a parser accepts stays the parser's: `xsi::request` is strict, `xsi::response` lenient,
//! `ringtone::ringlist` streams; they pick their rules here and keep their own bounds and errors.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

// ---------------------------------------------------------------------------------------------
// Characters

/// Whether `c` is in XML 1.0's `Char` production (surrogates cannot occur in a `str`).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

/// The first character of `s` XML 1.0 cannot carry, with its byte offset.
pub fn first_non_xml_char(s: &str) -> Option<(usize, char)> {
    s.char_indices().find(|&(_, c)| !is_xml_char(c))
}

/// The character of one of XML's five predefined entities (`amp`, `lt`, `gt`, `quot`, `apos`).
pub fn predefined_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Escaping

/// How [`escape_with`] writes a string; each style is the byte-exact output of one producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// The five markup characters (`&apos;` for `'`); everything else as is.
    Markup,
    /// [`Escape::Markup`], and tab, newline and carriage return as character references so a
    /// parser's whitespace normalisation (of attributes, and of `\r` everywhere) cannot change
    /// them. What the `xsi::object` builders write.
    Exact,
    /// Printable ASCII only, valid XML and HTML alike: the markup characters (`&#39;` for `'`,
    /// which HTML 4 knows), tab and newline as is, every other character as a numeric character
    /// reference, and the characters XML 1.0 does not allow at all as `&#65533;` (U+FFFD).
    Ascii,
}

/// Append `s` to `out`, escaped in `style`.
pub fn escape_with(out: &mut String, s: &str, style: Escape) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' if style == Escape::Ascii => out.push_str("&#39;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' if style == Escape::Exact => char_ref(out, c),
            c if style != Escape::Ascii => out.push(c),
            '\t' | '\n' | ' '..='~' => out.push(c),
            c if !is_xml_char(c) => out.push_str("&#65533;"),
            c => char_ref(out, c),
        }
    }
}

/// `&#N;` in decimal.
fn char_ref(out: &mut String, c: char) {
    let _ = write!(out, "&#{};", u32::from(c));
}

/// Append `s` escaped as the `xsi::object` builders write it ([`Escape::Exact`]).
pub fn escape_into(out: &mut String, s: &str) {
    escape_with(out, s, Escape::Exact);
}

/// `s` escaped in `style`, as a new string.
fn escaped(s: &str, style: Escape) -> String {
    let mut out = String::with_capacity(s.len());
    escape_with(&mut out, s, style);
    out
}

/// `s` escaped as the `xsi::object` builders write it ([`Escape::Exact`]).
pub fn escape(s: &str) -> String {
    escaped(s, Escape::Exact)
}

/// `s` with the five markup characters escaped, nothing else ([`Escape::Markup`]).
pub fn escape_markup(s: &str) -> String {
    escaped(s, Escape::Markup)
}

/// `s` as printable ASCII, valid XML and HTML alike ([`Escape::Ascii`]).
pub fn escape_ascii(s: &str) -> String {
    escaped(s, Escape::Ascii)
}

// ---------------------------------------------------------------------------------------------
// Reading: setup

/// A leading byte order mark dropped (quick-xml drops one more itself).
pub fn strip_bom(xml: &str) -> &str {
    xml.strip_prefix('\u{FEFF}').unwrap_or(xml)
}

/// ISO-8859-1: every byte is the code point of the same value, so this never fails.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The rules a reader is set up with. Text is never trimmed, empty elements stay
/// [`Event::Empty`] under all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rules {
    /// quick-xml's defaults: end names must match, a bare `&` is an error, comments unchecked.
    Standard,
    /// As a strict XML 1.0 parser: also `--` inside comments and stray end tags are errors.
    Strict,
    /// As the phones' firmware: a bare `&` is text, end names are not checked and stray end
    /// tags are reported to the caller instead of failing.
    Lenient,
}

/// A reader of `xml` set up for `rules`.
pub(crate) fn reader(xml: &str, rules: Rules) -> Reader<&[u8]> {
    let mut reader = Reader::from_str(xml);
    let config = reader.config_mut();
    config.trim_text(false);
    config.expand_empty_elements = false;
    match rules {
        Rules::Standard => {}
        Rules::Strict => {
            config.check_end_names = true;
            config.check_comments = true;
            config.allow_unmatched_ends = false;
            config.allow_dangling_amp = false;
        }
        Rules::Lenient => {
            config.allow_dangling_amp = true;
            config.check_end_names = false;
            config.allow_unmatched_ends = true;
        }
    }
    reader
}

// ---------------------------------------------------------------------------------------------
// Reading: the element tree

/// One element: its name, attributes in document order, its own text and its children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// The name as written (the local name for lenient reading).
    pub name: String,
    /// Attributes in document order, values decoded.
    pub attrs: Vec<(String, String)>,
    /// The element's own text (references resolved, CDATA included).
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// An element named `name` with no attributes, text or children.
    pub fn named(name: impl Into<String>) -> Element {
        Element {
            name: name.into(),
            ..Element::default()
        }
    }

    /// An attribute's value; exact name first, then ignoring ASCII case because firmware
    /// versions disagree on `URL`/`Url`, `Status`/`status`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attr_exact(name).or_else(|| {
            self.attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        })
    }

    /// An attribute's value, the name matched exactly.
    pub fn attr_exact(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first direct child with this name (exact, then ignoring ASCII case).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.child_exact(name).or_else(|| {
            self.children
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
        })
    }

    /// The first direct child with exactly this name.
    pub fn child_exact(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the first direct child with exactly this name.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child_exact(name).map(|c| c.text.clone())
    }

    /// The direct children with exactly this name, in document order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first element with this name (ignoring ASCII case) at any depth below this one,
    /// depth-first.
    pub fn find(&self, name: &str) -> Option<&Element> {
        for c in &self.children {
            if c.name.eq_ignore_ascii_case(name) {
                return Some(c);
            }
            if let Some(found) = c.find(name) {
                return Some(found);
            }
        }
        None
    }

    /// The element's own text without surrounding whitespace.
    pub fn trimmed_text(&self) -> &str {
        self.text.trim()
    }

    /// Whether the element is `name`, ignoring ASCII case.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// A tree under construction: the open elements, innermost last, and the root once the first
/// top-level element is complete.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    open: Vec<Element>,
    root: Option<Element>,
}

impl Tree {
    /// How many elements are open.
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// The innermost open element.
    pub fn innermost(&mut self) -> Option<&mut Element> {
        self.open.last_mut()
    }

    /// The root, once complete.
    pub fn root(&self) -> Option<&Element> {
        self.root.as_ref()
    }

    /// A start tag: `el` is open until [`Tree::close`].
    pub fn open(&mut self, el: Element) {
        self.open.push(el);
    }

    /// A complete element (an empty tag or a closed one): a child of the innermost open
    /// element, or the root.
    pub fn add(&mut self, el: Element) {
        match self.open.last_mut() {
            Some(parent) => parent.children.push(el),
            None => self.root = Some(el),
        }
    }

    /// An end tag: close the innermost open element; false when none is open.
    pub fn close(&mut self) -> bool {
        match self.open.pop() {
            Some(done) => {
                self.add(done);
                true
            }
            None => false,
        }
    }

    /// A lenient end tag: close every element up to the innermost open one named `name`;
    /// nothing when none is (a stray end tag).
    pub fn close_to(&mut self, name: &str) {
        if let Some(pos) = self.open.iter().rposition(|el| el.name == name) {
            while self.open.len() > pos {
                self.close();
            }
        }
    }

    /// Close whatever is still open and return the root.
    pub fn finish(mut self) -> Option<Element> {
        while self.close() {}
        self.root
    }
}

// ---------------------------------------------------------------------------------------------
// Reading: start tags and attributes

/// An element from a start tag, attributes decoded as quick-xml normalises them (references
/// resolved, whitespace normalised); an attribute it cannot read is skipped, a value it cannot
/// decode is empty.
pub(crate) fn element(e: &BytesStart<'_>) -> Element {
    Element {
        attrs: attributes(e),
        ..Element::named(e.name().as_ref())
    }
}

/// The attributes of a start tag as [`element`] decodes them.
pub(crate) fn attributes(e: &BytesStart<'_>) -> Vec<(String, String)> {
    e.attributes()
        .flatten()
        .map(|a| {
            (
                a.key.as_ref().to_owned(),
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(Cow::into_owned)
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// An element from a start tag as a strict XML 1.0 parser reads it: names must be XML names,
/// values free of `<` and of characters XML cannot carry; the error says what is wrong.
pub(crate) fn strict_element(e: &BytesStart<'_>) -> Result<Element, String> {
    let name = e.name().as_ref().to_owned();
    if !is_xml_name(&name) {
        return Err(format!("invalid element name {name:?}"));
    }
    let mut attrs: Vec<(String, String)> = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let key = attr.key.as_ref().to_owned();
        if !is_xml_name(&key) {
            return Err(format!("invalid attribute name {key:?} in <{name}>"));
        }
        if attr.value.contains('<') {
            return Err(format!("'<' in the value of attribute {key:?} of <{name}>"));
        }
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?;
        if let Some((_, c)) = first_non_xml_char(&value) {
            return Err(format!(
                "character U+{:04X} is not allowed in XML",
                u32::from(c)
            ));
        }
        attrs.push((key, value.into_owned()));
    }
    Ok(Element {
        attrs,
        ..Element::named(name)
    })
}

/// An element from a start tag as the phones' firmware reads it: the local name, attributes
/// split as HTML would (unquoted values, no duplicate check), values unescaped leniently
/// ([`unescape_lenient`]); an attribute the tokenizer cannot split ends the list.
pub(crate) fn lenient_element(e: &BytesStart<'_>) -> Element {
    let mut attrs = Vec::new();
    let mut iter = e.html_attributes();
    iter.with_checks(false);
    for attr in iter {
        let Ok(attr) = attr else { break };
        attrs.push((attr.key.as_ref().to_owned(), unescape_lenient(&attr.value)));
    }
    Element {
        attrs,
        ..Element::named(e.local_name().as_ref())
    }
}

/// A plausible XML name: not empty, not starting with a digit, `-` or `.`, and free of the
/// characters that cannot appear in one.
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let allowed =
        |c: char| c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.') || !c.is_ascii();
    (first.is_alphabetic() || first == '_' || first == ':' || !first.is_ascii())
        && !first.is_ascii_digit()
        && chars.all(allowed)
}

// ---------------------------------------------------------------------------------------------
// Reading: references and text

/// A reference in text: one of the five predefined entities or a character reference as
/// XML 1.0 writes it (`&#N;`, `&#xH;`); `None` for anything else.
pub(crate) fn resolve_ref(r: &BytesRef<'_>) -> Option<char> {
    predefined_entity(&r.xml10_content()).or_else(|| r.resolve_char_ref().ok().flatten())
}

/// A reference as a strict XML 1.0 parser takes it: a predefined entity or a character
/// reference to a character XML can carry; anything else (entities a DTD would define
/// included) is refused with the reason.
pub(crate) fn strict_ref(r: &BytesRef<'_>) -> Result<char, String> {
    match r.resolve_char_ref().map_err(|e| e.to_string())? {
        Some(c) if is_xml_char(c) => Ok(c),
        Some(c) => Err(format!(
            "character reference &{}; (U+{:04X}) is not allowed in XML",
            &**r,
            u32::from(c)
        )),
        None => predefined_entity(r).ok_or_else(|| format!("unknown entity &{};", &**r)),
    }
}

/// The body of a reference (`amp`, `#65`, `#x41`) as the phones' firmware takes it: the five
/// predefined entities and character references, `X` as well as `x` for hex.
fn resolve_lenient(name: &str) -> Option<char> {
    if let Some(c) = predefined_entity(name) {
        return Some(c);
    }
    let num = name.strip_prefix('#')?;
    let code = match num.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => num.parse().ok()?,
    };
    char::from_u32(code)
}

/// Resolve the five predefined entities and character references the lenient way; anything
/// else (a bare `&`, an unknown entity) is kept literally.
pub(crate) fn unescape_lenient(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let resolved = after
            .find(';')
            .filter(|&semi| semi <= 10)
            .and_then(|semi| resolve_lenient(&after[..semi]).map(|c| (c, semi)));
        match resolved {
            Some((c, semi)) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What [`text_of`] makes of a reference it cannot resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refs {
    /// [`resolve_ref`]; an unresolved one is kept as written.
    Keep,
    /// [`resolve_ref`]; an unresolved one is dropped.
    Drop,
    /// The firmware's rules (`&#X41;` too); an unresolved one is kept as written.
    Lenient,
}

/// The character data `event` adds to the element it is in: text and CDATA (line ends
/// normalised), a reference resolved under `refs`; `None` for every other event.
pub(crate) fn text_of<'a>(event: &Event<'a>, refs: Refs) -> Option<Cow<'a, str>> {
    match event {
        Event::Text(t) => Some(t.xml10_content()),
        Event::CData(t) => Some(t.xml10_content()),
        Event::GeneralRef(r) => {
            let name = r.xml10_content();
            let c = match refs {
                Refs::Keep | Refs::Drop => resolve_ref(r),
                Refs::Lenient => resolve_lenient(&name),
            };
            Some(match (c, refs) {
                (Some(c), _) => Cow::Owned(c.to_string()),
                (None, Refs::Drop) => Cow::Borrowed(""),
                (None, _) => Cow::Owned(format!("&{name};")),
            })
        }
        _ => None,
    }
}

/// The first element of `xml` read under quick-xml's default rules (`Rules::Standard`),
/// attributes as quick-xml normalises them (an unreadable one skipped), unresolved references dropped; `None` when the document has no complete
/// element before its end or its first error. For documents another reader has checked.
pub fn standard_tree(xml: &str) -> Option<Element> {
    let mut reader = reader(strip_bom(xml), Rules::Standard);
    let mut tree = Tree::default();
    while tree.root().is_none() {
        match reader.read_event().ok()? {
            Event::Start(e) => tree.open(element(&e)),
            Event::Empty(e) => tree.add(element(&e)),
            Event::End(_) => {
                if !tree.close() {
                    return None;
                }
            }
            Event::Eof => return None,
            event => {
                if let (Some(text), Some(top)) = (text_of(&event, Refs::Drop), tree.innermost()) {
                    top.text.push_str(&text);
                }
            }
        }
    }
    tree.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_char_production() {
        for ok in [
            '\t',
            '\n',
            '\r',
            ' ',
            '\u{D7FF}',
            '\u{E000}',
            '\u{FFFD}',
            '\u{10000}',
        ] {
            assert!(is_xml_char(ok), "{ok:?}");
        }
        for bad in ['\0', '\u{7}', '\u{1b}', '\u{1F}', '\u{FFFE}', '\u{FFFF}'] {
            assert!(!is_xml_char(bad), "{bad:?}");
        }
        assert_eq!(first_non_xml_char("ab\u{1}c"), Some((2, '\u{1}')));
        assert_eq!(first_non_xml_char("abc"), None);
    }

    #[test]
    fn the_three_escape_styles() {
        let s = "a&<>\"'\t\n\r é\u{1}\u{7F}";
        assert_eq!(
            escaped(s, Escape::Markup),
            "a&amp;&lt;&gt;&quot;&apos;\t\n\r é\u{1}\u{7F}"
        );
        assert_eq!(
            escaped(s, Escape::Exact),
            "a&amp;&lt;&gt;&quot;&apos;&#9;&#10;&#13; é\u{1}\u{7F}"
        );
        assert_eq!(
            escaped(s, Escape::Ascii),
            "a&amp;&lt;&gt;&quot;&#39;\t\n&#13; &#233;&#65533;&#127;"
        );
        assert_eq!(
            escaped("\u{FFFE}\u{FFFF}😀", Escape::Ascii),
            "&#65533;&#65533;&#128512;"
        );
        assert_eq!(escape("]]>"), "]]&gt;");
    }

    #[test]
    fn lenient_unescaping_keeps_what_it_cannot_resolve() {
        assert_eq!(
            unescape_lenient("AT&T &amp; &#X41;&#66; &nbsp;"),
            "AT&T & AB &nbsp;"
        );
    }

    #[test]
    fn standard_tree_reads_the_first_element() {
        let el = standard_tree("\u{FEFF}<a x=\"1&amp;2\"><b>t&amp;&#65;&nope;</b><c/></a><z/>")
            .expect("a tree");
        assert_eq!(el.name, "a");
        assert_eq!(el.attr_exact("x"), Some("1&2"));
        assert_eq!(el.child_exact("b").map(|b| b.text.as_str()), Some("t&A"));
        assert!(el.child_exact("c").is_some());
        assert_eq!(standard_tree("<a><b></a>"), None);
        assert_eq!(standard_tree("<a>"), None);
    }
}
