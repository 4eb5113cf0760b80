//! What a phone receives: the body of a `POST /CGI/Execute` and the XML object in it, parsed the
//! way a phone does. Used by the phone emulator; the push side builds the same documents with
//! [`super::object`]. Strict where phones are strict (well-formedness, the 3-item rule, priority
//! values): a document a phone would refuse is refused here with the reason.

use std::net::Ipv4Addr;

use quick_xml::errors::IllFormedError;
use quick_xml::events::Event;

use super::xml::{self, Element, Rules, Tree};

use super::object::{Codec, MediaMode, MediaType};
use super::object_limits::check_object_limits;

/// Largest push body a phone accepts (the spec's 40 KB POST limit).
pub const MAX_PUSH_BYTES: usize = 40 * 1024;

/// Why a push body could not be read at all (before XML parsing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// No `XML` form field (the name is case-sensitive) and not a raw XML body.
    #[error("no XML form field in the body")]
    NoXmlField,
    /// Over [`MAX_PUSH_BYTES`].
    #[error("body of {len} bytes is over the {max} byte limit")]
    TooLarge {
        /// Size received.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Why an XML object was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not well-formed XML (a phone answers CiscoIPPhoneError 1).
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// A root element no phone knows (a phone shows "XML Error \[5\]: Unsupported XML Object").
    #[error("unsupported XML object <{0}>")]
    Unsupported(String),
    /// A CiscoIPPhoneExecute with no items, or more than 3.
    #[error("CiscoIPPhoneExecute with {0} ExecuteItems (1..=3 allowed)")]
    ItemCount(usize),
    /// An ExecuteItem without a URL attribute.
    #[error("ExecuteItem without URL")]
    MissingUrl,
    /// A Priority that is not 0, 1 or 2.
    #[error("ExecuteItem Priority {0:?} is not 0, 1 or 2")]
    BadPriority(String),
    /// A startMedia/stopMedia object that does not follow the RTP Streaming API schema.
    #[error("invalid media request: {0}")]
    BadMedia(String),
    /// An object over its item or length limits (an ExecuteItem URL over 256 characters, a
    /// Menu of 101 items ...; see [`super::object_limits`]): a phone refuses it whole.
    #[error("object over its limits: {0}")]
    OverLimit(String),
}

/// One ExecuteItem as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestItem {
    /// 0 now, 1 when idle, 2 only if idle (default 0).
    pub priority: u8,
    /// The URL or URI exactly as received (entities decoded).
    pub url: String,
}

/// A startMedia request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartMediaRequest {
    /// `onStopped` attribute (a Notify URI), if any.
    pub on_stopped: Option<String>,
    /// `receiveVolume` (0..=100), if any.
    pub receive_volume: Option<u32>,
    /// `<type>`.
    pub kind: MediaType,
    /// `<codec>`.
    pub codec: Codec,
    /// `<mode>`.
    pub mode: MediaMode,
    /// `<address>`: the far end (unicast) or the group (multicast).
    pub address: std::net::Ipv4Addr,
    /// `<port>`, if given (the phone picks one otherwise).
    pub port: Option<u16>,
}

/// A display object a phone shows (CiscoIPPhoneText, Menu, Status, Directory, Input ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisplayObject {
    /// Root element name (`CiscoIPPhoneText` ...).
    pub root: String,
    /// `<Title>`.
    pub title: Option<String>,
    /// `<Prompt>`.
    pub prompt: Option<String>,
    /// `<Text>`.
    pub text: Option<String>,
    /// Names of MenuItem / DirectoryEntry / InputItem entries, in order.
    pub items: Vec<String>,
    /// `<Timer>` of a CiscoIPPhoneStatus, seconds.
    pub timer: Option<u32>,
    /// SoftKeyItem names.
    pub softkeys: Vec<String>,
    /// An Input whose `<URL method="post">` (any case) asks for its answer as a POST, which
    /// only some models can send.
    pub posts: bool,
}

/// What a push asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushRequest {
    /// CiscoIPPhoneExecute with 1..=3 items.
    Execute(Vec<RequestItem>),
    /// startMedia.
    StartMedia(StartMediaRequest),
    /// stopMedia, with or without a stream id.
    StopMedia {
        /// The stream to stop; `None`: all.
        id: Option<String>,
    },
    /// `<getDeviceCaps/>`.
    GetDeviceCaps,
    /// A display object to show.
    Display(DisplayObject),
}

/// Deepest element nesting accepted. Real objects nest three or four levels; the bound keeps a
/// hostile document from costing more than it is worth (the reader itself never recurses).
const MAX_DEPTH: usize = 64;

