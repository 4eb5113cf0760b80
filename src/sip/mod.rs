//! zonecast as a SIP user agent (issue 22): a trunk (CUCM, a PBX) calls a configured number and
//! the caller speaks live to a zone. This first slice is dial-in (UAS) live paging over UDP;
//! delayed (record-then-play) routes, digit prompts, digest auth, TCP, SIP speakers as page
//! targets (UAC) and TLS/SRTP are not here.
//!
//! Pure parts, tested without sockets: `admit` (who may call which number: 403, 404, 486),
//! `answer` (SDP offer in, codec chosen, SDP answer out, 488 when none is common), `audio` (a
//! caller's RTP decoded, framed, levelled, in the page's µ-law). The shell: `ua` (rsipstack's
//! endpoint and the dispatch of requests), `call` (one call from INVITE to BYE), `media` (a
//! call's RTP socket and relay loop). `desk` names the hand-off to the server, which starts the
//! page through [`crate::page::Pager`] and owns the talker queue the caller's frames go into.
//!
//! rsipstack does the SIP itself: parsing, transactions and their retransmissions, dialogs,
//! 100 Trying, CANCEL (487) and ACK.

mod admit;
mod answer;
mod audio;
mod call;
mod desk;
mod media;
mod ua;

pub use admit::{Turned, admit};
pub use answer::{
    CallCodec, MAX_SDP_BYTES, Negotiated, Offer, OfferError, answer_sdp, choose, parse_offer,
};
pub use audio::CallerAudio;
pub use desk::{CallLink, CallPage, Desk, DeskRefusal, FrameSink, Starting};
pub use ua::{Agent, AgentError};

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
