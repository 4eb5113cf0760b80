//! The phone-facing screens of the Services button, as exact HTTP answers: the sans-IO core of
//! `server::services`.
//!
//! A phone that presses Services sends a GET with headers describing itself
//! (`x-CiscoIPPhoneModelName`, `x-CiscoIPPhoneDisplay`, `x-CiscoIPPhoneSDKVersion`,
//! `Accept-Language`, `Accept-Charset`). [`Requester::from_headers`] reads them once; each screen
//! function ([`main_menu`], [`confirm`], [`choice`], [`banner_input`], [`zone_directory`], [`page_status`],
//! [`message`]) takes the requester and what to show and returns a [`Served`]: status, headers
//! and body bytes, ready for the axum shell to send unchanged.
//!
//! What is tailored to the phone:
//! - the charset: UTF-8 unless the phone accepts only ISO-8859-1, in which case text outside
//!   Latin-1 is transliterated (`Łódź` → `Lodz`, `…` → `...`) or replaced by `?`, the XML
//!   declaration names `ISO-8859-1` and the body is encoded in it;
//! - icons: an icon menu when the display and model can show them ([`Requester::can_show_images`]),
//!   a plain menu otherwise;
//! - soft keys: an extra `Update` key where the phone has at least three;
//! - the status line: `CiscoIPPhoneStatus` is push-only ("cannot be pulled (HTTP GET)"), so a
//!   GET always gets a `CiscoIPPhoneText`; [`page_status_push`] gives the Status object to push
//!   to models that have one (not the 7800, 7832, 8821, 8831, 9811/9841, MPP).
//!
//! Outside text is never trusted: every string is cleaned of characters XML cannot carry,
//! clipped to its field's limit with an ellipsis, and escaped by the `xsi::object` builders.
//! URLs get `#DEVICENAME#` replaced with the requesting phone's name and are percent-encoded
//! where they hold spaces, quotes or non-ASCII. A screen that still cannot be built (a URL over
//! 256 characters, a bad query parameter name) becomes a short error text, logged, never a panic.
//!
//! Every answer is HTTP 200: a phone shows `HTTP Error` and nothing else for any other status,
//! so errors are screens too. Answers expire in the past so phones (8800s included) never cache.
//!
//! Not here: routes, query parsing, authorisation and what the screens link to (the axum
//! shell in `server::services`), and the object builders themselves (`xsi::object`).

use crate::error::Invalid;
use crate::xsi::model::{Capabilities, ModelFamily};
use crate::xsi::object::{
    Bitmap, DECLARATION, Directory, DirectoryEntry, IconItem, IconMenu, Input, InputFlags,
    InputItem, InputKind, Menu, MenuItem, SoftKeyItem, Status, Target, Text, XmlObject,
};
use crate::xsi::xml::is_xml_char;

/// Cookies a phone keeps per host and session ("4 cookies/host/session").
pub const MAX_COOKIES: usize = 4;

/// Largest `name=value` of one cookie, in bytes ("255 bytes/cookie").
pub const MAX_COOKIE_BYTES: usize = 255;

/// The `Expires` of every answer: in the past so nothing is cached, and after 1970-01-01
/// because the 8800 series ignores (and so caches) anything not "post-1970/1/1".
pub const EXPIRES: &str = "Fri, 02 Jan 1970 00:00:00 GMT";

/// Items of a `CiscoIPPhoneMenu` (XSD) and of a `CiscoIPPhoneIconMenu` (XSI notes).
const MENU_ITEMS: usize = 100;
const ICON_MENU_ITEMS: usize = 32;
/// Entries of a `CiscoIPPhoneDirectory`.
const DIRECTORY_ENTRIES: usize = 32;
/// Title, Prompt, soft key names, directory fields, input fields.
const SHORT: usize = 32;
/// Menu item names.
const ITEM_NAME: usize = 64;
/// A `CiscoIPPhoneText` body.
const TEXT_BODY: usize = 4000;
/// Longest accepted header value; longer ones are ignored as junk.
const MAX_HEADER: usize = 1024;

/// The phone's screen, from `x-CiscoIPPhoneDisplay: 298,168,12,C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScreenGeometry {
    /// Pixels across the services pane.
    pub width: u16,
    /// Pixels down.
    pub height: u16,
    /// Bits per pixel (1 black and white, 2 four greys, 12/16/24 colour).
    pub depth: u8,
    /// `C` (colour) rather than `G` (greyscale).
    pub color: bool,
}

