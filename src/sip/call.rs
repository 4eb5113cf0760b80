//! One dial-in call, from its INVITE to its end (the shell): admitted or refused
//! ([`super::admit`]), the offer answered or 488 ([`super::answer`]), a dialog opened (rsipstack
//! sends 100 Trying, answers CANCEL with 487 and takes the ACK), the page started through the
//! [`Desk`], 200 OK with our SDP (our offer when the INVITE had none: the ACK answers it), then
//! the caller's audio relayed ([`super::media`]) until the caller hangs up (BYE), falls silent
//! for `[sip] no_rtp`, or the page ends (we send BYE). Every way out ends the page, so every
//! phone gets its stop. The caller hears a wait tone until the phones are ready, then the "go
//! ahead" beep ([`super::cue`]). A delayed route answers at once, beeps, records the caller
//! until BYE, `#`, silence or [`MAX_RECORDING`], and hands the recording to the [`Desk`] to play
//! as a page. Every admitted call is journaled through the desk when it begins and when it ends
//! ([`CallRecord`]).
//!
//! A route with a PIN or a menu answers first and takes the caller's keys before anything is
//! paged or recorded: the PIN ([`super::pin`]), the menu's choice of zone ([`super::menu`]: the
//! chosen zone is the one paged and journaled), or the PIN and then the menu, in one run of
//! keys. A zone held by a higher page gets 486, or, on a route with `busy = "queue"`, the call
//! is answered and queued: the queue tone while its page is tried again each time
//! [`Desk::until_free`] resolves, until it starts (then the beep and the relay) or
//! `queue_wait` runs out (we send BYE); a start under way when the caller hangs up is finished
//! and its page stopped, so nothing is left behind. Session timers (RFC 4028): an INVITE with
//! `Session-Expires` (and `Supported: timer`) is answered with its interval, raised to its
//! `Min-SE`, and `refresher=uac`; a re-INVITE or UPDATE refreshes it; an interval under 90 s
//! gets 422 with our `Min-SE`; a session not refreshed in time is ended (BYE, the page
//! stopped). Its timing is pure (`SessionTimer`, `timer_of`, unit-tested here).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
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
use super::answer::{CallCodec, Negotiated, answer_sdp, choose, offer_sdp, parse_offer, reanswer};
use super::audio::CallerAudio;
use super::contact::local_contact;
use super::cue::{Cue, MAX_WAIT_FRAMES};
use super::desk::{CallLink, CallPage, CallRecord, CallRecording, Desk, DeskRefusal, Played};
use super::dtmf::info_key;
use super::media::{CallMedia, Keyed, Leg, LegEnd};
use super::menu::{DialMenu, MenuOutcome};
use super::pin::{PinEntry, PinStep};
use crate::audio::LoudnessTarget;
use crate::config::{RouteMode, Sip, SipRoute};
use crate::page::DeliveryReport;
use crate::rtp::packet::PAYLOAD_LEN;
use tokio::sync::watch;

/// Longest a refused request's transaction is kept to absorb retransmissions and the ACK.
const LINGER: Duration = Duration::from_secs(40);
/// Refused requests kept at once to absorb their retransmissions.
const MAX_LINGERING: usize = 512;
/// Longest a caller's From is kept for the history.
const MAX_CALLER_CHARS: usize = 128;
/// Longest a delayed route records (then the call is ended and the recording played).
pub const MAX_RECORDING: Duration = Duration::from_secs(120);
/// A recording shorter than this (a caller who hung up at the beep) is not played.
const MIN_RECORDING: Duration = Duration::from_millis(500);

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
pub(super) async fn final_reply(line: Arc<Line>, tx: Transaction, status: StatusCode) {
    final_reply_with(line, tx, status, Vec::new()).await;
}

