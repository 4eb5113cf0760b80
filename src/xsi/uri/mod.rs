//! The phones' internal URIs (`Key:NavUp`, `RTPRx:10.0.0.1:20480:80`, `Init:AppStatus` ...)
//! as one checked [`Uri`] enum.
//!
//! This module owns the URI strings of the Cisco XSI spec: every family, every range and
//! character rule, the exact rendering (`Display`) and the parser (`FromStr`). A [`Uri`] is
//! built only through checking constructors, so whatever it renders is something the spec says
//! a phone accepts; putting URIs into XML objects (and which object may hold which URI) is
//! [`super::object`]'s job, helped by [`Uri::allowed_in_execute`].
//!
//! Parsing is case-sensitive, like the phones, and strict: numbers are plain decimal without
//! leading zeros, so `parse(render(x)) == x` and `render(parse(s)) == s` for canonical `s`.
//! The documented key aliases (`KemPage`, `NavDown`, `VolDown`) are accepted but rendered in
//! their canonical spelling.
//!
//! Files: `key` (the `Key:` names, per model), `names` (the URI arguments that are a fixed set
//! of names), `fields` (checked building blocks: numbers, DTMF, file names, addresses),
//! `payload` (payloads with several fields: `Display:`, `Dial:`, `RTPRx:` ...), `app` (`App:`
//! and `Notify:`), `callback` (the plain-HTTP address every zonecast `Notify:` URI starts with,
//! [`NotifyBase`]), `tests` (round trips and the spec's examples).

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::error::Invalid;
use crate::rtp::RtpPort;

mod app;
mod callback;
mod fields;
mod key;
mod names;
mod payload;
#[cfg(test)]
mod tests;

pub use app::{App, Notify};
pub use callback::NotifyBase;
pub use fields::{
    DialString, FileName, MenuName, Multicast, QueryString, Ranged, StreamAddr, Unicast,
};
pub use key::{Key, KeyRule};
pub use names::{AppAction, AppPriority, AudioPath, Button, DeviceCmd, Icon, Init, SoftKey};
pub use payload::{
    Dial, Display, IdleTimer, Minutes, Play, RtpStream, RtpTarget, SendDigits, Volume,
};

/// One internal URI. Variants with rules hold checked payloads; build them with the
/// constructors below ([`Uri::dial`], [`Uri::rtp_rx`] ...) or by parsing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Uri {
    /// `Key:NAME`.
    Key(Key),
    /// `SoftKey:NAME`.
    SoftKey(SoftKey),
    /// `Display:Off:N`, `Display:On:N`, `Display:Default`.
    Display(Display),
    /// `Init:NAME`.
    Init(Init),
    /// `Device:NAME`.
    Device(DeviceCmd),
    /// `Dial:...`.
    Dial(Dial),
    /// `EditDial:N`: opens the dialer with N filled in.
    EditDial(DialString),
    /// `SendDigits:...`.
    SendDigits(SendDigits),
    /// `Play:FILE`, `Play:Stop`.
    Play(Play),
    /// `RTPRx:ADDR:PORT[:VOLUME[:PATH]]`, unicast receive.
    RtpRx(RtpStream<Unicast>),
    /// `RTPRx:Stop`.
    RtpRxStop,
    /// `RTPTx:ADDR:PORT`, unicast transmit.
    RtpTx(RtpTarget<Unicast>),
    /// `RTPTx:Stop`.
    RtpTxStop,
    /// `RTPMRx:ADDR:PORT[:VOLUME[:PATH]]`, multicast receive.
    RtpMRx(RtpStream<Multicast>),
    /// `RTPMRx:Stop`.
    RtpMRxStop,
    /// `RTPMTx:ADDR:PORT`, multicast transmit.
    RtpMTx(RtpTarget<Multicast>),
    /// `RTPMTx:Stop`.
    RtpMTxStop,
    /// `App:ACTION:PRIORITY:IDLE_TIMER:APP_ID`.
    App(App),
    /// `Notify:http:HOST:PORT:PATH:CREDENTIALS:DATA`.
    Notify(Notify),
    /// `QueryStringParam:DATA`.
    QueryStringParam(QueryString),
    /// `SettingsMenu:NAME` (8875 settings screens; send `Key:Applications` first).
    SettingsMenu(MenuName),
    /// `Button:NAME` (8875 settings screens).
    Button(Button),
    /// `Resource:ICON`.
    Resource(Icon),
}

/// Every family name, for the error on an unknown one.
const FAMILIES: &str = "one of Key SoftKey Display Init Device Dial EditDial SendDigits Play \
     RTPRx RTPTx RTPMRx RTPMTx App Notify QueryStringParam SettingsMenu Button Resource";