impl ScreenGeometry {
    /// Parse `width, height, bitDepth, C|G` (spaces and case tolerated); anything else is `None`.
    pub fn parse(value: &str) -> Option<ScreenGeometry> {
        let mut parts = value.split(',').map(str::trim);
        let width = parts.next()?.parse().ok().filter(|&w| w > 0)?;
        let height = parts.next()?.parse().ok().filter(|&h| h > 0)?;
        let depth = parts
            .next()?
            .parse()
            .ok()
            .filter(|d| (1..=32).contains(d))?;
        let color = match parts.next()? {
            c if c.eq_ignore_ascii_case("C") => true,
            g if g.eq_ignore_ascii_case("G") => false,
            _ => return None,
        };
        parts.next().is_none().then_some(ScreenGeometry {
            width,
            height,
            depth,
            color,
        })
    }
}

/// The character encoding of an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Charset {
    /// UTF-8: the default, and whenever the phone accepts it.
    #[default]
    Utf8,
    /// ISO-8859-1, for a phone whose `Accept-Charset` rules UTF-8 out but accepts this.
    Latin1,
}

impl Charset {
    /// The name used in `Content-Type` and the XML declaration.
    pub const fn name(self) -> &'static str {
        match self {
            Charset::Utf8 => "utf-8",
            Charset::Latin1 => "iso-8859-1",
        }
    }

    /// The charset to answer an `Accept-Charset` header with: UTF-8 when the header is absent
    /// or accepts it (by name or `*`), ISO-8859-1 when only that is acceptable, UTF-8 again when
    /// neither is (nothing better can be sent).
    pub fn from_accept_charset(header: Option<&str>) -> Charset {
        let Some(header) = header else {
            return Charset::Utf8;
        };
        let prefs = weighted(header);
        let q = |names: &[&str]| {
            prefs
                .iter()
                .find(|(n, _)| names.iter().any(|m| n.eq_ignore_ascii_case(m)))
                .map(|&(_, q)| q)
        };
        let star = q(&["*"]).unwrap_or(0);
        let utf8 = q(&["utf-8", "utf8"]).unwrap_or(star);
        let latin1 = q(&["iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1"]).unwrap_or(star);
        if utf8 == 0 && latin1 > 0 {
            Charset::Latin1
        } else {
            Charset::Utf8
        }
    }
}

/// `a;q=0.5, b, c;q=0` as `(name, q in thousandths)`, best first (stable: ties keep their
/// order), malformed q-values read as 1 like a missing one.
fn weighted(header: &str) -> Vec<(String, u16)> {
    let mut out: Vec<(String, u16)> = header
        .split(',')
        .take(32)
        .filter_map(|part| {
            let mut fields = part.split(';').map(str::trim);
            let name = fields.next().filter(|n| !n.is_empty())?;
            let q = fields
                .find_map(|f| f.strip_prefix("q=").or_else(|| f.strip_prefix("Q=")))
                .and_then(|q| q.parse::<f32>().ok())
                .filter(|q| (0.0..=1.0).contains(q))
                .map_or(1000, |q| (q * 1000.0).round() as u16);
            Some((name.to_owned(), q))
        })
        .collect();
    out.sort_by_key(|&(_, q)| std::cmp::Reverse(q));
    out
}

/// Who is asking: the phone as its request headers describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requester {
    /// `x-CiscoIPPhoneModelName`, e.g. `CP-8865`.
    pub model: Option<String>,
    /// `x-CiscoIPPhoneDisplay`, when well formed.
    pub display: Option<ScreenGeometry>,
    /// `x-CiscoIPPhoneSDKVersion`, e.g. `12.8.1`.
    pub sdk: Option<String>,
    /// `Accept-Language` tags, best first, without `*` and those with `q=0`.
    pub languages: Vec<String>,
    /// The encoding answers use, from `Accept-Charset`.
    pub charset: Charset,
    /// The phone's device name (`SEP…`), from the `name` query the caller passes in with
    /// [`Requester::with_device`]; it replaces `#DEVICENAME#` in the URLs of every screen.
    pub device: Option<String>,
}

