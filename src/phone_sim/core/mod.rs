//! One emulated phone's behaviour, as a pure state machine.
//!
//! A push comes in as a [`PushInput`] (the `Authorization` header, a few transport facts and
//! the body) with the current time; [`PhoneCore::handle_push`] answers with the exact HTTP reply
//! a phone of this model sends and the [`Effect`]s the shell must carry out afterwards (POST a
//! callback, fetch a URL). Sockets are opened and closed through the [`Hardware`] trait while
//! the push is handled, because a phone's answer depends on whether its port could be opened;
//! tests pass a fake, the shell passes the real UDP tasks. No clock, no I/O, no tokio here.
//!
//! The rules, from the XSI spec and the wire facts in `shared/reference/SOURCES.md`:
//! - basic auth against the phone's user; bad credentials give `CiscoIPPhoneError Number="4"`
//!   (HTTP 200) or a plain HTTP 401, per model; Multiplatform phones never answer with XML;
//! - a body that is not XML, is over 40 KB or breaks the object rules gives Error 1; an
//!   `Expect: 100-continue` is refused (417) and a chunked body gets 404, as some firmware does;
//! - the 40 KB are counted on the body as received (`XML=` and the percent-encoded object; see
//!   [`crate::xsi::object::Target`] for why), so 40,960 bytes pass and 40,961 do not;
//! - an object over its item or length limits (101 MenuItems, a 33-character Title, an
//!   ExecuteItem URL of 257 characters ...; [`crate::xsi::object_limits`]) is refused whole:
//!   Error 1 pushed, `XML Error [4]: Parse Error` fetched; a Status or StatusFile is pushed only
//!   (fetched: `XML Error [5]: Unsupported XML Object`), and an Input asking for a POST is refused
//!   the same way on a model without it;
//! - an URI that does not parse is Status 1 "Invalid URI"; one the model lacks, a Notify or a
//!   QueryStringParam inside an Execute is Status 6 "URI not found"; `App:` naming an
//!   application never shown is "Unknown Application ID", a closed one "Application is not
//!   Active"; `SendDigits:` is "No Active Call" off a call and "No Active Call for Application"
//!   when it names an application that did not place the call; startMedia's onStopped must be
//!   a Notify URI (400 InvalidURL) and its type audio (400 InvalidResource);
//! - a Notify URI with a `data` field posts `DATA=` and that data instead of the event;
//!   `Display:On:N` lights the screen for N minutes, then it goes back to what it was told;
//!   `Init:Messages` / `Init:Directories` close only that application;
//! - one ResponseItem per ExecuteItem, not always in request order (match them by URL);
//! - a second stream in the same direction: Status 6 "Tx/Rx is already active"; on a call an Rx
//!   is accepted as whisper and its volume ignored; a call starting ends the Rx stream;
//! - HTTP URLs honour Priority (1: when idle, 2: only if idle); internal URIs run at once;
//! - `Play:` answers only after the file's length; `startMedia` returns a stream id and picks a
//!   port when none was given; the user hanging up sends `notifyMediaEvent` to `onStopped`;
//! - an object whose root names its application (`appId`) and Notify handlers
//!   (`onAppFocusLost` ...) gets `notifyApplicationEvent` when another object or a call takes
//!   the focus, when it comes back to the front, is minimized or closed (see `app.rs`).
//!
//! This file holds the phone's memory ([`PhoneMemory`]) and the push entry point; the rest is
//! one file per concept: `uri` (the internal URIs a phone executes), `media` (its streams:
//! RTP URIs, startMedia/stopMedia, hanging up, calls), `app` (an object's application and the
//! Notify URIs it names), `focus` (which application has the focus, and the
//! `notifyApplicationEvent` each change sends), `wire` (the bytes of a phone's answers:
//! CiscoIPPhoneResponse/Error, basic-auth base64).

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use serde::Serialize;