/// [`final_reply`] with `headers` (a 422's Min-SE).
async fn final_reply_with(
    line: Arc<Line>,
    mut tx: Transaction,
    status: StatusCode,
    headers: Vec<Header>,
) {
    if let Err(e) = tx.reply_with(status, headers, None).await {
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

/// Take a new INVITE to its end: refused before a route is found (not journaled: a flood of
/// strangers must not fill the disk), or journaled from here to its end.
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
    let mut record = CallRecord {
        call: format!("c{:016x}", rand::random::<u64>()),
        caller: caller_of(req),
        number: route.number.clone(),
        zone: route.zone.clone(),
        mode: route.mode.name().to_owned(),
        started_ms: unix_ms(),
        duration_ms: None,
        outcome: None,
        page: None,
        recording: None,
    };
    line.desk.journal(&record);
    let began = tokio::time::Instant::now();
    let outcome = take(&line, tx, &route, &mut record).await;
    record.duration_ms = Some(began.elapsed().as_millis() as u64);
    record.outcome = Some(outcome);
    line.desk.journal(&record);
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Answer (or refuse) an admitted INVITE and follow its call; returns its outcome.
async fn take(
    line: &Arc<Line>,
    tx: Transaction,
    route: &SipRoute,
    record: &mut CallRecord,
) -> String {
    let req = &tx.original;
    // No SDP: the offer is ours, in the 200 OK, and the caller answers in its ACK.
    let negotiated = if req.body.is_empty() {
        None
    } else {
        match sdp_of(&req.body) {
            Ok(n) => Some(n),
            Err(why) => {
                tracing::info!("sip: call to {} refused 488: {why}", route.number);
                tokio::spawn(final_reply(line.clone(), tx, StatusCode::NotAcceptableHere));
                return format!("refused 488: {why}");
            }
        }
    };
    // RFC 4028: an interval under ours is 422 with our Min-SE.
    let refresh = match timer_asked(req) {
        Ok(secs) => secs,
        Err(min) => {
            tracing::info!(
                "sip: call to {} refused 422: session interval too small",
                route.number
            );
            let min_se = vec![Header::Other("Min-SE".into(), min.to_string())];
            let status = StatusCode::SessionIntervalTooSmall;
            tokio::spawn(final_reply_with(line.clone(), tx, status, min_se));
            return format!("refused 422: a session interval under {min} s");
        }
    };
    // Counted from here (not while a refusal lingers): two INVITEs racing past the limit by
    // one is harmless.
    line.calls.fetch_add(1, Ordering::SeqCst);
    let _counted = Counted(&line.calls);
    let (state_tx, states) = line.layer.new_dialog_state_channel();
    let dialog = match line.layer.get_or_create_server_invite(
        &tx,
        state_tx,
        None,
        local_contact(&line.layer, &tx),
    ) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("sip: call to {}: no dialog: {e}", route.number);
            tokio::spawn(final_reply(
                line.clone(),
                tx,
                StatusCode::ServerInternalError,
            ));
            return "refused 500: no dialog".to_owned();
        }
    };
    let mut handler = dialog.clone();
    let mut tx = tx;
    tokio::spawn(async move {
        let _ = handler.handle(&mut tx).await;
    });
    let id = dialog.id();
    let call = Call {
        line,
        dialog: &dialog,
        route,
        refresh,
    };
    let outcome = match route.mode {
        RouteMode::Live => call.live(states, negotiated, record).await,
        RouteMode::Delayed => call.delayed(states, negotiated, record).await,
    };
    line.layer.remove_dialog(&id);
    outcome
}

/// An answered (or being answered) call.
struct Call<'a> {
    line: &'a Line,
    dialog: &'a InviteDialog,
    route: &'a SipRoute,
    /// The session interval the caller refreshes (RFC 4028), when it asked for one.
    refresh: Option<u32>,
}