impl Requester {
    /// Read the request headers through `get` (called with lower-case names, as
    /// `axum::http::HeaderMap` matches them case-insensitively). Junk values are ignored.
    pub fn from_headers(get: impl Fn(&str) -> Option<String>) -> Requester {
        let header = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty() && v.len() <= MAX_HEADER)
        };
        // Model and SDK version are echoed in logs and compared, so keep them plain.
        let token = |name: &str| {
            header(name)
                .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_graphic() || c == ' '))
        };
        let languages = header("accept-language")
            .map(|h| {
                weighted(&h)
                    .into_iter()
                    .filter(|(tag, q)| {
                        *q > 0
                            && tag != "*"
                            && tag.len() <= 35
                            && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    })
                    .map(|(tag, _)| tag)
                    .collect()
            })
            .unwrap_or_default();
        Requester {
            model: token("x-ciscoipphonemodelname"),
            display: header("x-ciscoipphonedisplay").and_then(|d| ScreenGeometry::parse(&d)),
            sdk: token("x-ciscoipphonesdkversion"),
            languages,
            charset: Charset::from_accept_charset(header("accept-charset").as_deref()),
            device: None,
        }
    }

    /// This requester with its device name (the `name` query); a name that is not 1..=64
    /// letters, digits, `-`, `_` or `.` is ignored.
    pub fn with_device(mut self, name: &str) -> Requester {
        let ok = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
        self.device =
            (!name.is_empty() && name.len() <= 64 && name.chars().all(ok)).then(|| name.to_owned());
        self
    }

    /// The model family; [`ModelFamily::Other`] when the phone did not say.
    pub fn family(&self) -> ModelFamily {
        self.model
            .as_deref()
            .map_or(ModelFamily::Other, ModelFamily::from_model_name)
    }

    /// The family's capabilities (see [`crate::xsi::model`]).
    pub fn capabilities(&self) -> Capabilities {
        self.family().capabilities()
    }

    /// Whether a `CiscoIPPhoneStatus` may be pushed to this phone. Unknown models get `false`:
    /// a Text works everywhere, a Status the phone lacks is an error on its screen.
    pub fn supports_status(&self) -> bool {
        known(self.family()) && self.capabilities().status_object
    }

    /// Whether to show inline icons: the display is colour and the model is a known enterprise
    /// one (MPP and unknown models get plain objects).
    pub fn can_show_images(&self) -> bool {
        // Greyscale phones such as the 7800 series are served text menus: their small
        // screens show an icon menu's 2-bit bitmaps poorly and the issue treats them as text-only.
        known(self.family()) && self.display.is_some_and(|d| d.color)
    }

    /// The most items one menu may hold for this phone: 32 in an icon menu, 100 otherwise.
    pub fn max_menu_items(&self) -> usize {
        if self.can_show_images() {
            ICON_MENU_ITEMS
        } else {
            MENU_ITEMS
        }
    }

    /// The most entries one directory may hold (32 on every model).
    pub fn max_directory_entries(&self) -> usize {
        DIRECTORY_ENTRIES
    }

    /// Soft keys the phone shows (8800: 5, 8821: 2, others: 4).
    pub fn soft_keys(&self) -> u8 {
        self.capabilities().soft_keys
    }

    /// The largest answer the phone takes, in bytes.
    pub fn max_object_bytes(&self) -> usize {
        Target::Phone
            .max_bytes()
            .min(self.capabilities().max_object_bytes)
    }

    /// `url` as this phone should get it: `#DEVICENAME#` replaced with the device name (removed
    /// when unknown: a raw `#` would cut the URL), and spaces, quotes, angle brackets, controls
    /// and non-ASCII percent-encoded (as UTF-8) so the URL is plain ASCII in any charset.
    pub fn url(&self, url: &str) -> String {
        let url = url.replace("#DEVICENAME#", self.device.as_deref().unwrap_or(""));
        let mut out = String::with_capacity(url.len());
        for b in url.bytes() {
            if b <= b' ' || b >= 0x7f || b"\"<>\\^`{|}".contains(&b) {
                out.push_str(&format!("%{b:02X}"));
            } else {
                out.push(char::from(b));
            }
        }
        out
    }

    /// `s` made fit for a one-line field of at most `max` characters.
    fn line(&self, s: &str, max: usize) -> String {
        fit(self.charset, s, max, false)
    }

    /// `s` made fit for a multi-line field of at most `max` characters.
    fn lines(&self, s: &str, max: usize) -> String {
        fit(self.charset, s, max, true)
    }
}

/// A recognised, non-MPP family: the only ones trusted with the optional objects.
fn known(family: ModelFamily) -> bool {
    family != ModelFamily::Other && !family.multiplatform()
}

