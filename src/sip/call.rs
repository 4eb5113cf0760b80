//! One dial-in call, from its INVITE to its end (the shell): admitted or refused
//! ([`super::admit`]), the offer answered or 488 ([`super::answer`]), a dialog opened (rsipstack
//! sends 100 Trying, answers CANCEL with 487 and takes the ACK), the page started through the
//! [`Desk`], 200 OK with our SDP (our offer when the INVITE had none: the ACK answers it), then the caller's audio relayed ([`super::media`]) until the
//! caller hangs up (BYE), falls silent for `[sip] no_rtp`, or the page ends (we send BYE). Every
//! way out ends the page, so every phone gets its stop.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rsipstack::dialog::dialog::{
    DialogState, DialogStateReceiver, TerminatedReason, TransactionHandle,
};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::{Header, Request, StatusCode};
use rsipstack::transaction::transaction::Transaction;

use super::admit::{Turned, admit};
use super::answer::{Negotiated, answer_sdp, choose, offer_sdp, parse_offer, reanswer};
use super::audio::CallerAudio;
use super::desk::{CallLink, CallPage, Desk, DeskRefusal};
use super::media::CallMedia;
use crate::audio::LoudnessTarget;
use crate::config::Sip;

/// Longest a refused request's transaction is kept to absorb retransmissions and the ACK.
const LINGER: Duration = Duration::from_secs(40);
/// Refused requests kept at once to absorb their retransmissions.
const MAX_LINGERING: usize = 512;
/// Longest a caller's From is kept for the history.
const MAX_CALLER_CHARS: usize = 128;

/// What every call shares.
pub(super) struct Line {
    pub(super) sip: Sip,
    pub(super) desk: Arc<dyn Desk>,
    pub(super) media_ip: Ipv4Addr,
    pub(super) loudness: LoudnessTarget,
    pub(super) layer: Arc<DialogLayer>,
    pub(super) calls: AtomicUsize,
    /// Refused requests' transactions still kept ([`final_reply`]).
    pub(super) lingering: AtomicUsize,
}

/// One call counted while it lives.
struct Counted<'a>(&'a AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Where the request came from: the Via's `received` (set by the transport when the sent-by
/// differs from the packet's source), else its sent-by, which then is the source.
pub(super) fn source_ip(req: &Request) -> Option<Ipv4Addr> {
    let via = req.via_header().ok()?.typed().ok()?;
    let ip = match via.received() {
        Some(r) => r.ok()?,
        None => match &via.sent_by().host {
            rsipstack::sip::Host::IpAddr(ip) => *ip,
            rsipstack::sip::Host::Domain(_) => return None,
        },
    };
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(_) => None,
    }
}

/// Answer `tx` with a final `status` and keep it until retransmissions and the ACK are absorbed
/// (at most [`MAX_LINGERING`] at once: a flood of refused requests is answered once each and
/// not kept).
pub(super) async fn final_reply(line: Arc<Line>, mut tx: Transaction, status: StatusCode) {
    if let Err(e) = tx.reply(status).await {
        tracing::debug!("sip: replying: {e}");
        return;
    }
    if line.lingering.fetch_add(1, Ordering::SeqCst) < MAX_LINGERING {
        let _ = tokio::time::timeout(LINGER, async { while tx.receive().await.is_some() {} }).await;
    }
    line.lingering.fetch_sub(1, Ordering::SeqCst);
}

/// The caller as the history shows it: the From URI, bounded.
fn caller_of(req: &Request) -> String {
    let from = req.header_value("From").unwrap_or_default();
    let uri = match (from.find('<'), from.find('>')) {
        (Some(a), Some(b)) if a < b => &from[a + 1..b],
        _ => from.split(';').next().unwrap_or(""),
    };
    // `sip:` is the history's prefix for callers already (`sip:alice@pbx`).
    let uri = uri.trim();
    let uri = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .unwrap_or(uri);
    uri.chars().take(MAX_CALLER_CHARS).collect()
}

