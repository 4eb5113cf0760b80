//! Planning a page: per phone, from its model, what it is sent at start and at end.
//!
//! - The stream: `RTPMRx:GROUP:PORT[:VOLUME]` for a multicast zone, `RTPRx:SOURCE:PORT[:VOLUME]`
//!   for a unicast one (phones that share an address, as emulated phones on one IP do, get
//!   consecutive even ports so each has its own). Stopped with `RTPMRx:Stop` / `RTPRx:Stop`.
//! - The banner: a CiscoIPPhoneStatus where the model has one (cleared at the end with
//!   `Init:AppStatus`), else a CiscoIPPhoneText (closed with `Init:Services`). A banner the
//!   phone's object cannot carry is dropped for that phone alone (`banner_refused`): text never
//!   costs a phone its page. The edges refuse such text before a page is planned
//!   ([`crate::config::banner_rule`]); this is the core's own guarantee.
//! - Phones that cannot take part are planned as refused, with the reason: a model without RTP
//!   URIs (Multiplatform firmware), no usable address, no password.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::push::Phone;
use crate::rtp::RtpPort;
use crate::xsi::model::Capabilities;
use crate::xsi::object::{
    Bitmap, Codec, Execute, ExecuteItem, ExecuteUrl, MediaMode, MediaType, StartMedia, Status,
    StopMedia, Text, XmlObject,
};
use crate::xsi::uri::{Init, Notify, Uri};

/// One phone of the zone, as the shell found it.
#[derive(Debug, Clone)]
pub struct ZoneMember {
    /// Name (config).
    pub name: String,
    /// Model name.
    pub model: String,
    /// Its IPv4 address (for unicast RTP), if known.
    pub ip: Option<Ipv4Addr>,
    /// It takes G.722 through startMedia (its `g722` setting, else the model table).
    pub g722: bool,
    /// How to push to it, or why it cannot be pushed to (no password ...).
    pub push: Result<Phone, String>,
}

/// How the audio reaches the phones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// One multicast group.
    Multicast {
        /// Group.
        group: Ipv4Addr,
        /// Port.
        port: RtpPort,
    },
    /// A copy to each phone.
    Unicast {
        /// The address the phones are told the stream comes from (`RTPRx:SOURCE:...`).
        source: Ipv4Addr,
        /// Port (phones sharing an address get the next even ports).
        port: RtpPort,
    },
}

/// How phones are told to play the stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Via {
    /// RTP URIs in a CiscoIPPhoneExecute (`RTPMRx:` / `RTPRx:`, stopped with `...:Stop`).
    #[default]
    Uri,
    /// The RTP Streaming API: `startMedia` (the phone answers with a stream id) and `stopMedia`;
    /// the phone calls `on_stopped` (a `Notify:` URI) when its user hangs up.
    Media {
        /// `Notify:http:HOST:PORT:PATH` of our callback listener, checked.
        on_stopped: Notify,
    },
}

/// A page's settings.
#[derive(Debug, Clone)]
pub struct PageSpec {
    /// Multicast or unicast.
    pub delivery: Delivery,
    /// URIs or the RTP Streaming API.
    pub via: Via,
    /// Volume 0..=100 (None: the phone's own).
    pub volume: Option<u32>,
    /// Banner text (≤ 32 characters).
    pub banner: Option<String>,
    /// The page's G.722 stream, when it carries one: the phones that take G.722 are started on
    /// it through startMedia, each with a G.711 start to retry if it refuses.
    pub wide: Option<Delivery>,
}

/// The kind of banner a phone gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BannerKind {
    /// CiscoIPPhoneStatus on the status line.
    Status,
    /// CiscoIPPhoneText on the screen (models without Status).
    Text,
}

/// A banner object.
#[derive(Debug, Clone)]
pub struct Banner {
    /// Which object.
    pub kind: BannerKind,
    /// The object.
    pub xml: String,
}

