//! URI payloads with several fields (`Display:Off:60`, `Dial:...`, `RTPRx:...`, `App:...`,
//! `Notify:...`): private fields behind checking constructors, plus the exact rendering of
//! everything after `FAMILY:` and its parser.

use std::fmt;
use std::net::Ipv4Addr;

use super::fields::{
    DialString, FileName, Ranged, StreamAddr, check_text, flag, optional, parse_decimal, parse_flag,
};
use super::names::AudioPath;
use crate::error::Invalid;
use crate::rtp::RtpPort;

/// Minutes for `Display:Off`/`Display:On`; 0 means "until the user wakes it".
pub type Minutes = Ranged<0, 1440>;
/// RTP receive volume, percent of maximum.
pub type Volume = Ranged<0, 100>;
/// How long, in seconds, an `App:` focus request waits for the user to be idle.
pub type IdleTimer = Ranged<10, 86400>;

/// `Display:Off:N`, `Display:On:N`, `Display:Default`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Display {
    /// Backlight off for N minutes (0: until activated).
    Off(Minutes),
    /// Backlight on for N minutes.
    On(Minutes),
    /// Back to the configured schedule.
    Default,
}

impl Display {
    pub(super) fn parse(rest: &str) -> Result<Self, Invalid> {
        if rest == "Default" {
            return Ok(Display::Default);
        }
        match rest.split_once(':') {
            Some(("Off", n)) => Ranged::parse_in("Display:Off minutes", n).map(Display::Off),
            Some(("On", n)) => Ranged::parse_in("Display:On minutes", n).map(Display::On),
            _ => Err(Invalid::new(
                "Display",
                rest,
                "must be Off:MINUTES, On:MINUTES or Default",
            )),
        }
    }
}

impl fmt::Display for Display {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Display::Off(m) => write!(f, "Off:{m}"),
            Display::On(m) => write!(f, "On:{m}"),
            Display::Default => f.write_str("Default"),
        }
    }
}

/// Application ids are `Company/Product`; a colon would split the URI's fields. The length
/// limit and the semicolon rule differ per family, as the spec states them.
fn app_id(
    field: &str,
    s: &str,
    max: usize,
    semicolons: bool,
    rule: &str,
) -> Result<String, Invalid> {
    check_text(
        field,
        s,
        1..=max,
        |c| c != ':' && (semicolons || c != ';'),
        rule,
    )?;
    Ok(s.to_owned())
}

/// `Dial:{seq}[:{useAppUI}[:{applicationId}[:{audibleFeedback}]]]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dial {
    sequence: DialString,
    use_app_ui: Option<bool>,
    application_id: Option<String>,
    audible_feedback: Option<bool>,
}

impl Dial {
    /// Check the fields. A later field forces the earlier ones onto the wire, where an absent
    /// flag can only be written as its default; `use_app_ui` is stored as that default
    /// (`Some(false)`) so the value reads back unchanged. `Some("")` as id means absent.
    pub fn new(
        sequence: &str,
        use_app_ui: Option<bool>,
        application_id: Option<&str>,
        audible_feedback: Option<bool>,
    ) -> Result<Self, Invalid> {
        let sequence = DialString::new("Dial sequence", sequence)?;
        // No semicolons. Source: the spec's Dial applicationId, "Format Company/Product, max
        // length not stated. No semicolons."; colons would split the URI's fields.
        let application_id = optional(application_id)
            .map(|s| {
                app_id(
                    "Dial application id",
                    s,
                    usize::MAX,
                    false,
                    "must be without colons or semicolons",
                )
            })
            .transpose()?;
        let later = application_id.is_some() || audible_feedback.is_some();
        let use_app_ui = use_app_ui.or(later.then_some(false));
        Ok(Dial {
            sequence,
            use_app_ui,
            application_id,
            audible_feedback,
        })
    }

    /// The DTMF sequence.
    pub fn sequence(&self) -> &str {
        self.sequence.as_str()
    }
    /// Open the call in the application's UI (8800 only); absent means the phone default, 0.
    pub fn use_app_ui(&self) -> Option<bool> {
        self.use_app_ui
    }
    /// The application placing the call.
    pub fn application_id(&self) -> Option<&str> {
        self.application_id.as_deref()
    }
    /// Play key tones (8800 only); absent means the phone default, 1.
    pub fn audible_feedback(&self) -> Option<bool> {
        self.audible_feedback
    }