impl Uri {
    /// `Display:Off:N`, N in 0..=1440 minutes (0: until the user wakes the phone).
    pub fn display_off(minutes: u32) -> Result<Uri, Invalid> {
        Minutes::in_field("Display:Off minutes", minutes).map(|m| Uri::Display(Display::Off(m)))
    }

    /// `Display:On:N`, N in 0..=1440 minutes.
    pub fn display_on(minutes: u32) -> Result<Uri, Invalid> {
        Minutes::in_field("Display:On minutes", minutes).map(|m| Uri::Display(Display::On(m)))
    }

    /// `Dial:...`, see [`Dial::new`].
    pub fn dial(
        sequence: &str,
        use_app_ui: Option<bool>,
        application_id: Option<&str>,
        audible_feedback: Option<bool>,
    ) -> Result<Uri, Invalid> {
        Dial::new(sequence, use_app_ui, application_id, audible_feedback).map(Uri::Dial)
    }

    /// `EditDial:N`, N a DTMF sequence.
    pub fn edit_dial(sequence: &str) -> Result<Uri, Invalid> {
        DialString::new("EditDial sequence", sequence).map(Uri::EditDial)
    }

    /// `SendDigits:...`, see [`SendDigits::new`].
    pub fn send_digits(
        sequence: &str,
        audible_feedback: bool,
        application_id: Option<&str>,
    ) -> Result<Uri, Invalid> {
        SendDigits::new(sequence, audible_feedback, application_id).map(Uri::SendDigits)
    }

    /// `Play:FILE`, see [`FileName::new`].
    pub fn play(file: &str) -> Result<Uri, Invalid> {
        FileName::new(file).map(|f| Uri::Play(Play::File(f)))
    }

    /// `RTPRx:...`: unicast address, volume 0..=100 (absent: the phone keeps its own), audio
    /// path optional (without a volume it renders `ADDR:PORT::PATH`).
    pub fn rtp_rx(
        addr: Ipv4Addr,
        port: RtpPort,
        volume: Option<u32>,
        audio_path: Option<AudioPath>,
    ) -> Result<Uri, Invalid> {
        RtpStream::new("RTPRx", addr, port, volume, audio_path).map(Uri::RtpRx)
    }

    /// `RTPMRx:...`: multicast address, volume 0..=100 (absent: the phone keeps its own), audio
    /// path optional (without a volume it renders `ADDR:PORT::PATH`).
    pub fn rtp_mrx(
        addr: Ipv4Addr,
        port: RtpPort,
        volume: Option<u32>,
        audio_path: Option<AudioPath>,
    ) -> Result<Uri, Invalid> {
        RtpStream::new("RTPMRx", addr, port, volume, audio_path).map(Uri::RtpMRx)
    }

    /// `RTPTx:ADDR:PORT`, unicast address.
    pub fn rtp_tx(addr: Ipv4Addr, port: RtpPort) -> Result<Uri, Invalid> {
        RtpTarget::new("RTPTx", addr, port).map(Uri::RtpTx)
    }

    /// `RTPMTx:ADDR:PORT`, multicast address.
    pub fn rtp_mtx(addr: Ipv4Addr, port: RtpPort) -> Result<Uri, Invalid> {
        RtpTarget::new("RTPMTx", addr, port).map(Uri::RtpMTx)
    }

    /// `App:...`, see [`App::new`].
    pub fn app(
        action: AppAction,
        priority: AppPriority,
        idle_timer: u32,
        app_id: &str,
    ) -> Result<Uri, Invalid> {
        App::new(action, priority, idle_timer, app_id).map(Uri::App)
    }

    /// `Notify:http:...`, see [`Notify::new`].
    pub fn notify(
        host: &str,
        port: u16,
        path: &str,
        credentials: Option<&str>,
        data: Option<&str>,
    ) -> Result<Uri, Invalid> {
        Notify::new(host, port, path, credentials, data).map(Uri::Notify)
    }

    /// `QueryStringParam:DATA`.
    pub fn query_string_param(data: &str) -> Result<Uri, Invalid> {
        QueryString::new(data).map(Uri::QueryStringParam)
    }

    /// `SettingsMenu:NAME`.
    pub fn settings_menu(name: &str) -> Result<Uri, Invalid> {
        MenuName::new(name).map(Uri::SettingsMenu)
    }

