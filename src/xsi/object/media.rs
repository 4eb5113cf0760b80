//! The RTP Streaming API requests (`startMedia`, `stopMedia`) and the `getDeviceCaps` query.
//!
//! Cisco publishes no usable schema for these (the streaming XSD in the development notes is
//! cut off at a page break), so their shape follows Cisco's examples and the bodies a public
//! client sends: see `cisco-doc-rtp-streaming-api-examples.txt` and
//! `usecallmanager-mediastream-requests.xml` in the shared reference material.

use std::fmt;
use std::net::Ipv4Addr;

use crate::error::Invalid;
use crate::rtp::RtpPort;
use crate::xsi::uri::Notify;

use super::document::XmlObject;
use super::xml::{self, Doc};

/// `<type>`: what the stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
}

/// `<codec>`: the only three the phones accept in `startMedia`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// `G.711`.
    G711,
    /// `G.722`.
    G722,
    /// `G.729`.
    G729,
}

/// `<mode>`: the direction seen from the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaMode {
    /// `sendReceive`: both directions.
    SendReceive,
    /// `send`: the phone transmits (its microphone).
    Send,
    /// `receive`: the phone plays what arrives.
    Receive,
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
        })
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::G711 => "G.711",
            Codec::G722 => "G.722",
            Codec::G729 => "G.729",
        })
    }
}

impl fmt::Display for MediaMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MediaMode::SendReceive => "sendReceive",
            MediaMode::Send => "send",
            MediaMode::Receive => "receive",
        })
    }
}

/// `startMedia`: open one RTP stream on the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartMedia {
    on_stopped: Option<String>,
    receive_volume: Option<u8>,
    kind: MediaType,
    codec: Codec,
    mode: MediaMode,
    address: Ipv4Addr,
    port: Option<RtpPort>,
}

impl StartMedia {
    const ROOT: &'static str = "startMedia";

    /// A stream of `kind` in `codec`, direction `mode`, with the far end (or multicast group)
    /// at `address`. Phones stream over IPv4 only.
    pub fn new(kind: MediaType, codec: Codec, mode: MediaMode, address: Ipv4Addr) -> StartMedia {
        StartMedia {
            on_stopped: None,
            receive_volume: None,
            kind,
            codec,
            mode,
            address,
            port: None,
        }
    }

    /// The UDP port (an [`RtpPort`] is always even, 20480..=32768).
    pub fn port(mut self, port: RtpPort) -> StartMedia {
        self.port = Some(port);
        self
    }

    /// [`StartMedia::port`] from a number, refused unless a valid [`RtpPort`].
    pub fn port_number(self, port: u16) -> Result<StartMedia, Invalid> {
        let port = RtpPort::new(port)
            .map_err(|e| Invalid::new("startMedia mediaStream port", port, e.rule))?;
        Ok(self.port(port))
    }

    /// The Notify URI the phone calls when the stream stops (e.g.
    /// `Notify:http:server:80:path`): refused unless it is one (see [`Notify::handler`]).
    pub fn on_stopped(mut self, uri: &str) -> Result<StartMedia, Invalid> {
        let field = "startMedia mediaStream onStopped";
        let uri = xml::url(field, uri)?;
        Notify::handler(field, &uri)?;
        self.on_stopped = Some(uri);
        Ok(self)
    }

    /// [`StartMedia::on_stopped`] from a checked [`Notify`].
    pub fn on_stopped_notify(self, notify: &Notify) -> Result<StartMedia, Invalid> {
        self.on_stopped(&notify.to_uri())
    }

    /// Playback volume, 0..=100 percent of the maximum.
    pub fn receive_volume(mut self, percent: u8) -> Result<StartMedia, Invalid> {
        let field = "startMedia mediaStream receiveVolume";
        self.receive_volume = Some(xml::in_range(field, percent, 0, 100)?);
        Ok(self)
    }
}

impl XmlObject for StartMedia {
    fn root(&self) -> &'static str {
        Self::ROOT
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        doc.open(Self::ROOT).start("mediaStream");
        if let Some(u) = &self.on_stopped {
            doc.attr("onStopped", u);
        }
        if let Some(v) = self.receive_volume {
            doc.attr("receiveVolume", &v.to_string());
        }
        doc.end_open()
            .num("type", self.kind)
            .num("codec", self.codec)
            .num("mode", self.mode)
            .num("address", self.address);
        if let Some(p) = self.port {
            doc.num("port", p);
        }
        doc.close("mediaStream").close(Self::ROOT).finish()
    }
}

/// `stopMedia`: end the stream with this id (as the phone returned it from `startMedia`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopMedia {
    id: Option<String>,
}

impl StopMedia {
    /// Stop without naming a stream.
    pub fn new() -> StopMedia {
        StopMedia::default()
    }

    /// Stop the stream `id` (1..=256 characters).
    pub fn id(id: &str) -> Result<StopMedia, Invalid> {
        let id = xml::text("stopMedia mediaStream id", id, 256)?;
        if id.is_empty() {
            return Err(Invalid::new(
                "stopMedia mediaStream id",
                id,
                "must not be empty",
            ));
        }
        Ok(StopMedia { id: Some(id) })
    }
}

