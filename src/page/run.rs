//! The thin tokio shell around a [`Session`]: it carries out the session's outputs (journal
//! writes, the media stream on the pacer, pushes through the push client) and feeds back what
//! happens (push outcomes, stop requests, the source's end, the duration, preemption seen in the
//! journal, `--verify` results).

use std::net::SocketAddrV4;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::journal::{Journal, JournalOp, JournalPhone, PageRecord};
use super::plan::{Delivery, PhonePlan};
use super::report::DeliveryReport;
use super::session::{Input, Output, Session, Step};
use crate::g711::Law;
use crate::push::{PushClient, PushOutcome};
use crate::rtp::pacer::PayloadSource;
use crate::rtp::packet::PAYLOAD_LEN;
use crate::rtp::{
    Destination, Pacer, Packetizer, RtpPort, SenderOptions, StreamHandle, StreamSpec,
};

/// Everything one page needs.
pub struct PageJob {
    /// Page id (unique; journal key).
    pub id: String,
    /// Zone name.
    pub zone: String,
    /// Priority name and rank.
    pub priority: (String, usize),
    /// How the audio travels.
    pub delivery: Delivery,
    /// Per phone plans.
    pub plans: Vec<PhonePlan>,
    /// The audio.
    pub source: Box<dyn PayloadSource>,
    /// G.711 law of the source.
    pub law: Law,
    /// Multicast TTL and interface.
    pub sender: SenderOptions,
    /// End after this long.
    pub duration: Option<Duration>,
    /// Longest the source waits, after the first phone accepted, for the others: until then
    /// the stream carries silence so late phones miss nothing.
    pub gate: Duration,
    /// The journal.
    pub journal: Journal,
    /// The push client.
    pub client: PushClient,
    /// `--verify`: poll each accepted phone's StreamingStatisticsX after this grace.
    pub verify: Option<Duration>,
    /// `--via media`: the listener the phones call back when their user hangs up.
    pub callbacks: Option<super::callbacks::Callbacks>,
    /// With `--verify` on a multicast page: phones that receive nothing are switched to a
    /// unicast copy of the stream sent from this address and port.
    pub fallback: Option<(std::net::Ipv4Addr, RtpPort)>,
    /// Where the page's live state goes (a fresh report at most every 200 ms while something
    /// changed, and the final one): the server's "active pages" view.
    pub live: Option<watch::Sender<DeliveryReport>>,
}

/// The frame the main stream sent last, for a unicast copy that follows it.
#[derive(Debug, Default)]
struct TeeSlot {
    count: u64,
    frame: Option<[u8; PAYLOAD_LEN]>,
    ended: bool,
}

/// The main stream's source, keeping each frame it produces for followers.
struct Tee {
    inner: Box<dyn PayloadSource>,
    slot: Arc<std::sync::Mutex<TeeSlot>>,
}

impl PayloadSource for Tee {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        let more = self.inner.next_payload(out);
        let mut s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        s.count += 1;
        s.frame = Some(*out);
        s.ended = !more;
        more
    }
}

/// A copy of the main stream: sends whatever frame the main stream sent last, and ends with it.
struct Follower {
    slot: Arc<std::sync::Mutex<TeeSlot>>,
    silence: u8,
}

impl PayloadSource for Follower {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        let s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if s.ended {
            return false;
        }
        match &s.frame {
            Some(f) => out.copy_from_slice(f),
            None => out.fill(self.silence),
        }
        true
    }
}

/// Silence until `open` is set, then the source.
struct Gated {
    open: Arc<AtomicBool>,
    inner: Box<dyn PayloadSource>,
    silence: u8,
}

impl PayloadSource for Gated {
    fn next_payload(&mut self, out: &mut [u8; PAYLOAD_LEN]) -> bool {
        if self.open.load(Ordering::Acquire) {
            self.inner.next_payload(out)
        } else {
            out.fill(self.silence);
            true
        }
    }
}

fn delivery_text(d: &Delivery) -> String {
    match d {
        Delivery::Multicast { group, port } => format!("multicast {group}:{port}"),
        Delivery::Unicast { port, .. } => format!("unicast from port {port}"),
    }
}

/// Why a page could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The journal could not be written before starting: no phone was touched.
    #[error("cannot write the journal {path}: {source}")]
    Journal {
        /// The journal.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The media stream could not be opened: phones already started were stopped.
    #[error("cannot open the media stream: {0}")]
    Media(std::io::Error),
}