/// What one phone gets.
#[derive(Debug, Clone)]
pub struct PhonePlan {
    /// Name.
    pub name: String,
    /// Model.
    pub model: String,
    /// How to reach it (None when refused).
    pub target: Option<Phone>,
    /// Why it takes no part.
    pub refused: Option<String>,
    /// Whether the model answers pushes with CiscoIPPhoneResponse.
    pub expect_reply: bool,
    /// The start push (CiscoIPPhoneExecute with the RTP URI).
    pub start_xml: String,
    /// The stream URI in it.
    pub start_uri: String,
    /// The banner, pushed after the stream started.
    pub banner: Option<Banner>,
    /// Why the page's banner could not be built for this phone (its model's limits): the
    /// phone is paged without it, and the report says so.
    pub banner_refused: Option<String>,
    /// The stop push (the stream's Stop URI, and the banner's clearing URI). With the RTP
    /// Streaming API: `stopMedia` without an id (what recovery sends; a page sends the id).
    pub stop_xml: String,
    /// Started with startMedia (the reply carries the stream id).
    pub via_media: bool,
    /// With the RTP Streaming API the banner is cleared by its own push (this Execute).
    pub banner_clear_xml: Option<String>,
    /// Where unicast RTP goes for this phone.
    pub dest: Option<SocketAddrV4>,
    /// The phone's address (for a unicast fallback of a multicast page).
    pub ip: Option<Ipv4Addr>,
    /// Started on the page's G.722 stream.
    pub wideband: bool,
    /// For a phone started on G.722: the G.711 startMedia it is retried with if it refuses,
    /// and (unicast) where its G.711 copy then goes.
    pub narrow: Option<NarrowRetry>,
    /// An IP speaker (`[[speaker]]`): no push, its G.711 stream sent to `speaker_dest`.
    pub speaker_dest: Option<SocketAddrV4>,
    /// A SIP endpoint (`[[sip_endpoint]]`): started by a call, stopped by its hang-up.
    pub sip: Option<Box<super::dial::SipTarget>>,
}

/// The G.711 start a phone that refuses G.722 is retried with.
#[derive(Debug, Clone)]
pub struct NarrowRetry {
    /// The startMedia object (G.711, the page's G.711 stream).
    pub start_xml: String,
    /// Unicast: where the G.711 copy is sent once the phone took it (`None`: multicast, the
    /// G.711 stream already goes to the group).
    pub dest: Option<SocketAddrV4>,
}

fn execute_of(uris: &[Uri]) -> String {
    let items = uris
        .iter()
        .map(|u| ExecuteItem::new(ExecuteUrl::try_from(u).expect("planned URIs are executable")));
    Execute::from_items(items)
        .expect("one to three items")
        .to_xml()
}

fn banner_of(caps: &Capabilities, text: &str) -> Result<Banner, String> {
    if caps.status_object {
        let bitmap = Bitmap::new(1, 1, 1, "00").map_err(|e| e.to_string())?;
        let s = Status::new(-1, -1, bitmap)
            .and_then(|s| s.text(text))
            .and_then(|s| s.timer(0))
            .map_err(|e| e.to_string())?;
        Ok(Banner {
            kind: BannerKind::Status,
            xml: s.to_xml(),
        })
    } else {
        let t = Text::new()
            .title(text)
            .and_then(|t| t.text(text))
            .map_err(|e| e.to_string())?;
        Ok(Banner {
            kind: BannerKind::Text,
            xml: t.to_xml(),
        })
    }
}

/// The banner for a phone of these capabilities, or why it cannot have one. Text never costs
/// a phone its page: a banner its model cannot show is dropped for that phone alone.
fn banner_or_why(caps: &Capabilities, text: Option<&str>) -> (Option<Banner>, Option<String>) {
    match text.map(|t| banner_of(caps, t)) {
        None => (None, None),
        Some(Ok(b)) => (Some(b), None),
        Some(Err(why)) => (None, Some(why)),
    }
}

/// Plan every phone of the page.
pub fn plan(spec: &PageSpec, targets: Vec<ZoneMember>) -> Vec<PhonePlan> {
    let mut ports_taken: Vec<(Ipv4Addr, u16)> = Vec::new();
    targets
        .into_iter()
        .map(|t| plan_one(spec, t, &mut ports_taken))
        .collect()
}

