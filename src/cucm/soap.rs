//! SOAP 1.1 as CUCM speaks it: the envelope every request goes in, and a bounded streaming walk
//! of an answer that hands each element's path and text to the caller and keeps any SOAP fault
//! (`faultstring`, and AXL's own `axlcode`/`axlmessage` in its `detail`). The AXL and RIS
//! parsers are built on [`walk`]; they own what the elements mean.
//!
//! Every answer is outside input: its size ([`MAX_ANSWER_BYTES`]), depth ([`MAX_DEPTH`]) and
//! each text ([`MAX_TEXT_BYTES`]) are bounded, and an answer past a bound is refused, naming it.

use std::fmt;

use quick_xml::events::Event;

use crate::xsi::xml::{Refs, Rules, reader, strip_bom, text_of};

/// Largest answer read: CUCM refuses reads over 8 MB itself, so 16 MiB leaves room for markup.
pub const MAX_ANSWER_BYTES: usize = 16 << 20;
/// Deepest element nesting accepted (RIS answers nest 9 deep).
pub const MAX_DEPTH: usize = 32;
/// Longest text of one element (a description is 128 characters, a StateInfo a few KB).
pub const MAX_TEXT_BYTES: usize = 64 << 10;

/// The SOAP 1.1 envelope namespace.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// A SOAP fault, with Cisco's own words.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SoapFault {
    /// `faultcode` (e.g. `soapenv:Server`).
    pub code: String,
    /// `faultstring`.
    pub string: String,
    /// AXL's `axlcode`, when the detail carries an `axlError`.
    pub axl_code: Option<i64>,
    /// AXL's `axlmessage`, when there is one.
    pub axl_message: Option<String>,
}

impl SoapFault {
    /// Cisco's message: AXL's `axlmessage` when given, else the `faultstring`.
    pub fn message(&self) -> &str {
        match &self.axl_message {
            Some(m) if !m.trim().is_empty() => m.trim(),
            _ => self.string.trim(),
        }
    }
}

impl fmt::Display for SoapFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())?;
        if let Some(code) = self.axl_code {
            write!(f, " (axlcode {code})")?;
        }
        Ok(())
    }
}

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    /// CUCM answered with a fault.
    #[error("CUCM refused the request: {0}")]
    Fault(SoapFault),
    /// The answer is not the XML the request returns.
    #[error("CUCM's answer to {what} cannot be read: {why}")]
    Malformed {
        /// The request answered (`listPhone`, `selectCmDeviceExt` ...).
        what: &'static str,
        /// What is wrong, with the bound when one was passed.
        why: String,
    },
}

impl SoapError {
    pub(crate) fn malformed(what: &'static str, why: impl Into<String>) -> SoapError {
        SoapError::Malformed {
            what,
            why: why.into(),
        }
    }

    /// The fault, when this is one.
    pub fn fault(&self) -> Option<&SoapFault> {
        match self {
            SoapError::Fault(f) => Some(f),
            SoapError::Malformed { .. } => None,
        }
    }
}

/// `body` (one operation element, namespaces declared on it) in a SOAP 1.1 envelope.
pub fn envelope(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 160);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope xmlns:soapenv=\"");
    out.push_str(SOAP_ENV_NS);
    out.push_str("\"><soapenv:Header/><soapenv:Body>");
    out.push_str(body);
    out.push_str("</soapenv:Body></soapenv:Envelope>");
    out
}

/// What [`walk`] reports, in document order.
#[derive(Debug)]
pub(crate) enum Step<'a> {
    /// An element opened; `path` holds the local names from the root to it.
    Open(&'a [String]),
    /// An element closed with its own text (trimmed; empty for a parent).
    Close(&'a [String], &'a str),
}