struct Shell {
    job_id: String,
    journal: Journal,
    client: PushClient,
    plans: Arc<Vec<PhonePlan>>,
    /// Stream ids the phones gave to startMedia, by phone index.
    media_ids: Arc<std::sync::Mutex<std::collections::HashMap<usize, String>>>,
    tx: mpsc::UnboundedSender<(usize, Step, PushOutcome)>,
    stream: Option<StreamHandle>,
    follower: Option<StreamHandle>,
    media_error: Option<std::io::Error>,
}

impl Shell {
    fn push(&self, phone: usize, step: Step) {
        let plans = self.plans.clone();
        let client = self.client.clone();
        let tx = self.tx.clone();
        let ids = self.media_ids.clone();
        tokio::spawn(async move {
            let p = &plans[phone];
            if p.via_media && step != Step::Banner {
                let outcome = match &p.target {
                    Some(t) => media_push(&client, t, p, phone, step, &ids).await,
                    None => PushOutcome::Unsupported {
                        reason: "no target".into(),
                    },
                };
                let _ = tx.send((phone, step, outcome));
                return;
            }
            let xml = match step {
                Step::Start => p.start_xml.as_str(),
                Step::Banner => p.banner.as_ref().map_or("", |b| b.xml.as_str()),
                Step::Stop => p.stop_xml.as_str(),
            };
            let outcome = match &p.target {
                // A start must not run twice: a retry after a lost answer is refused as
                // "Tx/Rx is already active" by a phone that did start.
                Some(t) if step == Step::Start => {
                    client.execute_once(t, xml, None, p.expect_reply).await
                }
                Some(t) => client.execute(t, xml, None, p.expect_reply).await,
                None => PushOutcome::Unsupported {
                    reason: "no target".into(),
                },
            };
            let _ = tx.send((phone, step, outcome));
        });
    }
}

/// startMedia (keeping the stream id the phone answers) or stopMedia with that id (and the
/// banner's clearing), for a phone paged through the RTP Streaming API.
async fn media_push(
    client: &PushClient,
    target: &crate::push::Phone,
    p: &PhonePlan,
    phone: usize,
    step: Step,
    ids: &std::sync::Mutex<std::collections::HashMap<usize, String>>,
) -> PushOutcome {
    use crate::xsi::object::{StopMedia, XmlObject};
    use crate::xsi::response::{MediaErrorType, MediaReply, PhoneError, parse_media_reply};
    let xml = match step {
        Step::Start => p.start_xml.clone(),
        _ => {
            let id = ids
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&phone)
                .cloned();
            id.and_then(|id| StopMedia::id(&id).ok())
                .unwrap_or_default()
                .to_xml()
        }
    };
    let sent = if step == Step::Start {
        client.post_execute_once(target, &xml, None).await
    } else {
        client.post_execute(target, &xml, None).await
    };
    let reply = match sent {
        Ok(r) => r,
        Err(e) => return PushOutcome::from_exchange(Err(e), true),
    };
    if reply.status == 401 {
        return PushOutcome::AuthFailed;
    }
    let outcome = match (step, parse_media_reply(&reply.body)) {
        (Step::Start, Ok(MediaReply::Started(s))) if reply.status == 200 => {
            ids.lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(phone, s.id);
            PushOutcome::Ok { items: Vec::new() }
        }
        (_, Ok(MediaReply::PhoneError(PhoneError::Authentication))) => PushOutcome::AuthFailed,
        // The stream is already gone (its user hung up): stopped is what we wanted.
        (Step::Stop, Ok(MediaReply::Error(e))) if e.kind == MediaErrorType::InvalidResourceId => {
            PushOutcome::Ok { items: Vec::new() }
        }
        (_, Ok(MediaReply::Error(e))) => PushOutcome::Rejected {
            status: u32::from(reply.status),
            data: format!("{:?}: {}", e.kind, e.data),
            url: String::new(),
        },
        (Step::Stop, _) if reply.status == 200 => PushOutcome::Ok { items: Vec::new() },
        (_, Ok(other)) => PushOutcome::BadResponse {
            reason: format!("unexpected answer to {}: {other:?}", p.start_uri),
        },
        (_, Err(e)) => PushOutcome::BadResponse {
            reason: format!("HTTP {}: {e}", reply.status),
        },
    };
    if step == Step::Stop
        && outcome.is_ok()
        && let Some(clear) = &p.banner_clear_xml
    {
        let _ = client.execute(target, clear, None, p.expect_reply).await;
    }
    outcome
}