fn refused(t: &ZoneMember, expect_reply: bool, why: String) -> PhonePlan {
    PhonePlan {
        refused: Some(why),
        expect_reply,
        ip: t.ip,
        ..pushless(&t.name, &t.model, String::new())
    }
}

/// The phone's push target, or why it takes no part: a model without RTP pushes (`verb`:
/// "receive" or "send"), no credentials.
fn pushable(t: &ZoneMember, caps: &Capabilities, verb: &str) -> Result<Phone, String> {
    if !caps.rtp_uris {
        return Err(format!(
            "model {} cannot {verb} RTP pushes (Multiplatform firmware)",
            t.model
        ));
    }
    t.push.clone()
}

/// The banner's clearing URI: `Init:AppStatus` for a Status line, `Init:Services` for a Text.
fn clear_of(banner: Option<&Banner>) -> Option<Uri> {
    banner.map(|b| match b.kind {
        BannerKind::Status => Uri::Init(Init::AppStatus),
        BannerKind::Text => Uri::Init(Init::Services),
    })
}

/// The stream URI of `delivery` for phone `t`, its Stop URI and (unicast) where its copy goes:
/// the first even port from the delivery's that no other phone at the phone's address uses.
fn stream_of(
    delivery: Delivery,
    volume: Option<u32>,
    t: &ZoneMember,
    ports_taken: &mut Vec<(Ipv4Addr, u16)>,
) -> Result<(Uri, Uri, Option<SocketAddrV4>), String> {
    Ok(match delivery {
        Delivery::Multicast { group, port } => (
            Uri::rtp_mrx(group, port, volume, None).map_err(|e| e.to_string())?,
            Uri::RtpMRxStop,
            None,
        ),
        Delivery::Unicast { source, port } => {
            let ip = t.ip.ok_or(
                "unicast needs the phone's IPv4 address (its host did not resolve)".to_owned(),
            )?;
            let mut p = port.get();
            while ports_taken.contains(&(ip, p)) {
                p += 2;
            }
            let p = RtpPort::new(p).map_err(|_| format!("no free RTP port left for {ip}"))?;
            ports_taken.push((ip, p.get()));
            (
                Uri::rtp_rx(source, p, volume, None).map_err(|e| e.to_string())?,
                Uri::RtpRxStop,
                Some(SocketAddrV4::new(ip, p.get())),
            )
        }
    })
}

fn plan_one(spec: &PageSpec, t: ZoneMember, ports_taken: &mut Vec<(Ipv4Addr, u16)>) -> PhonePlan {
    let caps = Capabilities::for_model_name(&t.model);
    let expect_reply = caps.execute_response;
    let phone = match pushable(&t, &caps, "receive") {
        Ok(p) => p,
        Err(why) => return refused(&t, expect_reply, why),
    };
    let (start, stop, dest) = match stream_of(spec.delivery, spec.volume, &t, ports_taken) {
        Ok(s) => s,
        Err(why) => return refused(&t, expect_reply, why),
    };
    let (banner, banner_refused) = banner_or_why(&caps, spec.banner.as_deref());
    let clear = clear_of(banner.as_ref());
    let on_stopped = match &spec.via {
        Via::Media { on_stopped } => Some(on_stopped),
        Via::Uri => None,
    };
    let plan = PhonePlan {
        stop_xml: StopMedia::new().to_xml(),
        via_media: true,
        banner_clear_xml: clear.clone().map(|u| execute_of(&[u])),
        dest,
        ..taking_part(&t, phone, expect_reply, &start, (banner, banner_refused))
    };
    // A G.722 page starts the phones that take it on its wideband stream (startMedia: the RTP
    // URIs are G.711 only), keeping the G.711 start to retry with if the phone refuses.
    if let Some(wide) = spec.wide.filter(|_| t.g722) {
        let narrow = media_start(&start, on_stopped, Codec::G711);
        let wide = stream_of(wide, spec.volume, &t, ports_taken)
            .and_then(|(u, _, d)| Ok((media_start(&u, on_stopped, Codec::G722)?, d)));
        return match (wide, narrow) {
            (Ok((start_xml, wide_dest)), Ok(narrow_xml)) => PhonePlan {
                start_uri: "startMedia G.722".into(),
                start_xml,
                dest: wide_dest,
                wideband: true,
                narrow: Some(NarrowRetry {
                    start_xml: narrow_xml,
                    dest,
                }),
                ..plan
            },
            (Err(e), _) | (_, Err(e)) => refused(&t, expect_reply, e),
        };
    }
    if on_stopped.is_some() {
        return match media_start(&start, on_stopped, Codec::G711) {
            Ok(start_xml) => PhonePlan {
                start_uri: "startMedia".into(),
                start_xml,
                ..plan
            },
            Err(e) => refused(&t, expect_reply, e),
        };
    }
    let mut stop_uris = vec![stop];
    // A multicast phone that heard nothing may be switched to unicast mid-page (--verify): its
    // stop (and the journal's, for recovery) covers both.
    if matches!(spec.delivery, Delivery::Multicast { .. }) {
        stop_uris.push(Uri::RtpRxStop);
    }
    stop_uris.extend(clear);
    PhonePlan {
        stop_xml: execute_of(&stop_uris),
        via_media: false,
        banner_clear_xml: None,
        ..plan
    }
}

