//! An answered call to a SIP endpoint, pure: what the endpoint sends in the dialog and what we
//! do about it, and the session timer (RFC 4028) the call may carry. No sockets and no clock
//! (`now` comes in): `uac_shell`'s keeper feeds it each datagram ([`Confirmed::handle_inbound`])
//! and its timeouts ([`Confirmed::handle_timeout`] when [`Confirmed::poll_timeout`] says), and
//! carries out the [`DialogDeed`]s it returns, in order.
//!
//! - The endpoint's BYE: 200, and the call is over ([`CallEvent::Ended`], "hung up").
//! - A re-INVITE or UPDATE (hold, a codec change, a session refresh): 200 with our answer in
//!   the call's law when offered (else the other G.711 one; neither: 488), `sendonly` from us
//!   unless it offers `sendonly` (we answer `recvonly`) or `inactive` (`inactive`): then
//!   nothing is sent while held. A changed media address, law or hold is a
//!   [`CallEvent::Media`]. Our 200 to a re-INVITE is retransmitted until its ACK. OPTIONS:
//!   200. Other methods in the dialog: 501; another dialog's request: 481.
//! - Session timers: when the 200 (or the endpoint's refresh) sets `Session-Expires` with us
//!   refreshing (`refresher=uac` in our INVITE's answer, or `refresher=uas` in its re-INVITE),
//!   we send a re-INVITE at half the interval (retransmitted; its 2xx ACKed, its dialog
//!   journaled first since its CSeq moves). 408, 481 or no answer within 32 s ends the call
//!   ([`DialogDeed::HangUp`]: our BYE, unless 481 said the dialog is gone); another refusal is
//!   retried until the session expires. When the endpoint refreshes, a session not refreshed
//!   by its expiry (less a third, at most 32 s) is ended the same way.

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use super::{Inbound, Invite, SessionExpires, SipReply, Step};
use crate::g711::Law;
use crate::page::SipDialog;
use crate::page::dial::CallEvent;

/// First retransmission interval (RFC 3261's T1).
const T1: Duration = Duration::from_millis(500);
/// Longest retransmission interval (T2).
const T2: Duration = Duration::from_secs(4);
/// How long a transaction waits for its answer (64 × T1).
const TRANSACTION: Duration = Duration::from_secs(32);

/// Something for the keeper to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogDeed {
    /// Answer the endpoint's request (sent where its last request came from).
    Reply(String),
    /// A request or ACK of ours (to the dialog's next hop).
    Send(String),
    /// The dialog changed (a refresh moved its CSeq): journal it before what follows.
    Journal(Box<SipDialog>),
    /// Tell the page.
    Event(CallEvent),
    /// End the call: our BYE (from [`Confirmed::dialog`]) when `bye`, then tell the page it
    /// ended with `why`.
    HangUp {
        /// Send a BYE (not when the endpoint said the dialog is gone).
        bye: bool,
        /// Why, for the page.
        why: String,
    },
}

/// A message sent again until something stops it.
#[derive(Debug, Clone)]
struct Resend {
    text: String,
    cseq: u32,
    next: Instant,
    interval: Duration,
    until: Instant,
}

impl Resend {
    fn new(now: Instant, text: String, cseq: u32) -> Resend {
        Resend {
            text,
            cseq,
            next: now + T1,
            interval: T1,
            until: now + TRANSACTION,
        }
    }

    fn again(&mut self, now: Instant) -> String {
        self.interval = (self.interval * 2).min(T2);
        self.next = now + self.interval;
        self.text.clone()
    }
}

/// A session timer in force.
#[derive(Debug, Clone, Copy)]
struct SessionTimer {
    secs: u32,
    /// We refresh (else the endpoint does, and we watch).
    ours: bool,
    expires: Instant,
    /// When to refresh (ours) or give up on the endpoint's refresh.
    due: Instant,
}

impl SessionTimer {
    fn new(now: Instant, secs: u32, ours: bool) -> SessionTimer {
        let interval = Duration::from_secs(u64::from(secs));
        let due = if ours {
            now + interval / 2
        } else {
            now + interval - (interval / 3).min(TRANSACTION)
        };
        SessionTimer {
            secs,
            ours,
            expires: now + interval,
            due,
        }
    }
}

/// Our session refresh in flight.
#[derive(Debug, Clone)]
struct Refresh {
    resend: Resend,
    branch: String,
    proceeding: bool,
}

