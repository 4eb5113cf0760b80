//! zonecast as a SIP user agent (issue 22): a trunk (CUCM, a PBX) calls a configured number and
//! the caller speaks to a zone. Built: dial-in (UAS) over UDP and TCP (one port), live routes
//! (the caller relayed to the zone) and delayed ones (recorded, then played as a page), a
//! route's PIN, menu routes (the caller keys the zone), a queue instead of 486, callers from
//! outside `[sip] allow` let in by digest credentials (`[[sip.caller]]`: 401 challenge, nonces
//! that expire), every call journaled; SIP endpoints called as page targets (UAC: `uac`,
//! `uac_shell`'s [`Dialer`]). Not here: TLS/SRTP.
//!
//! Pure parts, tested without sockets: `admit` (who may call which number: 403, 404, 486),
//! `challenge` (the digest server side: a nonce issued at a virtual time, an `Authorization`
//! judged: 401, stale, 403 or let in), `answer` (SDP offer in, codec chosen, SDP answer out, 488
//! when none is common), `audio` (a caller's RTP decoded, framed, levelled, in the page's µ-law),
//! `cue` (what the caller hears: the wait tone, the "go ahead" beep, counted in frames), `dtmf`
//! (RFC 4733 telephone-events: the caller's keys), `pin` (a route's PIN keyed by the caller, its
//! prompt and time out), `menu` (a menu route's choice of zone keyed by the caller, its prompt,
//! wrong tries and time outs). The shell: `ua` (rsipstack's endpoint on UDP and TCP, the digest
//! door, and the dispatch of requests), `contact` (our Contact on a TCP caller's dialog), `call`
//! (one call from INVITE to BYE), `media` (a call's RTP socket and relay loop). `desk` names the
//! hand-off to the server, which starts the page through [`crate::page::Pager`] and owns the talker
//! queue the caller's frames go into.
//!
//! rsipstack does the SIP itself: parsing, transports (UDP datagrams, TCP connections and their
//! framing), transactions and their retransmissions, dialogs, 100 Trying, CANCEL (487) and ACK.

mod admit;
mod answer;
mod audio;
mod call;
mod challenge;
mod contact;
mod cue;
mod desk;
mod dtmf;
mod media;
mod menu;
mod pin;
mod ua;
mod uac;
mod uac_shell;

pub use admit::{Turned, admit, admit_vouched};
pub use answer::{
    CallCodec, MAX_SDP_BYTES, Negotiated, Offer, OfferError, answer_sdp, choose, offer_sdp,
    parse_offer, reanswer,
};
pub use audio::CallerAudio;
pub use call::MAX_RECORDING;
pub use challenge::{
    DigestAnswer, Doorman, Knock, MAX_AUTHORIZATION_BYTES, NONCE_LIFETIME, REALM,
    judge_authorization,
};
pub use cue::{BEEP_HZ, Cue, Heard, QUEUE_HZ, WAIT_HZ};
pub use desk::{
    CallLink, CallPage, CallRecord, CallRecording, Desk, DeskRefusal, FrameSink, Freed, Played,
    Playing, QUEUE_RETRY, Starting, ended_at_once,
};
pub use dtmf::{Keys, TelephoneEvent, info_key};
pub use menu::{DialMenu, MENU_HZ, MenuOutcome};
pub use pin::{PROMPT_HZ, PinEntry, PinStep, WRONG_HZ};
pub use ua::{Agent, AgentError};
pub use uac::confirmed::{Confirmed, DialogDeed};
pub use uac::{Challenge, Inbound, Invite, SessionExpires, SipReply, Step, parse_inbound_uac};
pub use uac_shell::Dialer;

/// Parse one SIP message as the agent's transport does (rsipstack's parser), and, when it
/// carries SDP, the offer: the entry of the fuzz target for everything a caller sends us.
/// Never panics; every error is a value.
pub fn parse_inbound(datagram: &[u8]) -> Result<Option<Offer>, String> {
    let text = std::str::from_utf8(datagram).map_err(|e| e.to_string())?;
    let msg = rsipstack::sip::SipMessage::try_from(text).map_err(|e| e.to_string())?;
    let body = match &msg {
        rsipstack::sip::SipMessage::Request(r) => &r.body,
        rsipstack::sip::SipMessage::Response(r) => &r.body,
    };
    if body.is_empty() {
        return Ok(None);
    }
    let sdp = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    parse_offer(sdp).map(Some).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:7001@127.0.0.1:5060 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1\r\n\
        From: sipp <sip:sipp@127.0.0.1:5061>;tag=1\r\nTo: <sip:7001@127.0.0.1:5060>\r\n\
        Call-ID: 1@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: sip:sipp@127.0.0.1:5061\r\n\
        Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: 113\r\n\r\n\
        v=0\r\no=user1 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 6000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";

    #[test]
    fn an_invite_with_sdp_parses_to_its_offer() {
        let offer = parse_inbound(INVITE.as_bytes()).unwrap().unwrap();
        assert_eq!(offer.codecs, vec![(8, CallCodec::Pcma)]);
        assert_eq!(offer.media, "127.0.0.1:6000".parse().unwrap());
        let bye = INVITE
            .split("Content-Type")
            .next()
            .unwrap()
            .replacen("INVITE", "BYE", 1);
        assert_eq!(parse_inbound(format!("{bye}\r\n").as_bytes()), Ok(None));
    }

    /// Bytes cut, flipped and made up never panic (the fuzz target goes further).
    #[test]
    fn mangled_messages_are_errors_not_panics() {
        let bytes = INVITE.as_bytes();
        let mut seed = 0x9E37_79B9_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as usize
        };
        for cut in 0..bytes.len() {
            let _ = parse_inbound(&bytes[..cut]);
        }
        for _ in 0..2000 {
            let mut m = bytes.to_vec();
            for _ in 0..1 + next() % 4 {
                let i = next() % m.len();
                m[i] = (next() % 256) as u8;
            }
            let _ = parse_inbound(&m);
            if let Ok(text) = std::str::from_utf8(&m) {
                let _ = text.split("\r\n\r\n").nth(1).map(parse_offer);
            }
        }
        assert!(parse_inbound(&[0xFF, 0xFE]).is_err());
    }
}
