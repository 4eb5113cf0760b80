//! The bytes of a phone's answers: CiscoIPPhoneResponse/Error, XML escaping, basic-auth
//! base64.

use crate::xsi::object::{PhoneResponse, ResponseRow};

pub(super) fn is_http(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// `<CiscoIPPhoneError Number="n"/>`.
pub fn error_xml(n: u8) -> String {
    format!("<CiscoIPPhoneError Number=\"{n}\"/>\r\n")
}

/// A CiscoIPPhoneResponse with these (URL, Status, Data) rows, built by
/// [`PhoneResponse`] (attributes in the order real phones write them: URL, Data, Status). Rows
/// the builder refuses (more than 3, a URL over 256 characters) cannot come from a parsed
/// request; if they ever did, the phone's answer is `CiscoIPPhoneError Number="2"`, "error
/// framing CiscoIPPhoneResponse object".
pub fn response_xml(rows: &[(&str, u32, &str)]) -> String {
    rows.iter()
        .map(|&(url, status, data)| {
            ResponseRow::new(url, i16::try_from(status).unwrap_or(i16::MAX), data)
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(PhoneResponse::new)
        .map_or_else(|_| error_xml(2), |r| r.to_phone_xml())
}

/// XML-escape text for element content and attribute values: the five markup characters,
/// nothing else (the toolkit's [`crate::xsi::xml::Escape::Markup`]).
pub use crate::xsi::xml::escape_markup as escape;

/// Standard base64 (RFC 4648) decoding, padding optional; `None` on any other character.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Standard base64 encoding with padding.
pub fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
