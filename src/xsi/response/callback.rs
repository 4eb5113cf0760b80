//! The bodies phones POST to us on their own: stream-stopped notifications, application focus
//! events, and the free data of a `Notify:` URI.
//!
//! The phone sends `DATA=<notifyMediaEvent ...>` as a form field but does NOT percent-encode it
//! (Cisco's examples and real captures agree); a proxy or a newer firmware might, so an encoded
//! body is decoded too. A value that is not XML is the `data` part of a `Notify:` URI, returned
//! as [`Callback::Data`].

use super::error::ParseError;
use super::xml::{self, Element};

/// One callback from a phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// `<notifyMediaEvent type=".." origin=".."><mediaStream id=".."/></notifyMediaEvent>`.
    MediaEvent {
        /// What happened (`stopped`).
        kind: MediaEventType,
        /// Who caused it (`user` when the user hung up the audio path), if said.
        origin: Option<String>,
        /// The stream it concerns, if said.
        stream_id: Option<String>,
    },
    /// `<notifyStreamStopped id=".."/>`, from an RTP URI's onStreamStopped handler.
    StreamStopped {
        /// The stream id, if said.
        id: Option<String>,
    },
    /// `<notifyApplicationEvent appId=".." type=".."/>`.
    ApplicationEvent {
        /// The application id (`Company/Product`).
        app_id: String,
        /// Focus lost / gained, minimized, closed.
        kind: AppEventType,
    },
    /// The free `data` of a `Notify:` URI (`DATA=myStreamStoppedData`), decoded.
    Data(String),
}

/// `notifyMediaEvent type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEventType {
    /// The stream ended.
    Stopped,
    /// Any other type, kept as sent.
    Other(String),
}

/// `notifyApplicationEvent type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppEventType {
    /// onAppFocusLost.
    FocusLost,
    /// onAppFocusGained.
    FocusGained,
    /// onAppMinimized.
    Minimized,
    /// onAppClosed.
    Closed,
    /// Any other type, kept as sent.
    Other(String),
}

impl AppEventType {
    /// Read a type name, ignoring ASCII case.
    pub fn from_name(raw: &str) -> Self {
        match raw.trim().to_ascii_lowercase().as_str() {
            "focuslost" => AppEventType::FocusLost,
            "focusgained" => AppEventType::FocusGained,
            "minimized" => AppEventType::Minimized,
            "closed" => AppEventType::Closed,
            _ => AppEventType::Other(raw.trim().to_owned()),
        }
    }
}

/// Parse the body of a POST a phone sent to our callback URL.
pub fn parse_callback(body: &[u8]) -> Result<Callback, ParseError> {
    xml::check_size(body.len())?;
    let text = xml::decode(body);
    let trimmed = text.trim();
    let value = strip_prefix_ignore_case(trimmed, "DATA=").unwrap_or(trimmed);
    // Only a value without markup can be percent-encoded; a raw one may contain '%' or '+'
    // in its own right.
    let decoded = if !value.contains('<') && value.contains(['%', '+']) {
        let bytes = percent_decode(value);
        std::borrow::Cow::Owned(xml::decode(&bytes))
    } else {
        std::borrow::Cow::Borrowed(value)
    };
    let value = decoded.trim();
    if !value.starts_with('<') {
        return Ok(Callback::Data(value.to_owned()));
    }
    from_element(&xml::parse_str(value)?)
}