/// The media an SDP body (an offer, or the answer to ours) settles on.
fn sdp_of(body: &[u8]) -> Result<Negotiated, String> {
    let text = std::str::from_utf8(body).map_err(|_| "SDP is not UTF-8".to_owned())?;
    parse_offer(text)
        .and_then(|o| choose(&o))
        .map_err(|e| e.to_string())
}

/// Take a new INVITE to its end.
pub(super) async fn answer(line: Arc<Line>, tx: Transaction) {
    let req = &tx.original;
    let source = source_ip(req);
    let number = req.uri.user().map(str::to_owned);
    let calls = line.calls.load(Ordering::SeqCst);
    let route = match admit(&line.sip, source, number.as_deref(), calls) {
        Ok(r) => r.clone(),
        Err(t) => {
            let status = match t {
                Turned::NotAllowed => StatusCode::Forbidden,
                Turned::NoRoute => StatusCode::NotFound,
                Turned::Full => StatusCode::BusyHere,
            };
            tracing::info!(
                "sip: INVITE from {source:?} to {number:?} refused {}",
                t.status()
            );
            return final_reply(line.clone(), tx, status).await;
        }
    };
    // No SDP: the offer is ours, in the 200 OK, and the caller answers in its ACK.
    let negotiated = if req.body.is_empty() {
        None
    } else {
        match sdp_of(&req.body) {
            Ok(n) => Some(n),
            Err(why) => {
                tracing::info!("sip: call to {} refused 488: {why}", route.number);
                return final_reply(line.clone(), tx, StatusCode::NotAcceptableHere).await;
            }
        }
    };
    // Counted from here (not while a refusal lingers): two INVITEs racing past the limit by
    // one is harmless.
    line.calls.fetch_add(1, Ordering::SeqCst);
    let _counted = Counted(&line.calls);
    let caller = caller_of(req);
    let (state_tx, states) = line.layer.new_dialog_state_channel();
    let dialog = match line
        .layer
        .get_or_create_server_invite(&tx, state_tx, None, None)
    {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("sip: call to {}: no dialog: {e}", route.number);
            return final_reply(line.clone(), tx, StatusCode::ServerInternalError).await;
        }
    };
    let mut handler = dialog.clone();
    let mut tx = tx;
    tokio::spawn(async move {
        let _ = handler.handle(&mut tx).await;
    });
    let id = dialog.id();
    run_dialog(&line, &dialog, states, negotiated, route, caller).await;
    line.layer.remove_dialog(&id);
}

/// The answered part of a call: page, 200 OK, relay, end.
async fn run_dialog(
    line: &Line,
    dialog: &InviteDialog,
    mut states: DialogStateReceiver,
    negotiated: Option<Negotiated>,
    route: crate::config::SipRoute,
    caller: String,
) {
    let media = match CallMedia::bind(line.media_ip).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!("sip: call to {}: RTP socket: {e}", route.number);
            let _ = dialog.reject(Some(StatusCode::ServiceUnavailable), None);
            return;
        }
    };
    let call = CallPage {
        zone: route.zone.clone(),
        priority: route.priority.clone(),
        caller: caller.clone(),
    };
    // Started to the end even when the caller cancels meanwhile: a page is never left half
    // started; a cancelled call's page is stopped at once below.
    let link = match line.desk.start(call).await {
        Ok(l) => l,
        Err(e) => {
            let status = match e {
                DeskRefusal::Busy(_) => StatusCode::BusyHere,
                DeskRefusal::Unavailable(_) => StatusCode::ServiceUnavailable,
            };
            tracing::info!("sip: call from {caller} to {}: {e}", route.number);
            let _ = dialog.reject(Some(status), None);
            return;
        }
    };
    if matches!(dialog.state(), DialogState::Terminated(..)) {
        (link.stop)("the caller hung up before the answer (CANCEL)");
        return;
    }
    let version: u64 = rand::random::<u32>().into();
    let sdp = match &negotiated {
        Some(n) => answer_sdp(n, media.local(), version),
        None => offer_sdp(media.local(), version),
    };
    let headers = vec![Header::ContentType("application/sdp".into())];
    if let Err(e) = dialog.accept(Some(headers), Some(sdp.into_bytes())) {
        tracing::warn!("sip: call to {}: answering: {e}", route.number);
        (link.stop)("the call could not be answered");
        return;
    }
    let negotiated = match negotiated {
        Some(n) => n,
        None => match answer_in_ack(dialog, &mut states).await {
            Ok(n) => n,
            Err(why) => {
                tracing::info!("sip: call to {}: {why}", route.number);
                (link.stop)(why);
                let _ = dialog.hangup().await;
                return;
            }
        },
    };
    tracing::info!(
        "sip: call from {caller} to {} pages zone {} as page {} ({:?})",
        route.number,
        route.zone,
        link.page,
        negotiated.codec
    );
    let audio = CallerAudio::new(&negotiated, line.loudness);
    let session = Session {
        negotiated,
        local: media.local(),
        version,
    };
    let end = follow(line, &media, audio, &link, states, session).await;
    tracing::info!("sip: call to {} ended: {end}", route.number);
    (link.stop)(end);
    if end != HUNG_UP {
        let _ = dialog.hangup().await;
    }
}