/// Clean `s` (characters XML cannot carry become `?`; in one-line fields tabs and newlines
/// become spaces), transliterate it for `charset`, and clip it to `max` characters with an
/// ellipsis.
fn fit(charset: Charset, s: &str, max: usize, multiline: bool) -> String {
    let s = s.replace("\r\n", "\n");
    let mut out = String::with_capacity(s.len().min(max * 4));
    for c in s.chars() {
        let c = match c {
            '\n' | '\r' if multiline => '\n',
            '\t' if multiline => '\t',
            '\t' | '\n' | '\r' => ' ',
            c if !is_xml_char(c) => '?',
            c => c,
        };
        match charset {
            Charset::Utf8 => out.push(c),
            Charset::Latin1 => push_latin1(&mut out, c),
        }
    }
    clip(&out, max, charset)
}

/// `s` cut to `max` characters, ending in an ellipsis when cut.
fn clip(s: &str, max: usize, charset: Charset) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let ellipsis = match charset {
        Charset::Utf8 => "…",
        Charset::Latin1 => "...",
    };
    let keep = max.saturating_sub(ellipsis.chars().count());
    let mut out: String = s.chars().take(keep).collect();
    out.truncate(out.trim_end().len());
    if max >= ellipsis.chars().count() {
        out.push_str(ellipsis);
    }
    out
}

/// Latin Extended-A (U+0100..=U+017F) without its diacritics, one letter per character;
/// `?` marks the four ligatures handled separately (Ĳ ĳ Œ œ).
const LATIN_EXTENDED_A: &[u8; 128] = b"AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi??JjKkkLlLlLlLlLlNnNnNnnNnOoOoOo??RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

/// Push `c` as ISO-8859-1 can show it: itself, a transliteration, nothing (combining marks and
/// invisible formatting), or `?`.
fn push_latin1(out: &mut String, c: char) {
    let code = u32::from(c);
    let replacement = match c {
        _ if code <= 0xFF => {
            out.push(c);
            return;
        }
        'Ĳ' => "IJ",
        'ĳ' => "ij",
        'Œ' => "OE",
        'œ' => "oe",
        _ if (0x100..=0x17F).contains(&code) => {
            out.push(char::from(LATIN_EXTENDED_A[(code - 0x100) as usize]));
            return;
        }
        // Combining diacritics (after a base letter kept above) and zero-width characters.
        '\u{300}'..='\u{36F}' | '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' => "",
        '‐'..='―' | '−' => "-",
        '‘' | '’' | '‚' | '‛' | '′' => "'",
        '“' | '”' | '„' | '‟' | '″' => "\"",
        '‹' => "<",
        '›' => ">",
        '…' => "...",
        '•' | '·' => "*",
        '€' => "EUR",
        '™' => "TM",
        '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        _ => "?",
    };
    out.push_str(replacement);
}

/// An HTTP answer to a phone, complete: status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The HTTP status (200 for every screen; see the module docs).
    pub status: u16,
    /// `text/xml; charset=utf-8` or `text/xml; charset=iso-8859-1`.
    pub content_type: String,
    /// The document, encoded in the charset the content type names.
    pub body: Vec<u8>,
    /// `Refresh`: seconds, and the URL to load then (empty: reload the current one).
    pub refresh: Option<(u32, String)>,
    /// `Expires`, an HTTP date ([`EXPIRES`]).
    pub expires: String,
    /// `Set-Cookie` values, at most [`MAX_COOKIES`] (see [`Served::with_cookie`]).
    pub set_cookies: Vec<String>,
}

impl Served {
    /// `object` rendered for `req`: in its charset (declaration and bytes), with no refresh.
    fn xml(req: &Requester, object: &dyn XmlObject) -> Served {
        let xml = object.to_xml();
        let body = match req.charset {
            Charset::Utf8 => xml.into_bytes(),
            Charset::Latin1 => {
                let rest = xml.strip_prefix(DECLARATION).unwrap_or(&xml);
                let mut out = Vec::with_capacity(xml.len());
                out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n");
                for c in rest.chars() {
                    match u8::try_from(u32::from(c)) {
                        Ok(b) => out.push(b),
                        // Text was transliterated already; a stray character still survives
                        // as a reference, which any encoding carries.
                        Err(_) => out.extend_from_slice(format!("&#{};", u32::from(c)).as_bytes()),
                    }
                }
                out
            }
        };
        Served {
            status: 200,
            content_type: format!("text/xml; charset={}", req.charset.name()),
            body,
            refresh: None,
            expires: EXPIRES.to_owned(),
            set_cookies: Vec::new(),
        }
    }

