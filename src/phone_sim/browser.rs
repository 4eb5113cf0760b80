//! The phone's XML services browser, pure: what a phone sends when it fetches a service URL,
//! what it keeps (cookies, a small cache, the way back), how it reads the object it gets, and
//! what a key press on that object does. No I/O and no clock: the time comes in as arguments.
//! [`super::http`] carries out the requests this module prepares.
//!
//! The phone-side rules are the spec's: the `x-CiscoIPPhone*` capability headers, `#DEVICENAME#`
//! in service URLs, `Set-Cookie` (4 cookies per host, 255 bytes each, 8 hosts, ~30 minutes
//! idle), `Expires` (an object already expired is not cached) and `Refresh: N; url=U`.

use std::time::SystemTime;

use quick_xml::events::Event;
use serde::Serialize;

use super::core::app_fields;
use super::profile::Profile;
use crate::xsi::request::{PushRequest, RequestError, parse_push_request};

/// Cookies a phone keeps per host.
pub const COOKIES_PER_HOST: usize = 4;
/// Largest `name=value` of a cookie a phone keeps, bytes.
pub const COOKIE_MAX_BYTES: usize = 255;
/// Hosts (sessions) a phone keeps cookies for.
pub const COOKIE_HOSTS: usize = 8;
/// A host's cookies are forgotten after this long unused.
pub const COOKIE_IDLE_MS: u64 = 30 * 60 * 1000;
/// Objects kept for the way back.
pub const CACHE_MAX: usize = 8;
/// Screens remembered for `SoftKey:Back`.
pub const HISTORY_MAX: usize = 16;
/// Redirects a phone follows before giving up.
pub const MAX_REDIRECTS: usize = 5;
/// Largest object a phone reads, bytes (larger: "Data too large!").
pub const MAX_OBJECT_BYTES: usize = 512 * 1024;
/// The default `Accept-Language`.
pub const DEFAULT_LANGUAGE: &str = "en";

/// Why a browsing step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrowseError {
    /// No phone of that name.
    #[error("no phone named {0}")]
    NoPhone(String),
    /// The phone crashed (fault) and does nothing.
    #[error("phone has crashed")]
    Crashed,
    /// No service is on the screen.
    #[error("no service on the screen")]
    NoService,
    /// The step closed the service (an item bound to `SoftKey:Exit` ...): nothing to show.
    #[error("the service closed")]
    Closed,
    /// Not an HTTP(S) URL, or one that cannot be resolved.
    #[error("bad URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The object on screen has no such item (1-based).
    #[error("no item {item}: the {kind} has {count}")]
    NoItem {
        /// Item asked for.
        item: usize,
        /// Items there are.
        count: usize,
        /// The object.
        kind: String,
    },
    /// The object on screen has no such soft key.
    #[error("no soft key {name:?}; the keys are {keys:?}")]
    NoSoftKey {
        /// Label asked for.
        name: String,
        /// Labels there are.
        keys: Vec<String>,
    },
    /// Submit on something that is not an Input object, or with a field it does not have.
    #[error("cannot submit: {0}")]
    NotInput(String),
    /// The request failed before an answer (connection refused, timeout, too many redirects).
    #[error("HTTP request to {url} failed: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// One request as the phone sent it (for tests: what a services server saw).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestLog {
    /// `GET` or `POST`.
    pub method: String,
    /// The URL, `#DEVICENAME#` expanded.
    pub url: String,
    /// Every header the phone set, in order.
    pub headers: Vec<(String, String)>,
    /// The body of a POST.
    pub body: Option<String>,
}

impl BrowseError {
    /// The HTTP status a control endpoint answers this error with.
    pub fn http_status(&self) -> u16 {
        match self {
            BrowseError::NoPhone(_) => 404,
            BrowseError::Crashed => 503,
            BrowseError::Http { .. } => 502,
            BrowseError::NoService | BrowseError::Closed => 409,
            _ => 400,
        }
    }
}