    pub(super) fn parse(rest: &str) -> Result<Self, Invalid> {
        let f: Vec<&str> = rest.split(':').collect();
        if f.len() > 4 {
            return Err(Invalid::new(
                "Dial",
                rest,
                "must be SEQUENCE[:USE_APP_UI[:APP_ID[:AUDIBLE]]], the id without colons",
            ));
        }
        let ui = f
            .get(1)
            .map(|s| parse_flag("Dial useAppUI", s))
            .transpose()?;
        let audible = f
            .get(3)
            .map(|s| parse_flag("Dial audibleFeedback", s))
            .transpose()?;
        Dial::new(f[0], ui, f.get(2).copied(), audible)
    }
}

impl fmt::Display for Dial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sequence.as_str())?;
        let app = self.application_id.as_deref();
        if self.use_app_ui.is_none() && app.is_none() && self.audible_feedback.is_none() {
            return Ok(());
        }
        write!(f, ":{}", flag(self.use_app_ui.unwrap_or(false)))?;
        if app.is_none() && self.audible_feedback.is_none() {
            return Ok(());
        }
        write!(f, ":{}", app.unwrap_or(""))?;
        match self.audible_feedback {
            Some(b) => write!(f, ":{}", flag(b)),
            None => Ok(()),
        }
    }
}

/// `SendDigits:{seq}:{audibleFeedback}::{applicationId}`: DTMF into the active call. The
/// empty third field is part of the documented format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SendDigits {
    sequence: DialString,
    audible_feedback: bool,
    application_id: Option<String>,
}

impl SendDigits {
    /// Check the fields; the id is 0..=64 characters without colons (`Some("")` means none).
    pub fn new(
        sequence: &str,
        audible_feedback: bool,
        application_id: Option<&str>,
    ) -> Result<Self, Invalid> {
        Ok(SendDigits {
            sequence: DialString::new("SendDigits sequence", sequence)?,
            audible_feedback,
            application_id: optional(application_id)
                .map(|s| {
                    app_id(
                        "SendDigits application id",
                        s,
                        64,
                        true,
                        "must be 0..=64 characters, without colons",
                    )
                })
                .transpose()?,
        })
    }

    /// The DTMF sequence.
    pub fn sequence(&self) -> &str {
        self.sequence.as_str()
    }
    /// Whether the user hears the tones.
    pub fn audible_feedback(&self) -> bool {
        self.audible_feedback
    }
    /// The application whose call gets the digits.
    pub fn application_id(&self) -> Option<&str> {
        self.application_id.as_deref()
    }

    pub(super) fn parse(rest: &str) -> Result<Self, Invalid> {
        match rest.split(':').collect::<Vec<_>>()[..] {
            [seq, audible, "", app] => SendDigits::new(
                seq,
                parse_flag("SendDigits audibleFeedback", audible)?,
                Some(app),
            ),
            _ => Err(Invalid::new(
                "SendDigits",
                rest,
                "must be SEQUENCE:AUDIBLE::APP_ID, the id without colons",
            )),
        }
    }
}

impl fmt::Display for SendDigits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let app = self.application_id.as_deref().unwrap_or("");
        write!(
            f,
            "{}:{}::{app}",
            self.sequence,
            flag(self.audible_feedback)
        )
    }
}

/// `Play:{file}` or `Play:Stop`. Play is synchronous: the phone answers after playback.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Play {
    /// Play a raw µ-law file from the phone's TFTP path.
    File(FileName),
    /// Stop playback.
    Stop,
}

impl Play {
    pub(super) fn parse(rest: &str) -> Result<Self, Invalid> {
        if rest == "Stop" {
            Ok(Play::Stop)
        } else {
            FileName::new(rest).map(Play::File)
        }
    }
}

impl fmt::Display for Play {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Play::File(name) => name.fmt(f),
            Play::Stop => f.write_str("Stop"),
        }
    }
}

fn parse_ip(field: &str, s: &str) -> Result<Ipv4Addr, Invalid> {
    s.parse()
        .map_err(|_| Invalid::new(field, s, "must be a dotted IPv4 address"))
}

fn parse_port(family: &str, s: &str) -> Result<RtpPort, Invalid> {
    let field = format!("{family} port");
    let n = parse_decimal(s)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| Invalid::new(&field, s, RtpPort::RULE))?;
    // RtpPort names its field "port"; say which URI it was.
    RtpPort::new(n).map_err(|e| Invalid::new(field, s, e.rule))
}