impl XmlObject for StopMedia {
    fn root(&self) -> &'static str {
        "stopMedia"
    }

    fn to_xml(&self) -> String {
        let mut doc = Doc::new();
        doc.open("stopMedia").start("mediaStream");
        if let Some(id) = &self.id {
            doc.attr("id", id);
        }
        doc.end_empty().close("stopMedia").finish()
    }
}

/// `getDeviceCaps`: ask a phone for its display and services capabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct GetDeviceCaps;

impl XmlObject for GetDeviceCaps {
    fn root(&self) -> &'static str {
        "getDeviceCaps"
    }

    fn to_xml(&self) -> String {
        Doc::new().start("getDeviceCaps").end_empty().finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xsi::object::DECLARATION;

    #[test]
    fn start_media_matches_cisco_example() {
        let s = StartMedia::new(
            MediaType::Audio,
            Codec::G729,
            MediaMode::SendReceive,
            Ipv4Addr::new(239, 1, 2, 3),
        )
        .port(RtpPort::new(20480).unwrap())
        .on_stopped("Notify:http:server:80:path/page")
        .unwrap()
        .receive_volume(50)
        .unwrap();
        assert_eq!(
            s.to_xml(),
            format!(
                "{DECLARATION}<startMedia>\
                 <mediaStream onStopped=\"Notify:http:server:80:path/page\" receiveVolume=\"50\">\
                 <type>audio</type><codec>G.729</codec><mode>sendReceive</mode>\
                 <address>239.1.2.3</address><port>20480</port></mediaStream></startMedia>"
            )
        );
    }

    #[test]
    fn on_stopped_is_checked_as_a_notify_uri_not_by_prefix() {
        let s = || {
            StartMedia::new(
                MediaType::Audio,
                Codec::G711,
                MediaMode::Receive,
                Ipv4Addr::new(239, 1, 2, 3),
            )
        };
        for bad in [
            "Notify:https:server:443:path",
            "Notify:http:server:0:path",
            "Notify:http:server:80:a;b",
            "Notify:",
            "Key:Services",
            "http://server/path",
        ] {
            let e = s().on_stopped(bad).unwrap_err();
            assert_eq!(e.field, "startMedia mediaStream onStopped", "{bad}");
            assert!(e.rule.contains("Notify:http:HOST:PORT:PATH"), "{bad}: {e}");
        }
        let n = Notify::new("10.0.0.5", 8460, "zonecast/notify/pg-1", None, None).unwrap();
        let xml = s().on_stopped_notify(&n).unwrap().to_xml();
        assert!(
            xml.contains("onStopped=\"Notify:http:10.0.0.5:8460:zonecast/notify/pg-1::\""),
            "{xml}"
        );
    }

    #[test]
    fn start_media_port_and_volume_are_optional() {
        let s = StartMedia::new(
            MediaType::Audio,
            Codec::G711,
            MediaMode::Receive,
            Ipv4Addr::LOCALHOST,
        );
        let xml = s.to_xml();
        assert!(xml.contains("<mediaStream><type>audio</type><codec>G.711</codec>"));
        assert!(!xml.contains("<port>"));
    }

    #[test]
    fn odd_media_port_refused() {
        let s = StartMedia::new(
            MediaType::Audio,
            Codec::G722,
            MediaMode::Send,
            Ipv4Addr::LOCALHOST,
        );
        let e = s.clone().port_number(20481).unwrap_err();
        assert_eq!(e.field, "startMedia mediaStream port");
        assert!(e.rule.contains("even"), "{e}");
        assert!(s.clone().port_number(20479).is_err());
        assert!(s.clone().port_number(32770).is_err());
        assert!(
            s.port_number(32768)
                .unwrap()
                .to_xml()
                .contains("<port>32768</port>")
        );
    }

    #[test]
    fn receive_volume_is_0_to_100() {
        let s = StartMedia::new(
            MediaType::Audio,
            Codec::G711,
            MediaMode::Receive,
            Ipv4Addr::LOCALHOST,
        );
        assert!(s.clone().receive_volume(100).is_ok());
        let e = s.receive_volume(101).unwrap_err();
        assert_eq!(e.field, "startMedia mediaStream receiveVolume");
    }

    #[test]
    fn stop_media_and_device_caps() {
        assert_eq!(
            StopMedia::id("abc123").unwrap().to_xml(),
            format!("{DECLARATION}<stopMedia><mediaStream id=\"abc123\"/></stopMedia>")
        );
        assert_eq!(
            StopMedia::new().to_xml(),
            format!("{DECLARATION}<stopMedia><mediaStream/></stopMedia>")
        );
        assert!(StopMedia::id("").is_err());
        assert_eq!(
            GetDeviceCaps.to_xml(),
            format!("{DECLARATION}<getDeviceCaps/>")
        );
    }
}