/// The phone a page is spoken from: `RTPTx` (or `RTPMTx` to a group) sends its microphone to
/// `dest`, with `banner` on its screen; its stop ends the transmission and clears the banner.
/// Refused (with the reason) where the model cannot send RTP pushes.
pub fn talker_plan(t: ZoneMember, dest: SocketAddrV4, banner: Option<&str>) -> PhonePlan {
    let caps = Capabilities::for_model_name(&t.model);
    let expect_reply = caps.execute_response;
    let phone = match pushable(&t, &caps, "send") {
        Ok(p) => p,
        Err(why) => return refused(&t, expect_reply, why),
    };
    let port = match RtpPort::new(dest.port()) {
        Ok(p) => p,
        Err(e) => return refused(&t, expect_reply, e.to_string()),
    };
    let (start, stop) = if dest.ip().is_multicast() {
        (Uri::rtp_mtx(*dest.ip(), port), Uri::RtpMTxStop)
    } else {
        (Uri::rtp_tx(*dest.ip(), port), Uri::RtpTxStop)
    };
    let start = match start {
        Ok(u) => u,
        Err(e) => return refused(&t, expect_reply, e.to_string()),
    };
    let (banner, banner_refused) = banner_or_why(&caps, banner);
    let mut stop_uris = vec![stop];
    stop_uris.extend(clear_of(banner.as_ref()));
    PhonePlan {
        stop_xml: execute_of(&stop_uris),
        ..taking_part(&t, phone, expect_reply, &start, (banner, banner_refused))
    }
}

/// The plan of a phone that takes part, started by the push of `start` (an RTP URI), with its
/// banner (or why it has none); no stop yet, no unicast destination, G.711.
fn taking_part(
    t: &ZoneMember,
    phone: Phone,
    expect_reply: bool,
    start: &Uri,
    (banner, banner_refused): (Option<Banner>, Option<String>),
) -> PhonePlan {
    PhonePlan {
        name: t.name.clone(),
        model: t.model.clone(),
        target: Some(phone),
        refused: None,
        expect_reply,
        start_uri: start.to_string(),
        start_xml: execute_of(std::slice::from_ref(start)),
        banner,
        banner_refused,
        stop_xml: String::new(),
        via_media: false,
        banner_clear_xml: None,
        dest: None,
        ip: t.ip,
        wideband: false,
        narrow: None,
        speaker_dest: None,
        sip: None,
    }
}

/// An IP speaker of the zone (`[[speaker]]`): no push and no answer; the page's G.711 stream
/// is sent to `dest` (its group or its own address, any port) while the page plays.
pub fn speaker_plan(name: &str, dest: SocketAddrV4) -> PhonePlan {
    PhonePlan {
        speaker_dest: Some(dest),
        ..pushless(name, SPEAKER_MODEL, format!("RTP to {dest}"))
    }
}