/// Run one page to its end. `stop` carries a reason when the page must end early (Ctrl-C,
/// SIGTERM, a stop command).
pub async fn run(
    job: PageJob,
    pacer: &Pacer,
    mut stop: watch::Receiver<Option<String>>,
) -> Result<DeliveryReport, RunError> {
    let t0 = Instant::now();
    let now = || t0.elapsed().as_secs_f64() * 1000.0;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let plans = Arc::new(job.plans.clone());
    let mut session = Session::new(job.plans);
    let open = Arc::new(AtomicBool::new(false));
    let tee = Arc::new(std::sync::Mutex::new(TeeSlot::default()));
    let mut source = Some(Tee {
        inner: Box::new(Gated {
            open: open.clone(),
            inner: job.source,
            silence: job.law.silence(),
        }),
        slot: tee.clone(),
    });
    let mut shell = Shell {
        job_id: job.id.clone(),
        journal: job.journal.clone(),
        client: job.client.clone(),
        plans: plans.clone(),
        tx,
        stream: None,
        follower: None,
        media_error: None,
        media_ids: Default::default(),
    };
    let record = PageRecord {
        page: job.id.clone(),
        pid: std::process::id(),
        zone: job.zone.clone(),
        priority: job.priority.0.clone(),
        rank: job.priority.1,
        started_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        phones: plans
            .iter()
            .filter(|p| p.refused.is_none())
            .map(|p| JournalPhone {
                name: p.name.clone(),
                stop_xml: p.stop_xml.clone(),
                expect_reply: p.expect_reply,
            })
            .collect(),
        group: match job.delivery {
            Delivery::Multicast { group, .. } => Some(group),
            Delivery::Unicast { .. } => None,
        },
        port: Some(match job.delivery {
            Delivery::Multicast { port, .. } | Delivery::Unicast { port, .. } => port.get(),
        }),
    };
    let destinations: Vec<Destination> = match job.delivery {
        Delivery::Multicast { group, port } => vec![Destination::new(group, port)],
        Delivery::Unicast { .. } => plans
            .iter()
            .filter(|p| p.refused.is_none())
            .filter_map(|p| p.dest)
            .filter_map(|d: SocketAddrV4| {
                RtpPort::new(d.port())
                    .ok()
                    .map(|port| Destination::new(*d.ip(), port))
            })
            .collect(),
    };

    let mut pending = 0usize;
    let mut first_accept: Option<Instant> = None;
    let mut starts_left = 0usize;
    let mut finished = false;
    let mut apply = |outs: Vec<Output>,
                     shell: &mut Shell,
                     pending: &mut usize,
                     starts_left: &mut usize,
                     finished: &mut bool|
     -> Result<(), RunError> {
        for o in outs {
            match o {
                Output::Journal(JournalOp::Begin { .. }) => {
                    shell
                        .journal
                        .begin(&record)
                        .map_err(|source| RunError::Journal {
                            path: shell.journal.path().display().to_string(),
                            source,
                        })?;
                }
                Output::Journal(op) => {
                    if let Err(e) = shell.journal.record(&shell.job_id, &op) {
                        tracing::warn!("journal {}: {e}", shell.journal.path().display());
                    }
                }
                Output::StartMedia => {
                    let spec = StreamSpec {
                        destinations: destinations.clone(),
                        sender: job.sender,
                        packetizer: Packetizer::random(job.law),
                        payload: Box::new(source.take().expect("media starts once")),
                        max_packets: None,
                    };
                    match pacer.add(spec) {
                        Ok(h) => shell.stream = Some(h),
                        Err(e) => shell.media_error = Some(e),
                    }
                }
                Output::Push { phone, step } => {
                    *pending += 1;
                    if step == Step::Start {
                        *starts_left += 1;
                    }
                    shell.push(phone, step);
                }
                Output::StopMedia => {
                    if let Some(s) = &shell.stream {
                        s.stop();
                    }
                    if let Some(s) = &shell.follower {
                        s.stop();
                    }
                }
                Output::Finished => *finished = true,
            }
        }
        Ok(())
    };

    let outs = session.start(now());
    apply(
        outs,
        &mut shell,
        &mut pending,
        &mut starts_left,
        &mut finished,
    )?;
    if shell.media_error.is_some() {
        let outs = session.handle(
            now(),
            Input::End {
                reason: "the media stream could not open".into(),
            },
        );
        apply(
            outs,
            &mut shell,
            &mut pending,
            &mut starts_left,
            &mut finished,
        )?;
    }
    let duration_end = job.duration.map(|d| tokio::time::Instant::now() + d);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut last_journal_check = Instant::now();
    let mut verified = false;
    let mut callbacks = job.callbacks;
    let live = job.live;
    let mut last_live = Instant::now();
    let delivery = delivery_text(&job.delivery);
    let publish = |session: &Session| {
        if let Some(l) = &live {
            l.send_replace(session.report(&job.id, &job.zone, &job.priority.0, &delivery));
        }
    };
    publish(&session);
    while !finished {
        let callback = async {
            match callbacks.as_mut() {
                Some(c) => c.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // The listener serves this page only: stream ids are enough to find the phone.
            Some((key, cb)) = callback => {
                use crate::xsi::response::{AppEventType, Callback};
                // The key may name the phone after a '~' (the server's per-phone handlers).
                let named = key
                    .split_once('~')
                    .and_then(|(_, name)| plans.iter().position(|p| p.name == name));
                let id = match cb {
                    Callback::MediaEvent { stream_id, .. } => stream_id,
                    Callback::StreamStopped { id } => id,
                    Callback::ApplicationEvent { kind, .. } => {
                        if let Some(phone) = named {
                            let event = match kind {
                                AppEventType::FocusLost => "focusLost".to_owned(),
                                AppEventType::FocusGained => "focusGained".to_owned(),
                                AppEventType::Minimized => "minimized".to_owned(),
                                AppEventType::Closed => "closed".to_owned(),
                                AppEventType::Other(o) => o,
                            };
                            let outs = session.handle(now(), Input::AppEvent { phone, event });
                            apply(outs, &mut shell, &mut pending, &mut starts_left, &mut finished)?;
                        }
                        None
                    }
                    _ => None,
                };
                let phone = id.and_then(|id| {
                    shell.media_ids.lock().unwrap_or_else(|e| e.into_inner())
                        .iter().find(|(_, v)| **v == id).map(|(k, _)| *k)
                });
                if let Some(phone) = phone {
                    let outs = session.handle(now(), Input::StoppedByUser { phone });
                    apply(outs, &mut shell, &mut pending, &mut starts_left, &mut finished)?;
                }
            }
            Some((phone, step, outcome)) = rx.recv() => {
                pending -= 1;
                if step == Step::Start {
                    starts_left -= 1;
                    if outcome.is_ok() && first_accept.is_none() {
                        first_accept = Some(Instant::now());
                    }
                }
                let outs = session.handle(now(), Input::PushDone { phone, step, outcome });
                apply(outs, &mut shell, &mut pending, &mut starts_left, &mut finished)?;
            }
            changed = stop.changed() => {
                let reason = if changed.is_ok() {
                    stop.borrow().clone().unwrap_or_else(|| "stopped".into())
                } else {
                    "stopped".into()
                };
                let outs = session.handle(now(), Input::End { reason });
                apply(outs, &mut shell, &mut pending, &mut starts_left, &mut finished)?;
            }
            _ = tick.tick() => {
                if live.is_some() && last_live.elapsed() >= Duration::from_millis(200) {
                    last_live = Instant::now();
                    publish(&session);
                }
                // Open the gate: every start answered, or long enough after the first accept.
                if !open.load(Ordering::Relaxed)
                    && (starts_left == 0 || first_accept.is_some_and(|t| t.elapsed() >= job.gate))
                {
                    open.store(true, Ordering::Release);
                }
                if !session.is_ending() {
                    let source_ended = shell.stream.as_ref().is_some_and(|s| s.wait(Some(Duration::ZERO)));
                    let reason = if source_ended {
                        Some("source ended")
                    } else if duration_end.is_some_and(|d| tokio::time::Instant::now() >= d) {
                        Some("duration")
                    } else {
                        None
                    };
                    if let Some(reason) = reason {
                        let outs = session.handle(now(), Input::End { reason: reason.into() });
                        apply(outs, &mut shell, &mut pending, &mut starts_left, &mut finished)?;
                        continue;
                    }
                }
                // Another page of higher priority may have taken phones over.
                if last_journal_check.elapsed() >= Duration::from_millis(250) && !session.is_ending() {
                    last_journal_check = Instant::now();
                    if let Ok(pages) = shell.journal.pages()
                        && let Some(me) = pages.iter().find(|p| p.record.page == job.id)
                    {
                        let taken: Vec<usize> = session
                            .active_phones()
                            .into_iter()
                            .filter(|&i| !me.remaining.contains(&plans[i].name))
                            .collect();
                        if !taken.is_empty() {
                            let outs = session.handle(now(), Input::Preempted { phones: taken });
                            apply(outs, &mut shell, &mut pending, &mut starts_left, &mut finished)?;
                        }
                    }
                }
                if let Some(grace) = job.verify
                    && !verified
                    && starts_left == 0
                    && first_accept.is_some_and(|t| t.elapsed() >= grace)
                {
                    verified = true;
                    let mut silent = Vec::new();
                    for (i, receiving) in verify(&job.client, &plans, &session.active_phones()).await {
                        if !receiving {
                            silent.push(i);
                        }
                        let outs = session.handle(now(), Input::Verified { phone: i, receiving });
                        apply(outs, &mut shell, &mut pending, &mut starts_left, &mut finished)?;
                    }
                    if let (Some((source_ip, port)), Delivery::Multicast { .. }, false) =
                        (job.fallback, job.delivery, silent.is_empty())
                    {
                        let dests: Vec<Destination> = silent
                            .iter()
                            .filter_map(|&i| plans[i].ip.map(|ip| Destination::new(ip, port)))
                            .collect();
                        match pacer.add(StreamSpec {
                            destinations: dests,
                            sender: job.sender,
                            packetizer: Packetizer::random(job.law),
                            payload: Box::new(Follower { slot: tee.clone(), silence: job.law.silence() }),
                            max_packets: None,
                        }) {
                            Ok(h) => shell.follower = Some(h),
                            Err(e) => tracing::warn!("unicast fallback stream: {e}"),
                        }
                        for (i, accepted) in fall_back(&job.client, &plans, &silent, source_ip, port).await {
                            let outs = session.handle(now(), Input::FellBack { phone: i, accepted });
                            apply(outs, &mut shell, &mut pending, &mut starts_left, &mut finished)?;
                        }
                    }
                }
            }
        }
    }
    if let Some(s) = &shell.stream {
        s.stop();
    }
    if let Some(s) = &shell.follower {
        s.stop();
    }
    publish(&session);
    if let Some(e) = shell.media_error {
        return Err(RunError::Media(e));
    }
    Ok(session.report(&job.id, &job.zone, &job.priority.0, &delivery))
}

/// Switch silent multicast phones to unicast: `RTPMRx:Stop`, then `RTPRx:SOURCE:PORT` (two
/// pushes, because the items of one Execute may run in any order).
async fn fall_back(
    client: &PushClient,
    plans: &[PhonePlan],
    phones: &[usize],
    source: std::net::Ipv4Addr,
    port: RtpPort,
) -> Vec<(usize, bool)> {
    use crate::xsi::object::{Execute, ExecuteItem, ExecuteUrl, XmlObject};
    use crate::xsi::uri::Uri;
    let xml = |u: Uri| {
        ExecuteUrl::try_from(&u)
            .map(|url| Execute::new(ExecuteItem::new(url)).to_xml())
            .ok()
    };
    let mut set = tokio::task::JoinSet::new();
    for &i in phones {
        let (Some(target), Some(stop), Some(start)) = (
            plans[i].target.clone(),
            xml(Uri::RtpMRxStop),
            Uri::rtp_rx(source, port, None, None).ok().and_then(xml),
        ) else {
            continue;
        };
        let client = client.clone();
        let expect = plans[i].expect_reply;
        set.spawn(async move {
            let _ = client.execute(&target, &stop, None, expect).await;
            (
                i,
                client.execute(&target, &start, None, expect).await.is_ok(),
            )
        });
    }
    let mut out = Vec::new();
    while let Some(Ok(r)) = set.join_next().await {
        out.push(r);
    }
    out
}

/// Ask each phone whether packets arrive (StreamingStatisticsX?1 RcvrPackets > 0).
async fn verify(client: &PushClient, plans: &[PhonePlan], phones: &[usize]) -> Vec<(usize, bool)> {
    let mut set = tokio::task::JoinSet::new();
    for &i in phones {
        let Some(target) = plans[i].target.clone() else {
            continue;
        };
        let client = client.clone();
        set.spawn(async move {
            let receiving = match client.get(&target, "/StreamingStatisticsX?1").await {
                Ok(r) => crate::xsi::response::parse_device_page(&r.body)
                    .ok()
                    .and_then(|p| p.streaming_stats().rcvr_packets)
                    .is_some_and(|n| n > 0),
                Err(_) => false,
            };
            (i, receiving)
        });
    }
    let mut out = Vec::new();
    while let Some(Ok(r)) = set.join_next().await {
        out.push(r);
    }
    out
}