    /// Add a `Set-Cookie` value (from [`cookie`]); a fifth is refused, as the phone would drop it.
    pub fn with_cookie(mut self, cookie: String) -> Result<Served, Invalid> {
        if self.set_cookies.len() >= MAX_COOKIES {
            return Err(Invalid::new(
                "Set-Cookie count",
                self.set_cookies.len() + 1,
                format!("a phone keeps at most {MAX_COOKIES} cookies per host"),
            ));
        }
        self.set_cookies.push(cookie);
        Ok(self)
    }

    /// The response headers: `Content-Type`, `Expires`, `Cache-Control`, then `Refresh` and
    /// each `Set-Cookie` when present. (`Content-Length` is the HTTP layer's.)
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut h = vec![
            ("Content-Type".to_owned(), self.content_type.clone()),
            ("Expires".to_owned(), self.expires.clone()),
            ("Cache-Control".to_owned(), "no-cache, no-store".to_owned()),
        ];
        if let Some((secs, url)) = &self.refresh {
            let value = if url.is_empty() {
                secs.to_string()
            } else {
                format!("{secs}; url={url}")
            };
            h.push(("Refresh".to_owned(), value));
        }
        for c in self.set_cookies.iter().take(MAX_COOKIES) {
            h.push(("Set-Cookie".to_owned(), c.clone()));
        }
        h
    }
}

/// A `Set-Cookie` value `name=value; Path=path; HttpOnly`.
///
/// The name is 1..=64 letters, digits, `-` or `_`; the value letters, digits and `-._~` (encode
/// anything else, e.g. as hex); `name=value` at most [`MAX_COOKIE_BYTES`]; the path starts
/// with `/` and holds no `;`, spaces or controls.
pub fn cookie(name: &str, value: &str, path: &str) -> Result<String, Invalid> {
    let name_ok = |c: char| c.is_ascii_alphanumeric() || "-_".contains(c);
    if name.is_empty() || name.len() > 64 || !name.chars().all(name_ok) {
        return Err(Invalid::new(
            "cookie name",
            name.escape_debug(),
            "1..=64 letters, digits, - or _",
        ));
    }
    let value_ok = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    if !value.chars().all(value_ok) {
        return Err(Invalid::new(
            "cookie value",
            value.escape_debug(),
            "letters, digits or -._~ only",
        ));
    }
    let pair = name.len() + 1 + value.len();
    if pair > MAX_COOKIE_BYTES {
        return Err(Invalid::new(
            "cookie",
            format!("{pair} bytes"),
            format!("name=value must be at most {MAX_COOKIE_BYTES} bytes, as phones keep no more"),
        ));
    }
    let path_ok = |c: char| c.is_ascii_graphic() && c != ';' && c != ',';
    if !path.starts_with('/') || path.len() > 256 || !path.chars().all(path_ok) {
        return Err(Invalid::new(
            "cookie path",
            path.escape_debug(),
            "must start with / and hold no spaces, ; or ,",
        ));
    }
    Ok(format!("{name}={value}; Path={path}; HttpOnly"))
}

/// The answer when a screen cannot be built: logged, and an error text for the phone.
fn or_error(req: &Requester, screen: &str, built: Result<Served, Invalid>) -> Served {
    built.unwrap_or_else(|e| {
        tracing::warn!(screen, error = %e, "services: screen could not be built");
        message(
            req,
            "Error",
            "This screen cannot be shown. Please tell the administrator.",
        )
    })
}

fn key(req: &Requester, name: &str, url: &str, position: u8) -> Result<SoftKeyItem, Invalid> {
    SoftKeyItem::new(&req.line(name, SHORT), &req.url(url), position)
}

/// One zone (or action) of the main menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MenuEntry<'a> {
    /// What the phone shows (clipped to 64 characters).
    pub name: &'a str,
    /// Where selecting it goes.
    pub url: &'a str,
}

/// A long main menu shown a screen at a time: which entry this screen starts at, and the URL
/// of the screen that starts at a given entry.
pub struct MenuPaging<'a> {
    /// Index into the entries of the first one to show (0 for the first screen).
    pub offset: usize,
    /// The URL showing the entries from this index on (the "More…" item's target).
    pub more_url: &'a dyn Fn(usize) -> String,
}