/// The display objects a phone shows when one is pushed to it.
const DISPLAY_ROOTS: [&str; 12] = [
    "CiscoIPPhoneText",
    "CiscoIPPhoneMenu",
    "CiscoIPPhoneStatus",
    "CiscoIPPhoneStatusFile",
    "CiscoIPPhoneDirectory",
    "CiscoIPPhoneInput",
    "CiscoIPPhoneImage",
    "CiscoIPPhoneImageFile",
    "CiscoIPPhoneGraphicMenu",
    "CiscoIPPhoneGraphicFileMenu",
    "CiscoIPPhoneIconMenu",
    "CiscoIPPhoneIconFileMenu",
];

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The XML text of a push body: the `XML` form field (percent-encoded, as a form sends it), a
/// raw `XML=<...>` body (not encoded, as some scripts send it), or a bare XML document.
///
/// - Over [`MAX_PUSH_BYTES`]: [`BodyError::TooLarge`].
/// - Starting (after a byte order mark and whitespace) with `<`: the body itself.
/// - A field named exactly `XML` (case-sensitive, anywhere among `&`-separated fields) whose
///   value holds a literal `<`: a raw body, so everything after `XML=` is returned verbatim
///   (`+` and `&` inside it are the document's own characters).
/// - Otherwise that field's value, form-decoded (`%XX` bytes, `+` as a space).
/// - No such field: [`BodyError::NoXmlField`].
///
/// The resulting bytes are read as UTF-8, or as Latin-1 when they are not valid UTF-8; a
/// leading byte order mark is dropped.
pub fn decode_push_body(body: &[u8]) -> Result<String, BodyError> {
    if body.len() > MAX_PUSH_BYTES {
        return Err(BodyError::TooLarge {
            len: body.len(),
            max: MAX_PUSH_BYTES,
        });
    }
    let unmarked = body.strip_prefix(BOM).unwrap_or(body);
    if unmarked.trim_ascii_start().starts_with(b"<") {
        return Ok(bytes_to_text(unmarked));
    }
    let mut start = 0;
    while start <= body.len() {
        let end = body[start..]
            .iter()
            .position(|&b| b == b'&')
            .map_or(body.len(), |p| start + p);
        let field = &body[start..end];
        if let Some(eq) = field.iter().position(|&b| b == b'=')
            && form_decode(&field[..eq]) == b"XML"
        {
            let value = &field[eq + 1..];
            // A form-encoded value never holds a literal '<': this one was sent raw, and any
            // '&' after it belongs to the document, not to the form.
            if value.contains(&b'<') {
                return Ok(bytes_to_text(&body[start + eq + 1..]));
            }
            return Ok(bytes_to_text(&form_decode(value)));
        }
        start = end + 1;
    }
    Err(BodyError::NoXmlField)
}