/// One answered call, until it is over.
#[derive(Debug, Clone)]
pub struct Confirmed {
    dialog: SipDialog,
    /// The call's INVITE: its retransmitted 200s are ACKed again.
    original: Invite,
    /// Our media address.
    offer: SocketAddrV4,
    law: Law,
    /// Where the stream goes (`None`: held).
    sending: Option<SocketAddrV4>,
    version: u64,
    timer: Option<SessionTimer>,
    refresh: Option<Refresh>,
    /// Our 200 to the endpoint's re-INVITE, until its ACK.
    answer: Option<Resend>,
    /// The endpoint's last request (CSeq, method) and our reply (its retransmissions get it
    /// again).
    last: Option<(u32, String, String)>,
    /// The ACK of our last refresh's 2xx (a retransmitted 2xx gets it again).
    refresh_ack: Option<(u32, String)>,
    over: bool,
}

impl Confirmed {
    /// The call `original` made, answered at `now` with its stream to `media` in `law`, our
    /// media at `offer`; `expires`: the answer's `Session-Expires`.
    pub fn new(
        now: Instant,
        original: Invite,
        (offer, media, law): (SocketAddrV4, SocketAddrV4, Law),
        expires: Option<SessionExpires>,
    ) -> Confirmed {
        Confirmed {
            dialog: original.dialog.clone(),
            original,
            offer,
            law,
            sending: Some(media),
            version: 2,
            // Our INVITE's answer: `refresher=uac` (or none said) is us.
            timer: expires.map(|e| SessionTimer::new(now, e.secs, e.by_uac != Some(false))),
            refresh: None,
            answer: None,
            last: None,
            refresh_ack: None,
            over: false,
        }
    }

    /// The dialog as it is now (its CSeq moves with our refreshes): the BYE is built from it.
    pub fn dialog(&self) -> &SipDialog {
        &self.dialog
    }

    /// Whether the call is over (nothing more to do or hang up).
    pub fn is_over(&self) -> bool {
        self.over
    }