impl RequestLog {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A menu or directory entry.
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

// ---------------------------------------------------------------------------------------------
// Cookies

#[derive(Debug, Clone)]
struct HostCookies {
    host: String,
    /// Oldest first.
    cookies: Vec<(String, String)>,
    last_used_ms: u64,
}

/// What [`CookieJar::store`] did with one `Set-Cookie`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieStored {
    /// Kept (new).
    Stored,
    /// Kept, replacing a cookie of the same name.
    Replaced,
    /// Kept, and the host's oldest cookie (named) was dropped to make room.
    Evicted(String),
    /// Over [`COOKIE_MAX_BYTES`]: dropped.
    TooLarge,
    /// `Max-Age=0` (or negative): the cookie of that name was removed.
    Deleted,
    /// Not `name=value`: ignored.
    Invalid,
}

/// A phone's cookies, per host (not per port, as browsers do).
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    hosts: Vec<HostCookies>,
}

impl CookieJar {
    fn expire(&mut self, now_ms: u64) {
        self.hosts
            .retain(|h| now_ms.saturating_sub(h.last_used_ms) < COOKIE_IDLE_MS);
    }

    /// Keep one `Set-Cookie` header from `host`.
    pub fn store(&mut self, now_ms: u64, host: &str, set_cookie: &str) -> CookieStored {
        self.expire(now_ms);
        let mut parts = set_cookie.split(';');
        let pair = parts.next().unwrap_or("").trim();
        let Some((name, value)) = pair.split_once('=') else {
            return CookieStored::Invalid;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return CookieStored::Invalid;
        }
        let delete = parts.any(|a| {
            a.trim().split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("max-age")
                    && !v.trim().parse::<i64>().is_ok_and(|n| n > 0)
            })
        });
        let host = host.to_ascii_lowercase();
        let pos = self.hosts.iter().position(|h| h.host == host);
        if delete {
            if let Some(i) = pos {
                self.hosts[i].cookies.retain(|(n, _)| n != name);
            }
            return CookieStored::Deleted;
        }
        if name.len() + 1 + value.len() > COOKIE_MAX_BYTES {
            return CookieStored::TooLarge;
        }
        let i = match pos {
            Some(i) => i,
            None => {
                if self.hosts.len() == COOKIE_HOSTS
                    && let Some(lru) = self
                        .hosts
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, h)| h.last_used_ms)
                        .map(|(i, _)| i)
                {
                    self.hosts.remove(lru);
                }
                self.hosts.push(HostCookies {
                    host,
                    cookies: Vec::new(),
                    last_used_ms: now_ms,
                });
                self.hosts.len() - 1
            }
        };
        let h = &mut self.hosts[i];
        h.last_used_ms = now_ms;
        let kept = (name.to_owned(), value.to_owned());
        if let Some(j) = h.cookies.iter().position(|(n, _)| n == name) {
            h.cookies.remove(j);
            h.cookies.push(kept);
            return CookieStored::Replaced;
        }
        let evicted = (h.cookies.len() >= COOKIES_PER_HOST).then(|| h.cookies.remove(0).0);
        h.cookies.push(kept);
        evicted.map_or(CookieStored::Stored, CookieStored::Evicted)
    }

    /// The `Cookie` header for a request to `host`, if it has cookies.
    pub fn header(&mut self, now_ms: u64, host: &str) -> Option<String> {
        self.expire(now_ms);
        let host = host.to_ascii_lowercase();
        let h = self.hosts.iter_mut().find(|h| h.host == host)?;
        h.last_used_ms = now_ms;
        (!h.cookies.is_empty()).then(|| {
            h.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The cookies kept for `host`, oldest first.
    pub fn cookies(&self, host: &str) -> Vec<(String, String)> {
        let host = host.to_ascii_lowercase();
        self.hosts
            .iter()
            .find(|h| h.host == host)
            .map(|h| h.cookies.clone())
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// URLs and headers

/// `url` with every `#DEVICENAME#` replaced by the device name (`SEP` and the MAC).
pub fn expand_device_name(url: &str, device: &str) -> String {
    url.replace("#DEVICENAME#", device)
}

/// `url` as an absolute HTTP(S) URL: as is when absolute, else resolved against `base`.
pub fn resolve_url(base: Option<&str>, url: &str) -> Result<String, BrowseError> {
    let bad = |reason: String| BrowseError::BadUrl {
        url: url.to_owned(),
        reason,
    };
    let parsed = match reqwest::Url::parse(url.trim()) {
        Ok(u) => u,
        Err(e) => {
            let base =
                base.ok_or_else(|| bad(format!("{e}, and no page to resolve it against")))?;
            reqwest::Url::parse(base)
                .and_then(|b| b.join(url.trim()))
                .map_err(|e| bad(e.to_string()))?
        }
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("not an HTTP or HTTPS URL".into()));
    }
    Ok(parsed.to_string())
}

/// The host part of an absolute URL (cookie key), lower case.
pub fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
}

/// A `Refresh` header: `N`, `N; url=U` or `N;URL=U` (U may be quoted). Seconds and URL as sent.
pub fn parse_refresh(value: &str) -> Option<(u64, Option<String>)> {
    let (secs, rest) = match value.split_once(';') {
        Some((s, r)) => (s, Some(r)),
        None => (value, None),
    };
    let secs: u64 = secs.trim().parse().ok()?;
    let url = rest.and_then(|r| {
        let r = r.trim();
        let (k, v) = r.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("url") {
            return None;
        }
        let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
        (!v.is_empty()).then(|| v.to_owned())
    });
    Some((secs, url))
}

/// An `Expires` header as a time: an HTTP date (`Tue, 15 Nov 1994 08:12:31 GMT`); `0`, `-1` or
/// anything unreadable mean "already expired", as HTTP says.
pub fn parse_expires(value: &str) -> SystemTime {
    chrono::DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .and_then(|t| u64::try_from(t.timestamp()).ok())
        .map_or(SystemTime::UNIX_EPOCH, |s| {
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s)
        })
}

/// The charset a model asks for: UTF-8, but ISO-8859-1 on the old 79xx firmware.
pub fn accept_charset(profile: &Profile) -> &'static str {
    if profile.family == crate::xsi::model::ModelFamily::Legacy79xx {
        "iso-8859-1"
    } else {
        "utf-8"
    }
}