/// `application/x-www-form-urlencoded` decoding of one name or value: `+` is a space, `%XX` a
/// byte; a `%` not followed by two hex digits stays as written (as browsers do).
fn form_decode(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let digits = input
                    .get(i + 1)
                    .copied()
                    .and_then(hex)
                    .zip(input.get(i + 2).copied().and_then(hex));
                if let Some((hi, lo)) = digits {
                    // Two hex digits are at most 0xFF, so the cast cannot truncate.
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// UTF-8 when valid, else Latin-1 (every byte its own code point); a byte order mark is dropped.
fn bytes_to_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Parse the XML object of a push the way a phone does.
///
/// The document must be well-formed XML 1.0: one root element, matching and closed tags,
/// quoted and unique attributes, only the five predefined entities and character references,
/// no characters XML cannot carry, an `<?xml ...?>` declaration only at the start (after
/// optional whitespace), at most 64 levels of nesting. Anything else is
/// [`RequestError::Malformed`] with the reader's reason. Element and attribute names are
/// case-sensitive, as on the phones.
///
/// An Execute or display object over its item and length limits (three ExecuteItems with URLs
/// of at most 256 characters, 100 MenuItems, a 32-character Title ...) is
/// [`RequestError::OverLimit`].
///
/// The root decides what was asked: `CiscoIPPhoneExecute` ([`PushRequest::Execute`], 1..=3
/// `ExecuteItem`s with a `URL` and a `Priority` of 0, 1 or 2, default 0), `startMedia`,
/// `stopMedia`, `getDeviceCaps`, or one of the display objects ([`PushRequest::Display`]). Any
/// other root, including `CiscoIPPhoneResponse` and `CiscoIPPhoneError` (which phones send but
/// never accept), is [`RequestError::Unsupported`].
pub fn parse_push_request(xml: &str) -> Result<PushRequest, RequestError> {
    let root = parse_strict(xml)?;
    check_object_limits(&root).map_err(RequestError::OverLimit)?;
    match root.name.as_str() {
        "CiscoIPPhoneExecute" => execute(&root).map(PushRequest::Execute),
        "startMedia" => start_media(&root).map(PushRequest::StartMedia),
        "stopMedia" => stop_media(&root),
        "getDeviceCaps" => Ok(PushRequest::GetDeviceCaps),
        name if DISPLAY_ROOTS.contains(&name) => display(&root).map(PushRequest::Display),
        other => Err(RequestError::Unsupported(other.to_owned())),
    }
}

fn execute(root: &Element) -> Result<Vec<RequestItem>, RequestError> {
    let items: Vec<&Element> = root.children_named("ExecuteItem").collect();
    if !(1..=3).contains(&items.len()) {
        return Err(RequestError::ItemCount(items.len()));
    }
    items
        .into_iter()
        .map(|item| {
            let url = item
                .attr_exact("URL")
                .filter(|u| !u.trim().is_empty())
                .ok_or(RequestError::MissingUrl)?;
            let priority = match item.attr_exact("Priority") {
                None | Some("0") => 0,
                Some("1") => 1,
                Some("2") => 2,
                Some(other) => return Err(RequestError::BadPriority(other.to_owned())),
            };
            Ok(RequestItem {
                priority,
                url: url.to_owned(),
            })
        })
        .collect()
}

fn bad_media(reason: impl Into<String>) -> RequestError {
    RequestError::BadMedia(reason.into())
}

/// The value whose rendering (see [`super::object`]) is exactly `text`.
fn spelled<T: std::fmt::Display + Copy>(all: &[T], text: &str) -> Option<T> {
    all.iter().copied().find(|v| v.to_string() == text)
}

fn start_media(root: &Element) -> Result<StartMediaRequest, RequestError> {
    let stream = root
        .child_exact("mediaStream")
        .ok_or_else(|| bad_media("startMedia without <mediaStream>"))?;
    let receive_volume = stream
        .attr_exact("receiveVolume")
        .map(|v| {
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 100)
                .ok_or_else(|| bad_media(format!("receiveVolume {v:?} is not 0..=100")))
        })
        .transpose()?;
    let field = |name: &str| {
        stream
            .child_exact(name)
            .map(|c| c.text.trim())
            .ok_or_else(|| bad_media(format!("mediaStream without <{name}>")))
    };
    let kind_text = field("type")?;
    let kind = spelled(&[MediaType::Audio, MediaType::Video], kind_text)
        .ok_or_else(|| bad_media(format!("type {kind_text:?} is not audio or video")))?;
    let codec_text = field("codec")?;
    let codec = spelled(&[Codec::G711, Codec::G729, Codec::G722], codec_text)
        .ok_or_else(|| bad_media(format!("codec {codec_text:?} is not G.711, G.729 or G.722")))?;
    let mode_text = field("mode")?;
    let mode = spelled(
        &[MediaMode::SendReceive, MediaMode::Send, MediaMode::Receive],
        mode_text,
    )
    .ok_or_else(|| {
        bad_media(format!(
            "mode {mode_text:?} is not sendReceive, send or receive"
        ))
    })?;
    let address_text = field("address")?;
    let address = address_text
        .parse::<Ipv4Addr>()
        .map_err(|_| bad_media(format!("address {address_text:?} is not an IPv4 address")))?;
    let port = stream
        .child_exact("port")
        .map(|p| {
            let text = p.text.trim();
            text.parse::<u16>()
                .map_err(|_| bad_media(format!("port {text:?} is not 0..=65535")))
        })
        .transpose()?;
    Ok(StartMediaRequest {
        on_stopped: stream.attr_exact("onStopped").map(str::to_owned),
        receive_volume,
        kind,
        codec,
        mode,
        address,
        port,
    })
}

fn stop_media(root: &Element) -> Result<PushRequest, RequestError> {
    let stream = root
        .child_exact("mediaStream")
        .ok_or_else(|| bad_media("stopMedia without <mediaStream>"))?;
    match stream.attr_exact("id") {
        Some("") => Err(bad_media("stopMedia mediaStream id is empty")),
        id => Ok(PushRequest::StopMedia {
            id: id.map(str::to_owned),
        }),
    }
}

fn display(root: &Element) -> Result<DisplayObject, RequestError> {
    let text_of = |name: &str| root.child_text(name);
    let (entry, label) = match root.name.as_str() {
        "CiscoIPPhoneDirectory" => ("DirectoryEntry", "Name"),
        "CiscoIPPhoneInput" => ("InputItem", "DisplayName"),
        _ => ("MenuItem", "Name"),
    };
    let names = |entry: &str, label: &str| -> Vec<String> {
        root.children_named(entry)
            .map(|e| e.child_text(label).unwrap_or_default())
            .collect()
    };
    let timer = match root.name.as_str() {
        "CiscoIPPhoneStatus" | "CiscoIPPhoneStatusFile" => root
            .child_exact("Timer")
            .map(|t| {
                let text = t.text.trim();
                text.parse::<u32>().map_err(|_| {
                    RequestError::Malformed(format!(
                        "{} Timer {text:?} is not a number of seconds",
                        root.name
                    ))
                })
            })
            .transpose()?,
        _ => None,
    };
    let posts = root.name == "CiscoIPPhoneInput"
        && root
            .child_exact("URL")
            .and_then(|u| u.attr_exact("method"))
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("post"));
    Ok(DisplayObject {
        root: root.name.clone(),
        title: text_of("Title"),
        prompt: text_of("Prompt"),
        text: text_of("Text"),
        items: names(entry, label),
        timer,
        softkeys: names("SoftKeyItem", "Name"),
        posts,
    })
}