use super::pages::{DeviceInfo, NetworkInfo};
use super::profile::{AuthRefusal, Profile};
use super::screenshot::ScreenView;
use crate::push::Secret;
use crate::rtp::RtpPort;
use crate::xsi::object::{MediaMode, MediaType};
use crate::xsi::request::{
    DisplayObject, PushRequest, RequestError, RequestItem, StartMediaRequest, decode_push_body,
    parse_push_request,
};
use crate::xsi::uri::{App, AppAction, DeviceCmd, Display, Init, Key, Play, SoftKey, Uri};

/// Status banner text limit (CiscoIPPhoneStatus Text).
const STATUS_TEXT_MAX: usize = 32;
/// Key presses and log lines kept.
const HISTORY: usize = 32;
/// A problem report takes this long to generate (ms).
const PRT_MS: u64 = 3_000;
/// `Play:` length when the phone has no TFTP directory to look the file up in.
pub const DEFAULT_PLAY_MS: u64 = 1_000;

/// Who the phone is.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Name in the fleet (`p0001`).
    pub name: String,
    /// The phone's address.
    pub ip: Ipv4Addr,
    /// Its HTTP port.
    pub http_port: u16,
    /// MAC address, 12 hex digits.
    pub mac: String,
    /// Directory number.
    pub dn: String,
    /// User allowed to push.
    pub user: String,
    /// That user's password. Never logged or reported.
    pub password: Secret,
}

/// The transport facts of one push, and its body.
#[derive(Debug, Clone, Copy)]
pub struct PushInput<'a> {
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
    /// The body came chunked (no Content-Length).
    pub chunked: bool,
    /// The body as received.
    pub body: &'a [u8],
}

/// The HTTP reply to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Content-Type (empty: none).
    pub content_type: &'static str,
    /// Body.
    pub body: String,
    /// Hold the reply this long before sending it (`Play:` is synchronous).
    pub delay_ms: u64,
    /// Send `WWW-Authenticate` (HTTP 401).
    pub challenge: bool,
}

impl Reply {
    fn xml(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: "text/xml",
            body,
            delay_ms: 0,
            challenge: false,
        }
    }

    fn empty(status: u16) -> Reply {
        Reply {
            status,
            content_type: "",
            body: String::new(),
            delay_ms: 0,
            challenge: false,
        }
    }
}

/// Something the shell must do after replying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// POST `body` to `url` (form encoded, not percent-encoded: phones send `DATA=<...>` raw),
    /// retrying 3 times.
    Notify {
        /// `http://host:port/path`.
        url: String,
        /// `Basic ...` when the Notify URI carried credentials.
        authorization: Option<String>,
        /// `DATA=...`.
        body: String,
    },
    /// GET this URL with the phone's headers and feed the answer to [`PhoneCore::on_fetched`].
    Fetch {
        /// The URL.
        url: String,
    },
}

/// A stream the core asks the hardware to receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxRequest {
    /// The source (unicast) or the group (multicast).
    pub addr: Ipv4Addr,
    /// UDP port.
    pub port: u16,
    /// Multicast group.
    pub multicast: bool,
    /// Started with G.722 (startMedia): heard, and recorded, at 16 kHz.
    pub wideband: bool,
}

/// A stream the core asks the hardware to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxRequest {
    /// Destination (unicast or group).
    pub addr: Ipv4Addr,
    /// UDP port.
    pub port: u16,
    /// Multicast group.
    pub multicast: bool,
}

/// The phone's sockets and files, as the core sees them.
pub trait Hardware {
    /// Start receiving; `Err` says why the port could not be opened.
    fn open_rx(&mut self, req: &RxRequest) -> Result<(), String>;
    /// Stop receiving (no-op when nothing runs).
    fn close_rx(&mut self);
    /// Start sending the microphone.
    fn open_tx(&mut self, req: &TxRequest) -> Result<(), String>;
    /// Stop sending.
    fn close_tx(&mut self);
    /// Length of a ring/audio file on the phone's TFTP path, in ms; `None`: no such file.
    fn play_length_ms(&mut self, file: &str) -> Option<u64>;
}