/// A SIP endpoint of the zone (`[[sip_endpoint]]`): its start is a call with `dialog` (or,
/// `Err`, why it cannot be called), its stop the hang-up; the page's G.711 stream goes to
/// the media address its answer gives. Our media is `offer` in the INVITE's SDP.
pub fn sip_plan(
    name: &str,
    dialog: Result<super::dial::SipDialog, String>,
    offer: SocketAddrV4,
) -> PhonePlan {
    let (refused, sip) = match dialog {
        Ok(dialog) => (
            None,
            Some(Box::new(super::dial::SipTarget { dialog, offer })),
        ),
        Err(why) => (Some(why), None),
    };
    PhonePlan {
        refused,
        sip,
        ..pushless(name, super::dial::SIP_MODEL, "INVITE".into())
    }
}

/// The plan of a target that takes no XSI push (an IP speaker, a SIP endpoint, a phone
/// refused): reported as `model`, started as `start_uri` says, no push, banner or stop of a
/// phone; the kind sets its own fields (`speaker_dest`, `sip`, `refused`).
fn pushless(name: &str, model: &str, start_uri: String) -> PhonePlan {
    PhonePlan {
        name: name.to_owned(),
        model: model.to_owned(),
        target: None,
        refused: None,
        expect_reply: false,
        start_uri,
        start_xml: String::new(),
        banner: None,
        banner_refused: None,
        stop_xml: String::new(),
        via_media: false,
        banner_clear_xml: None,
        dest: None,
        ip: None,
        wideband: false,
        narrow: None,
        speaker_dest: None,
        sip: None,
    }
}

/// The model an IP speaker is reported as.
pub const SPEAKER_MODEL: &str = "IP speaker";

