//! SDP offer/answer for a dial-in call (RFC 3264), pure: the caller's offer is parsed
//! ([`parse_offer`]: where its RTP comes from, which codecs it offers), one codec is chosen
//! ([`choose`]: PCMU, PCMA or G.722, in the offer's order, plus telephone-event when offered;
//! none in common is a 488), and our answer is written ([`answer_sdp`]: one audio stream we only
//! receive). An INVITE without SDP gets our offer ([`offer_sdp`]) and the caller's ACK answers
//! it, read the same way; a re-INVITE in the call is answered with the same media
//! ([`reanswer`]). Parsing is Mozilla's webrtc-sdp; SDP over [`MAX_SDP_BYTES`] is refused
//! before it.

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

use webrtc_sdp::attribute_type::SdpAttribute;
use webrtc_sdp::media_type::{SdpFormatList, SdpMediaValue};

/// Largest SDP body taken (a trunk's offer is a few hundred bytes).
pub const MAX_SDP_BYTES: usize = 8 * 1024;

/// An audio codec a caller may send us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallCodec {
    /// G.711 µ-law (static payload type 0).
    Pcmu,
    /// G.711 A-law (static payload type 8).
    Pcma,
    /// G.722 (static payload type 9; 16 kHz audio on an 8 kHz RTP clock).
    G722,
}

impl CallCodec {
    /// The codec of `name` (an rtpmap's encoding name, any case) at `rate`.
    fn named(name: &str, rate: u32) -> Option<CallCodec> {
        match (name.to_ascii_uppercase().as_str(), rate) {
            ("PCMU", 8000) => Some(CallCodec::Pcmu),
            ("PCMA", 8000) => Some(CallCodec::Pcma),
            ("G722", 8000) => Some(CallCodec::G722),
            _ => None,
        }
    }

    /// The codec of a static payload type.
    fn fixed(pt: u8) -> Option<CallCodec> {
        match pt {
            0 => Some(CallCodec::Pcmu),
            8 => Some(CallCodec::Pcma),
            9 => Some(CallCodec::G722),
            _ => None,
        }
    }

    /// Its rtpmap encoding name.
    pub fn name(self) -> &'static str {
        match self {
            CallCodec::Pcmu => "PCMU",
            CallCodec::Pcma => "PCMA",
            CallCodec::G722 => "G722",
        }
    }
}

/// What a caller's offer says, as far as a page needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Where the caller's RTP comes from (and where ours would go): the audio stream's address.
    pub media: SocketAddrV4,
    /// The offered payload types we can decode, in the offer's order.
    pub codecs: Vec<(u8, CallCodec)>,
    /// The payload type of telephone-event/8000, if offered.
    pub telephone_event: Option<u8>,
}

/// Why an offer cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// Larger than [`MAX_SDP_BYTES`].
    #[error("SDP of {0} bytes is larger than {MAX_SDP_BYTES}")]
    TooLarge(usize),
    /// Not SDP webrtc-sdp can read.
    #[error("SDP does not parse: {0}")]
    Malformed(String),
    /// No audio stream with a port and an IPv4 address.
    #[error("SDP offers no audio stream to an IPv4 address")]
    NoAudio,
    /// Audio, but none of PCMU, PCMA, G.722 (answered 488).
    #[error("SDP offers no codec in common (PCMU, PCMA, G722)")]
    NoCommonCodec,
}

/// The call's media, chosen from an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The codec the caller sends.
    pub codec: CallCodec,
    /// Its payload type in this call.
    pub payload_type: u8,
    /// telephone-event's payload type, when both sides have it.
    pub telephone_event: Option<u8>,
    /// The caller's RTP address.
    pub remote: SocketAddrV4,
}

/// Parse a caller's SDP offer: the first audio stream with a port, its IPv4 address (media
/// level, else session level), and the payload types we can decode.
pub fn parse_offer(sdp: &str) -> Result<Offer, OfferError> {
    if sdp.len() > MAX_SDP_BYTES {
        return Err(OfferError::TooLarge(sdp.len()));
    }
    // webrtc-sdp wants CRLF-or-LF lines and no trailing blank ones.
    let session = webrtc_sdp::parse_sdp(sdp.trim_end(), false)
        .map_err(|e| OfferError::Malformed(e.to_string()))?;
    let media = session
        .media
        .iter()
        .find(|m| *m.get_type() == SdpMediaValue::Audio && m.get_port() != 0)
        .ok_or(OfferError::NoAudio)?;
    let conn = media
        .get_connection()
        .as_ref()
        .or(session.get_connection().as_ref())
        .ok_or(OfferError::NoAudio)?;
    let ip = match &conn.address {
        webrtc_sdp::address::ExplicitlyTypedAddress::Ip(IpAddr::V4(ip)) => *ip,
        _ => return Err(OfferError::NoAudio),
    };
    let port = u16::try_from(media.get_port()).map_err(|_| OfferError::NoAudio)?;
    let formats: Vec<u8> = match media.get_formats() {
        SdpFormatList::Integers(v) => v.iter().filter_map(|&f| u8::try_from(f).ok()).collect(),
        _ => Vec::new(),
    };
    let mut codecs = Vec::new();
    let mut telephone_event = None;
    for pt in formats {
        let map = media.get_attributes().iter().find_map(|a| match a {
            SdpAttribute::Rtpmap(r) if r.payload_type == pt => Some(r),
            _ => None,
        });
        let codec = match map {
            Some(r) if r.codec_name.eq_ignore_ascii_case("telephone-event") => {
                telephone_event = telephone_event.or(Some(pt));
                None
            }
            Some(r) => CallCodec::named(&r.codec_name, r.frequency),
            None => CallCodec::fixed(pt),
        };
        if let Some(c) = codec {
            codecs.push((pt, c));
        }
    }
    Ok(Offer {
        media: SocketAddrV4::new(ip, port),
        codecs,
        telephone_event,
    })
}