/// Walk `xml` (an answer of request `what`), calling `on` for every element, within the
/// module's bounds. A SOAP fault anywhere in the answer is returned as [`SoapError::Fault`]
/// once the walk ends, whatever `on` made of it.
pub(crate) fn walk(
    xml: &str,
    what: &'static str,
    mut on: impl FnMut(Step<'_>) -> Result<(), String>,
) -> Result<(), SoapError> {
    if xml.len() > MAX_ANSWER_BYTES {
        return Err(SoapError::malformed(
            what,
            format!(
                "{} bytes, over the {MAX_ANSWER_BYTES}-byte bound",
                xml.len()
            ),
        ));
    }
    let mut r = reader(strip_bom(xml), Rules::Strict);
    let mut path: Vec<String> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut fault: Option<SoapFault> = None;
    let bad = |why: String| SoapError::malformed(what, why);
    loop {
        let event = r
            .read_event()
            .map_err(|e| bad(format!("at byte {}: {e}", r.buffer_position())))?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                if path.len() >= MAX_DEPTH {
                    return Err(bad(format!("nested deeper than {MAX_DEPTH} elements")));
                }
                let name = e.local_name().into_inner().to_owned();
                if name == "Fault" && fault.is_none() {
                    fault = Some(SoapFault::default());
                }
                path.push(name);
                texts.push(String::new());
                on(Step::Open(&path)).map_err(bad)?;
                if matches!(event, Event::Empty(_)) {
                    close(&mut path, &mut texts, &mut fault, &mut on).map_err(bad)?;
                }
            }
            Event::End(_) => close(&mut path, &mut texts, &mut fault, &mut on).map_err(bad)?,
            Event::Eof => break,
            other => {
                if let (Some(t), Some(top)) = (text_of(other, Refs::Keep), texts.last_mut()) {
                    if top.len() + t.len() > MAX_TEXT_BYTES {
                        return Err(bad(format!(
                            "an element's text is over {MAX_TEXT_BYTES} bytes"
                        )));
                    }
                    top.push_str(&t);
                }
            }
        }
    }
    if !path.is_empty() {
        return Err(bad(format!("ends inside <{}>", path.join("/"))));
    }
    match fault {
        Some(f) => Err(SoapError::Fault(f)),
        None => Ok(()),
    }
}

fn close(
    path: &mut Vec<String>,
    texts: &mut Vec<String>,
    fault: &mut Option<SoapFault>,
    on: &mut impl FnMut(Step<'_>) -> Result<(), String>,
) -> Result<(), String> {
    let text = texts.pop().unwrap_or_default();
    let text = text.trim();
    if let Some(f) = fault.as_mut()
        && path.iter().any(|p| p == "Fault")
    {
        match path.last().map(String::as_str) {
            Some("faultcode") => f.code = text.to_owned(),
            Some("faultstring") => f.string = text.to_owned(),
            Some("axlmessage") => f.axl_message = Some(text.to_owned()),
            Some("axlcode") => f.axl_code = text.parse().ok(),
            _ => {}
        }
    }
    on(Step::Close(path, text))?;
    path.pop();
    Ok(())
}

/// Whether `path` ends with `suffix` (local names).
pub(crate) fn ends_with(path: &[String], suffix: &[&str]) -> bool {
    path.len() >= suffix.len()
        && path[path.len() - suffix.len()..]
            .iter()
            .zip(suffix)
            .all(|(a, b)| a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AXL_FAULT: &str = "<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope \
        xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><soapenv:Fault>\
        <faultcode>soapenv:Client</faultcode><faultstring>Item not valid: The specified Name \
        was not found</faultstring><detail><axlError><axlcode>5007</axlcode><axlmessage>Item not \
        valid: The specified Name was not found</axlmessage><request>getPhone</request>\
        </axlError></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>";

    #[test]
    fn a_fault_comes_back_with_ciscos_words() {
        let e = walk(AXL_FAULT, "getPhone", |_| Ok(())).unwrap_err();
        let f = e.fault().unwrap();
        assert_eq!(f.code, "soapenv:Client");
        assert_eq!(f.axl_code, Some(5007));
        assert_eq!(
            f.to_string(),
            "Item not valid: The specified Name was not found (axlcode 5007)"
        );
    }

    #[test]
    fn bounds_are_refused_by_name() {
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        let e = walk(&deep, "listPhone", |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains("deeper than 32"), "{e}");
        let long = format!("<a>{}</a>", "x".repeat(MAX_TEXT_BYTES + 1));
        let e = walk(&long, "listPhone", |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains("text is over"), "{e}");
        let e = walk("<a><b></a>", "listPhone", |_| Ok(())).unwrap_err();
        assert!(matches!(e, SoapError::Malformed { .. }), "{e}");
        let e = walk("<a><b>", "listPhone", |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains("ends inside"), "{e}");
    }

    #[test]
    fn the_envelope_wraps_one_element() {
        let e = envelope("<x/>");
        assert!(e.contains("<soapenv:Body><x/></soapenv:Body>"));
        walk(&e, "x", |_| Ok(())).unwrap();
    }
}