/// The main menu: `CiscoIPPhoneMenu`, or `CiscoIPPhoneIconMenu` with icons where the phone
/// can show them, with soft keys Select and Exit.
///
/// When a page is active (`active_page`: its id and the URL that stops it) the first item is
/// "Stop page …". Entries beyond the phone's item limit (100, or 32 with icons) or its 40 KB
/// body limit go on a following screen behind a last "More…" item when `paging` says how to
/// link it; without `paging` they are cut and the Prompt says "Showing N of M".
pub fn main_menu(
    req: &Requester,
    title: &str,
    entries: &[MenuEntry<'_>],
    active_page: Option<(&str, &str)>,
    paging: Option<&MenuPaging<'_>>,
) -> Served {
    let offset = paging.map_or(0, |p| p.offset.min(entries.len()));
    let rest = &entries[offset..];
    let reserved = usize::from(active_page.is_some()) + usize::from(paging.is_some());
    let mut shown = rest.len().min(req.max_menu_items() - reserved);
    loop {
        let built = build_main_menu(
            req,
            title,
            entries.len(),
            offset,
            shown,
            rest,
            active_page,
            paging,
        );
        match built {
            // Over 40 KB (long non-ASCII names, long URLs): show fewer, the rest follow.
            Ok(s) if s.body.len() > req.max_object_bytes() && shown > 1 => shown /= 2,
            built => return or_error(req, "main menu", built),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn build_main_menu(
    req: &Requester,
    title: &str,
    total: usize,
    offset: usize,
    shown: usize,
    rest: &[MenuEntry<'_>],
    active_page: Option<(&str, &str)>,
    paging: Option<&MenuPaging<'_>>,
) -> Result<Served, Invalid> {
    // (name, url, icon index)
    let mut items: Vec<(String, String, u8)> = Vec::with_capacity(shown + 2);
    if let Some((id, stop_url)) = active_page {
        let name = req.line(&format!("Stop page {id}"), ITEM_NAME);
        items.push((name, req.url(stop_url), ICON_STOP));
    }
    for e in &rest[..shown] {
        items.push((req.line(e.name, ITEM_NAME), req.url(e.url), ICON_ZONE));
    }
    let more = offset + shown < total;
    let prompt = match paging {
        Some(p) if more => {
            let more_name = req.line("More…", ITEM_NAME);
            items.push((more_name, req.url(&(p.more_url)(offset + shown)), ICON_MORE));
            Some(format!("{}-{} of {total}", offset + 1, offset + shown))
        }
        Some(_) if offset > 0 && shown > 0 => {
            Some(format!("{}-{} of {total}", offset + 1, offset + shown))
        }
        None if more => Some(format!("Showing {shown} of {total}")),
        _ => None,
    };
    let title = req.line(title, SHORT);
    let prompt = prompt.map(|p| req.line(&p, SHORT));
    let select = key(req, "Select", "SoftKey:Select", 1)?;
    let exit = key(req, "Exit", "SoftKey:Exit", 2)?;
    if let Some(icons) = req.can_show_images().then(icons).flatten() {
        let mut m = IconMenu::new().title(&title)?;
        if let Some(p) = &prompt {
            m = m.prompt(p)?;
        }
        for (name, url, icon) in &items {
            m = m.item(MenuItem::new(name, url)?.icon_index(*icon)?)?;
        }
        for i in icons {
            m = m.icon(i)?;
        }
        let m = m.softkey(select)?.softkey(exit)?;
        return Ok(Served::xml(req, &m));
    }
    let mut m = Menu::new().title(&title)?;
    if let Some(p) = &prompt {
        m = m.prompt(p)?;
    }
    for (name, url, _) in &items {
        m = m.item(MenuItem::new(name, url)?)?;
    }
    let m = m.softkey(select)?.softkey(exit)?;
    Ok(Served::xml(req, &m))
}

const ICON_ZONE: u8 = 0;
const ICON_STOP: u8 = 1;
const ICON_MORE: u8 = 2;

/// A loudspeaker, a stop square and a right arrow; `#` black, `+` grey.
const ICON_ROWS: [[&str; 10]; 3] = [
    [
        "..........",
        ".....#....",
        "....##..#.",
        "#####+#..#",
        "##+++##.#.",
        "##+++##.#.",
        "#####+#..#",
        "....##..#.",
        ".....#....",
        "..........",
    ],
    [
        "..........",
        ".########.",
        ".#++++++#.",
        ".#++++++#.",
        ".#++++++#.",
        ".#++++++#.",
        ".#++++++#.",
        ".#++++++#.",
        ".########.",
        "..........",
    ],
    [
        "..........",
        "....#.....",
        "....##....",
        "....#+#...",
        "#####++#..",
        "#####++#..",
        "....#+#...",
        "....##....",
        "....#.....",
        "..........",
    ],
];

/// 10 × 10 at 2 bits per pixel (50 hex digits, the XSD's most), packed as Cisco's notes show:
/// four pixels a byte, the leftmost in the low bits; 3 is black.
fn icon_bitmap(rows: &[&str; 10]) -> Result<Bitmap, Invalid> {
    let pixels = rows.iter().flat_map(|r| r.bytes()).map(|b| match b {
        b'#' => 3u8,
        b'+' => 2,
        _ => 0,
    });
    let mut bytes = [0u8; 25];
    for (i, p) in pixels.enumerate().take(100) {
        bytes[i / 4] |= p << ((i % 4) * 2);
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    Bitmap::new(10, 10, 2, &hex)
}

/// The main menu's icons, or `None` (then the plain menu) if one failed to build.
fn icons() -> Option<Vec<IconItem>> {
    [ICON_ZONE, ICON_STOP, ICON_MORE]
        .into_iter()
        .zip(&ICON_ROWS)
        .map(|(i, rows)| IconItem::new(i, icon_bitmap(rows).ok()?).ok())
        .collect()
}

/// A question with two answers: `CiscoIPPhoneText` with soft key 1 `yes` and soft key 2 `no`,
/// each a (label, URL). Same as [`choice`] with those two keys.
pub fn confirm(
    req: &Requester,
    title: &str,
    text: &str,
    yes: (&str, &str),
    no: (&str, &str),
) -> Served {
    choice(req, title, text, &[yes, no])
}

/// A question with several answers: `CiscoIPPhoneText` with `keys` (label, URL) on soft keys
/// 1, 2, 3 … in order. Keys beyond what the phone shows ([`Requester::soft_keys`]: 2 on the
/// 8821, 4 on most, 5 on the 8800) are left off, so put the ones that matter first.
pub fn choice(req: &Requester, title: &str, text: &str, keys: &[(&str, &str)]) -> Served {
    let built = (|| {
        let mut t = Text::new()
            .title(&req.line(title, SHORT))?
            .text(&req.lines(text, TEXT_BODY))?;
        for (position, (label, url)) in (1..=req.soft_keys()).zip(keys) {
            t = t.softkey(key(req, label, url, position)?)?;
        }
        Ok::<_, Invalid>(Served::xml(req, &t))
    })();
    or_error(req, "choice", built)
}

/// A one-field form (`CiscoIPPhoneInput`, sent with GET, which every model honours) asking for
/// free text: `prompt` labels the field, submitted as `param` to `action_url`, pre-filled with
/// `default`. The field takes any ASCII (`A`); on a Latin-1 phone the default is transliterated
/// to what the phone can show. Soft keys Submit, `<<` (backspace) and, with room, Cancel.
pub fn banner_input(
    req: &Requester,
    title: &str,
    prompt: &str,
    action_url: &str,
    param: &str,
    default: &str,
) -> Served {
    let built = (|| {
        let mut field = InputItem::new(
            &req.line(prompt, SHORT),
            param,
            InputFlags::new(InputKind::Ascii, false),
        )?;
        if !default.is_empty() {
            field = field.default_value(&req.line(default, SHORT))?;
        }
        let mut form = Input::new(&req.url(action_url))?
            .title(&req.line(title, SHORT))?
            .item(field)?
            .softkey(key(req, "Submit", "SoftKey:Submit", 1)?)?
            .softkey(key(req, "<<", "SoftKey:<<", 2)?)?;
        if req.soft_keys() >= 3 {
            form = form.softkey(key(req, "Cancel", "SoftKey:Cancel", 3)?)?;
        }
        Ok::<_, Invalid>(Served::xml(req, &form))
    })();
    or_error(req, "banner input", built)
}

/// The zones as a `CiscoIPPhoneDirectory`: each `(name, description)` an entry (the
/// description in the Telephone field, both clipped to 32 characters), with an Exit soft key
/// only, so the phone offers no Dial for what is not a number. Beyond 32 zones the list is cut
/// and the Prompt says "Showing 32 of N".
pub fn zone_directory(req: &Requester, title: &str, zones: &[(&str, &str)]) -> Served {
    let built = (|| {
        let shown = zones.len().min(req.max_directory_entries());
        let mut d = Directory::new().title(&req.line(title, SHORT))?;
        if shown < zones.len() {
            d = d.prompt(&req.line(&format!("Showing {shown} of {}", zones.len()), SHORT))?;
        }
        for (name, description) in &zones[..shown] {
            d = d.entry(DirectoryEntry::new(
                &req.line(name, SHORT),
                &req.line(description, SHORT),
            )?)?;
        }
        let d = d.softkey(key(req, "Exit", "SoftKey:Exit", 1)?)?;
        Ok::<_, Invalid>(Served::xml(req, &d))
    })();
    or_error(req, "zone directory", built)
}

/// What a phone watching a page sees: a `CiscoIPPhoneText` (Status cannot be fetched with
/// GET; see [`page_status_push`]) with soft keys End (to `end_url`, when given), Exit, and
/// Update (reload) on phones with at least three keys, carrying `refresh` as the `Refresh`
/// header so the screen follows the page to its end.
pub fn page_status(
    req: &Requester,
    title: &str,
    text: &str,
    end_url: Option<&str>,
    refresh: Option<(u32, String)>,
) -> Served {
    page_status_app(req, title, text, end_url, refresh, None)
}

/// [`page_status`] whose Text carries application event handlers (`appId`, `onAppFocusLost`
/// ...), so the server hears when the paging screen loses or regains the focus, is minimized
/// or closed. Cisco's XSD predates these root attributes; without them the object is the same.
pub fn page_status_app(
    req: &Requester,
    title: &str,
    text: &str,
    end_url: Option<&str>,
    refresh: Option<(u32, String)>,
    app: Option<crate::xsi::object::AppEvents>,
) -> Served {
    let built = (|| {
        let mut t = Text::new()
            .title(&req.line(title, SHORT))?
            .text(&req.lines(text, TEXT_BODY))?;
        let mut position = 1;
        if let Some(url) = end_url {
            t = t.softkey(key(req, "End", url, position)?)?;
            position += 1;
        }
        t = t.softkey(key(req, "Exit", "SoftKey:Exit", position)?)?;
        if req.soft_keys() > position {
            t = t.softkey(key(req, "Update", "SoftKey:Update", position + 1)?)?;
        }
        if let Some(app) = app {
            t = t.app_events(app);
        }
        let mut served = Served::xml(req, &t);
        served.refresh = refresh.map(|(secs, url)| {
            let url = if url.is_empty() { url } else { req.url(&url) };
            (secs, url)
        });
        Ok::<_, Invalid>(served)
    })();
    or_error(req, "page status", built)
}

/// The status-line object to push (inside a `CiscoIPPhoneExecute`, never as a GET answer) to
/// show a running page: a loudspeaker, `text` (≤ 32 characters) and, when given, a timer
/// counting from `timer_secs` (capped at 5939). `None` for models without
/// `CiscoIPPhoneStatus` and unknown ones. Clear it with `Init:AppStatus`.
pub fn page_status_push(req: &Requester, text: &str, timer_secs: Option<u32>) -> Option<Status> {
    if !req.supports_status() {
        return None;
    }
    let speaker = icon_bitmap(&ICON_ROWS[usize::from(ICON_ZONE)]).ok()?;
    let mut s = Status::new(0, 0, speaker)
        .ok()?
        .text(&req.line(text, SHORT))
        .ok()?;
    if let Some(t) = timer_secs {
        s = s.timer(u16::try_from(t.min(5939)).ok()?).ok()?;
    }
    Some(s)
}

/// A plain message (an error, "not allowed", "page ended"): `CiscoIPPhoneText` with an Exit
/// soft key.
pub fn message(req: &Requester, title: &str, text: &str) -> Served {
    let built = (|| {
        let t = Text::new()
            .title(&req.line(title, SHORT))?
            .text(&req.lines(text, TEXT_BODY))?
            .softkey(key(req, "Exit", "SoftKey:Exit", 1)?)?;
        Ok::<_, Invalid>(Served::xml(req, &t))
    })();
    // Everything above is fitted to its limits and the URL is a constant, so this cannot
    // fail; should it ever, the phone still gets a well-formed object.
    built.unwrap_or_else(|e| {
        tracing::error!(error = %e, "services: message could not be built");
        Served::xml(req, &Text::new())
    })
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