/// The codec we take: the first one the caller offered that we decode (RFC 3264 §6.1: the
/// answerer should honour the offerer's preference). None in common is a 488.
pub fn choose(offer: &Offer) -> Result<Negotiated, OfferError> {
    let &(payload_type, codec) = offer.codecs.first().ok_or(OfferError::NoCommonCodec)?;
    Ok(Negotiated {
        codec,
        payload_type,
        telephone_event: offer.telephone_event,
        remote: offer.media,
    })
}

/// Our answer: one audio stream at `local` that only receives (the page has nothing to send
/// back yet), with the chosen codec and telephone-event when negotiated. `version` is the
/// `o=` line's session id and version.
pub fn answer_sdp(n: &Negotiated, local: SocketAddrV4, version: u64) -> String {
    let ip: Ipv4Addr = *local.ip();
    let mut pts = n.payload_type.to_string();
    let mut maps = format!("a=rtpmap:{} {}/8000\r\n", n.payload_type, n.codec.name());
    if let Some(te) = n.telephone_event {
        pts.push_str(&format!(" {te}"));
        maps.push_str(&format!(
            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-15\r\n"
        ));
    }
    format!(
        "v=0\r\no=zonecast {version} {version} IN IP4 {ip}\r\ns=zonecast\r\nc=IN IP4 {ip}\r\n\
         t=0 0\r\nm=audio {port} RTP/AVP {pts}\r\n{maps}a=ptime:20\r\na=recvonly\r\n",
        port = local.port()
    )
}

/// Our answer to a re-INVITE or UPDATE in the call (hold, a refreshed session): the media stay
/// as negotiated, so an offer must still carry the call's codec at its payload type (a codec
/// change is a 488 and the call goes on as it was); one without SDP gets the same description.
pub fn reanswer(
    body: &str,
    n: &Negotiated,
    local: SocketAddrV4,
    version: u64,
) -> Result<String, OfferError> {
    if !body.trim().is_empty() {
        let offer = parse_offer(body)?;
        if !offer.codecs.contains(&(n.payload_type, n.codec)) {
            return Err(OfferError::NoCommonCodec);
        }
    }
    Ok(answer_sdp(n, local, version))
}

