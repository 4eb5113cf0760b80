//! The reply to a `startMedia` push: `<mediaStream id=".."/>` on success, an `<errorResponse>`
//! when the RTP Streaming API refuses, or a `CiscoIPPhoneError` (authentication ...).
//!
//! The schema wraps the success in `<startMediaResponse>`, Cisco's example shows a bare
//! `<mediaStream>`: both are read. The `errorResponse` body is not in any public source we
//! have, only its columns (Type, Data), so it is read loosely: the type from an `errorType`
//! child (or a `type` attribute), the data from the next child's text, or the element's text.

use super::error::ParseError;
use super::execute::{PhoneError, phone_error};
use super::xml::{self, Element};

/// What a phone answered to startMedia.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaReply {
    /// The stream runs; keep the id for stopMedia and to match its callbacks.
    Started(MediaStarted),
    /// The RTP Streaming API refused the request.
    Error(MediaError),
    /// The push itself was refused (`CiscoIPPhoneError`).
    PhoneError(PhoneError),
}

/// `<mediaStream id="..."/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaStarted {
    /// The stream id the phone chose.
    pub id: String,
}

/// `<errorResponse>`: its type and the free-text data (e.g. "Unknown Media Stream ID: abc").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaError {
    /// The typed `errorType`.
    pub kind: MediaErrorType,
    /// The data column, empty when absent.
    pub data: String,
}

/// RTP Streaming API error types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaErrorType {
    /// The request does not follow the schema.
    InvalidXml,
    /// No DSP resource free ("No Media Resource Available").
    UnavailableResource,
    /// stopMedia named a stream id that does not exist.
    InvalidResourceId,
    /// A URL (onStopped ...) is not valid.
    InvalidUrl,
    /// The requested resource is not valid.
    InvalidResource,
    /// Anything else, kept as sent.
    Other(String),
}

impl MediaErrorType {
    /// Read a type name. Spaces and ASCII case are ignored and the documentation's own
    /// spellings ("InfalidXML", "Unavailable Resource") are accepted.
    pub fn from_name(raw: &str) -> Self {
        let key: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        match key.as_str() {
            "invalidxml" | "infalidxml" => MediaErrorType::InvalidXml,
            "unavailableresource" => MediaErrorType::UnavailableResource,
            "invalidresourceid" => MediaErrorType::InvalidResourceId,
            "invalidurl" => MediaErrorType::InvalidUrl,
            "invalidresource" => MediaErrorType::InvalidResource,
            _ => MediaErrorType::Other(raw.trim().to_owned()),
        }
    }
}

/// Parse the body of the HTTP reply to startMedia.
pub fn parse_media_reply(body: &[u8]) -> Result<MediaReply, ParseError> {
    let root = xml::parse_bytes(body)?;
    if root.is("CiscoIPPhoneError") {
        return phone_error(&root).map(MediaReply::PhoneError);
    }
    if root.is("errorResponse") {
        return Ok(MediaReply::Error(media_error(&root)));
    }
    let stream = if root.is("mediaStream") {
        &root
    } else if root.is("startMediaResponse") {
        root.child("mediaStream")
            .ok_or(ParseError::Missing("startMediaResponse mediaStream"))?
    } else {
        return Err(ParseError::UnexpectedRoot {
            expected: "mediaStream, startMediaResponse or errorResponse",
            found: root.name.clone(),
        });
    };
    let id = stream
        .attr("id")
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or(ParseError::Missing("mediaStream id"))?;
    Ok(MediaReply::Started(MediaStarted { id: id.to_owned() }))
}

fn media_error(root: &Element) -> MediaError {
    let type_el = root.child("errorType").or_else(|| root.child("type"));
    let kind = type_el
        .map(Element::trimmed_text)
        .or_else(|| root.attr("type"))
        .or_else(|| root.attr("errorType"))
        .map_or(
            MediaErrorType::Other(String::new()),
            MediaErrorType::from_name,
        );
    let data = root
        .children
        .iter()
        .find(|c| !c.is("errorType") && !c.is("type"))
        .map_or_else(|| root.trimmed_text(), Element::trimmed_text);
    MediaError {
        kind,
        data: data.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<MediaReply, ParseError> {
        parse_media_reply(s.as_bytes())
    }

    fn started(id: &str) -> MediaReply {
        MediaReply::Started(MediaStarted { id: id.into() })
    }

    #[test]
    fn bare_media_stream() {
        assert_eq!(
            parse("<mediaStream id=\"abc123\"/>").unwrap(),
            started("abc123")
        );
    }

    #[test]
    fn wrapped_in_start_media_response() {
        let doc = "<?xml version=\"1.0\"?>\n<startMediaResponse>\n  <mediaStream id=\" s1 \"/>\n</startMediaResponse>";
        assert_eq!(parse(doc).unwrap(), started("s1"));
    }

    #[test]
    fn typographic_quotes_as_in_the_pdf() {
        assert_eq!(
            parse("<mediaStream id=\u{201D}abc123\u{201D}/>").unwrap(),
            started("abc123")
        );
    }

    #[test]
    fn error_types() {
        for (name, kind) in [
            ("InvalidXML", MediaErrorType::InvalidXml),
            ("InfalidXML", MediaErrorType::InvalidXml),
            ("UnavailableResource", MediaErrorType::UnavailableResource),
            ("Unavailable Resource", MediaErrorType::UnavailableResource),
            ("InvalidResourceID", MediaErrorType::InvalidResourceId),
            ("InvalidURL", MediaErrorType::InvalidUrl),
            ("InvalidResource", MediaErrorType::InvalidResource),
            ("Busy", MediaErrorType::Other("Busy".into())),
        ] {
            assert_eq!(MediaErrorType::from_name(name), kind);
        }
    }

    #[test]
    fn error_response_with_data() {
        let doc = "<errorResponse>\r\n<errorType>InvalidResourceID</errorType>\r\n\
                   <errorData>Unknown Media Stream ID: abc</errorData>\r\n</errorResponse>";
        assert_eq!(
            parse(doc).unwrap(),
            MediaReply::Error(MediaError {
                kind: MediaErrorType::InvalidResourceId,
                data: "Unknown Media Stream ID: abc".into(),
            })
        );
    }

    #[test]
    fn error_response_type_only() {
        let MediaReply::Error(e) =
            parse("<errorResponse><errorType>UnavailableResource</errorType></errorResponse>")
                .unwrap()
        else {
            panic!("not an error reply");
        };
        assert_eq!(e.kind, MediaErrorType::UnavailableResource);
        assert_eq!(e.data, "");
    }

    #[test]
    fn phone_error() {
        assert_eq!(
            parse("<CiscoIPPhoneError Number=\"4\"/>").unwrap(),
            MediaReply::PhoneError(PhoneError::Authentication)
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(
            parse("<mediaStream/>"),
            Err(ParseError::Missing("mediaStream id"))
        );
        assert!(matches!(
            parse("<stopMedia/>"),
            Err(ParseError::UnexpectedRoot { .. })
        ));
    }
}