impl Call<'_> {
    /// The page of `zone` (the route's, or the one its caller chose) for `caller`.
    fn page(&self, zone: &str, caller: &str) -> CallPage {
        CallPage {
            zone: zone.to_owned(),
            priority: self.route.priority.clone(),
            caller: caller.to_owned(),
        }
    }

    /// Our RTP socket, or 503.
    async fn media(&self) -> Result<CallMedia, String> {
        CallMedia::bind(self.line.media_ip).await.map_err(|e| {
            tracing::warn!("sip: call to {}: RTP socket: {e}", self.route.number);
            let _ = self
                .dialog
                .reject(Some(StatusCode::ServiceUnavailable), None);
            "refused 503: no RTP socket".to_owned()
        })
    }

    /// Send the 200 OK (our answer, or our offer) and settle the media (the ACK's answer to
    /// our offer).
    async fn accept(
        &self,
        media: &CallMedia,
        negotiated: Option<Negotiated>,
        states: &mut DialogStateReceiver,
    ) -> Result<Session, &'static str> {
        let version: u64 = rand::random::<u32>().into();
        let sdp = match &negotiated {
            Some(n) => answer_sdp(n, media.local(), version),
            None => offer_sdp(media.local(), version),
        };
        let timer = self
            .refresh
            .map(|secs| SessionTimer::new(secs, tokio::time::Instant::now()));
        let mut headers = vec![Header::ContentType("application/sdp".into())];
        headers.extend(timer.iter().flat_map(SessionTimer::headers));
        if let Err(e) = self.dialog.accept(Some(headers), Some(sdp.into_bytes())) {
            tracing::warn!("sip: call to {}: answering: {e}", self.route.number);
            return Err("the call could not be answered");
        }
        let negotiated = match negotiated {
            Some(n) => n,
            None => match answer_in_ack(self.dialog, states).await {
                Ok(n) => n,
                Err(why) => {
                    if why != HUNG_UP {
                        let _ = self.dialog.hangup().await;
                    }
                    return Err(why);
                }
            },
        };
        Ok(Session {
            negotiated,
            local: media.local(),
            version,
            timer,
        })
    }

    /// The caller's side of the relay.
    fn leg(&self, session: &Session, cue: Cue, pound_ends: bool) -> Leg {
        Leg {
            remote: session.negotiated.remote,
            codec: session.negotiated.codec,
            telephone_event: session.negotiated.telephone_event,
            cue,
            no_rtp: self.line.sip.no_rtp,
            pound_ends,
        }
    }

    /// A live route: page, 200 OK, wait tone, beep, relay, end. A route with a PIN or a menu
    /// answers first and pages only once the PIN is right and the zone chosen; a zone held by
    /// a higher page is refused (486) or, with `busy = "queue"`, waited for ([`Call::queued`]).
    async fn live(
        &self,
        mut states: DialogStateReceiver,
        negotiated: Option<Negotiated>,
        record: &mut CallRecord,
    ) -> String {
        let media = match self.media().await {
            Ok(m) => m,
            Err(why) => return why,
        };
        let mut negotiated = negotiated;
        let early = if self.asks_keys() {
            match self
                .keyed(&media, negotiated.take(), &mut states, record)
                .await
            {
                Ok(s) => Some(s),
                Err(why) => return why,
            }
        } else {
            None
        };
        // Started to the end even when the caller cancels meanwhile: a page is never left half
        // started; a cancelled call's page is stopped at once below.
        let page = self.page(&record.zone, &record.caller);
        let link = match (self.line.desk.start(page).await, &early) {
            (Ok(l), _) => l,
            (Err(DeskRefusal::Busy(why)), _) if self.route.queue_wait.is_some() => {
                let wait = self.route.queue_wait.unwrap_or_default();
                let call = (early, negotiated, states);
                return self.queued(&media, call, record, wait, why).await;
            }
            (Err(e), None) => return self.refuse(e),
            (Err(e), Some(_)) => {
                tracing::info!("sip: call to {}: {e}", self.route.number);
                let _ = self.dialog.hangup().await;
                return format!("not paged: {e}");
            }
        };
        self.paged(&media, link, (early, negotiated, states), record)
            .await
    }

    /// A live call whose page started: answered (unless it was), wait tone, beep, relay, end.
    async fn paged(
        &self,
        media: &CallMedia,
        link: CallLink,
        (early, negotiated, mut states): Answering,
        record: &mut CallRecord,
    ) -> String {
        record.page = Some(link.page.clone());
        self.line.desk.journal(record);
        if early.is_none() && matches!(self.dialog.state(), DialogState::Terminated(..)) {
            (link.stop)(CANCELLED);
            return CANCELLED.to_owned();
        }
        let session = match early {
            Some(s) => s,
            None => match self.accept(media, negotiated, &mut states).await {
                Ok(s) => s,
                Err(why) => {
                    (link.stop)(why);
                    return why.to_owned();
                }
            },
        };
        tracing::info!(
            "sip: call from {} to {} pages zone {} as page {} ({:?})",
            record.caller,
            self.route.number,
            record.zone,
            link.page,
            session.negotiated.codec
        );
        let audio = CallerAudio::new(&session.negotiated, self.line.loudness);
        let leg = self.leg(&session, Cue::new(rate(&session)), false);
        let live = link.live.clone();
        let ready = move || phones_ready(&live.borrow());
        let relay = media.relay(audio, leg, &*link.feed, &ready);
        let end = follow(relay, Some(link.live.clone()), None, states, session, false).await;
        let end = end.why();
        tracing::info!("sip: call to {} ended: {end}", self.route.number);
        (link.stop)(end);
        if end != HUNG_UP {
            let _ = self.dialog.hangup().await;
        }
        end.to_owned()
    }

    /// A live call whose zone is held by a higher page, on a route with `busy = "queue"`:
    /// answered (unless it was), the queue tone while the page is tried again each time the
    /// desk says the zone may be free, for at most `wait`; once it starts, the beep when the
    /// phones are ready and the relay, as any call. A caller that hangs up (or falls silent)
    /// while queued leaves nothing behind: a start under way is finished and its page stopped.
    async fn queued(
        &self,
        media: &CallMedia,
        (early, negotiated, mut states): Answering,
        record: &mut CallRecord,
        wait: Duration,
        busy: String,
    ) -> String {
        tracing::info!(
            "sip: call to {} queued for zone {} (up to {} s): {busy}",
            self.route.number,
            record.zone,
            wait.as_secs()
        );
        let mut session = match early {
            Some(s) => s,
            None => match self.accept(media, negotiated, &mut states).await {
                Ok(s) => s,
                Err(why) => return why.to_owned(),
            },
        };
        let queued_at = tokio::time::Instant::now();
        // The page once started, and when: the relay's feed and readiness read it.
        let started: OnceLock<(CallLink, tokio::time::Instant)> = OnceLock::new();
        let feed = |f: &[u8; PAYLOAD_LEN]| {
            if let Some((link, _)) = started.get() {
                (link.feed)(f);
            }
        };
        let ready = || {
            started.get().is_some_and(|(link, at)| {
                phones_ready(&link.live.borrow()) || at.elapsed() >= MAX_PHONES_WAIT
            })
        };
        let audio = CallerAudio::new(&session.negotiated, self.line.loudness);
        let leg = self.leg(&session, Cue::queued(rate(&session)), false);
        let relay = media.relay(audio, leg, &feed, &ready);
        tokio::pin!(relay);
        let page = self.page(&record.zone, &record.caller);
        let turn = self
            .wait_turn(&page, relay.as_mut(), &mut states, &mut session, wait)
            .await;
        let waited = queued_at.elapsed().as_secs_f64();
        let link = match turn {
            Ok(link) => link,
            Err(why) => {
                tracing::info!("sip: queued call to {} ended: {why}", self.route.number);
                if why != HUNG_UP_QUEUED {
                    let _ = self.dialog.hangup().await;
                }
                return why;
            }
        };
        record.page = Some(link.page.clone());
        self.line.desk.journal(record);
        let (link, _) = started.get_or_init(|| (link, tokio::time::Instant::now()));
        tracing::info!(
            "sip: queued call to {} pages zone {} as page {} after {waited:.1} s",
            self.route.number,
            record.zone,
            link.page
        );
        let end = follow(relay, Some(link.live.clone()), None, states, session, false).await;
        let end = end.why();
        (link.stop)(end);
        if end != HUNG_UP {
            let _ = self.dialog.hangup().await;
        }
        format!("{end} (queued {waited:.1} s)")
    }

    /// Wait for the queued call's turn: its page started (`Ok`), or the caller hung up, fell
    /// silent, or `wait` ran out (`Err`, the outcome). The `relay` (the queue tone) keeps going.
    async fn wait_turn<R: std::future::Future<Output = LegEnd>>(
        &self,
        page: &CallPage,
        mut relay: std::pin::Pin<&mut R>,
        states: &mut DialogStateReceiver,
        session: &mut Session,
        wait: Duration,
    ) -> Result<CallLink, String> {
        let deadline = tokio::time::sleep(wait);
        tokio::pin!(deadline);
        // Kept across the dialog's requests, so they do not put the next try off.
        let mut tries = 0;
        let mut free = self.line.desk.until_free(page, tries);
        loop {
            let expires = session.expires_at();
            tokio::select! {
                end = relay.as_mut() => return Err(leg_end(end).why().to_owned()),
                () = tokio::time::sleep_until(expires) => return Err(End::Expired.why().to_owned()),
                _ = &mut deadline => {
                    return Err(format!("{QUEUE_TIMED_OUT}: queued {} s", wait.as_secs()));
                }
                state = states.recv() => {
                    match state {
                        None | Some(DialogState::Terminated(..)) => {
                            return Err(HUNG_UP_QUEUED.to_owned());
                        }
                        Some(DialogState::Updated(_, req, h)) => session.reanswer(&req, &h).await,
                        Some(DialogState::Options(_, _, h) | DialogState::Info(_, _, h)) => {
                            let _ = h.reply(StatusCode::OK).await;
                        }
                        Some(_) => {}
                    }
                    continue;
                }
                () = &mut free => {}
            }
            tries += 1;
            free = self.line.desk.until_free(page, tries);
            // The start runs to its end (a page is never left half started) while the queue
            // tone keeps playing.
            let start = self.line.desk.start(page.clone());
            tokio::pin!(start);
            let tried = tokio::select! {
                tried = &mut start => tried,
                end = relay.as_mut() => {
                    let why = leg_end(end).why();
                    if let Ok(link) = start.await {
                        (link.stop)(why);
                    }
                    return Err(why.to_owned());
                }
            };
            match tried {
                Ok(link) => return Ok(link),
                Err(DeskRefusal::Busy(_)) => {}
                Err(e) => return Err(format!("not paged: {e}")),
            }
        }
    }

    /// Whether the route asks the caller for keys first (a PIN, a menu).
    fn asks_keys(&self) -> bool {
        self.route.pin.is_some() || !self.route.menu.is_empty()
    }

    /// Answer, then take the caller's keys: the PIN ([`super::pin`]), the menu's choice
    /// ([`super::menu`]: the chosen zone goes into `record`), or the PIN and then the menu. A
    /// wrong PIN, or no choice in three tries, is told by its tone and the call ended.
    async fn keyed(
        &self,
        media: &CallMedia,
        negotiated: Option<Negotiated>,
        states: &mut DialogStateReceiver,
        record: &mut CallRecord,
    ) -> Result<Session, String> {
        let mut session = self
            .accept(media, negotiated, states)
            .await
            .map_err(str::to_owned)?;
        let rate = rate(&session);
        if self.route.menu.is_empty() {
            let Some(pin) = &self.route.pin else {
                return Ok(session);
            };
            let mut entry = PinEntry::new(pin.clone(), rate);
            self.take_keys(media, &mut session, states, &mut entry)
                .await?;
            if entry.step() == PinStep::Right {
                return Ok(session);
            }
            return Err(self.hang_up(WRONG_PIN).await);
        }
        let mut menu = DialMenu::new(self.route.menu.clone(), rate);
        if let Some(pin) = &self.route.pin {
            menu = menu.after_pin(pin.clone());
        }
        self.take_keys(media, &mut session, states, &mut menu)
            .await?;
        match menu.outcome() {
            Some(MenuOutcome::Chosen(zone)) => {
                tracing::info!("sip: call to {}: zone {zone} chosen", self.route.number);
                record.zone = zone.clone();
                self.line.desk.journal(record);
                Ok(session)
            }
            Some(MenuOutcome::WrongPin) => Err(self.hang_up(WRONG_PIN).await),
            _ => Err(self.hang_up(NO_CHOICE).await),
        }
    }

    /// End the call for `why` (we send BYE); `why` is its outcome.
    async fn hang_up(&self, why: &str) -> String {
        tracing::info!("sip: call to {}: {why}", self.route.number);
        let _ = self.dialog.hangup().await;
        why.to_owned()
    }

    /// Take the caller's keys into `entry` until it is done (`Err` when the caller hangs up
    /// meanwhile), answering the dialog's requests; INFO keys go to `entry` too.
    async fn take_keys(
        &self,
        media: &CallMedia,
        session: &mut Session,
        states: &mut DialogStateReceiver,
        entry: &mut dyn Keyed,
    ) -> Result<(), String> {
        let leg = self.leg(session, Cue::new(rate(session)), false);
        let (info_tx, mut info_rx) = tokio::sync::mpsc::unbounded_channel();
        let keyed = media.keys(&leg, entry, &mut info_rx);
        tokio::pin!(keyed);
        loop {
            let expires = session.expires_at();
            tokio::select! {
                () = &mut keyed => return Ok(()),
                () = tokio::time::sleep_until(expires) => {
                    let why = End::Expired.why();
                    let _ = self.dialog.hangup().await;
                    return Err(why.to_owned());
                }
                state = states.recv() => match state {
                    None | Some(DialogState::Terminated(..)) => return Err(HUNG_UP.to_owned()),
                    Some(DialogState::Updated(_, req, h)) => session.reanswer(&req, &h).await,
                    Some(DialogState::Info(_, req, h)) => {
                        let _ = h.reply(StatusCode::OK).await;
                        if let Some(key) = key_in_info(&req) {
                            let _ = info_tx.send(key);
                        }
                    }
                    Some(DialogState::Options(_, _, h)) => {
                        let _ = h.reply(StatusCode::OK).await;
                    }
                    Some(_) => {}
                },
            }
        }
    }

    /// The caller's final answer when its page did not start.
    fn refuse(&self, e: DeskRefusal) -> String {
        let (status, code) = match e {
            DeskRefusal::Busy(_) => (StatusCode::BusyHere, 486),
            DeskRefusal::Unavailable(_) => (StatusCode::ServiceUnavailable, 503),
        };
        tracing::info!("sip: call to {}: {e}", self.route.number);
        let _ = self.dialog.reject(Some(status), None);
        format!("refused {code}: {e}")
    }

    /// A delayed route: 200 OK, beep, record until BYE, `#`, silence or [`MAX_RECORDING`],
    /// then the recording plays to the zone as a page.
    async fn delayed(
        &self,
        mut states: DialogStateReceiver,
        negotiated: Option<Negotiated>,
        record: &mut CallRecord,
    ) -> String {
        let media = match self.media().await {
            Ok(m) => m,
            Err(why) => return why,
        };
        let session = if self.asks_keys() {
            match self.keyed(&media, negotiated, &mut states, record).await {
                Ok(s) => s,
                Err(why) => return why,
            }
        } else {
            match self.accept(&media, negotiated, &mut states).await {
                Ok(s) => s,
                Err(why) => return why.to_owned(),
            }
        };
        let audio = CallerAudio::new(&session.negotiated, self.line.loudness);
        let leg = self.leg(&session, Cue::beep_first(rate(&session)), true);
        let most = (MAX_RECORDING.as_millis() / 20) as usize * PAYLOAD_LEN;
        let taken = std::sync::Mutex::new(Vec::<u8>::new());
        let feed = |f: &[u8; PAYLOAD_LEN]| {
            if let Ok(mut t) = taken.lock()
                && t.len() < most
            {
                t.extend_from_slice(f);
            }
        };
        let relay = media.relay(audio, leg, &feed, &|| true);
        let end = follow(relay, None, Some(MAX_RECORDING), states, session, true).await;
        if end != End::HungUp {
            let _ = self.dialog.hangup().await;
        }
        let ulaw = taken.into_inner().unwrap_or_default();
        let secs = ulaw.len() as f64 / 8000.0;
        tracing::info!(
            "sip: delayed call to {}: recorded {secs:.1} s, ended: {}",
            self.route.number,
            end.why()
        );
        if secs < MIN_RECORDING.as_secs_f64() {
            return format!("{}: nothing recorded", end.why());
        }
        let recording = CallRecording {
            call: record.call.clone(),
            ulaw,
        };
        match self
            .play(self.page(&record.zone, &record.caller), recording)
            .await
        {
            Ok(played) => {
                record.page = Some(played.page.clone());
                record.recording = Some(played.recording);
                format!(
                    "{}: recorded {secs:.1} s, played as page {}",
                    end.why(),
                    played.page
                )
            }
            Err(e) => {
                tracing::info!(
                    "sip: delayed call to {}: not played: {e}",
                    self.route.number
                );
                format!("{}: recorded {secs:.1} s, not played: {e}", end.why())
            }
        }
    }
}