fn malformed(reason: impl std::fmt::Display) -> RequestError {
    RequestError::Malformed(reason.to_string())
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Read `xml` as a strict XML 1.0 parser would; the root element on success.
fn parse_strict(xml: &str) -> Result<Element, RequestError> {
    let xml = xml::strip_bom(xml);
    if let Some((at, c)) = xml::first_non_xml_char(xml) {
        return Err(malformed(format!(
            "character U+{:04X} at byte {at} is not allowed in XML",
            u32::from(c)
        )));
    }
    let mut reader = xml::reader(xml, Rules::Strict);
    let mut tree = Tree::default();
    // Whether anything other than whitespace came before (a declaration must come first).
    let mut started = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed(format!("{e} (at byte {})", reader.error_position())))?;
        let outside = tree.depth() == 0;
        match event {
            Event::Decl(d) => {
                if started {
                    return Err(malformed(
                        "XML declaration allowed only at the start of the document",
                    ));
                }
                d.version().map_err(malformed)?;
                started = true;
            }
            Event::Start(e) | Event::Empty(e) if outside && tree.root().is_some() => {
                let name = e.name().as_ref().to_owned();
                return Err(malformed(format!(
                    "second root element <{name}>: a document has exactly one"
                )));
            }
            Event::Start(_) | Event::Empty(_) if tree.depth() >= MAX_DEPTH => {
                return Err(malformed(format!(
                    "elements nested deeper than {MAX_DEPTH} levels"
                )));
            }
            Event::Start(e) => {
                tree.open(xml::strict_element(&e).map_err(malformed)?);
                started = true;
            }
            Event::Empty(e) => {
                tree.add(xml::strict_element(&e).map_err(malformed)?);
                started = true;
            }
            Event::End(e) => {
                // quick-xml checks that the name matches the innermost open element.
                if !tree.close() {
                    let name = e.name().as_ref().to_owned();
                    return Err(malformed(format!(
                        "close tag </{name}> without an open tag"
                    )));
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content();
                match tree.innermost() {
                    Some(top) => top.text.push_str(&text),
                    None if text.chars().all(is_xml_space) => {}
                    None => return Err(malformed("text outside the root element")),
                }
            }
            Event::CData(t) => match tree.innermost() {
                Some(top) => top.text.push_str(&t.xml10_content()),
                None => return Err(malformed("CDATA outside the root element")),
            },
            Event::GeneralRef(r) => {
                let c = xml::strict_ref(&r).map_err(malformed)?;
                match tree.innermost() {
                    Some(top) => top.text.push(c),
                    None => return Err(malformed("reference outside the root element")),
                }
            }
            Event::DocType(_) => {
                if tree.root().is_some() || !outside {
                    return Err(malformed("DOCTYPE after the root element began"));
                }
                started = true;
            }
            Event::Comment(_) | Event::PI(_) => started = true,
            Event::Eof => break,
        }
    }
    if let Some(open) = tree.innermost() {
        let e = quick_xml::Error::IllFormed(IllFormedError::MissingEndTag(open.name.clone()));
        return Err(malformed(e));
    }
    tree.finish().ok_or_else(|| malformed("no root element"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::form_body;
    use crate::xsi::object::{
        Bitmap, Directory, DirectoryEntry, Execute, ExecuteItem, ExecuteUrl, GetDeviceCaps, Input,
        InputItem, Menu, MenuItem, Priority, SoftKeyItem, StartMedia, Status, StopMedia, Text,
        XmlObject,
    };
    use proptest::prelude::*;

    /// Render `obj`, send it as the push client does, and read it back as a phone does.
    fn push(obj: &impl XmlObject) -> PushRequest {
        let xml = obj.to_xml();
        let body = form_body(&xml);
        let received = decode_push_body(body.as_bytes()).expect("body decodes");
        assert_eq!(received, xml);
        parse_push_request(&received).expect("object parses")
    }

    /// A file of `../shared/reference/`; `None` (after a skip line) when it is absent.
    fn reference(name: &str) -> Option<String> {
        crate::shared::shared_text(&format!("reference/{name}"))
    }

    /// The text from the first `start` to the end of the first `end` after it.
    fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
        let from = text.find(start).expect("start marker");
        let to = from + text[from..].find(end).expect("end marker") + end.len();
        &text[from..to]
    }

    fn item(url: ExecuteUrl, priority: u8) -> ExecuteItem {
        ExecuteItem {
            url,
            priority: Priority::new(priority).unwrap(),
        }
    }

    fn is_malformed<T: std::fmt::Debug>(r: Result<T, RequestError>) -> bool {
        matches!(r, Err(RequestError::Malformed(_)))
    }

    #[test]
    fn execute_round_trips_one_to_three_items() {
        let http = "http://server/page.xml?a=1&b=2+3&c=%20";
        let one = Execute::new(ExecuteItem::new(
            ExecuteUrl::internal("Key:Headset").unwrap(),
        ));
        assert_eq!(
            push(&one),
            PushRequest::Execute(vec![RequestItem {
                priority: 0,
                url: "Key:Headset".into(),
            }])
        );
        let three = Execute::from_items([
            item(ExecuteUrl::http(http).unwrap(), 1),
            item(ExecuteUrl::internal("Play:chime.raw").unwrap(), 2),
            item(ExecuteUrl::internal("RTPRx:239.1.1.1:20480").unwrap(), 0),
        ])
        .unwrap();
        assert_eq!(
            push(&three),
            PushRequest::Execute(vec![
                RequestItem {
                    priority: 1,
                    url: http.into(),
                },
                RequestItem {
                    priority: 2,
                    url: "Play:chime.raw".into(),
                },
                RequestItem {
                    priority: 0,
                    url: "RTPRx:239.1.1.1:20480".into(),
                },
            ])
        );
        let two = Execute::from_items([
            item(ExecuteUrl::internal("Init:AppStatus").unwrap(), 2),
            item(ExecuteUrl::http("https://h/x?&amp;").unwrap(), 1),
        ])
        .unwrap();
        let PushRequest::Execute(items) = push(&two) else {
            panic!("not an Execute");
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].url, "https://h/x?&amp;");
        assert_eq!((items[0].priority, items[1].priority), (2, 1));
    }

    #[test]
    fn display_objects_round_trip() {
        let exit = SoftKeyItem::new("Exit", "SoftKey:Exit", 1).unwrap();
        let text = Text::new()
            .title("Fire drill")
            .unwrap()
            .prompt("Now & then")
            .unwrap()
            .text("Line 1\nA & B <ok> \"q\" 'a'\tÉ")
            .unwrap()
            .softkey(exit.clone())
            .unwrap()
            .softkey(SoftKeyItem::new("Back", "SoftKey:Back", 2).unwrap())
            .unwrap();
        assert_eq!(
            push(&text),
            PushRequest::Display(DisplayObject {
                root: "CiscoIPPhoneText".into(),
                title: Some("Fire drill".into()),
                prompt: Some("Now & then".into()),
                text: Some("Line 1\nA & B <ok> \"q\" 'a'\tÉ".into()),
                items: vec![],
                timer: None,
                softkeys: vec!["Exit".into(), "Back".into()],
                posts: false,
            })
        );

        let menu = Menu::new()
            .title("Zones")
            .unwrap()
            .item(MenuItem::new("Hall & stairs", "http://s/z?id=1&x=2").unwrap())
            .unwrap()
            .item(MenuItem::new("Lab", "Key:Services").unwrap())
            .unwrap()
            .softkey(exit)
            .unwrap();
        let PushRequest::Display(d) = push(&menu) else {
            panic!("not a display object");
        };
        assert_eq!(d.root, "CiscoIPPhoneMenu");
        assert_eq!(d.title.as_deref(), Some("Zones"));
        assert_eq!(d.items, ["Hall & stairs", "Lab"]);
        assert_eq!(d.softkeys, ["Exit"]);

        let status = Status::new(0, 0, Bitmap::new(1, 1, 1, "00").unwrap())
            .unwrap()
            .text("Paging")
            .unwrap()
            .timer(30)
            .unwrap();
        let PushRequest::Display(d) = push(&status) else {
            panic!("not a display object");
        };
        assert_eq!(d.root, "CiscoIPPhoneStatus");
        assert_eq!((d.text.as_deref(), d.timer), (Some("Paging"), Some(30)));

        let directory = Directory::new()
            .title("Staff")
            .unwrap()
            .entry(DirectoryEntry::new("Ann", "1001").unwrap())
            .unwrap()
            .entry(DirectoryEntry::new("Bob <ops>", "1002").unwrap())
            .unwrap();
        let PushRequest::Display(d) = push(&directory) else {
            panic!("not a display object");
        };
        assert_eq!(d.root, "CiscoIPPhoneDirectory");
        assert_eq!(d.items, ["Ann", "Bob <ops>"]);

        let input = Input::new("http://s/in")
            .unwrap()
            .item(InputItem::new("Zone", "zone", "N".parse().unwrap()).unwrap())
            .unwrap();
        let PushRequest::Display(d) = push(&input) else {
            panic!("not a display object");
        };
        assert_eq!(
            (d.root.as_str(), d.items.as_slice()),
            ("CiscoIPPhoneInput", &["Zone".to_owned()][..])
        );
    }

    #[test]
    fn media_and_caps_round_trip() {
        let full = StartMedia::new(
            MediaType::Audio,
            Codec::G729,
            MediaMode::SendReceive,
            Ipv4Addr::new(239, 1, 2, 3),
        )
        .port_number(20480)
        .unwrap()
        .on_stopped("Notify:http:server:80:path/page?a=1&b=2")
        .unwrap()
        .receive_volume(50)
        .unwrap();
        assert_eq!(
            push(&full),
            PushRequest::StartMedia(StartMediaRequest {
                on_stopped: Some("Notify:http:server:80:path/page?a=1&b=2".into()),
                receive_volume: Some(50),
                kind: MediaType::Audio,
                codec: Codec::G729,
                mode: MediaMode::SendReceive,
                address: Ipv4Addr::new(239, 1, 2, 3),
                port: Some(20480),
            })
        );
        for (kind, codec, mode) in [
            (MediaType::Audio, Codec::G711, MediaMode::Receive),
            (MediaType::Video, Codec::G722, MediaMode::Send),
        ] {
            let bare = StartMedia::new(kind, codec, mode, Ipv4Addr::new(10, 0, 0, 7));
            assert_eq!(
                push(&bare),
                PushRequest::StartMedia(StartMediaRequest {
                    on_stopped: None,
                    receive_volume: None,
                    kind,
                    codec,
                    mode,
                    address: Ipv4Addr::new(10, 0, 0, 7),
                    port: None,
                })
            );
        }
        assert_eq!(
            push(&StopMedia::id("abc&123").unwrap()),
            PushRequest::StopMedia {
                id: Some("abc&123".into())
            }
        );
        assert_eq!(push(&StopMedia::new()), PushRequest::StopMedia { id: None });
        assert_eq!(push(&GetDeviceCaps), PushRequest::GetDeviceCaps);
    }

    #[test]
    fn usecallmanager_mediastream_bodies() {
        let Some(file) = reference("usecallmanager-mediastream-requests.xml") else {
            return;
        };
        // As one file it is not a document: a declaration after a comment, two roots.
        assert!(is_malformed(parse_push_request(&file)));
        let docs: Vec<&str> = file
            .match_indices("<?xml")
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| &file[w[0]..w[1]])
            .chain(file.rfind("<?xml").map(|i| &file[i..]))
            .collect();
        assert_eq!(docs.len(), 2);
        // With the placeholders still in, the volume is refused by name.
        assert!(matches!(
            parse_push_request(docs[0]),
            Err(RequestError::BadMedia(m)) if m.contains("receiveVolume")
        ));
        let start = docs[0]
            .replace("VOLUME", "50")
            .replace("SOURCE-OR-MULTICAST-ADDRESS", "239.1.2.3");
        let expected = StartMediaRequest {
            on_stopped: None,
            receive_volume: Some(50),
            kind: MediaType::Audio,
            codec: Codec::G711,
            mode: MediaMode::Receive,
            address: Ipv4Addr::new(239, 1, 2, 3),
            port: Some(20480),
        };
        assert_eq!(
            parse_push_request(&start),
            Ok(PushRequest::StartMedia(expected.clone()))
        );
        // As the script posts it: data={'XML': xml}.
        let body = form_body(&start);
        let xml = decode_push_body(body.as_bytes()).unwrap();
        assert_eq!(
            parse_push_request(&xml),
            Ok(PushRequest::StartMedia(expected))
        );
        let stop = docs[1].replace("id=\"ID\"", "id=\"abc123\"");
        assert_eq!(
            parse_push_request(&stop),
            Ok(PushRequest::StopMedia {
                id: Some("abc123".into())
            })
        );
    }

    #[test]
    fn cisco_execute_and_response_examples() {
        let Some(file) = reference("cisco-doc-execute-response-examples.xml") else {
            return;
        };
        assert!(is_malformed(parse_push_request(&file)));
        // The leading comment and the Execute object form a document on their own.
        let end = "</CiscoIPPhoneExecute>";
        let execute = &file[..file.find(end).expect("an Execute") + end.len()];
        assert_eq!(
            parse_push_request(execute),
            Ok(PushRequest::Execute(vec![
                RequestItem {
                    priority: 0,
                    url: "Play:chime.raw".into(),
                },
                RequestItem {
                    priority: 1,
                    url: "http://server/textmessage.xml".into(),
                },
            ]))
        );
        let mut responses = 0;
        let mut rest = file.as_str();
        while rest.contains("<CiscoIPPhoneResponse>") {
            let doc = between(rest, "<CiscoIPPhoneResponse>", "</CiscoIPPhoneResponse>");
            assert_eq!(
                parse_push_request(doc),
                Err(RequestError::Unsupported("CiscoIPPhoneResponse".into()))
            );
            rest = &rest[rest.find(doc).unwrap() + doc.len()..];
            responses += 1;
        }
        assert_eq!(responses, 4);
        let error = between(&file, "<CiscoIPPhoneError Number=\"4\"", "/>");
        assert_eq!(
            parse_push_request(error),
            Err(RequestError::Unsupported("CiscoIPPhoneError".into()))
        );
    }

    #[test]
    fn cisco_rtp_streaming_examples_need_ascii_quotes() {
        let Some(file) = reference("cisco-doc-rtp-streaming-api-examples.txt") else {
            return;
        };
        let start = between(&file, "<startMedia>", "</startMedia>");
        let stop = between(&file, "<stopMedia>", "</stopMedia>");
        assert!(start.contains('\u{201D}') && stop.contains('\u{201D}'));
        assert!(is_malformed(parse_push_request(start)));
        assert!(is_malformed(parse_push_request(stop)));
        assert_eq!(
            parse_push_request(&start.replace('\u{201D}', "\"")),
            Ok(PushRequest::StartMedia(StartMediaRequest {
                on_stopped: Some("Notify:http:server:80:path/page".into()),
                receive_volume: Some(50),
                kind: MediaType::Audio,
                codec: Codec::G729,
                mode: MediaMode::SendReceive,
                address: Ipv4Addr::new(239, 1, 2, 3),
                port: Some(20480),
            }))
        );
        assert_eq!(
            parse_push_request(&stop.replace('\u{201D}', "\"")),
            Ok(PushRequest::StopMedia {
                id: Some("abc123".into())
            })
        );
    }

    fn execute_of(items: &str) -> String {
        format!("<CiscoIPPhoneExecute>{items}</CiscoIPPhoneExecute>")
    }

    #[test]
    fn execute_rules() {
        let key = "<ExecuteItem URL=\"Key:Headset\"/>";
        assert_eq!(
            parse_push_request(&execute_of(&key.repeat(4))),
            Err(RequestError::ItemCount(4))
        );
        assert_eq!(
            parse_push_request("<CiscoIPPhoneExecute/>"),
            Err(RequestError::ItemCount(0))
        );
        assert_eq!(
            parse_push_request(&execute_of("\n  <executeItem URL=\"Key:Headset\"/>\n")),
            Err(RequestError::ItemCount(0))
        );
        assert_eq!(
            parse_push_request(&execute_of(
                "<ExecuteItem Priority=\"3\" URL=\"Key:Headset\"/>"
            )),
            Err(RequestError::BadPriority("3".into()))
        );
        assert_eq!(
            parse_push_request(&execute_of(
                "<ExecuteItem Priority=\" 1\" URL=\"Key:Headset\"/>"
            )),
            Err(RequestError::BadPriority(" 1".into()))
        );
        assert_eq!(
            parse_push_request(&execute_of("<ExecuteItem Priority=\"0\"/>")),
            Err(RequestError::MissingUrl)
        );
        assert_eq!(
            parse_push_request(&execute_of("<ExecuteItem url=\"Key:Headset\"/>")),
            Err(RequestError::MissingUrl)
        );
        let with_decl = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{}",
            execute_of("<ExecuteItem URL=\"http://s/a?x=1&amp;y=&#50;\"/>")
        );
        assert_eq!(
            parse_push_request(&with_decl),
            Ok(PushRequest::Execute(vec![RequestItem {
                priority: 0,
                url: "http://s/a?x=1&y=2".into(),
            }]))
        );
    }

    #[test]
    fn strict_well_formedness() {
        for doc in [
            "",
            "   ",
            "hello",
            "<",
            "<CiscoIPPhoneExecute><ExecuteItem URL=\"Key:Headset\"/>",
            "<CiscoIPPhoneText><Text>x</Title></CiscoIPPhoneText>",
            "<CiscoIPPhoneText><Text>x</CiscoIPPhoneText>",
            "</CiscoIPPhoneText>",
            "<CiscoIPPhoneText/><CiscoIPPhoneText/>",
            "<CiscoIPPhoneText/>trailing",
            "junk<CiscoIPPhoneText/>",
            "<CiscoIPPhoneText><Text>AT&T</Text></CiscoIPPhoneText>",
            "<CiscoIPPhoneText><Text>&nbsp;</Text></CiscoIPPhoneText>",
            "<CiscoIPPhoneText><Text>&#1;</Text></CiscoIPPhoneText>",
            "<CiscoIPPhoneText><Text>\u{1}</Text></CiscoIPPhoneText>",
            "<ExecuteItem URL=Key:Headset/>",
            "<ExecuteItem URL=\"a\" URL=\"b\"/>",
            "<ExecuteItem URL=\"a<b\"/>",
            "<ExecuteItem URL=\u{201D}Key:Headset\u{201D}/>",
            "<!-- c --><?xml version=\"1.0\"?><getDeviceCaps/>",
            "<getDeviceCaps/><?xml version=\"1.0\"?>",
            "<1a/>",
            "<a><!-- x -- y --></a>",
        ] {
            let result = parse_push_request(doc);
            assert!(is_malformed(result.clone()), "{doc:?}: {result:?}");
        }
        assert_eq!(
            parse_push_request(
                "<CiscoIPPhoneResponse><ResponseItem URL=\"Key:Headset\" Data=\"Success\" Status=\"0\"/></CiscoIPPhoneResponse>"
            ),
            Err(RequestError::Unsupported("CiscoIPPhoneResponse".into()))
        );
        assert_eq!(
            parse_push_request("<ciscoIPPhoneExecute/>"),
            Err(RequestError::Unsupported("ciscoIPPhoneExecute".into()))
        );
        // What is allowed: a BOM, whitespace, comments, CDATA.
        assert_eq!(
            parse_push_request(
                "\u{FEFF}\n<?xml version=\"1.0\"?>\n<!-- hi -->\n<getDeviceCaps/>\n<!-- bye -->\n"
            ),
            Ok(PushRequest::GetDeviceCaps)
        );
        let PushRequest::Display(d) = parse_push_request(
            "<CiscoIPPhoneText><Text><![CDATA[<b>&]]> ok</Text></CiscoIPPhoneText>",
        )
        .unwrap() else {
            panic!("not a display object");
        };
        assert_eq!(d.text.as_deref(), Some("<b>& ok"));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
        assert!(matches!(
            parse_push_request(&deep),
            Err(RequestError::Malformed(m)) if m.contains("deeper")
        ));
        let unclosed = format!("<CiscoIPPhoneExecute>{}", "<a>".repeat(10_000));
        assert!(is_malformed(parse_push_request(&unclosed)));
        let body = form_body(&deep);
        assert!(matches!(
            decode_push_body(body.as_bytes()),
            Err(BodyError::TooLarge { .. })
        ));
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert_eq!(
            parse_push_request(&ok),
            Err(RequestError::Unsupported("a".into()))
        );
    }

    #[test]
    fn media_rules() {
        let media =
            |stream: &str| format!("<startMedia><mediaStream{stream}</mediaStream></startMedia>");
        let fields =
            "<type>audio</type><codec>G.711</codec><mode>receive</mode><address>10.0.0.1</address>";
        assert!(matches!(
            parse_push_request(&media(&format!(">{fields}<port>20480</port>"))),
            Ok(PushRequest::StartMedia(StartMediaRequest {
                port: Some(20480),
                ..
            }))
        ));
        let bad = |doc: &str, word: &str| {
            let r = parse_push_request(doc);
            assert!(
                matches!(&r, Err(RequestError::BadMedia(m)) if m.contains(word)),
                "{doc}: {r:?}"
            );
        };
        bad(
            &media(&format!(" receiveVolume=\"101\">{fields}")),
            "receiveVolume",
        );
        bad(
            &media(&format!(" receiveVolume=\"-1\">{fields}")),
            "receiveVolume",
        );
        bad(&media(&format!(">{fields}<port>70000</port>")), "port");
        bad(
            &media(&format!(">{}", fields.replace("audio", "Audio"))),
            "type",
        );
        bad(
            &media(&format!(">{}", fields.replace("G.711", "PCMU"))),
            "codec",
        );
        bad(
            &media(&format!(">{}", fields.replace("receive", "recv"))),
            "mode",
        );
        bad(
            &media(&format!(">{}", fields.replace("10.0.0.1", "::1"))),
            "address",
        );
        bad(
            &media(&format!(
                ">{}",
                fields.replace("<address>10.0.0.1</address>", "")
            )),
            "address",
        );
        bad("<startMedia/>", "mediaStream");
        bad("<stopMedia/>", "mediaStream");
        bad("<stopMedia><mediaStream id=\"\"/></stopMedia>", "id");
    }

    #[test]
    fn body_forms() {
        let doc = "<CiscoIPPhoneExecute><ExecuteItem URL=\"http://s/p?q=a+b&amp;r=1\"/></CiscoIPPhoneExecute>";
        // Raw, as scripts post it: '+' and '&' are the document's own.
        let raw = format!("XML={doc}");
        assert_eq!(decode_push_body(raw.as_bytes()).unwrap(), doc);
        assert_eq!(
            parse_push_request(&decode_push_body(raw.as_bytes()).unwrap()),
            Ok(PushRequest::Execute(vec![RequestItem {
                priority: 0,
                url: "http://s/p?q=a+b&r=1".into(),
            }]))
        );
        assert_eq!(
            decode_push_body(format!("a=b&XML={doc}").as_bytes()).unwrap(),
            doc
        );
        // Form-encoded: %2B is a '+', '+' a space.
        let encoded = form_body(doc);
        assert!(encoded.contains("%2B"));
        assert_eq!(decode_push_body(encoded.as_bytes()).unwrap(), doc);
        assert_eq!(
            decode_push_body(b"XML=%3Ca+b%3D%22%2B%22%2F%3E").unwrap(),
            "<a b=\"+\"/>"
        );
        assert_eq!(
            decode_push_body(format!("user=x&{}&z=%", &encoded).as_bytes()).unwrap(),
            doc
        );
        assert_eq!(decode_push_body(b"XML=100%25+%ZZ").unwrap(), "100% %ZZ");
        // Bare documents, with a BOM or whitespace first.
        assert_eq!(decode_push_body(doc.as_bytes()).unwrap(), doc);
        assert_eq!(
            decode_push_body(format!("\u{FEFF}\r\n{doc}").as_bytes()).unwrap(),
            format!("\r\n{doc}")
        );
        // Latin-1 when not UTF-8, in either form.
        assert_eq!(
            decode_push_body(b"XML=%3CText%3EPr%E9sent%3C%2FText%3E").unwrap(),
            "<Text>Présent</Text>"
        );
        assert_eq!(
            decode_push_body(b"<Text>\xFCber</Text>").unwrap(),
            "<Text>über</Text>"
        );
        // The field name is case-sensitive; no field at all is refused.
        for body in [
            &b"xml=%3CgetDeviceCaps%2F%3E"[..],
            b"xml=<getDeviceCaps/>",
            b"",
            b"XMLX=1",
            b"DATA=<getDeviceCaps/>",
            b"hello",
        ] {
            assert_eq!(
                decode_push_body(body),
                Err(BodyError::NoXmlField),
                "{body:?}"
            );
        }
        let big = vec![b' '; MAX_PUSH_BYTES + 1];
        assert_eq!(
            decode_push_body(&big),
            Err(BodyError::TooLarge {
                len: MAX_PUSH_BYTES + 1,
                max: MAX_PUSH_BYTES
            })
        );
        assert!(decode_push_body(&big[1..]).is_err_and(|e| e == BodyError::NoXmlField));
    }

    proptest! {
        #[test]
        fn no_bytes_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(xml) = decode_push_body(&input) {
                let _ = parse_push_request(&xml);
            }
            let _ = parse_push_request(&String::from_utf8_lossy(&input));
        }

        #[test]
        fn no_xmlish_text_panics(
            input in "(<|>|/|=|\"|'|&|;|#|x|%|\\?|!|-|\\[|CDATA|XML=|\u{201D}|\u{e9}|a|CiscoIPPhoneExecute|ExecuteItem|URL|Priority|startMedia|mediaStream|<?xml | |\r\n){0,60}"
        ) {
            if let Ok(xml) = decode_push_body(input.as_bytes()) {
                let _ = parse_push_request(&xml);
            }
            let _ = parse_push_request(&input);
        }
    }
}