/// How a stream was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum StreamOrigin {
    /// An RTP URI (`RTPRx:` ...).
    Uri,
    /// `startMedia`.
    StartMedia {
        /// The id the phone gave it.
        id: String,
        /// Where to send notifyMediaEvent.
        on_stopped: Option<String>,
    },
}

/// One running stream, as the core knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveStream {
    /// How it was started.
    pub origin: StreamOrigin,
    /// Source/destination or group.
    pub addr: Ipv4Addr,
    /// Port.
    pub port: u16,
    /// Multicast.
    pub multicast: bool,
    /// Volume asked for (ignored on a call).
    pub volume: Option<u32>,
    /// Accepted during a call: mixed in as whisper.
    pub whisper: bool,
    /// When it started (ms, the caller's clock).
    pub started_ms: u64,
}

/// The handset state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CallState {
    /// On hook, no call.
    Idle,
    /// Off hook, dial tone.
    OffHook,
    /// On a call.
    Connected {
        /// The far end.
        number: String,
    },
}

/// A CiscoIPPhoneStatus banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusBanner {
    /// Its text.
    pub text: String,
    /// Seconds it stays (0: until `Init:AppStatus`).
    pub timer_s: u32,
    /// When it was shown (ms).
    pub shown_ms: u64,
}

/// Push and stream counters of one phone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// POSTs to /CGI/Execute received.
    pub pushes: u64,
    /// Pushes refused for bad credentials.
    pub auth_failures: u64,
    /// Pushes refused as unparseable or against the object rules.
    pub parse_errors: u64,
    /// ExecuteItems executed successfully.
    pub items_ok: u64,
    /// ExecuteItems answered with a non-zero status.
    pub items_failed: u64,
    /// Receive streams started.
    pub rx_started: u64,
    /// Receive streams stopped (by a push, the user or a call).
    pub rx_stopped: u64,
    /// Transmit streams started.
    pub tx_started: u64,
    /// Transmit streams stopped.
    pub tx_stopped: u64,
    /// Callbacks the phone asked to send.
    pub notifies: u64,
    /// Display objects shown (pushed or fetched).
    pub objects_shown: u64,
    /// URLs fetched.
    pub fetches: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Prt {
    None,
    Generating { since_ms: u64 },
}

/// Everything a phone remembers.
#[derive(Debug, Clone, Serialize)]
pub struct PhoneMemory {
    /// The object on screen (Text, Menu ... pushed or fetched).
    pub object: Option<ScreenObject>,
    /// The status banner.
    pub status: Option<StatusBanner>,
    /// An error line the phone shows in its prompt (`XML Error [4]: Parse Error` ...).
    pub prompt_error: Option<String>,
    /// Digits in the dialer (`EditDial:`).
    pub dialer: Option<String>,
    /// Backlight off until (ms; `Some(u64::MAX)`: until a key is pressed).
    pub display_off_until: Option<u64>,
    /// Backlight on until (ms; `Display:On:N`): inside an off period it wins until then, and the
    /// display goes dark again when it ends.
    pub display_on_until: Option<u64>,
    /// Handset.
    pub call: CallState,
    /// The application that placed the call (`Dial:...:{applicationId}`), if one did.
    #[serde(skip)]
    pub call_app: Option<String>,
    /// Receive stream.
    pub rx: Option<ActiveStream>,
    /// Transmit stream.
    pub tx: Option<ActiveStream>,
    /// Speaker volume, percent.
    pub volume: u32,
    /// Recent key presses, oldest first.
    pub keys: VecDeque<String>,
    /// Application holding the focus (`App:RequestFocus`).
    pub focus_app: Option<String>,
    /// Applications shown (objects with an `appId`) and not closed, oldest first.
    pub apps: Vec<AppRecord>,
    /// Applications closed or forgotten, most recent last (at most [`APPS_MAX`]): an `App:` URI
    /// naming one is "Application is not Active", one never seen "Unknown Application ID".
    #[serde(skip)]
    pub ended_apps: VecDeque<String>,
    /// Times the core took the services browser's object off the screen (`App:Close`,
    /// `App:Minimize`, `Init:Services`, the Applications key ...): the shell drops its view.
    #[serde(skip)]
    pub service_closed: u64,
    /// HTTP URLs waiting for the phone to be idle (Priority 1).
    pub pending_when_idle: Vec<String>,
    /// Counters.
    pub counters: Counters,
    /// Recent log lines (DeviceLogX).
    #[serde(skip)]
    pub log: VecDeque<String>,
    #[serde(skip)]
    prt: Prt,
}