impl Call<'_> {
    /// Hand a delayed call's recording to the desk to play; on a route with `busy = "queue"`
    /// a busy zone is tried again (each time the desk says it may be free) for `queue_wait`.
    async fn play(&self, page: CallPage, recording: CallRecording) -> Result<Played, DeskRefusal> {
        let until = tokio::time::Instant::now() + self.route.queue_wait.unwrap_or_default();
        let mut tries = 0;
        loop {
            match self.line.desk.play(page.clone(), recording.clone()).await {
                Err(DeskRefusal::Busy(_)) if tokio::time::Instant::now() < until => {
                    self.line.desk.until_free(&page, tries).await;
                    tries += 1;
                }
                played => return played,
            }
        }
    }
}

const HUNG_UP: &str = "the caller hung up";
const HUNG_UP_QUEUED: &str = "the caller hung up while queued";
const QUEUE_TIMED_OUT: &str = "the zone stayed busy";
const WRONG_PIN: &str = "wrong PIN";
const NO_CHOICE: &str = "no menu choice";
/// Longest a queued call's beep waits for its page's phones (the cue's own bound).
const MAX_PHONES_WAIT: Duration = Duration::from_millis(MAX_WAIT_FRAMES as u64 * 20);

/// A call not answered yet, or answered early (a PIN, a menu): what answering it takes.
type Answering = (Option<Session>, Option<Negotiated>, DialogStateReceiver);
/// Time for an INFO's 200 to leave before the BYE that follows it.
const INFO_ANSWERED: Duration = Duration::from_millis(100);
const CANCELLED: &str = "the caller hung up before the answer (CANCEL)";