    /// When to call [`Confirmed::handle_timeout`] if nothing comes first.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.over {
            return None;
        }
        let refresh = self.refresh.as_ref().map(|r| {
            if r.proceeding {
                r.resend.until
            } else {
                r.resend.next.min(r.resend.until)
            }
        });
        let answer = self.answer.as_ref().map(|a| a.next.min(a.until));
        let timer = self.timer.filter(|_| self.refresh.is_none()).map(|t| t.due);
        [refresh, answer, timer].into_iter().flatten().min()
    }

    /// Time has come for what [`Confirmed::poll_timeout`] named (earlier calls are harmless).
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<DialogDeed> {
        let mut out = Vec::new();
        if self.over {
            return out;
        }
        if let Some(a) = &mut self.answer {
            if now >= a.until {
                self.answer = None; // no ACK came: the endpoint's problem, the call goes on
            } else if now >= a.next {
                out.push(DialogDeed::Reply(a.again(now)));
            }
        }
        if let Some(r) = &mut self.refresh {
            if now >= r.resend.until {
                self.refresh = None;
                return self.end(out, true, "session refresh failed: no answer");
            }
            if !r.proceeding && now >= r.resend.next {
                out.push(DialogDeed::Send(r.resend.again(now)));
            }
            return out;
        }
        match self.timer {
            Some(t) if now >= t.expires => self.end(out, true, "session expired"),
            Some(t) if now >= t.due && t.ours => {
                self.start_refresh(now, t.secs, &mut out);
                out
            }
            Some(t) if now >= t.due => self.end(
                out,
                true,
                "session expired: the endpoint did not refresh it",
            ),
            _ => out,
        }
    }

    fn end(&mut self, mut out: Vec<DialogDeed>, bye: bool, why: &str) -> Vec<DialogDeed> {
        self.over = true;
        out.push(DialogDeed::HangUp {
            bye,
            why: why.to_owned(),
        });
        out
    }

    /// Our re-INVITE refreshing the session: the next CSeq and a new branch, journaled first.
    fn start_refresh(&mut self, now: Instant, secs: u32, out: &mut Vec<DialogDeed>) {
        self.dialog.cseq += 1;
        self.dialog.branch = format!("z9hG4bK{}", super::token());
        self.version += 1;
        let direction = if self.sending.is_some() {
            "sendonly"
        } else {
            "inactive"
        };
        let sdp = super::media_sdp(self.offer, self.law, self.version, direction);
        let text = super::refresh_invite(&self.dialog, &sdp, secs);
        out.push(DialogDeed::Journal(Box::new(self.dialog.clone())));
        out.push(DialogDeed::Send(text.clone()));
        self.refresh = Some(Refresh {
            resend: Resend::new(now, text, self.dialog.cseq),
            branch: self.dialog.branch.clone(),
            proceeding: false,
        });
    }

    /// A datagram from the endpoint.
    pub fn handle_inbound(&mut self, now: Instant, msg: Inbound) -> Vec<DialogDeed> {
        if self.over {
            return Vec::new();
        }
        match msg {
            Inbound::SipReply(r) => self.on_reply(now, &r),
            Inbound::Request {
                method,
                call_id,
                echo,
                cseq,
                sdp,
                session_expires,
            } => {
                if method == "ACK" {
                    if self.answer.as_ref().is_some_and(|a| a.cseq == cseq) {
                        self.answer = None;
                    }
                    return Vec::new();
                }
                if call_id != self.dialog.call_id {
                    let text = super::respond(&echo, 481, "Call/Transaction Does Not Exist");
                    return vec![DialogDeed::Reply(text)];
                }
                if let Some((n, m, text)) = &self.last
                    && (*n, m.as_str()) == (cseq, method.as_str())
                {
                    return vec![DialogDeed::Reply(text.clone())];
                }
                let offer = (sdp.as_deref(), session_expires);
                let mut out = self.on_request(now, &method, &echo, offer);
                if let Some(DialogDeed::Reply(text)) = out.first() {
                    self.last = Some((cseq, method.clone(), text.clone()));
                    if method == "INVITE" && text.starts_with("SIP/2.0 200") {
                        self.answer = Some(Resend::new(now, text.clone(), cseq));
                    }
                }
                if method == "BYE" {
                    self.over = true;
                    out.push(DialogDeed::Event(CallEvent::Ended {
                        why: "hung up".into(),
                    }));
                }
                out
            }
        }
    }

    /// A request of the dialog (not ACK, not a retransmission): our reply first.
    fn on_request(
        &mut self,
        now: Instant,
        method: &str,
        echo: &str,
        (sdp, expires): (Option<&str>, Option<SessionExpires>),
    ) -> Vec<DialogDeed> {
        match method {
            "BYE" | "OPTIONS" => vec![DialogDeed::Reply(super::respond(echo, 200, "OK"))],
            "INVITE" | "UPDATE" => {
                if method == "INVITE" && self.refresh.is_some() {
                    let text = super::respond(echo, 491, "Request Pending");
                    return vec![DialogDeed::Reply(text)];
                }
                // A re-INVITE without an offer gets ours; an UPDATE without one, no SDP.
                let body = sdp.or((method == "INVITE").then_some(""));
                self.reoffer(now, echo, body, expires)
            }
            _ => vec![DialogDeed::Reply(super::respond(
                echo,
                501,
                "Not Implemented",
            ))],
        }
    }

    /// A re-INVITE's or UPDATE's offer (empty: none, ours goes in our 200; `None`: an UPDATE
    /// without one, no SDP): our 200 with the answer, and the page told when the stream must
    /// move or pause.
    fn reoffer(
        &mut self,
        now: Instant,
        echo: &str,
        sdp: Option<&str>,
        expires: Option<SessionExpires>,
    ) -> Vec<DialogDeed> {
        let (sending, law, direction) = match sdp {
            None | Some("") => {
                let direction = if self.sending.is_some() {
                    "sendonly"
                } else {
                    "inactive"
                };
                (self.sending, self.law, direction)
            }
            Some(sdp) => match reoffered(sdp, self.law) {
                Ok(r) => r,
                Err(why) => {
                    tracing::debug!("re-offer refused: {why}");
                    let text = super::respond(echo, 488, "Not Acceptable Here");
                    return vec![DialogDeed::Reply(text)];
                }
            },
        };
        let answer = if sdp.is_some() {
            self.version += 1;
            super::media_sdp(self.offer, law, self.version, direction)
        } else {
            String::new()
        };
        // Its request refreshes the session (RFC 4028 §9): `refresher=uas` there is us.
        let mut extra = String::new();
        if let Some(e) = expires {
            let ours = e.by_uac == Some(false);
            self.timer = Some(SessionTimer::new(now, e.secs, ours));
            let who = if ours { "uas" } else { "uac" };
            extra = format!(
                "Require: timer\r\nSession-Expires: {};refresher={who}\r\n",
                e.secs
            );
        } else if let Some(t) = self.timer.filter(|t| !t.ours) {
            self.timer = Some(SessionTimer::new(now, t.secs, false));
        }
        let mut out = vec![DialogDeed::Reply(super::respond_ok(
            echo,
            &self.dialog,
            &extra,
            &answer,
        ))];
        if (sending, law) != (self.sending, self.law) {
            (self.sending, self.law) = (sending, law);
            out.push(DialogDeed::Event(CallEvent::Media {
                media: sending,
                law,
            }));
        }
        out
    }

    /// A response: to our refresh, or a retransmission of a 2xx already ACKed.
    fn on_reply(&mut self, now: Instant, r: &SipReply) -> Vec<DialogDeed> {
        if r.call_id != self.dialog.call_id || r.cseq.1 != "INVITE" {
            return Vec::new();
        }
        if let Some((cseq, ack)) = &self.refresh_ack
            && r.cseq.0 == *cseq
            && (200..300).contains(&r.status)
        {
            return vec![DialogDeed::Send(ack.clone())];
        }
        let Some(f) = self.refresh.as_mut() else {
            // The call's own INVITE, its 200 again: ACKed again.
            return match self.original.on_reply(r, false) {
                Step::Answered { ack, .. } | Step::AnsweredUnusable { ack, .. } => {
                    vec![DialogDeed::Send(ack)]
                }
                _ => Vec::new(),
            };
        };
        if r.cseq.0 != f.resend.cseq || r.branch != f.branch {
            return Vec::new();
        }
        match r.status {
            100..=199 => {
                f.proceeding = true;
                Vec::new()
            }
            200..=299 => self.refreshed(now, r),
            status => {
                let ack = super::ack_reinvite(&self.dialog, f.resend.cseq, &f.branch);
                self.refresh = None;
                let out = vec![DialogDeed::Send(ack)];
                match status {
                    408 => self.end(out, true, "session refresh failed: 408"),
                    481 => self.end(out, false, "session refresh failed: 481 (the call is gone)"),
                    _ => {
                        // Tried again later, while the session lasts.
                        if let Some(t) = &mut self.timer {
                            let retry = Duration::from_secs(u64::from(t.secs / 8).max(1));
                            t.due = (now + retry).min(t.expires);
                        }
                        out
                    }
                }
            }
        }
    }

    /// Our refresh was answered 2xx: ACK it, the session starts again (at the interval it
    /// says), and the stream moves if its answer moved it.
    fn refreshed(&mut self, now: Instant, r: &SipReply) -> Vec<DialogDeed> {
        let Some(f) = self.refresh.take() else {
            return Vec::new();
        };
        if let Some(c) = &r.contact {
            self.dialog.remote_target = Some(c.clone());
        }
        let branch = format!("z9hG4bK{}", super::token());
        let ack = super::ack_reinvite(&self.dialog, f.resend.cseq, &branch);
        self.refresh_ack = Some((f.resend.cseq, ack.clone()));
        let secs = r
            .session_expires
            .map_or(self.timer.map_or(1800, |t| t.secs), |e| e.secs);
        let ours = r.session_expires.is_none_or(|e| e.by_uac != Some(false));
        self.timer = Some(SessionTimer::new(now, secs, ours));
        let mut out = vec![DialogDeed::Send(ack)];
        if self.sending.is_some()
            && let Ok((media, law)) = super::media_of(r.sdp.as_deref())
            && (Some(media), law) != (self.sending, self.law)
        {
            (self.sending, self.law) = (Some(media), law);
            out.push(DialogDeed::Event(CallEvent::Media {
                media: Some(media),
                law,
            }));
        }
        out
    }
}

