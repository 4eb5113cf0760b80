//! What a phone receives: the body of a `POST /CGI/Execute` and the XML object in it, parsed the
//! way a phone does. Used by the phone emulator; the push side builds the same documents with
//! [`super::object`]. Strict where phones are strict (well-formedness, the 3-item rule, priority
//! values): a document a phone would refuse is refused here with the reason.
//! (Owned by the request helper: fill in; keep the signatures.)

use super::object::{Codec, MediaMode, MediaType};

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
    /// A root element no phone knows (a phone shows "XML Error [5]: Unsupported XML Object").
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

/// The XML text of a push body: the `XML` form field (percent-encoded, as a form sends it), a
/// raw `XML=<...>` body (not encoded, as some scripts send it), or a bare XML document.
pub fn decode_push_body(body: &[u8]) -> Result<String, BodyError> {
    let _ = body;
    todo!()
}

/// Parse the XML object of a push the way a phone does.
pub fn parse_push_request(xml: &str) -> Result<PushRequest, RequestError> {
    let _ = xml;
    todo!()
}