/// The cue's sample rate for the call's codec.
fn rate(session: &Session) -> u32 {
    match session.negotiated.codec {
        CallCodec::G722 => 16_000,
        CallCodec::Pcmu | CallCodec::Pcma => 8_000,
    }
}

/// A page's phones are ready for the caller: every push answered (or the page over, which
/// ends the call anyway).
fn phones_ready(r: &DeliveryReport) -> bool {
    (r.totals.pushed > 0 && r.totals.starting == 0) || !r.ended_by.is_empty()
}

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

/// The call's media as answered, for answering again (re-INVITE, UPDATE), and its session
/// timer.
struct Session {
    negotiated: Negotiated,
    local: std::net::SocketAddrV4,
    version: u64,
    /// RFC 4028: when the caller must have refreshed the session by.
    timer: Option<SessionTimer>,
}

impl Session {
    /// When the session ends unrefreshed (far away without session timers).
    fn expires_at(&self) -> tokio::time::Instant {
        match &self.timer {
            Some(t) => t.ends_at(),
            None => tokio::time::Instant::now() + Duration::from_secs(86_400 * 365),
        }
    }

    /// Answer an in-dialog offer or refresh `req` (200 with the same media, or 488; an UPDATE
    /// without SDP gets 200 without; an interval under ours 422). A 200 refreshes the session.
    async fn reanswer(&mut self, req: &Request, h: &TransactionHandle) {
        let asked = match timer_asked(req) {
            Err(min) => {
                tracing::info!("sip: in-dialog refresh refused 422");
                let min_se = vec![Header::Other("Min-SE".into(), min.to_string())];
                let _ = h
                    .respond(StatusCode::SessionIntervalTooSmall, Some(min_se), None)
                    .await;
                return;
            }
            Ok(asked) => asked,
        };
        self.version += 1;
        let body = std::str::from_utf8(&req.body).unwrap_or("\0");
        let update = req.method == rsipstack::sip::Method::Update;
        match reanswer(body, &self.negotiated, self.local, self.version) {
            Ok(sdp) => {
                let now = tokio::time::Instant::now();
                if let Some(t) = &mut self.timer {
                    t.refreshed(asked, now);
                }
                let mut headers: Vec<Header> =
                    self.timer.iter().flat_map(SessionTimer::headers).collect();
                let body = if update && req.body.is_empty() {
                    None
                } else {
                    headers.push(Header::ContentType("application/sdp".into()));
                    Some(sdp.into_bytes())
                };
                let _ = h.respond(StatusCode::OK, Some(headers), body).await;
            }
            Err(e) => {
                tracing::info!("sip: in-dialog offer refused 488: {e}");
                let _ = h.reply(StatusCode::NotAcceptableHere).await;
            }
        }
    }
}