/// What an endpoint's re-offer asks: where our stream goes (`None`: nowhere, it holds the
/// call), in which law (the call's when offered), and the direction we answer.
fn reoffered(sdp: &str, law: Law) -> Result<(Option<SocketAddrV4>, Law, &'static str), String> {
    let offer = super::parse_offer(sdp).map_err(|e| e.to_string())?;
    let offered: Vec<Law> = offer
        .codecs
        .iter()
        .filter_map(|(_, c)| match c {
            super::CallCodec::Pcmu => Some(Law::Ulaw),
            super::CallCodec::Pcma => Some(Law::Alaw),
            super::CallCodec::G722 => None,
        })
        .collect();
    let law = if offered.contains(&law) {
        law
    } else {
        *offered.first().ok_or("neither PCMU nor PCMA offered")?
    };
    // The audio stream's direction (media level, else session level): sendrecv when unsaid.
    let said = |d: &str| sdp.lines().any(|l| l.trim() == format!("a={d}"));
    let (held, direction) = if said("inactive") {
        (true, "inactive")
    } else if said("sendonly") {
        (true, "recvonly")
    } else {
        (offer.media.ip().is_unspecified(), "sendonly")
    };
    Ok(((!held).then_some(offer.media), law, direction))
}

#[cfg(test)]
#[path = "confirmed_tests.rs"]
mod tests;
