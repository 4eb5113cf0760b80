//! Reading an answer: status, charset, size and the object into the [`ServiceView`] the phone
//! shows (title, items, soft keys, Input fields, Refresh, application events), or the error
//! line it shows instead. What a key press on the view does is `actions`'s.

use serde::Serialize;

use super::limits::MAX_OBJECT_BYTES;
use super::url::{parse_refresh, resolve_url};
use crate::phone_sim::core::app_fields;
use crate::xsi::request::{PushRequest, RequestError, parse_push_request};
// The strict reader in `xsi::request` has already checked the document; the toolkit's tree
// reads it without further rules.
use crate::xsi::xml::standard_tree as tree;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceItem {
    /// What the phone shows.
    pub name: String,
    /// The URL or URI behind it (resolved against the object's URL when relative); a
    /// directory entry's is `Dial:NUMBER`.
    pub url: Option<String>,
}

/// A soft key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSoftKey {
    /// Its label.
    pub name: String,
    /// URL or URI (`SoftKey:Exit` ...), as written.
    pub url: String,
    /// Position, 1-based.
    pub position: u32,
}

/// A field of an Input object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputField {
    /// `DisplayName`.
    pub display_name: String,
    /// `QueryStringParam`.
    pub query_param: String,
    /// `DefaultValue`.
    pub default: String,
    /// `InputFlags` (`A`, `N`, `AP` ...).
    pub flags: String,
}

/// A `Refresh` header: re-fetch `url` after `secs` seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refresh {
    /// Seconds (0: manual refresh only).
    pub secs: u64,
    /// The URL (the object's own when the header names none), resolved.
    pub url: String,
}

/// What the phone made of one fetched object: what it shows and what its keys do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceView {
    /// The URL fetched (after redirects).
    pub url: String,
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` as sent.
    pub content_type: Option<String>,
    /// Its charset (lower case), if named.
    pub charset: Option<String>,
    /// Root element (`CiscoIPPhoneMenu` ...); empty when the body was not an object.
    pub kind: String,
    /// `Title`.
    pub title: Option<String>,
    /// `Prompt`.
    pub prompt: Option<String>,
    /// `Text`.
    pub text: Option<String>,
    /// MenuItems / DirectoryEntries, in order (`select` counts from 1).
    pub items: Vec<ServiceItem>,
    /// Soft keys: the object's, or the phone's defaults for that object when it has none.
    pub softkeys: Vec<ServiceSoftKey>,
    /// Fields of an Input object.
    pub input_items: Vec<InputField>,
    /// Where an Input object is submitted (resolved).
    pub input_url: Option<String>,
    /// `get` or `post` (an Input's `<URL method="post">`).
    pub input_method: Option<String>,
    /// A `Refresh` header.
    pub refresh: Option<Refresh>,
    /// The `Expires` header, as sent.
    pub expires: Option<String>,
    /// Shown from the phone's cache (the way back), not fetched.
    pub from_cache: bool,
    /// The error line the phone shows instead (`XML Error [4]: Parse Error` ...).
    pub error: Option<String>,
    /// Why the last key press did nothing (an internal URI the emulator does not follow).
    pub note: Option<String>,
    /// The root's `appId`: the application the object belongs to.
    pub app_id: Option<String>,
    /// The root's application event handlers (`onAppFocusLost`, `onAppFocusGained`,
    /// `onAppMinimized`, `onAppClosed`) with their Notify URIs, as written; only with an
    /// `appId`.
    pub app_events: Vec<(String, String)>,
}

/// The charset parameter of a `Content-Type`, lower case.
pub fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    })
}

/// The body as text: Latin-1 when the charset says so, else UTF-8 (Latin-1 when not valid).
pub fn body_text(body: &[u8], charset: Option<&str>) -> String {
    let latin1 = |b: &[u8]| b.iter().map(|&c| char::from(c)).collect::<String>();
    match charset {
        Some("iso-8859-1" | "latin1" | "latin-1" | "us-ascii") => latin1(body),
        _ => match std::str::from_utf8(body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)) {
            Ok(t) => t.to_owned(),
            Err(_) => latin1(body),
        },
    }
}

/// The error line a phone shows for an HTTP status it cannot use.
pub fn status_error(status: u16) -> Option<String> {
    match status {
        200..=299 => None,
        404 => Some("File Not Found".into()),
        503 => Some("Server Busy!".into()),
        _ => Some("HTTP Error [8]: Unknown HTTP Error".into()),
    }
}

/// The soft keys a phone shows for an object that defines none.
fn default_softkeys(kind: &str) -> Vec<ServiceSoftKey> {
    let key = |name: &str, url: &str, position| ServiceSoftKey {
        name: name.into(),
        url: url.into(),
        position,
    };
    match kind {
        "CiscoIPPhoneMenu"
        | "CiscoIPPhoneGraphicMenu"
        | "CiscoIPPhoneGraphicFileMenu"
        | "CiscoIPPhoneIconMenu"
        | "CiscoIPPhoneIconFileMenu" => {
            vec![
                key("Select", "SoftKey:Select", 1),
                key("Exit", "SoftKey:Exit", 3),
            ]
        }
        "CiscoIPPhoneDirectory" => vec![
            key("Dial", "SoftKey:Dial", 1),
            key("EditDial", "SoftKey:EditDial", 2),
            key("Exit", "SoftKey:Exit", 3),
        ],
        "CiscoIPPhoneInput" => vec![
            key("Submit", "SoftKey:Submit", 1),
            key("<<", "SoftKey:<<", 2),
            key("Cancel", "SoftKey:Cancel", 3),
        ],
        "" => Vec::new(),
        _ => vec![key("Exit", "SoftKey:Exit", 3)],
    }
}

/// An HTTP answer as the phone reads it.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// The URL it answered (after redirects).
    pub url: String,
    /// Status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Refresh`.
    pub refresh: Option<String>,
    /// `Expires`.
    pub expires: Option<String>,
    /// Every `Set-Cookie`.
    pub set_cookies: Vec<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// Read an answer into the view the phone shows. Pure: `url` resolves the relative URLs.