/// An application the phone has shown and not closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppRecord {
    /// `appId`.
    pub app_id: String,
    /// Its handlers (attribute, Notify URI), from its latest object.
    pub handlers: Vec<(String, String)>,
    /// Focused, in the background or minimized.
    pub status: AppStatus,
    /// It lost the focus to a call (and gets it back when the call ends).
    #[serde(skip)]
    lost_to_call: bool,
    /// Its latest object (shown again on `App:RequestFocus`).
    #[serde(skip)]
    object: Option<ScreenObject>,
}

/// A display object on screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScreenObject {
    /// Root element (`CiscoIPPhoneText` ...).
    pub kind: String,
    /// Title.
    pub title: Option<String>,
    /// Prompt.
    pub prompt: Option<String>,
    /// Text.
    pub text: Option<String>,
    /// Items (menu entries ...).
    pub items: Vec<String>,
    /// The root's `appId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The root's application event handlers (attribute, Notify URI).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub app_events: Vec<(String, String)>,
}

impl ScreenObject {
    /// A built-in screen (no application events).
    pub(crate) fn builtin(kind: &str, title: Option<String>) -> ScreenObject {
        ScreenObject {
            kind: kind.into(),
            title,
            prompt: None,
            text: None,
            items: Vec::new(),
            app_id: None,
            app_events: Vec::new(),
        }
    }
}

impl From<DisplayObject> for ScreenObject {
    fn from(o: DisplayObject) -> Self {
        ScreenObject {
            kind: o.root,
            title: o.title,
            prompt: o.prompt,
            text: o.text,
            items: o.items,
            app_id: None,
            app_events: Vec::new(),
        }
    }
}

/// What came out of one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The reply.
    pub reply: Reply,
    /// What to do after replying.
    pub effects: Vec<Effect>,
}

/// One phone.
#[derive(Debug, Clone)]
pub struct PhoneCore {
    id: Identity,
    profile: Profile,
    state: PhoneMemory,
    rng: u64,
    next_stream: u64,
    /// Refuse every item (the `refuse` fault).
    pub refuse: bool,
}

/// One answered item: status, data.
struct ItemResult {
    status: u32,
    data: String,
    delay_ms: u64,
}

impl ItemResult {
    fn ok() -> Self {
        ItemResult {
            status: 0,
            data: "Success".into(),
            delay_ms: 0,
        }
    }

    fn fail(status: u32, data: impl Into<String>) -> Self {
        ItemResult {
            status,
            data: data.into(),
            delay_ms: 0,
        }
    }
}