/// Why the relay ended, as a call's end.
fn leg_end(end: LegEnd) -> End {
    match end {
        LegEnd::Silent => End::Silent,
        LegEnd::Pound => End::Pound,
    }
}

/// Why a call's relay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    HungUp,
    Silent,
    Pound,
    PageEnded,
    TooLong,
    Expired,
    Other,
}

impl End {
    /// As the page's `ended_by` and the call's outcome.
    fn why(self) -> &'static str {
        match self {
            End::HungUp => HUNG_UP,
            End::Silent => "no audio from the caller",
            End::Pound => "the caller pressed #",
            End::PageEnded => "the page ended",
            End::TooLong => "the recording reached its longest",
            End::Expired => "the caller did not refresh the session (RFC 4028)",
            End::Other => "the call ended",
        }
    }
}

/// The key a SIP INFO carries (the fallback of trunks without telephone-events).
fn key_in_info(req: &Request) -> Option<char> {
    let kind = req.header_value("Content-Type").unwrap_or_default();
    info_key(&kind, &req.body)
}

/// Follow the call until one side ends: the `relay`, the page (`live`), the dialog, `limit`;
/// `#` in a SIP INFO ends it where `pound_ends`.
async fn follow(
    relay: impl std::future::Future<Output = LegEnd>,
    live: Option<watch::Receiver<DeliveryReport>>,
    limit: Option<Duration>,
    mut states: DialogStateReceiver,
    mut session: Session,
    pound_ends: bool,
) -> End {
    tokio::pin!(relay);
    let page_ended = async {
        match live {
            Some(mut live) => while live.changed().await.is_ok() {},
            None => std::future::pending().await,
        }
    };
    tokio::pin!(page_ended);
    let too_long = tokio::time::sleep(limit.unwrap_or(Duration::from_secs(u32::MAX.into())));
    tokio::pin!(too_long);
    loop {
        let expires = session.expires_at();
        tokio::select! {
            end = &mut relay => return leg_end(end),
            _ = &mut page_ended => return End::PageEnded,
            _ = &mut too_long => return End::TooLong,
            () = tokio::time::sleep_until(expires) => return End::Expired,
            state = states.recv() => match state {
                None | Some(DialogState::Terminated(_, TerminatedReason::UacBye)) => return End::HungUp,
                Some(DialogState::Terminated(..)) => return End::Other,
                // A re-INVITE (hold, a session refresh) or UPDATE: the same media again. A
                // caller on hold sends nothing and is ended after `no_rtp`.
                Some(DialogState::Updated(_, req, h)) => session.reanswer(&req, &h).await,
                // In-dialog requests we have nothing to say to: accepted as they are.
                Some(DialogState::Options(_, _, h)) => {
                    let _ = h.reply(StatusCode::OK).await;
                }
                // A key as SIP INFO: `#` ends a recording.
                Some(DialogState::Info(_, req, h)) => {
                    let _ = h.reply(StatusCode::OK).await;
                    if pound_ends && key_in_info(&req) == Some('#') {
                        // The INFO's 200 goes out from its transaction's task: let it leave
                        // before our BYE, which a caller would otherwise see first.
                        tokio::time::sleep(INFO_ANSWERED).await;
                        return End::Pound;
                    }
                }
                Some(_) => {}
            },
        }
    }
}