pub fn parse_view(answer: &Answer) -> ServiceView {
    let charset = answer.content_type.as_deref().and_then(charset_of);
    let mut view = ServiceView {
        url: answer.url.clone(),
        status: answer.status,
        content_type: answer.content_type.clone(),
        charset: charset.clone(),
        expires: answer.expires.clone(),
        ..ServiceView::default()
    };
    view.refresh = answer
        .refresh
        .as_deref()
        .and_then(parse_refresh)
        .and_then(|(secs, url)| {
            let url = match url {
                Some(u) => resolve_url(Some(&answer.url), &u).ok()?,
                None => answer.url.clone(),
            };
            Some(Refresh { secs, url })
        });
    if let Some(e) = status_error(answer.status) {
        view.error = Some(e);
        return view;
    }
    if answer.body.len() > MAX_OBJECT_BYTES {
        view.error = Some("Data too large!".into());
        return view;
    }
    let text = body_text(&answer.body, charset.as_deref());
    match parse_push_request(&text) {
        // A Status is pushed only: "Cannot be pulled (HTTP GET)".
        Ok(PushRequest::Display(obj)) if !obj.root.starts_with("CiscoIPPhoneStatus") => {
            view.kind = obj.root;
        }
        Ok(_) | Err(RequestError::Unsupported(_)) => {
            view.error = Some("XML Error [5]: Unsupported XML Object".into());
            return view;
        }
        Err(_) => {
            view.error = Some("XML Error [4]: Parse Error".into());
            return view;
        }
    }
    let Some(root) = tree(&text) else {
        view.error = Some("XML Error [4]: Parse Error".into());
        return view;
    };
    let resolve = |u: &str| {
        let u = u.trim();
        resolve_url(Some(&answer.url), u).unwrap_or_else(|_| u.to_owned())
    };
    let (app_id, app_events) = app_fields(root.attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if app_id.is_some() {
        view.app_id = app_id;
        view.app_events = app_events;
    }
    view.title = root.child_text("Title");
    view.prompt = root.child_text("Prompt");
    view.text = root.child_text("Text");
    view.items = match view.kind.as_str() {
        "CiscoIPPhoneDirectory" => root
            .children_named("DirectoryEntry")
            .map(|e| ServiceItem {
                name: e.child_text("Name").unwrap_or_default(),
                url: e
                    .child_text("Telephone")
                    .map(|t| format!("Dial:{}", t.trim())),
            })
            .collect(),
        _ => root
            .children_named("MenuItem")
            .map(|e| ServiceItem {
                name: e.child_text("Name").unwrap_or_default(),
                url: e.child_text("URL").map(|u| resolve(&u)),
            })
            .collect(),
    };
    view.softkeys = root
        .children_named("SoftKeyItem")
        .enumerate()
        .map(|(i, k)| ServiceSoftKey {
            name: k.child_text("Name").unwrap_or_default(),
            url: k.child_text("URL").unwrap_or_default().trim().to_owned(),
            position: k
                .child_text("Position")
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(i as u32 + 1),
        })
        .collect();
    if view.softkeys.is_empty() {
        view.softkeys = default_softkeys(&view.kind);
    }
    if view.kind == "CiscoIPPhoneInput" {
        let url = root.child_exact("URL");
        view.input_url = url.map(|u| resolve(&u.text));
        view.input_method = Some(
            url.and_then(|u| u.attrs.iter().find(|(k, _)| k == "method"))
                .map_or("get".to_owned(), |(_, v)| v.to_ascii_lowercase()),
        );
        view.input_items = root
            .children_named("InputItem")
            .map(|i| InputField {
                display_name: i.child_text("DisplayName").unwrap_or_default(),
                query_param: i.child_text("QueryStringParam").unwrap_or_default(),
                default: i.child_text("DefaultValue").unwrap_or_default(),
                flags: i.child_text("InputFlags").unwrap_or_default(),
            })
            .collect();
    }
    view
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::phone_sim::browser) fn answer(url: &str, body: &str) -> Answer {
        Answer {
            url: url.into(),
            status: 200,
            content_type: Some("text/xml; charset=utf-8".into()),
            body: body.as_bytes().to_vec(),
            ..Answer::default()
        }
    }

    #[test]
    fn a_status_cannot_be_pulled() {
        for root in ["CiscoIPPhoneStatus", "CiscoIPPhoneStatusFile"] {
            let v = parse_view(&answer(
                "http://h/",
                &format!("<{root}><Text>x</Text></{root}>"),
            ));
            assert_eq!(
                v.error.as_deref(),
                Some("XML Error [5]: Unsupported XML Object"),
                "{root}"
            );
        }
        let v = parse_view(&answer(
            "http://h/",
            "<CiscoIPPhoneText><Text>x</Text></CiscoIPPhoneText>",
        ));
        assert_eq!(v.error, None);
    }

    #[test]
    fn an_object_over_its_limits_is_a_parse_error() {
        let title = "t".repeat(33);
        let body = format!("<CiscoIPPhoneText><Title>{title}</Title></CiscoIPPhoneText>");
        let v = parse_view(&answer("http://h/", &body));
        assert_eq!(v.error.as_deref(), Some("XML Error [4]: Parse Error"));
    }

    #[test]
    fn bad_objects_and_statuses_give_the_phones_error_lines() {
        let v = parse_view(&answer("http://h/", "<CiscoIPPhoneText><Text>x</Tex>"));
        assert_eq!(v.error.as_deref(), Some("XML Error [4]: Parse Error"));
        let v = parse_view(&answer("http://h/", "<Foo/>"));
        assert_eq!(
            v.error.as_deref(),
            Some("XML Error [5]: Unsupported XML Object")
        );
        let v = parse_view(&Answer {
            status: 404,
            ..answer("http://h/", "")
        });
        assert_eq!(v.error.as_deref(), Some("File Not Found"));
    }
}