impl PhoneCore {
    /// A phone, idle, screen empty. `seed` decides the order of multi-item replies and stream ids.
    pub fn new(id: Identity, profile: Profile, seed: u64) -> PhoneCore {
        PhoneCore {
            id,
            profile,
            state: PhoneMemory {
                object: None,
                status: None,
                prompt_error: None,
                dialer: None,
                display_off_until: None,
                display_on_until: None,
                call: CallState::Idle,
                call_app: None,
                rx: None,
                tx: None,
                volume: 50,
                keys: VecDeque::new(),
                focus_app: None,
                apps: Vec::new(),
                ended_apps: VecDeque::new(),
                service_closed: 0,
                pending_when_idle: Vec::new(),
                counters: Counters::default(),
                log: VecDeque::new(),
                prt: Prt::None,
            },
            rng: seed ^ 0x9E37_79B9_7F4A_7C15,
            next_stream: 0,
            refuse: false,
        }
    }

    /// The phone's identity.
    pub fn identity(&self) -> &Identity {
        &self.id
    }

    /// The phone's model profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// What it remembers.
    pub fn state(&self) -> &PhoneMemory {
        &self.state
    }

    fn next_random(&mut self) -> u64 {
        // splitmix64: small, seeded, good enough to shuffle three items.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn log(&mut self, now_ms: u64, line: String) {
        if self.state.log.len() == HISTORY {
            self.state.log.pop_front();
        }
        self.state
            .log
            .push_back(format!("{:>10}.{:03} {line}", now_ms / 1000, now_ms % 1000));
    }