/// Our shortest session interval (RFC 4028 §4: Min-SE is never under 90 s).
const MIN_SE_SECS: u32 = 90;

/// The session interval a request asks for (RFC 4028): its `Session-Expires` (`x`) raised to
/// its own `Min-SE`, when the caller can refresh (`Supported: timer` or `Require: timer`;
/// without, no timer is run). `Err(ours)` when the interval is under [`MIN_SE_SECS`]: 422.
fn timer_asked(req: &Request) -> Result<Option<u32>, u32> {
    let supports = ["Supported", "k", "Require"].iter().any(|name| {
        req.headers.iter().any(|h| {
            h.name().eq_ignore_ascii_case(name)
                && h.value()
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("timer"))
        })
    });
    timer_of(
        req.header_value("Session-Expires").as_deref(),
        req.header_value("Min-SE").as_deref(),
        supports,
    )
}

/// [`timer_asked`]'s rule on header values.
fn timer_of(
    session_expires: Option<&str>,
    min_se: Option<&str>,
    supports: bool,
) -> Result<Option<u32>, u32> {
    let secs = |v: &str| v.split(';').next()?.trim().parse::<u32>().ok();
    let Some(asked) = session_expires.and_then(secs) else {
        return Ok(None);
    };
    if !supports {
        return Ok(None);
    }
    if asked < MIN_SE_SECS {
        return Err(MIN_SE_SECS);
    }
    Ok(Some(asked.max(min_se.and_then(secs).unwrap_or(0))))
}