/// The `User-Agent` of a model's browser.
pub fn user_agent(profile: &Profile) -> String {
    if profile.family == crate::xsi::model::ModelFamily::Legacy79xx {
        "Allegro-Software-WebClient/4.34".to_owned()
    } else {
        format!("Cisco-{}/{}", profile.model, profile.version_id)
    }
}

/// The headers a phone of `profile` sends with a service request, in order.
pub fn request_headers(
    profile: &Profile,
    language: &str,
    cookie: Option<String>,
) -> Vec<(String, String)> {
    let mut h = vec![
        ("User-Agent".to_owned(), user_agent(profile)),
        ("x-CiscoIPPhoneModelName".to_owned(), profile.model.clone()),
        (
            "x-CiscoIPPhoneDisplay".to_owned(),
            profile.display.header_value(),
        ),
        (
            "x-CiscoIPPhoneSDKVersion".to_owned(),
            profile.sdk_version.clone(),
        ),
        (
            "Accept".to_owned(),
            format!("x-CiscoIPPhone/*;version={}", profile.sdk_version),
        ),
        ("Accept-Language".to_owned(), language.to_owned()),
        (
            "Accept-Charset".to_owned(),
            accept_charset(profile).to_owned(),
        ),
    ];
    if let Some(c) = cookie {
        h.push(("Cookie".to_owned(), c));
    }
    h
}

/// Percent-encoding of a query value: everything but `A-Z a-z 0-9 - . _ ~` as `%XX` (so a space
/// is `%20`, which every server reads; `+` would be read as a plus by some).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Reading an object

