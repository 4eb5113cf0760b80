//! What the page's shell does for the session, one way each: push to a phone (RTP URIs or the
//! RTP Streaming API), ask phones whether packets arrive, switch silent phones to unicast, and the
//! payload wrappers of the media stream (the gate, the tee a unicast copy follows). Each push
//! runs as a task and comes back to the loop as a [`Done`]. No rule lives here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::callbacks::Callbacks;
use super::plan::PhonePlan;
use super::session::{PushStep, Session};
use crate::push::{Phone, PushClient, PushOutcome};
use crate::rtp::RtpPort;
use crate::rtp::pacer::PayloadSource;
use crate::rtp::packet::PAYLOAD_LEN;
use crate::xsi::response::Callback;

/// Something a task of the shell finished, to feed back into the session.
#[derive(Debug)]
pub(crate) enum Done {
    /// A push came back (with the stream id a startMedia answer carried).
    Push {
        phone: usize,
        step: PushStep,
        outcome: PushOutcome,
        media_id: Option<String>,
    },
    /// Whether packets arrive at a phone.
    Verified { phone: usize, receiving: bool },
    /// Whether a phone took the unicast copy.
    FellBack { phone: usize, accepted: bool },
    /// The phones another node took (the answer to [`super::session::Output::AskHandOver`]).
    HandedOver { phones: Vec<usize> },
    /// A SIP endpoint answered (its start's [`Done::Push`] follows): the stream goes to
    /// `media`, and its hang-up is built from `dialog`.
    Answered {
        phone: usize,
        media: std::net::SocketAddrV4,
        law: crate::g711::Law,
        dialog: Box<super::dial::SipDialog>,
    },
}

impl Done {
    /// Hand it to the session.
    pub(crate) fn feed(self, session: &mut Session, now: Instant) {
        match self {
            Done::Push {
                phone,
                step,
                outcome,
                media_id,
            } => {
                if let Some(id) = media_id {
                    session.handle_media_stream(phone, id);
                }
                session.handle_push_done(now, phone, step, &outcome);
            }
            Done::Verified { phone, receiving } => session.handle_verified(now, phone, receiving),
            Done::FellBack { phone, accepted } => session.handle_fell_back(now, phone, accepted),
            Done::HandedOver { phones } => session.handle_hand_over(now, &phones),
            Done::Answered { .. } => {} // the shell's (the stream to the endpoint)
        }
    }
}

/// The next callback of the page's listener (never, without one).
pub(crate) async fn next_callback(c: Option<&mut Callbacks>) -> Option<(String, Callback)> {
    match c {
        Some(c) => c.next().await,
        None => std::future::pending().await,
    }
}

/// The source's end (never, once seen or without a stream).
pub(crate) async fn ended(
    rx: Option<&mut oneshot::Receiver<()>>,
) -> Result<(), oneshot::error::RecvError> {
    match rx {
        Some(rx) => rx.await,
        None => std::future::pending().await,
    }
}

/// A timer for `deadline` (about a year away, without one).
pub(crate) fn sleep_until(deadline: Option<Instant>) -> tokio::time::Sleep {
    tokio::time::sleep_until(wake_at(deadline))
}

/// The instant a timer for `deadline` wakes at.
pub(crate) fn wake_at(deadline: Option<Instant>) -> tokio::time::Instant {
    const NEVER: std::time::Duration = std::time::Duration::from_secs(365 * 86400);
    deadline.map_or_else(|| tokio::time::Instant::now() + NEVER, Into::into)
}

/// Push `step` to phone `phone` in a task; its outcome comes back through `tx`.
pub(crate) fn push(
    client: &PushClient,
    plans: &Arc<Vec<PhonePlan>>,
    phone: usize,
    step: PushStep,
    media_id: Option<String>,
    tx: &mpsc::UnboundedSender<Done>,
) {
    let plans = plans.clone();
    let client = client.clone();
    let tx = tx.clone();
    tokio::spawn(async move {
        let p = &plans[phone];
        let (outcome, media_id) = match &p.target {
            None => (
                PushOutcome::Unsupported {
                    reason: "no target".into(),
                },
                None,
            ),
            Some(t) if p.via_media && step != PushStep::Banner => {
                media_push(&client, t, p, step, media_id).await
            }
            Some(t) => {
                let xml = match step {
                    PushStep::Start | PushStep::StartNarrow => p.start_xml.as_str(),
                    PushStep::Banner => p.banner.as_ref().map_or("", |b| b.xml.as_str()),
                    PushStep::Stop => p.stop_xml.as_str(),
                };
                // A start must not run twice: a retry after a lost answer is refused as
                // "Tx/Rx is already active" by a phone that did start.
                let o = if step == PushStep::Start {
                    client.execute_once(t, xml, None, p.expect_reply).await
                } else {
                    client.execute(t, xml, None, p.expect_reply).await
                };
                (o, None)
            }
        };
        let _ = tx.send(Done::Push {
            phone,
            step,
            outcome,
            media_id,
        });
    });
}