/// A dial-in call's session timer (RFC 4028), pure: the caller refreshes (`refresher=uac`) by
/// a re-INVITE or UPDATE within the interval; without one the session ends
/// min(32 s, interval / 3) before the interval runs out (§10), and we end the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SessionTimer {
    interval: Duration,
    refreshed: tokio::time::Instant,
}

impl SessionTimer {
    fn new(secs: u32, now: tokio::time::Instant) -> SessionTimer {
        SessionTimer {
            interval: Duration::from_secs(secs.into()),
            refreshed: now,
        }
    }

    /// A refresh answered 200 at `now`, with the interval it asked for, if any.
    fn refreshed(&mut self, secs: Option<u32>, now: tokio::time::Instant) {
        if let Some(secs) = secs {
            self.interval = Duration::from_secs(secs.into());
        }
        self.refreshed = now;
    }

    /// When the session ends without another refresh.
    fn ends_at(&self) -> tokio::time::Instant {
        let early = (self.interval / 3).min(Duration::from_secs(32));
        self.refreshed + self.interval - early
    }

    /// Our answer's headers: the interval, refreshed by the caller.
    fn headers(&self) -> [Header; 2] {
        [
            Header::Other(
                "Session-Expires".into(),
                format!("{};refresher=uac", self.interval.as_secs()),
            ),
            Header::Other("Require".into(), "timer".into()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_asked_is_taken_raised_to_min_se_and_422_under_ours() {
        assert_eq!(
            timer_of(Some("1800;refresher=uac"), None, true),
            Ok(Some(1800))
        );
        assert_eq!(timer_of(Some(" 600 "), Some("900"), true), Ok(Some(900)));
        assert_eq!(timer_of(Some("89"), None, true), Err(MIN_SE_SECS));
        assert_eq!(
            timer_of(Some("1800"), None, false),
            Ok(None),
            "cannot refresh"
        );
        assert_eq!(timer_of(None, Some("90"), true), Ok(None));
        assert_eq!(timer_of(Some("soon"), None, true), Ok(None));
    }

    #[test]
    fn an_unrefreshed_session_ends_early_by_a_third_or_32_s_and_a_refresh_restarts_it() {
        let t0 = tokio::time::Instant::now();
        let mut t = SessionTimer::new(90, t0);
        assert_eq!(t.ends_at(), t0 + Duration::from_secs(60));
        let t1 = t0 + Duration::from_secs(50);
        t.refreshed(None, t1);
        assert_eq!(t.ends_at(), t1 + Duration::from_secs(60));
        t.refreshed(Some(1800), t1);
        assert_eq!(t.ends_at(), t1 + Duration::from_secs(1768));
        let h = t.headers();
        assert_eq!(h[0].to_string(), "Session-Expires: 1800;refresher=uac");
        assert_eq!(h[1].to_string(), "Require: timer");
    }
}