    /// The family name before the first colon, as the spec spells it.
    pub fn family(&self) -> &'static str {
        match self {
            Uri::Key(_) => "Key",
            Uri::SoftKey(_) => "SoftKey",
            Uri::Display(_) => "Display",
            Uri::Init(_) => "Init",
            Uri::Device(_) => "Device",
            Uri::Dial(_) => "Dial",
            Uri::EditDial(_) => "EditDial",
            Uri::SendDigits(_) => "SendDigits",
            Uri::Play(_) => "Play",
            Uri::RtpRx(_) | Uri::RtpRxStop => "RTPRx",
            Uri::RtpTx(_) | Uri::RtpTxStop => "RTPTx",
            Uri::RtpMRx(_) | Uri::RtpMRxStop => "RTPMRx",
            Uri::RtpMTx(_) | Uri::RtpMTxStop => "RTPMTx",
            Uri::App(_) => "App",
            Uri::Notify(_) => "Notify",
            Uri::QueryStringParam(_) => "QueryStringParam",
            Uri::SettingsMenu(_) => "SettingsMenu",
            Uri::Button(_) => "Button",
            Uri::Resource(_) => "Resource",
        }
    }

    /// Whether this URI may be an ExecuteItem of a CiscoIPPhoneExecute. False for:
    /// - `Notify`: the spec says it is not supported inside an Execute object, only from event
    ///   handlers (`onStopped` ...) and soft keys;
    /// - `QueryStringParam`: it only appends data to the URL of the object it sits in (a soft
    ///   key of a Menu/Input), so alone in an Execute it has nothing to append to;
    /// - `Resource`: it names a built-in icon for an IconFileMenu, it is not an action.
    ///
    /// Everything else is an action the phone runs at once when pushed.
    pub fn allowed_in_execute(&self) -> bool {
        !matches!(
            self,
            Uri::Notify(_) | Uri::QueryStringParam(_) | Uri::Resource(_)
        )
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.family())?;
        match self {
            Uri::Key(k) => k.fmt(f),
            Uri::SoftKey(k) => k.fmt(f),
            Uri::Display(d) => d.fmt(f),
            Uri::Init(i) => i.fmt(f),
            Uri::Device(d) => d.fmt(f),
            Uri::Dial(d) => d.fmt(f),
            Uri::EditDial(s) => s.fmt(f),
            Uri::SendDigits(s) => s.fmt(f),
            Uri::Play(p) => p.fmt(f),
            Uri::RtpRx(s) => s.fmt(f),
            Uri::RtpMRx(s) => s.fmt(f),
            Uri::RtpTx(t) => t.fmt(f),
            Uri::RtpMTx(t) => t.fmt(f),
            Uri::RtpRxStop | Uri::RtpTxStop | Uri::RtpMRxStop | Uri::RtpMTxStop => {
                f.write_str("Stop")
            }
            Uri::App(a) => a.fmt(f),
            Uri::Notify(n) => n.fmt(f),
            Uri::QueryStringParam(q) => q.fmt(f),
            Uri::SettingsMenu(m) => m.fmt(f),
            Uri::Button(b) => b.fmt(f),
            Uri::Resource(i) => i.fmt(f),
        }
    }
}

impl FromStr for Uri {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let (family, rest) = s
            .split_once(':')
            .ok_or_else(|| Invalid::new("URI", s, "must be FAMILY:ARGUMENTS, e.g. Key:NavUp"))?;
        let stop = rest == "Stop";
        Ok(match family {
            "Key" => Uri::Key(rest.parse()?),
            "SoftKey" => Uri::SoftKey(rest.parse()?),
            "Display" => Uri::Display(Display::parse(rest)?),
            "Init" => Uri::Init(rest.parse()?),
            "Device" => Uri::Device(rest.parse()?),
            "Dial" => Uri::Dial(Dial::parse(rest)?),
            "EditDial" => Uri::EditDial(DialString::new("EditDial sequence", rest)?),
            "SendDigits" => Uri::SendDigits(SendDigits::parse(rest)?),
            "Play" => Uri::Play(Play::parse(rest)?),
            "RTPRx" if stop => Uri::RtpRxStop,
            "RTPTx" if stop => Uri::RtpTxStop,
            "RTPMRx" if stop => Uri::RtpMRxStop,
            "RTPMTx" if stop => Uri::RtpMTxStop,
            "RTPRx" => Uri::RtpRx(RtpStream::parse(family, rest)?),
            "RTPTx" => Uri::RtpTx(RtpTarget::parse(family, rest)?),
            "RTPMRx" => Uri::RtpMRx(RtpStream::parse(family, rest)?),
            "RTPMTx" => Uri::RtpMTx(RtpTarget::parse(family, rest)?),
            "App" => Uri::App(App::parse(rest)?),
            "Notify" => Uri::Notify(Notify::parse(rest)?),
            "QueryStringParam" => Uri::QueryStringParam(QueryString::new(rest)?),
            "SettingsMenu" => Uri::SettingsMenu(MenuName::new(rest)?),
            "Button" => Uri::Button(rest.parse()?),
            "Resource" => Uri::Resource(rest.parse()?),
            _ => return Err(Invalid::new("URI family", family, FAMILIES)),
        })
    }
}