const HUNG_UP: &str = "the caller hung up";

/// The caller's answer to our offer, in its ACK (RFC 3261 §13.2.1: an INVITE without an offer
/// gets one in the 2xx and the answer comes in the ACK).
async fn answer_in_ack(
    dialog: &InviteDialog,
    states: &mut DialogStateReceiver,
) -> Result<Negotiated, &'static str> {
    loop {
        match states.recv().await {
            Some(DialogState::Confirmed(..)) => break,
            None | Some(DialogState::Terminated(..)) => return Err(HUNG_UP),
            Some(_) => {}
        }
    }
    let ack = dialog
        .last_remote_ack()
        .ok_or("the caller's ACK is missing")?;
    sdp_of(&ack.body).map_err(|_| "the caller's ACK has no usable SDP answer")
}

/// The call's media as answered, for answering again (re-INVITE, UPDATE).
struct Session {
    negotiated: Negotiated,
    local: std::net::SocketAddrV4,
    version: u64,
}

impl Session {
    /// Answer an in-dialog offer `req` (200 with the same media, or 488).
    async fn reanswer(&mut self, req: &Request, h: &TransactionHandle) {
        self.version += 1;
        let body = std::str::from_utf8(&req.body).unwrap_or("\0");
        match reanswer(body, &self.negotiated, self.local, self.version) {
            Ok(sdp) => {
                let headers = vec![Header::ContentType("application/sdp".into())];
                let _ = h
                    .respond(StatusCode::OK, Some(headers), Some(sdp.into_bytes()))
                    .await;
            }
            Err(e) => {
                tracing::info!("sip: in-dialog offer refused 488: {e}");
                let _ = h.reply(StatusCode::NotAcceptableHere).await;
            }
        }
    }
}

/// Relay until one side ends; returns why (the page's `ended_by`).
async fn follow(
    line: &Line,
    media: &CallMedia,
    audio: CallerAudio,
    link: &CallLink,
    mut states: DialogStateReceiver,
    mut session: Session,
) -> &'static str {
    let mut live = link.live.clone();
    let from = *session.negotiated.remote.ip();
    let relay = media.relay(audio, from, &*link.feed, line.sip.no_rtp);
    tokio::pin!(relay);
    loop {
        tokio::select! {
            _ = &mut relay => return "no audio from the caller",
            changed = live.changed() => if changed.is_err() {
                return "the page ended";
            },
            state = states.recv() => match state {
                None | Some(DialogState::Terminated(_, TerminatedReason::UacBye)) => return HUNG_UP,
                Some(DialogState::Terminated(..)) => return "the call ended",
                // A re-INVITE (hold, a session refresh) or UPDATE: the same media again. A
                // caller on hold sends nothing and is ended after `no_rtp`.
                Some(DialogState::Updated(_, req, h)) => session.reanswer(&req, &h).await,
                // In-dialog requests we have nothing to say to: accepted as they are.
                Some(DialogState::Options(_, _, h)) | Some(DialogState::Info(_, _, h)) => {
                    let _ = h.reply(StatusCode::OK).await;
                }
                Some(_) => {}
            },
        }
    }
}