/// `RTPRx`/`RTPMRx:{addr}:{port}[:{volume}][:{audioPath}]`: receive and play a stream.
///
/// An audio path without a volume is written with the volume field empty,
/// `RTPRx:{addr}:{port}::{audioPath}`. Source: the spec's `RTPRx:{i}:{p}:{v}:{s}` calls `v`
/// "Optional volume 0-100" and documents `s` on its own ("0=speakerphone (default if
/// absent)"); the fields are positional, so an omitted `v` before a given `s` is an empty
/// field, and the phone keeps its current volume, as Cisco's notes say of an absent volume
/// ("the current volume setting on the phone gets used as the default", OL-20949-01). The
/// spec limits `s` to no model, so neither does zonecast (see `xsi::plan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtpStream<A> {
    addr: A,
    port: RtpPort,
    volume: Option<Volume>,
    audio_path: Option<AudioPath>,
}

impl<A: StreamAddr> RtpStream<A> {
    pub(super) fn new(
        family: &str,
        addr: Ipv4Addr,
        port: RtpPort,
        volume: Option<u32>,
        audio_path: Option<AudioPath>,
    ) -> Result<Self, Invalid> {
        let addr = A::checked(&format!("{family} address"), addr)?;
        let volume = volume
            .map(|v| Ranged::in_field(&format!("{family} volume"), v))
            .transpose()?;
        Ok(RtpStream {
            addr,
            port,
            volume,
            audio_path,
        })
    }

    /// The stream's address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr.ip()
    }
    /// The UDP port.
    pub fn port(&self) -> RtpPort {
        self.port
    }
    /// Volume in percent; absent keeps the phone's.
    pub fn volume(&self) -> Option<u32> {
        self.volume.map(Ranged::get)
    }
    /// Where it plays; absent means the speaker.
    pub fn audio_path(&self) -> Option<AudioPath> {
        self.audio_path
    }

    pub(super) fn parse(family: &str, rest: &str) -> Result<Self, Invalid> {
        let f: Vec<&str> = rest.split(':').collect();
        if !(2..=4).contains(&f.len()) {
            return Err(Invalid::new(
                family,
                rest,
                "must be ADDRESS:PORT[:VOLUME[:AUDIO_PATH]] or Stop",
            ));
        }
        let addr = parse_ip(&format!("{family} address"), f[0])?;
        let port = parse_port(family, f[1])?;
        // An empty volume is how the format omits it before an audio path, and only there.
        let volume = f
            .get(2)
            .filter(|v| !(v.is_empty() && f.len() == 4))
            .map(|v| Ranged::<0, 100>::parse_in(&format!("{family} volume"), v))
            .transpose()?;
        let path = f
            .get(3)
            .map(|s| {
                s.parse::<AudioPath>()
                    .map_err(|e| Invalid::new(format!("{family} audio path"), s, e.rule))
            })
            .transpose()?;
        RtpStream::new(family, addr, port, volume.map(Ranged::get), path)
    }
}

impl<A: StreamAddr> fmt::Display for RtpStream<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.addr.ip(), self.port)?;
        match (self.volume, self.audio_path) {
            (Some(v), Some(s)) => write!(f, ":{v}:{s}"),
            (Some(v), None) => write!(f, ":{v}"),
            (None, Some(s)) => write!(f, "::{s}"),
            (None, None) => Ok(()),
        }
    }
}

/// `RTPTx`/`RTPMTx:{addr}:{port}`: send the microphone to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtpTarget<A> {
    addr: A,
    port: RtpPort,
}

impl<A: StreamAddr> RtpTarget<A> {
    pub(super) fn new(family: &str, addr: Ipv4Addr, port: RtpPort) -> Result<Self, Invalid> {
        let addr = A::checked(&format!("{family} address"), addr)?;
        Ok(RtpTarget { addr, port })
    }

    /// Where the stream goes.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr.ip()
    }
    /// The UDP port.
    pub fn port(&self) -> RtpPort {
        self.port
    }

    pub(super) fn parse(family: &str, rest: &str) -> Result<Self, Invalid> {
        match rest.split(':').collect::<Vec<_>>()[..] {
            [addr, port] => RtpTarget::new(
                family,
                parse_ip(&format!("{family} address"), addr)?,
                parse_port(family, port)?,
            ),
            _ => Err(Invalid::new(family, rest, "must be ADDRESS:PORT or Stop")),
        }
    }
}

impl<A: StreamAddr> fmt::Display for RtpTarget<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.addr.ip(), self.port)
    }
}