/// A lenient element tree (the strict reader in [`crate::xsi::request`] has already checked
/// the document).
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
    fn text_of(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.clone())
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn tree(xml: &str) -> Option<Node> {
    let mut reader = quick_xml::Reader::from_str(xml.strip_prefix('\u{FEFF}').unwrap_or(xml));
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Node> = Vec::new();
    let start = |e: &quick_xml::events::BytesStart<'_>| Node {
        name: e.name().as_ref().to_owned(),
        attrs: e
            .attributes()
            .flatten()
            .map(|a| {
                (
                    a.key.as_ref().to_owned(),
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.into_owned())
                        .unwrap_or_default(),
                )
            })
            .collect(),
        ..Node::default()
    };
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => stack.push(start(&e)),
            Event::Empty(e) => {
                let n = start(&e);
                match stack.last_mut() {
                    Some(p) => p.children.push(n),
                    None => return Some(n),
                }
            }
            Event::End(_) => {
                let n = stack.pop()?;
                match stack.last_mut() {
                    Some(p) => p.children.push(n),
                    None => return Some(n),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let c = r
                    .resolve_char_ref()
                    .ok()
                    .flatten()
                    .or_else(|| crate::xsi::predefined_entity(&r));
                if let (Some(top), Some(c)) = (stack.last_mut(), c) {
                    top.text.push(c);
                }
            }
            Event::Eof => return None,
            _ => {}
        }
    }
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
        Ok(PushRequest::Display(obj)) => view.kind = obj.root,
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
    view.title = root.text_of("Title");
    view.prompt = root.text_of("Prompt");
    view.text = root.text_of("Text");
    view.items = match view.kind.as_str() {
        "CiscoIPPhoneDirectory" => root
            .all("DirectoryEntry")
            .map(|e| ServiceItem {
                name: e.text_of("Name").unwrap_or_default(),
                url: e.text_of("Telephone").map(|t| format!("Dial:{}", t.trim())),
            })
            .collect(),
        _ => root
            .all("MenuItem")
            .map(|e| ServiceItem {
                name: e.text_of("Name").unwrap_or_default(),
                url: e.text_of("URL").map(|u| resolve(&u)),
            })
            .collect(),
    };
    view.softkeys = root
        .all("SoftKeyItem")
        .enumerate()
        .map(|(i, k)| ServiceSoftKey {
            name: k.text_of("Name").unwrap_or_default(),
            url: k.text_of("URL").unwrap_or_default().trim().to_owned(),
            position: k
                .text_of("Position")
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(i as u32 + 1),
        })
        .collect();
    if view.softkeys.is_empty() {
        view.softkeys = default_softkeys(&view.kind);
    }
    if view.kind == "CiscoIPPhoneInput" {
        let url = root.child("URL");
        view.input_url = url.map(|u| resolve(&u.text));
        view.input_method = Some(
            url.and_then(|u| u.attrs.iter().find(|(k, _)| k == "method"))
                .map_or("get".to_owned(), |(_, v)| v.to_ascii_lowercase()),
        );
        view.input_items = root
            .all("InputItem")
            .map(|i| InputField {
                display_name: i.text_of("DisplayName").unwrap_or_default(),
                query_param: i.text_of("QueryStringParam").unwrap_or_default(),
                default: i.text_of("DefaultValue").unwrap_or_default(),
                flags: i.text_of("InputFlags").unwrap_or_default(),
            })
            .collect();
    }
    view
}

// ---------------------------------------------------------------------------------------------
// Key presses

/// A request the phone is to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// Form body of a POST.
    pub body: Option<String>,
}

impl Request {
    /// A GET.
    pub fn get(url: String) -> Request {
        Request {
            method: "GET",
            url,
            body: None,
        }
    }
}

/// What a key press (or opening a service) does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Fetch a URL; the screen now becomes the next one (the current one goes on the way back).
    Fetch(Request),
    /// Fetch the current URL again, in place (`SoftKey:Update`).
    Reload(Request),
    /// Back one screen (`SoftKey:Back`, `SoftKey:Cancel`); the service closes after the first.
    Back,
    /// Leave the service (`SoftKey:Exit`).
    Exit,
    /// Nothing the emulator follows (an internal URI); the reason.
    Ignored(String),
}

/// What pressing a key bound to `uri` does on `view`.
pub fn uri_action(view: &ServiceView, uri: &str) -> Result<Action, BrowseError> {
    let uri = uri.trim();
    let internal = reqwest::Url::parse(uri)
        .ok()
        .filter(|u| !matches!(u.scheme(), "http" | "https"));
    if internal.is_none() {
        return resolve_url(Some(&view.url), uri).map(|u| Action::Fetch(Request::get(u)));
    }
    Ok(match uri {
        "SoftKey:Exit" => Action::Exit,
        "SoftKey:Back" | "SoftKey:Cancel" => Action::Back,
        "SoftKey:Update" => Action::Reload(Request::get(view.url.clone())),
        "SoftKey:Select" => return select_action(view, 1),
        "SoftKey:Submit" => return submit_action(view, &[]),
        other => Action::Ignored(format!("{other}: not followed by the emulator")),
    })
}