/// The startMedia object for the stream `uri` describes (its address, port and volume) in
/// `codec`, with the Notify URI the phone calls when its user stops it, if the page listens.
fn media_start(uri: &Uri, on_stopped: Option<&Notify>, codec: Codec) -> Result<String, String> {
    let (addr, port, volume) = match uri {
        Uri::RtpMRx(s) => (s.addr(), s.port(), s.volume()),
        Uri::RtpRx(s) => (s.addr(), s.port(), s.volume()),
        _ => return Err("not a receive stream".into()),
    };
    let mut m = StartMedia::new(MediaType::Audio, codec, MediaMode::Receive, addr).port(port);
    if let Some(n) = on_stopped {
        m = m.on_stopped_notify(n).map_err(|e| e.to_string())?;
    }
    if let Some(v) = volume {
        m = m
            .receive_volume(u8::try_from(v).unwrap_or(100))
            .map_err(|e| e.to_string())?;
    }
    Ok(m.to_xml())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::Secret;

    fn target(name: &str, model: &str, ip: [u8; 4]) -> ZoneMember {
        let ip = Ipv4Addr::from(ip);
        ZoneMember {
            name: name.into(),
            model: model.into(),
            ip: Some(ip),
            g722: false,
            push: Ok(Phone {
                name: name.into(),
                host: ip.to_string(),
                user: "u".into(),
                password: Secret::new("p"),
                https: false,
            }),
        }
    }

    #[test]
    fn multicast_with_status_banner_and_its_stop() {
        let spec = PageSpec {
            delivery: Delivery::Multicast {
                group: Ipv4Addr::new(239, 1, 1, 1),
                port: RtpPort::new(20480).unwrap(),
            },
            volume: Some(80),
            banner: Some("Fire drill".into()),
            via: Via::Uri,
            wide: None,
        };
        let plans = plan(&spec, vec![target("a", "CP-8851", [127, 0, 0, 2])]);
        let p = &plans[0];
        assert!(p.refused.is_none());
        assert_eq!(p.start_uri, "RTPMRx:239.1.1.1:20480:80");
        assert!(p.start_xml.contains("URL=\"RTPMRx:239.1.1.1:20480:80\""));
        let b = p.banner.as_ref().unwrap();
        assert_eq!(b.kind, BannerKind::Status);
        assert!(b.xml.contains("<Text>Fire drill</Text>"));
        assert!(p.stop_xml.contains("RTPMRx:Stop") && p.stop_xml.contains("Init:AppStatus"));
        assert!(p.dest.is_none());
    }

    #[test]
    fn text_banner_where_the_model_has_no_status_and_mpp_refused() {
        let spec = PageSpec {
            delivery: Delivery::Multicast {
                group: Ipv4Addr::new(239, 1, 1, 1),
                port: RtpPort::new(20480).unwrap(),
            },
            volume: None,
            banner: Some("Lunch".into()),
            via: Via::Uri,
            wide: None,
        };
        let plans = plan(
            &spec,
            vec![
                target("a", "DP-9841", [127, 0, 0, 2]),
                target("b", "CP-8851-3PCC", [127, 0, 0, 3]),
            ],
        );
        assert_eq!(plans[0].banner.as_ref().unwrap().kind, BannerKind::Text);
        assert!(plans[0].stop_xml.contains("Init:Services"));
        assert_eq!(plans[0].start_uri, "RTPMRx:239.1.1.1:20480");
        assert!(
            plans[1]
                .refused
                .as_deref()
                .unwrap()
                .contains("Multiplatform")
        );
    }

    #[test]
    fn unicast_gives_phones_sharing_an_address_their_own_ports() {
        let spec = PageSpec {
            delivery: Delivery::Unicast {
                source: Ipv4Addr::LOCALHOST,
                port: RtpPort::new(20480).unwrap(),
            },
            volume: None,
            banner: None,
            via: Via::Uri,
            wide: None,
        };
        let plans = plan(
            &spec,
            vec![
                target("a", "CP-8851", [127, 0, 0, 1]),
                target("b", "CP-8851", [127, 0, 0, 1]),
                target("c", "CP-8851", [127, 0, 0, 9]),
            ],
        );
        let dests: Vec<_> = plans.iter().map(|p| p.dest.unwrap().to_string()).collect();
        assert_eq!(
            dests,
            ["127.0.0.1:20480", "127.0.0.1:20482", "127.0.0.9:20480"]
        );
        assert_eq!(plans[1].start_uri, "RTPRx:127.0.0.1:20482");
        assert!(plans[0].stop_xml.contains("RTPRx:Stop"));
        assert!(!plans[0].stop_xml.contains("Init:"));
    }

    #[test]
    fn no_password_or_address_is_a_reason() {
        let spec = PageSpec {
            delivery: Delivery::Unicast {
                source: Ipv4Addr::LOCALHOST,
                port: RtpPort::new(20480).unwrap(),
            },
            volume: None,
            banner: None,
            via: Via::Uri,
            wide: None,
        };
        let mut t = target("a", "CP-8851", [127, 0, 0, 1]);
        t.push = Err("no password: environment variable X is not set".into());
        let mut u = target("b", "CP-8851", [127, 0, 0, 1]);
        u.ip = None;
        let plans = plan(&spec, vec![t, u]);
        assert!(plans[0].refused.as_deref().unwrap().contains("no password"));
        assert!(plans[1].refused.as_deref().unwrap().contains("address"));
    }

    #[test]
    fn speakers_and_sip_endpoints_take_no_push_and_carry_their_own_target() {
        let at: SocketAddrV4 = "239.10.0.5:50001".parse().unwrap();
        let sp = speaker_plan("yard", at);
        assert_eq!(
            (sp.model.as_str(), sp.start_uri.as_str()),
            (SPEAKER_MODEL, "RTP to 239.10.0.5:50001")
        );
        assert_eq!(sp.speaker_dest, Some(at));
        assert!(sp.target.is_none() && sp.refused.is_none() && sp.sip.is_none());
        let offer: SocketAddrV4 = "127.0.0.1:40000".parse().unwrap();
        let dialog = crate::page::SipDialog {
            call_id: "c1".into(),
            ..Default::default()
        };
        let horn = sip_plan("horn", Ok(dialog), offer);
        assert_eq!(horn.model, crate::page::dial::SIP_MODEL);
        assert_eq!(
            horn.sip
                .as_ref()
                .map(|t| (t.dialog.call_id.as_str(), t.offer)),
            Some(("c1", offer))
        );
        assert!(horn.speaker_dest.is_none() && horn.target.is_none() && horn.refused.is_none());
        let lost = sip_plan("lost", Err("no IPv4 address".into()), offer);
        assert_eq!(lost.refused.as_deref(), Some("no IPv4 address"));
        assert!(lost.sip.is_none());
    }
}