    /// Whether an `Authorization` header carries this phone's user and password.
    pub fn authorized(&self, header: Option<&str>) -> bool {
        let Some(h) = header else { return false };
        let Some((scheme, token)) = h.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Some(decoded) = base64_decode(token.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        text.split_once(':')
            .is_some_and(|(u, p)| u == self.id.user && p == self.id.password.expose())
    }

    /// The refusal for bad credentials, in this model's style.
    pub fn auth_refusal(&self) -> Reply {
        match self.profile.auth_refusal {
            AuthRefusal::CiscoError4 => Reply::xml(200, error_xml(4)),
            AuthRefusal::Http401 => Reply {
                challenge: true,
                ..Reply::empty(401)
            },
        }
    }

    fn phone_error(&self, n: u8) -> Reply {
        if self.profile.answers_xml() {
            Reply::xml(200, error_xml(n))
        } else {
            Reply::empty(400)
        }
    }

    /// Handle one `POST /CGI/Execute`.
    pub fn handle_push(
        &mut self,
        now_ms: u64,
        input: &PushInput<'_>,
        hw: &mut dyn Hardware,
    ) -> Outcome {
        self.state.counters.pushes += 1;
        let plain = |reply| Outcome {
            reply,
            effects: Vec::new(),
        };
        if input.expect_continue {
            return plain(Reply::empty(417));
        }
        if input.chunked {
            return plain(Reply::empty(404));
        }
        if !self.authorized(input.authorization) {
            self.state.counters.auth_failures += 1;
            self.log(now_ms, "push refused: authentication".into());
            return plain(self.auth_refusal());
        }
        let parsed = decode_push_body(input.body)
            .map_err(|e| (e.to_string(), "Data too large!"))
            .and_then(|xml| {
                let bytes = xml.len();
                parse_push_request(&xml)
                    .map_err(|e| {
                        let shown = match e {
                            RequestError::Unsupported(_) => "XML Error [5]: Unsupported XML Object",
                            _ => "XML Error [4]: Parse Error",
                        };
                        (e.to_string(), shown)
                    })
                    .map(|r| (r, bytes, xml))
            });
        let (request, bytes, xml) = match parsed {
            Ok(r) => r,
            Err((why, shown)) => {
                self.state.counters.parse_errors += 1;
                self.state.prompt_error = Some(shown.to_owned());
                self.log(now_ms, format!("push refused: {why}"));
                return plain(self.phone_error(1));
            }
        };
        match request {
            PushRequest::Execute(items) => self.execute(now_ms, items, hw),
            PushRequest::StartMedia(req) => plain(self.start_media(now_ms, &req, hw)),
            PushRequest::StopMedia { id } => plain(self.stop_media(now_ms, id.as_deref(), hw)),
            PushRequest::GetDeviceCaps => plain(Reply::xml(200, self.device_caps_xml())),
            PushRequest::Display(obj) => {
                let refused = self
                    .profile
                    .caps
                    .check_object(&obj.root, bytes)
                    .and_then(|()| self.check_input_post(&obj));
                if let Err(why) = refused {
                    self.state.counters.parse_errors += 1;
                    self.state.prompt_error = Some("XML Error [5]: Unsupported XML Object".into());
                    self.log(now_ms, format!("object refused: {why}"));
                    return plain(self.phone_error(1));
                }
                let mut effects = Vec::new();
                self.show(now_ms, obj, app_attributes(&xml), &mut effects);
                Outcome {
                    reply: if self.profile.answers_xml() {
                        Reply::xml(200, response_xml(&[("", 0, "Success")]))
                    } else {
                        Reply::empty(200)
                    },
                    effects,
                }
            }
        }
    }

    /// An Input that asks for its answer by POST (`<URL method="post">`) on a model that cannot
    /// send one: "HTTP POST method supported only on 7800, 8800, 7832, 8832".
    fn check_input_post(&self, obj: &DisplayObject) -> Result<(), String> {
        if obj.posts && !self.profile.caps.input_post {
            return Err(format!(
                "this model cannot POST a {} (<URL method=\"post\">)",
                obj.root
            ));
        }
        Ok(())
    }

    fn show(
        &mut self,
        now_ms: u64,
        obj: DisplayObject,
        (app_id, app_events): (Option<String>, Vec<(String, String)>),
        effects: &mut Vec<Effect>,
    ) {
        self.state.counters.objects_shown += 1;
        self.state.prompt_error = None;
        if obj.root == "CiscoIPPhoneStatus" || obj.root == "CiscoIPPhoneStatusFile" {
            let text: String = obj
                .text
                .unwrap_or_default()
                .chars()
                .take(STATUS_TEXT_MAX)
                .collect();
            self.state.status = Some(StatusBanner {
                text,
                timer_s: obj.timer.unwrap_or(0),
                shown_ms: now_ms,
            });
        } else {
            let mut o = ScreenObject::from(obj);
            o.app_events = if app_id.is_some() {
                app_events
            } else {
                Vec::new()
            };
            o.app_id = app_id;
            self.replace_screen(Some(o), effects);
        }
    }

    fn is_idle(&self) -> bool {
        self.state.call == CallState::Idle && self.state.rx.is_none() && self.state.tx.is_none()
    }

    fn execute(&mut self, now_ms: u64, items: Vec<RequestItem>, hw: &mut dyn Hardware) -> Outcome {
        // The object rules: at most one HTTP URL (plus two URIs), or three URIs.
        let http_count = items.iter().filter(|i| is_http(&i.url)).count();
        if http_count > 1 {
            self.state.counters.parse_errors += 1;
            self.state.prompt_error = Some("XML Error [4]: Parse Error".into());
            return Outcome {
                reply: self.phone_error(1),
                effects: Vec::new(),
            };
        }
        let mut effects = Vec::new();
        let mut answered: Vec<(String, ItemResult)> = Vec::with_capacity(items.len());
        for item in &items {
            let result = if self.refuse {
                ItemResult::fail(6, "Request refused by the user")
            } else if is_http(&item.url) {
                self.http_item(item.priority, item.url.clone(), &mut effects)
            } else {
                self.uri_item(now_ms, &item.url, hw, &mut effects)
            };
            if result.status == 0 {
                self.state.counters.items_ok += 1;
            } else {
                self.state.counters.items_failed += 1;
            }
            self.log(
                now_ms,
                format!("{} -> {} {}", item.url, result.status, result.data),
            );
            answered.push((item.url.clone(), result));
        }
        let delay_ms = answered.iter().map(|(_, r)| r.delay_ms).sum();
        // "The execution order is not guaranteed": a phone often answers out of order.
        if answered.len() > 1 && self.next_random().is_multiple_of(2) {
            answered.reverse();
        }
        let reply = if self.profile.answers_xml() {
            let rows: Vec<(&str, u32, &str)> = answered
                .iter()
                .map(|(u, r)| (u.as_str(), r.status, r.data.as_str()))
                .collect();
            Reply::xml(200, response_xml(&rows))
        } else if answered.iter().all(|(_, r)| r.status == 0) {
            Reply::empty(200)
        } else {
            Reply::empty(400)
        };
        Outcome {
            reply: Reply { delay_ms, ..reply },
            effects,
        }
    }

    fn http_item(&mut self, priority: u8, url: String, effects: &mut Vec<Effect>) -> ItemResult {
        match priority {
            0 => {}
            1 if !self.is_idle() => {
                self.state.pending_when_idle.push(url);
                return ItemResult::ok();
            }
            2 if !self.is_idle() => return ItemResult::fail(6, "Phone is not idle"),
            _ => {}
        }
        self.state.counters.fetches += 1;
        effects.push(Effect::Fetch { url });
        ItemResult::ok()
    }

    /// A fetched URL's answer: a display object goes on screen (the application events it
    /// causes come back); anything else shows the phone's error line.
    pub fn on_fetched(
        &mut self,
        now_ms: u64,
        url: &str,
        result: Result<Vec<u8>, String>,
    ) -> Vec<Effect> {
        let shown = match result {
            Ok(body) => match decode_push_body(&body)
                .map_err(|e| RequestError::Malformed(e.to_string()))
                .and_then(|xml| parse_push_request(&xml).map(|r| (r, xml)))
            {
                // A Status is pushed only: "Cannot be pulled (HTTP GET)".
                Ok((PushRequest::Display(obj), _))
                    if obj.root.starts_with("CiscoIPPhoneStatus") =>
                {
                    "XML Error [5]: Unsupported XML Object"
                }
                Ok((PushRequest::Display(obj), _)) if self.check_input_post(&obj).is_err() => {
                    "XML Error [5]: Unsupported XML Object"
                }
                Ok((PushRequest::Display(obj), xml)) => {
                    let mut effects = Vec::new();
                    self.show(now_ms, obj, app_attributes(&xml), &mut effects);
                    return effects;
                }
                Ok((PushRequest::Execute(_), _)) => "XML Error [5]: Unsupported XML Object",
                Ok(_) | Err(RequestError::Unsupported(_)) => {
                    "XML Error [5]: Unsupported XML Object"
                }
                Err(_) => "XML Error [4]: Parse Error",
            },
            Err(_) => "HTTP Error [10]: HTTP Connection Failed",
        };
        self.log(now_ms, format!("fetch {url}: {shown}"));
        self.state.prompt_error = Some(shown.to_owned());
        Vec::new()
    }

    /// A service the user browsed to could not be shown: the phone's error line `line`.
    pub fn on_fetch_error(&mut self, now_ms: u64, url: &str, line: &str) {
        self.log(now_ms, format!("fetch {url}: {line}"));
        self.state.prompt_error = Some(line.to_owned());
    }

    /// The user left the service (`SoftKey:Exit`): the object and its error line leave the
    /// screen; its application (if it named one) is closed, and the `closed` event comes back.
    pub fn close_object(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.close_screen(&mut effects);
        self.state.prompt_error = None;
        effects
    }

    /// The user presses the Applications key: the object on screen goes to the background
    /// (its application, if it named one, is minimized and remembered) and the Applications
    /// screen shows. The `minimized` event comes back.
    pub fn user_minimize(&mut self, _now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.minimize_key(&mut effects);
        effects
    }

    /// What the screen shows at `now_ms`.
    pub fn screen_view(&self, now_ms: u64) -> ScreenView {
        let d = self.profile.display;
        let off = self.display_off_at(now_ms);
        let mut lines = Vec::new();
        if let Some(o) = &self.state.object {
            lines.extend(o.title.clone());
            lines.extend(o.prompt.clone());
            if let Some(t) = &o.text {
                lines.extend(t.lines().map(str::to_owned));
            }
            lines.extend(o.items.iter().map(|i| format!("  {i}")));
        } else {
            lines.push(format!("{}  {}", self.id.dn, self.profile.model));
        }
        if let Some(d) = &self.state.dialer {
            lines.push(format!("Dial: {d}"));
        }
        if let Some(s) = self.status_at(now_ms) {
            lines.push(format!("[{}]", s.text));
        }
        if let Some(rx) = &self.state.rx {
            lines.push(format!(
                "{} {}:{}",
                if rx.whisper { "Whisper" } else { "Receiving" },
                rx.addr,
                rx.port
            ));
        }
        if let Some(e) = &self.state.prompt_error {
            lines.push(e.clone());
        }
        ScreenView {
            width: d.width,
            height: d.height,
            color: d.color,
            lines,
            off,
        }
    }

    /// Whether the backlight is off at `now_ms`: inside an off period (`Display:Off:N`) and not
    /// inside an on period (`Display:On:N`).
    pub fn display_off_at(&self, now_ms: u64) -> bool {
        let off = self.state.display_off_until.is_some_and(|t| now_ms < t);
        let on = self.state.display_on_until.is_some_and(|t| now_ms < t);
        off && !on
    }

    /// The status banner if it is still up at `now_ms`.
    pub fn status_at(&self, now_ms: u64) -> Option<&StatusBanner> {
        self.state
            .status
            .as_ref()
            .filter(|s| s.timer_s == 0 || now_ms < s.shown_ms + u64::from(s.timer_s) * 1000)
    }

    /// DeviceInformationX values.
    pub fn device_info(&self) -> DeviceInfo {
        DeviceInfo {
            mac: self.id.mac.clone(),
            host_name: format!("SEP{}", self.id.mac),
            phone_dn: self.id.dn.clone(),
            app_load_id: self.profile.app_load_id.clone(),
            boot_load_id: "boot-emulated".into(),
            version_id: self.profile.version_id.clone(),
            hardware_revision: "1.0".into(),
            serial_number: format!("ZC{}", &self.id.mac[4..]),
            model_number: self.profile.model.clone(),
            message_waiting: "No".into(),
        }
    }

    /// NetworkConfigurationX values.
    pub fn network_info(&self) -> NetworkInfo {
        NetworkInfo {
            ip: self.id.ip.to_string(),
            subnet_mask: "255.0.0.0".into(),
            router: "127.0.0.1".into(),
            tftp: "127.0.0.1".into(),
            mac: self.id.mac.clone(),
            host_name: format!("SEP{}", self.id.mac),
            domain: "zonecast.test".into(),
        }
    }

    fn device_caps_xml(&self) -> String {
        let d = self.profile.display;
        format!(
            "<getDeviceCapsResponse>\r\n<physical>\r\n<modelNumber>{}</modelNumber>\r\n\
             <display width=\"{}\" height=\"{}\" bitDepth=\"{}\" isColor=\"{}\"/>\r\n</physical>\r\n\
             <services sdkVersion=\"{}\"/>\r\n</getDeviceCapsResponse>\r\n",
            escape(&self.profile.model),
            d.width,
            d.height,
            d.depth,
            d.color,
            escape(&self.profile.sdk_version)
        )
    }
}

mod app;
mod focus;
mod media;
mod uri;
mod wire;

pub use app::{
    APP_EVENT_ATTRS, APPS_MAX, AppEvent, AppStatus, app_attributes, app_event_body, app_fields,
};

use wire::is_http;
pub use wire::{base64_decode, base64_encode, error_xml, escape, response_xml};

#[cfg(test)]
mod tests;