/// Our offer, for an INVITE that came without one (a trunk without a media resource: the
/// offer goes in our 200 OK, the caller answers in its ACK): every codec we decode, and
/// telephone-event as 101, at `local`, receive only.
pub fn offer_sdp(local: SocketAddrV4, version: u64) -> String {
    let ip: Ipv4Addr = *local.ip();
    format!(
        "v=0\r\no=zonecast {version} {version} IN IP4 {ip}\r\ns=zonecast\r\nc=IN IP4 {ip}\r\n\
         t=0 0\r\nm=audio {port} RTP/AVP 0 8 9 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-15\r\na=ptime:20\r\na=recvonly\r\n",
        port = local.port()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What sipp's UAC scenarios send (`[media_ip]` etc. filled in).
    const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
                        c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n\
                        a=rtpmap:0 PCMU/8000\r\n";

    /// A trunk's offer: several codecs, dynamic telephone-event, media-level address.
    const TRUNK: &str = "v=0\r\no=CiscoSystemsCCM-SIP 2000 1 IN IP4 10.1.0.2\r\ns=SIP Call\r\n\
                         c=IN IP4 10.1.0.2\r\nt=0 0\r\nm=audio 24580 RTP/AVP 18 9 8 0 101\r\n\
                         c=IN IP4 10.1.0.9\r\na=rtpmap:18 G729/8000\r\na=rtpmap:9 G722/8000\r\n\
                         a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
                         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n\
                         a=sendrecv\r\n";

    #[test]
    fn sipps_offer_is_pcmu_from_its_media_port() {
        let o = parse_offer(SIPP).unwrap();
        assert_eq!(o.media, "127.0.0.1:6000".parse().unwrap());
        assert_eq!(o.codecs, vec![(0, CallCodec::Pcmu)]);
        let n = choose(&o).unwrap();
        assert_eq!(
            (n.codec, n.payload_type, n.telephone_event),
            (CallCodec::Pcmu, 0, None)
        );
    }

    #[test]
    fn a_trunks_first_common_codec_wins_and_telephone_event_is_kept() {
        let o = parse_offer(TRUNK).unwrap();
        assert_eq!(
            o.media,
            "10.1.0.9:24580".parse().unwrap(),
            "media-level c= wins"
        );
        assert_eq!(o.codecs[0], (9, CallCodec::G722), "G729 is not ours");
        let n = choose(&o).unwrap();
        assert_eq!((n.codec, n.telephone_event), (CallCodec::G722, Some(101)));
        let a = answer_sdp(&n, "10.0.0.5:30000".parse().unwrap(), 7);
        assert!(a.contains("m=audio 30000 RTP/AVP 9 101\r\n"), "{a}");
        assert!(a.contains("c=IN IP4 10.0.0.5\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:101 telephone-event/8000\r\n"), "{a}");
        assert!(a.contains("a=recvonly\r\n"), "{a}");
        // Our answer is itself SDP webrtc-sdp reads back.
        let back = parse_offer(&a).unwrap();
        assert_eq!(back.codecs, vec![(9, CallCodec::G722)]);
    }

    #[test]
    fn our_offer_lists_every_codec_and_an_answer_to_it_is_read_like_an_offer() {
        let o = parse_offer(&offer_sdp("10.0.0.5:30000".parse().unwrap(), 3)).unwrap();
        let pts: Vec<u8> = o.codecs.iter().map(|c| c.0).collect();
        assert_eq!((pts, o.telephone_event), (vec![0, 8, 9], Some(101)));
        // The caller's answer in its ACK picks one.
        let n = choose(&parse_offer(SIPP).unwrap()).unwrap();
        assert_eq!(n.codec, CallCodec::Pcmu);
    }

    #[test]
    fn a_reinvite_keeps_the_calls_codec_or_is_488() {
        let n = choose(&parse_offer(TRUNK).unwrap()).unwrap();
        let local = "10.0.0.5:30000".parse().unwrap();
        let hold = TRUNK.replace("a=sendrecv", "a=sendonly");
        let a = reanswer(&hold, &n, local, 8).unwrap();
        assert!(
            a.contains("m=audio 30000 RTP/AVP 9 101\r\n") && a.contains(" 8 8 IN IP4"),
            "{a}"
        );
        assert!(
            reanswer("", &n, local, 9).is_ok(),
            "no offer: the same description"
        );
        let pcmu_only = TRUNK.replace("RTP/AVP 18 9 8 0 101", "RTP/AVP 0");
        assert_eq!(
            reanswer(&pcmu_only, &n, local, 9),
            Err(OfferError::NoCommonCodec)
        );
    }

    #[test]
    fn static_types_need_no_rtpmap_and_dynamic_names_are_read() {
        let o =
            parse_offer(&SIPP.replace("RTP/AVP 0\r\na=rtpmap:0 PCMU/8000", "RTP/AVP 8")).unwrap();
        assert_eq!(o.codecs, vec![(8, CallCodec::Pcma)]);
        let o = parse_offer(&SIPP.replace(
            "RTP/AVP 0\r\na=rtpmap:0 PCMU/8000",
            "RTP/AVP 96\r\na=rtpmap:96 pcma/8000",
        ))
        .unwrap();
        assert_eq!(o.codecs, vec![(96, CallCodec::Pcma)]);
    }

    #[test]
    fn no_common_codec_is_488_and_bad_offers_are_refused() {
        let g729 = SIPP.replace("RTP/AVP 0\r\na=rtpmap:0 PCMU/8000", "RTP/AVP 18");
        assert_eq!(
            choose(&parse_offer(&g729).unwrap()),
            Err(OfferError::NoCommonCodec)
        );
        let zero = SIPP.replace("audio 6000", "audio 0");
        assert_eq!(parse_offer(&zero), Err(OfferError::NoAudio));
        let v6 = SIPP.replace("IN IP4 127.0.0.1\r\nt=", "IN IP6 ::1\r\nt=");
        assert_eq!(parse_offer(&v6), Err(OfferError::NoAudio));
        assert!(matches!(
            parse_offer("hello"),
            Err(OfferError::Malformed(_))
        ));
        assert!(matches!(parse_offer(""), Err(OfferError::Malformed(_))));
        let huge = format!("{SIPP}{}", "a=x\r\n".repeat(2000));
        assert!(matches!(parse_offer(&huge), Err(OfferError::TooLarge(_))));
    }
}