/// startMedia (returning the stream id the phone answers) or stopMedia with the id the phone
/// gave (and the banner's clearing), for a phone paged through the RTP Streaming API.
async fn media_push(
    client: &PushClient,
    target: &Phone,
    p: &PhonePlan,
    step: PushStep,
    media_id: Option<String>,
) -> (PushOutcome, Option<String>) {
    use crate::xsi::object::{StopMedia, XmlObject};
    use crate::xsi::response::{MediaErrorType, MediaReply, PhoneError, parse_media_reply};
    let start = matches!(step, PushStep::Start | PushStep::StartNarrow);
    let xml = match step {
        PushStep::Start => p.start_xml.clone(),
        PushStep::StartNarrow => p
            .narrow
            .as_ref()
            .map_or_else(|| p.start_xml.clone(), |n| n.start_xml.clone()),
        _ => media_id
            .and_then(|id| StopMedia::id(&id).ok())
            .unwrap_or_default()
            .to_xml(),
    };
    let sent = if start {
        client.post_execute_once(target, &xml, None).await
    } else {
        client.post_execute(target, &xml, None).await
    };
    let reply = match sent {
        Ok(r) => r,
        Err(e) => return (PushOutcome::from_exchange(Err(e), true), None),
    };
    if reply.status == 401 {
        return (PushOutcome::AuthFailed, None);
    }
    let ok = PushOutcome::Ok { items: Vec::new() };
    let (outcome, id) = match (step, parse_media_reply(&reply.body)) {
        (PushStep::Start | PushStep::StartNarrow, Ok(MediaReply::Started(s)))
            if reply.status == 200 =>
        {
            (ok, Some(s.id))
        }
        (_, Ok(MediaReply::PhoneError(PhoneError::Authentication))) => {
            (PushOutcome::AuthFailed, None)
        }
        // The stream is already gone (its user hung up): stopped is what we wanted.
        (PushStep::Stop, Ok(MediaReply::Error(e)))
            if e.kind == MediaErrorType::InvalidResourceId =>
        {
            (ok, None)
        }
        (_, Ok(MediaReply::Error(e))) => (
            PushOutcome::Rejected {
                status: u32::from(reply.status),
                data: format!("{:?}: {}", e.kind, e.data),
                url: String::new(),
            },
            None,
        ),
        (PushStep::Stop, _) if reply.status == 200 => (ok, None),
        (_, Ok(other)) => (
            PushOutcome::BadResponse {
                reason: format!("unexpected answer to {}: {other:?}", p.start_uri),
            },
            None,
        ),
        (_, Err(e)) => (
            PushOutcome::BadResponse {
                reason: format!("HTTP {}: {e}", reply.status),
            },
            None,
        ),
    };
    if step == PushStep::Stop
        && outcome.is_ok()
        && let Some(clear) = &p.banner_clear_xml
    {
        let _ = client.execute(target, clear, None, p.expect_reply).await;
    }
    (outcome, id)
}

/// Switch silent multicast phones to unicast: `RTPMRx:Stop`, then `RTPRx:SOURCE:PORT` (two
/// pushes, because the items of one Execute may run in any order). Each phone's answer comes
/// back through `tx`.
pub(crate) fn fall_back(
    client: &PushClient,
    plans: &Arc<Vec<PhonePlan>>,
    phones: Vec<usize>,
    source: std::net::Ipv4Addr,
    port: RtpPort,
    tx: &mpsc::UnboundedSender<Done>,
) {
    use crate::xsi::object::{Execute, ExecuteItem, ExecuteUrl, XmlObject};
    use crate::xsi::uri::Uri;
    let xml = |u: Uri| {
        ExecuteUrl::try_from(&u)
            .map(|url| Execute::new(ExecuteItem::new(url)).to_xml())
            .ok()
    };
    for phone in phones {
        let p = &plans[phone];
        let (target, stop, start) = (
            p.target.clone(),
            xml(Uri::RtpMRxStop),
            Uri::rtp_rx(source, port, None, None).ok().and_then(xml),
        );
        let client = client.clone();
        let expect = p.expect_reply;
        let tx = tx.clone();
        tokio::spawn(async move {
            let accepted = match (target, stop, start) {
                (Some(target), Some(stop), Some(start)) => {
                    let _ = client.execute(&target, &stop, None, expect).await;
                    client.execute(&target, &start, None, expect).await.is_ok()
                }
                _ => false,
            };
            let _ = tx.send(Done::FellBack { phone, accepted });
        });
    }
}