/// What selecting item `item` (1-based) does.
pub fn select_action(view: &ServiceView, item: usize) -> Result<Action, BrowseError> {
    let entry = item
        .checked_sub(1)
        .and_then(|i| view.items.get(i))
        .ok_or_else(|| BrowseError::NoItem {
            item,
            count: view.items.len(),
            kind: view.kind.clone(),
        })?;
    match &entry.url {
        Some(u) => uri_action(view, u),
        None => Ok(Action::Ignored(format!("item {item} has no URL"))),
    }
}

/// What pressing the soft key labelled `name` (case-insensitive) does.
pub fn softkey_action(view: &ServiceView, name: &str) -> Result<Action, BrowseError> {
    let key = view
        .softkeys
        .iter()
        .find(|k| k.name == name)
        .or_else(|| {
            view.softkeys
                .iter()
                .find(|k| k.name.eq_ignore_ascii_case(name.trim()))
        })
        .ok_or_else(|| BrowseError::NoSoftKey {
            name: name.to_owned(),
            keys: view.softkeys.iter().map(|k| k.name.clone()).collect(),
        })?;
    if key.url.is_empty() {
        return Ok(Action::Ignored(format!("soft key {} has no URL", key.name)));
    }
    uri_action(view, &key.url)
}

/// Submitting an Input object with `values` (by `QueryStringParam`; fields not given keep
/// their default): `URL?p=v&...` (a GET), or the same as a form body (`method="post"`).
pub fn submit_action(view: &ServiceView, values: &[(&str, &str)]) -> Result<Action, BrowseError> {
    if view.kind != "CiscoIPPhoneInput" {
        return Err(BrowseError::NotInput(format!(
            "the screen shows {}, not a CiscoIPPhoneInput",
            if view.kind.is_empty() {
                "no object"
            } else {
                &view.kind
            }
        )));
    }
    if let Some((k, _)) = values
        .iter()
        .find(|(k, _)| !view.input_items.iter().any(|f| f.query_param == *k))
    {
        return Err(BrowseError::NotInput(format!(
            "no field {k:?}; the fields are {:?}",
            view.input_items
                .iter()
                .map(|f| f.query_param.as_str())
                .collect::<Vec<_>>()
        )));
    }
    let url = view
        .input_url
        .clone()
        .ok_or_else(|| BrowseError::NotInput("the Input has no URL".into()))?;
    let query = view
        .input_items
        .iter()
        .map(|f| {
            let v = values
                .iter()
                .rev()
                .find(|(k, _)| *k == f.query_param)
                .map_or(f.default.as_str(), |(_, v)| v);
            format!("{}={}", percent_encode(&f.query_param), percent_encode(v))
        })
        .collect::<Vec<_>>()
        .join("&");
    if view.input_method.as_deref() == Some("post") {
        return Ok(Action::Fetch(Request {
            method: "POST",
            url,
            body: Some(query),
        }));
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(Action::Fetch(Request::get(format!("{url}{sep}{query}"))))
}

// ---------------------------------------------------------------------------------------------
// The browser's state

/// How a fetched screen relates to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A new service: the way back is forgotten.
    Open,
    /// The next screen: the current one goes on the way back.
    Forward,
    /// The same screen again (Refresh, Update, the way back).
    InPlace,
}

#[derive(Debug, Clone)]
struct Cached {
    url: String,
    view: ServiceView,
    text: String,
    /// Fresh until (fleet ms); `None`: no `Expires`, fresh while kept.
    fresh_until_ms: Option<u64>,
}

/// What going back found.
#[derive(Debug, Clone, PartialEq)]
pub enum BackStep {
    /// The previous screen, from the cache (fresh): the view and the object's text.
    Cached(Box<ServiceView>, String),
    /// The previous screen must be fetched again.
    Fetch(Request),
    /// No previous screen: the service closed.
    Closed,
}

/// One phone's browser.
#[derive(Debug, Clone)]
pub struct Browser {
    /// Cookies.
    pub jar: CookieJar,
    /// `Accept-Language`.
    pub language: String,
    view: Option<ServiceView>,
    /// Screens before the current one, oldest first.
    history: Vec<String>,
    cache: Vec<Cached>,
    last_request: Option<RequestLog>,
}

impl Default for Browser {
    fn default() -> Self {
        Browser {
            jar: CookieJar::default(),
            language: DEFAULT_LANGUAGE.to_owned(),
            view: None,
            history: Vec::new(),
            cache: Vec::new(),
            last_request: None,
        }
    }
}