fn from_element(root: &Element) -> Result<Callback, ParseError> {
    let attr = |el: &Element, name| el.attr(name).map(|v| v.trim().to_owned());
    if root.is("notifyMediaEvent") {
        let kind = match root.attr("type").map(str::trim) {
            Some(t) if t.eq_ignore_ascii_case("stopped") => MediaEventType::Stopped,
            other => MediaEventType::Other(other.unwrap_or_default().to_owned()),
        };
        return Ok(Callback::MediaEvent {
            kind,
            origin: attr(root, "origin"),
            stream_id: root.child("mediaStream").and_then(|m| attr(m, "id")),
        });
    }
    if root.is("notifyStreamStopped") {
        return Ok(Callback::StreamStopped {
            id: attr(root, "id"),
        });
    }
    if root.is("notifyApplicationEvent") {
        return Ok(Callback::ApplicationEvent {
            app_id: attr(root, "appId")
                .ok_or(ParseError::Missing("notifyApplicationEvent appId"))?,
            kind: AppEventType::from_name(root.attr("type").unwrap_or_default()),
        });
    }
    Err(ParseError::UnexpectedRoot {
        expected: "notifyMediaEvent, notifyStreamStopped or notifyApplicationEvent",
        found: root.name.clone(),
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `application/x-www-form-urlencoded` value decoding; a `%` not followed by two hex digits
/// is kept as a literal.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = hex {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Callback, ParseError> {
        parse_callback(s.as_bytes())
    }

    fn stopped_by_user(id: &str) -> Callback {
        Callback::MediaEvent {
            kind: MediaEventType::Stopped,
            origin: Some("user".into()),
            stream_id: Some(id.into()),
        }
    }

    #[test]
    fn media_event_raw_as_phones_send_it() {
        let body = "DATA=<notifyMediaEvent type=\"stopped\" origin=\"user\">\r\n\
                    <mediaStream id=\"abc\"/>\r\n</notifyMediaEvent>";
        assert_eq!(parse(body).unwrap(), stopped_by_user("abc"));
    }

    #[test]
    fn media_event_percent_encoded() {
        let body = "DATA=%3CnotifyMediaEvent+type%3D%22stopped%22+origin%3D%22user%22%3E\
                    %3CmediaStream+id%3D%22abc%22%2F%3E%3C%2FnotifyMediaEvent%3E";
        assert_eq!(parse(body).unwrap(), stopped_by_user("abc"));
    }

    #[test]
    fn media_event_with_typographic_quotes() {
        let body = "DATA=<notifyMediaEvent type=\u{201D}stopped\u{201D} origin=\u{201D}user\u{201D}>\n\
                    <mediaStream id=\u{201D}abc123\u{201D}/>\n</notifyMediaEvent>";
        assert_eq!(parse(body).unwrap(), stopped_by_user("abc123"));
    }

    #[test]
    fn media_event_other_type() {
        let Callback::MediaEvent {
            kind,
            origin,
            stream_id,
        } = parse("DATA=<notifyMediaEvent type=\"paused\"/>").unwrap()
        else {
            panic!("not a media event");
        };
        assert_eq!(kind, MediaEventType::Other("paused".into()));
        assert_eq!((origin, stream_id), (None, None));
    }

    #[test]
    fn stream_stopped() {
        assert_eq!(
            parse("DATA=<notifyStreamStopped id=\"stream1\"/>").unwrap(),
            Callback::StreamStopped {
                id: Some("stream1".into())
            }
        );
    }

    #[test]
    fn application_events() {
        for (t, kind) in [
            ("focusLost", AppEventType::FocusLost),
            ("focusGained", AppEventType::FocusGained),
            ("minimized", AppEventType::Minimized),
            ("closed", AppEventType::Closed),
            ("odd", AppEventType::Other("odd".into())),
        ] {
            let body = format!("DATA=<notifyApplicationEvent appId=\"Acme/Pager\" type=\"{t}\"/>");
            assert_eq!(
                parse(&body).unwrap(),
                Callback::ApplicationEvent {
                    app_id: "Acme/Pager".into(),
                    kind
                }
            );
        }
        assert_eq!(
            parse("DATA=<notifyApplicationEvent type=\"closed\"/>"),
            Err(ParseError::Missing("notifyApplicationEvent appId"))
        );
    }

    #[test]
    fn plain_notify_data() {
        assert_eq!(
            parse("DATA=myStreamStoppedData").unwrap(),
            Callback::Data("myStreamStoppedData".into())
        );
        assert_eq!(
            parse("DATA=a%20b+c").unwrap(),
            Callback::Data("a b c".into())
        );
        assert_eq!(parse("DATA=100%").unwrap(), Callback::Data("100%".into()));
        assert_eq!(parse("").unwrap(), Callback::Data(String::new()));
    }

    #[test]
    fn body_without_data_prefix() {
        assert_eq!(
            parse("<notifyStreamStopped id=\"s\"/>").unwrap(),
            Callback::StreamStopped {
                id: Some("s".into())
            }
        );
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            parse("DATA=<CiscoIPPhoneText/>"),
            Err(ParseError::UnexpectedRoot { .. })
        ));
        let big = format!(
            "DATA={}",
            "a".repeat(super::super::error::MAX_DOCUMENT_BYTES)
        );
        assert!(matches!(parse(&big), Err(ParseError::TooLarge { .. })));
        for junk in [
            "DATA=%",
            "DATA=%ZZ<",
            "DATA=<",
            "\u{00e9}DATA",
            "DATA=%3C%FF",
        ] {
            let _ = parse(junk);
        }
    }
}