/// Ask each phone whether packets arrive (StreamingStatisticsX?1 RcvrPackets > 0); each answer
/// (false when the phone cannot be asked) comes back through `tx`.
pub(crate) fn verify(
    client: &PushClient,
    plans: &Arc<Vec<PhonePlan>>,
    phones: Vec<usize>,
    tx: &mpsc::UnboundedSender<Done>,
) {
    for phone in phones {
        let target = plans[phone].target.clone();
        let client = client.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let receiving = match target {
                Some(t) => match client
                    .device_page(&t, crate::xsi::query::DeviceQuery::FIRST_STREAM)
                    .await
                {
                    Ok(r) => crate::xsi::response::parse_device_page(&r.body)
                        .ok()
                        .and_then(|p| p.streaming_stats().rcvr_packets)
                        .is_some_and(|n| n > 0),
                    Err(_) => false,
                },
                None => false,
            };
            let _ = tx.send(Done::Verified { phone, receiving });
        });
    }
}

/// Silence, forever (a stand-in where a source was already handed on).
pub(crate) struct Silence;

impl PayloadSource for Silence {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        out.fill(crate::g711::Law::Ulaw.silence());
        true
    }
}

/// The payload of 20 ms of silence in a stream's codec.
pub(crate) type SilenceFrame = [u8; PAYLOAD_LEN];

/// The frame the main stream sent last, for a unicast copy that follows it.
#[derive(Debug, Default)]
pub(crate) struct TeeSlot {
    frame: Option<[u8; PAYLOAD_LEN]>,
    ended: bool,
}

/// The main stream's source, keeping each frame it produces for followers, and telling the
/// loop once it has ended.
pub(crate) struct Tee {
    inner: Box<dyn PayloadSource>,
    slot: Arc<std::sync::Mutex<TeeSlot>>,
    on_end: Option<oneshot::Sender<()>>,
}

impl Tee {
    pub(crate) fn new(
        inner: Box<dyn PayloadSource>,
        slot: Arc<std::sync::Mutex<TeeSlot>>,
        on_end: oneshot::Sender<()>,
    ) -> Tee {
        Tee {
            inner,
            slot,
            on_end: Some(on_end),
        }
    }
}

impl PayloadSource for Tee {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        let more = self.inner.next_payload(out);
        {
            let mut s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            s.frame = Some(*out);
            s.ended = !more;
        }
        if !more && let Some(tx) = self.on_end.take() {
            let _ = tx.send(());
        }
        more
    }
}

/// A copy of the main stream: sends whatever frame the main stream sent last, and ends with it.
pub(crate) struct Follower {
    slot: Arc<std::sync::Mutex<TeeSlot>>,
    silence: SilenceFrame,
}

impl Follower {
    pub(crate) fn new(slot: Arc<std::sync::Mutex<TeeSlot>>, silence: SilenceFrame) -> Follower {
        Follower { slot, silence }
    }
}

impl PayloadSource for Follower {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        let s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if s.ended {
            return false;
        }
        match &s.frame {
            Some(f) => out.copy_from_slice(f),
            None => *out = self.silence,
        }
        true
    }
}

/// Another source's G.711 in the other law (a SIP endpoint that answered with it).
pub(crate) struct Recoded {
    inner: Box<dyn PayloadSource>,
    from: crate::g711::Law,
    to: crate::g711::Law,
}

impl Recoded {
    pub(crate) fn new(
        inner: Box<dyn PayloadSource>,
        from: crate::g711::Law,
        to: crate::g711::Law,
    ) -> Recoded {
        Recoded { inner, from, to }
    }
}

impl PayloadSource for Recoded {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        if !self.inner.next_payload(out) {
            return false;
        }
        if self.from != self.to {
            for b in out.iter_mut() {
                *b = self.to.encode(self.from.decode(*b));
            }
        }
        true
    }
}

/// Silence until the gate opens, then the source.
pub(crate) struct Gated {
    open: Arc<AtomicBool>,
    inner: Box<dyn PayloadSource>,
    silence: Box<dyn PayloadSource>,
}

impl Gated {
    /// `silence` plays (in the stream's codec) until the gate opens.
    pub(crate) fn new(
        open: Arc<AtomicBool>,
        inner: Box<dyn PayloadSource>,
        silence: Box<dyn PayloadSource>,
    ) -> Gated {
        Gated {
            open,
            inner,
            silence,
        }
    }
}

impl PayloadSource for Gated {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        if self.open.load(Ordering::Acquire) {
            self.inner.next_payload(out)
        } else {
            self.silence.next_payload(out)
        }
    }
}