impl Browser {
    /// The screen now.
    pub fn view(&self) -> Option<&ServiceView> {
        self.view.as_ref()
    }

    /// The last request sent.
    pub fn last_request(&self) -> Option<&RequestLog> {
        self.last_request.as_ref()
    }

    /// The URLs of the screens before this one, oldest first.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// Headers (cookies included) for `req`; remembered as the last request.
    pub fn prepare(&mut self, now_ms: u64, profile: &Profile, req: &Request) -> RequestLog {
        let cookie = host_of(&req.url).and_then(|h| self.jar.header(now_ms, &h));
        let mut headers = request_headers(profile, &self.language, cookie);
        if req.body.is_some() {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        let log = RequestLog {
            method: req.method.to_owned(),
            url: req.url.clone(),
            headers,
            body: req.body.clone(),
        };
        self.last_request = Some(log.clone());
        log
    }

    /// Keep the cookies of an answer from `url`.
    pub fn store_cookies(&mut self, now_ms: u64, url: &str, set_cookies: &[String]) {
        if let Some(host) = host_of(url) {
            for c in set_cookies {
                self.jar.store(now_ms, &host, c);
            }
        }
    }

    /// The final answer of a step: cookies kept, object read, cached (unless already expired),
    /// shown. Returns the view and the object's text (for the screen).
    pub fn on_answer(
        &mut self,
        now_ms: u64,
        now_wall: SystemTime,
        answer: &Answer,
        step: Step,
    ) -> (ServiceView, String) {
        self.store_cookies(now_ms, &answer.url, &answer.set_cookies);
        let view = parse_view(answer);
        let text = body_text(&answer.body, view.charset.as_deref());
        let fresh_until_ms = answer.expires.as_deref().map(|e| {
            let left = parse_expires(e)
                .duration_since(now_wall)
                .map_or(0, |d| d.as_millis() as u64);
            now_ms.saturating_add(left)
        });
        self.cache.retain(|c| c.url != answer.url);
        if view.error.is_none() && fresh_until_ms.is_none_or(|t| t > now_ms) {
            if self.cache.len() == CACHE_MAX {
                self.cache.remove(0);
            }
            self.cache.push(Cached {
                url: answer.url.clone(),
                view: view.clone(),
                text: text.clone(),
                fresh_until_ms,
            });
        }
        match step {
            Step::Open => self.history.clear(),
            Step::Forward => {
                if let Some(v) = &self.view {
                    if self.history.len() == HISTORY_MAX {
                        self.history.remove(0);
                    }
                    self.history.push(v.url.clone());
                }
            }
            Step::InPlace => {}
        }
        self.view = Some(view.clone());
        (view, text)
    }

    /// A fresh cached object for `url`.
    pub fn cached(&self, now_ms: u64, url: &str) -> Option<(ServiceView, String)> {
        self.cache
            .iter()
            .find(|c| c.url == url && c.fresh_until_ms.is_none_or(|t| t > now_ms))
            .map(|c| {
                (
                    ServiceView {
                        from_cache: true,
                        ..c.view.clone()
                    },
                    c.text.clone(),
                )
            })
    }

    /// Back one screen.
    pub fn back(&mut self, now_ms: u64) -> BackStep {
        let Some(url) = self.history.pop() else {
            self.close();
            return BackStep::Closed;
        };
        match self.cached(now_ms, &url) {
            Some((view, text)) => {
                self.view = Some(view.clone());
                BackStep::Cached(Box::new(view), text)
            }
            None => BackStep::Fetch(Request::get(url)),
        }
    }

    /// Leave the service.
    pub fn close(&mut self) {
        self.view = None;
        self.history.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(url: &str, body: &str) -> Answer {
        Answer {
            url: url.into(),
            status: 200,
            content_type: Some("text/xml; charset=utf-8".into()),
            body: body.as_bytes().to_vec(),
            ..Answer::default()
        }
    }

    #[test]
    fn cookies_per_host_limits() {
        let mut j = CookieJar::default();
        for i in 1..=4 {
            assert_eq!(
                j.store(0, "h", &format!("c{i}=v{i}; Path=/")),
                CookieStored::Stored
            );
        }
        assert_eq!(j.store(1, "h", "c5=v5"), CookieStored::Evicted("c1".into()));
        let big = format!("big={}", "x".repeat(300));
        assert_eq!(j.store(2, "h", &big), CookieStored::TooLarge);
        assert_eq!(j.store(2, "h", "c3=new"), CookieStored::Replaced);
        assert_eq!(
            j.header(3, "H").as_deref(),
            Some("c2=v2; c4=v4; c5=v5; c3=new")
        );
        assert_eq!(j.header(3, "other"), None);
        assert_eq!(j.store(4, "h", "c2=; Max-Age=0"), CookieStored::Deleted);
        assert_eq!(j.cookies("h").len(), 3);
        // Idle half an hour: forgotten.
        assert_eq!(j.header(4 + COOKIE_IDLE_MS, "h"), None);
        // Exactly 255 bytes is kept.
        let edge = format!("e={}", "y".repeat(253));
        assert_eq!(j.store(0, "k", &edge), CookieStored::Stored);
    }

    #[test]
    fn urls_refresh_and_expires() {
        assert_eq!(
            expand_device_name("http://h/m?n=#DEVICENAME#", "SEP0C1E5A000001"),
            "http://h/m?n=SEP0C1E5A000001"
        );
        assert_eq!(
            resolve_url(Some("http://h:8/a/b?x=1"), "c").unwrap(),
            "http://h:8/a/c"
        );
        assert_eq!(
            resolve_url(Some("http://h/a/b"), "/z").unwrap(),
            "http://h/z"
        );
        assert!(resolve_url(None, "rel").is_err());
        assert!(resolve_url(None, "ftp://h/x").is_err());
        assert_eq!(parse_refresh("5"), Some((5, None)));
        assert_eq!(parse_refresh("1; url=/s2"), Some((1, Some("/s2".into()))));
        assert_eq!(
            parse_refresh("2;URL='http://x/y'"),
            Some((2, Some("http://x/y".into())))
        );
        assert_eq!(parse_refresh("soon"), None);
        assert_eq!(parse_expires("0"), SystemTime::UNIX_EPOCH);
        let t = parse_expires("Tue, 15 Nov 1994 08:12:31 GMT");
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            784_887_151
        );
        assert_eq!(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn menu_is_read_with_resolved_urls_and_default_keys() {
        let a = answer(
            "http://h/svc/menu?n=1",
            "<CiscoIPPhoneMenu><Title>T &amp; U</Title><Prompt>P</Prompt>\
             <MenuItem><Name>One</Name><URL>http://o/1</URL></MenuItem>\
             <MenuItem><Name>Two</Name><URL>two?x=1</URL></MenuItem></CiscoIPPhoneMenu>",
        );
        let v = parse_view(&a);
        assert_eq!(v.kind, "CiscoIPPhoneMenu");
        assert_eq!(v.title.as_deref(), Some("T & U"));
        assert_eq!(v.items[1].url.as_deref(), Some("http://h/svc/two?x=1"));
        assert_eq!(v.softkeys[0].name, "Select");
        assert_eq!(
            select_action(&v, 2).unwrap(),
            Action::Fetch(Request::get("http://h/svc/two?x=1".into()))
        );
        assert!(matches!(
            select_action(&v, 3),
            Err(BrowseError::NoItem { .. })
        ));
        assert!(matches!(
            select_action(&v, 0),
            Err(BrowseError::NoItem { .. })
        ));
        assert_eq!(softkey_action(&v, "exit").unwrap(), Action::Exit);
        assert_eq!(
            softkey_action(&v, "Select").unwrap(),
            Action::Fetch(Request::get("http://o/1".into()))
        );
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

    #[test]
    fn input_submits_encoded_get_or_post() {
        let xml = "<CiscoIPPhoneInput><Title>Find</Title><URL>find?a=1</URL>\
             <InputItem><DisplayName>Name</DisplayName><QueryStringParam>q</QueryStringParam>\
             <DefaultValue>d</DefaultValue><InputFlags>A</InputFlags></InputItem>\
             <InputItem><DisplayName>N</DisplayName><QueryStringParam>n</QueryStringParam>\
             <DefaultValue>7</DefaultValue><InputFlags>N</InputFlags></InputItem></CiscoIPPhoneInput>";
        let v = parse_view(&answer("http://h/x/in", xml));
        assert_eq!(v.input_url.as_deref(), Some("http://h/x/find?a=1"));
        assert_eq!(
            submit_action(&v, &[("q", "a b&c")]).unwrap(),
            Action::Fetch(Request::get("http://h/x/find?a=1&q=a%20b%26c&n=7".into()))
        );
        assert!(submit_action(&v, &[("zz", "1")]).is_err());
        let post = xml.replace("<URL>", "<URL method=\"POST\">");
        let v = parse_view(&answer("http://h/x/in", &post));
        assert_eq!(
            submit_action(&v, &[]).unwrap(),
            Action::Fetch(Request {
                method: "POST",
                url: "http://h/x/find?a=1".into(),
                body: Some("q=d&n=7".into()),
            })
        );
        let text = parse_view(&answer(
            "http://h/",
            "<CiscoIPPhoneText><Text>t</Text></CiscoIPPhoneText>",
        ));
        assert!(matches!(
            submit_action(&text, &[]),
            Err(BrowseError::NotInput(_))
        ));
    }

    #[test]
    fn softkeys_internal_uris_and_latin1() {
        let xml = "<CiscoIPPhoneText><Text>caf\u{e9}</Text>\
            <SoftKeyItem><Name>End</Name><URL>/end</URL><Position>2</Position></SoftKeyItem>\
            <SoftKeyItem><Name>Svc</Name><URL>Init:Services</URL><Position>3</Position></SoftKeyItem>\
            </CiscoIPPhoneText>";
        let latin: Vec<u8> = xml.chars().map(|c| c as u8).collect();
        let v = parse_view(&Answer {
            content_type: Some("text/xml; charset=\"ISO-8859-1\"".into()),
            body: latin,
            ..answer("http://h/a/t", "")
        });
        assert_eq!(v.charset.as_deref(), Some("iso-8859-1"));
        assert_eq!(v.text.as_deref(), Some("caf\u{e9}"));
        assert_eq!(v.softkeys[0].position, 2);
        assert_eq!(
            softkey_action(&v, "End").unwrap(),
            Action::Fetch(Request::get("http://h/end".into()))
        );
        assert!(matches!(
            softkey_action(&v, "Svc").unwrap(),
            Action::Ignored(_)
        ));
        assert!(matches!(
            softkey_action(&v, "Nope"),
            Err(BrowseError::NoSoftKey { .. })
        ));
    }

    #[test]
    fn back_uses_fresh_cache_and_skips_expired_objects() {
        let profile = Profile::for_model("CP-8865").unwrap();
        let mut b = Browser::default();
        let wall = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        let menu =
            "<CiscoIPPhoneMenu><MenuItem><Name>a</Name><URL>/a</URL></MenuItem></CiscoIPPhoneMenu>";
        b.on_answer(0, wall, &answer("http://h/m", menu), Step::Open);
        b.on_answer(
            10,
            wall,
            &answer("http://h/a", "<CiscoIPPhoneText/>"),
            Step::Forward,
        );
        assert_eq!(b.history(), ["http://h/m"]);
        match b.back(20) {
            BackStep::Cached(v, _) => assert!(v.from_cache && v.url == "http://h/m"),
            other => panic!("{other:?}"),
        }
        assert_eq!(b.back(30), BackStep::Closed);
        assert!(b.view().is_none());
        // Expired already: never served from the cache.
        let expired = Answer {
            expires: Some("Thu, 01 Jan 1970 00:00:00 GMT".into()),
            ..answer("http://h/m", menu)
        };
        b.on_answer(40, wall, &expired, Step::Open);
        b.on_answer(
            50,
            wall,
            &answer("http://h/a", "<CiscoIPPhoneText/>"),
            Step::Forward,
        );
        assert_eq!(
            b.back(60),
            BackStep::Fetch(Request::get("http://h/m".into()))
        );
        let log = b.prepare(70, &profile, &Request::get("http://h/x".into()));
        assert_eq!(log.header("accept-language"), Some("en"));
        assert_eq!(log.header("x-CiscoIPPhoneDisplay"), Some("800, 480, 24, C"));
        assert_eq!(log.header("Accept-Charset"), Some("utf-8"));
        let old = Profile::for_model("CP-7942G").unwrap();
        let log = b.prepare(70, &old, &Request::get("http://h/x".into()));
        assert_eq!(log.header("Accept-Charset"), Some("iso-8859-1"));
    }
}
