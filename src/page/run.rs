//! The thin tokio shell around a [`Session`]: one `select!` loop that feeds the session what
//! happens (push answers, callbacks, the stop signal, the source's end, timeouts) and carries
//! out what it returns (`Shell::carry`). Every paging decision is the session's; this
//! file only knows how to do things: write the journal, drive the media stream, push.
//!
//! Only the [`Pager`](super::pager::Pager) builds a `Job` and runs it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, watch};

use super::dial::CallEvent;
use super::journal::{Journal, JournalOp, JournalPhone, PageRecord};
use super::plan::{Delivery, PhonePlan};
use super::report::DeliveryReport;
use super::session::{Output, PushStep, Session, Timing};
use super::shell::{self, Done, Follower, Gated, Tee, TeeSlot};
use crate::g711::Law;
use crate::push::PushClient;
use crate::rtp::pacer::PayloadSource;
use crate::rtp::{
    Destination, Pacer, Packetizer, RtpPort, SenderOptions, StreamCodec, StreamHandle, StreamSpec,
};

/// When the talker's last packet came (`None`: none yet), for a page spoken from a phone.
pub type LastPacket = Arc<dyn Fn() -> Option<Instant> + Send + Sync>;

/// Whether another node took this page's phones since it began (a bell page of a standby
/// pair: the peer found this process silent, stopped them and may be paging them now); asked
/// as the page ends, before its stops.
#[derive(Clone)]
pub struct HandOverCheck(pub Arc<dyn Fn() -> HandOverAnswer + Send + Sync>);

/// The answer of a [`HandOverCheck`], to come.
pub type HandOverAnswer = std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>;

impl std::fmt::Debug for HandOverCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandOverCheck")
    }
}

/// Everything one page run needs (built by the [`Pager`](super::pager::Pager) only).
pub(crate) struct Job {
    pub id: String,
    pub zone: String,
    pub priority: (String, usize),
    pub delivery: Delivery,
    pub plans: Vec<PhonePlan>,
    pub source: Box<dyn PayloadSource>,
    pub law: Law,
    pub sender: SenderOptions,
    pub timing: Timing,
    pub journal: Journal,
    pub client: PushClient,
    pub callbacks: Option<super::callbacks::Callbacks>,
    /// The unicast copy's source address and port, for phones silent on multicast.
    pub fallback: Option<(std::net::Ipv4Addr, RtpPort)>,
    pub live: Option<watch::Sender<DeliveryReport>>,
    pub talker: Option<LastPacket>,
    /// Asked before the stops (with [`Timing::hand_over`]).
    pub hand_over: Option<HandOverCheck>,
    /// The page's G.722 stream, when it carries one.
    pub wide: Option<WideStream>,
    /// Told once the page's phones are in the journal and its first live state is out (dropped
    /// unsent when it could not start).
    pub begun: Option<oneshot::Sender<()>>,
    /// Calls the page's SIP endpoints.
    pub sip: Option<Arc<dyn super::dial::SipDialer>>,
}

/// A page's second stream: its sound in G.722 for the phones that take it.
pub(crate) struct WideStream {
    /// The sound as G.722 payloads (16 kHz audio), as long as the G.711 one.
    pub source: Box<dyn PayloadSource>,
    /// Where it goes (multicast: the zone's group on a port of its own).
    pub delivery: Delivery,
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

struct Shell<'a> {
    job: Job,
    pacer: &'a Pacer,
    plans: Arc<Vec<PhonePlan>>,
    tx: mpsc::UnboundedSender<Done>,
    gate: Arc<AtomicBool>,
    tee: Arc<std::sync::Mutex<TeeSlot>>,
    source: Option<Box<dyn PayloadSource>>,
    /// The G.722 stream's gated source, until its stream starts.
    wide_source: Option<Box<dyn PayloadSource>>,
    ended: Option<oneshot::Receiver<()>>,
    stream: Option<StreamHandle>,
    wide_stream: Option<StreamHandle>,
    follower: Option<StreamHandle>,
    /// G.711 copies: for phones that refused G.722 (unicast), and to the zone's IP speakers.
    narrowed: Vec<StreamHandle>,
    media_error: Option<std::io::Error>,
    delivery: String,
    /// Turns true when the page starts ending: unanswered calls are cancelled.
    ending: watch::Sender<bool>,
    /// SIP endpoints that answered: their dialogs (for the BYE) and their streams (`None`
    /// while the endpoint holds the call).
    answered: std::collections::HashMap<usize, (super::dial::SipDialog, Option<StreamHandle>)>,
    /// What answered calls' endpoints do by themselves, by target index.
    call_events: mpsc::UnboundedSender<(usize, CallEvent)>,
    /// A media change that came before its call's answer reached the shell.
    early_media: std::collections::HashMap<usize, (Option<std::net::SocketAddrV4>, Law)>,
}

/// Run one page to its end. `stop` carries a reason when the page must end early (Ctrl-C,
/// SIGTERM, a stop command).
pub(crate) async fn run(
    job: Job,
    pacer: &Pacer,
    mut stop: watch::Receiver<Option<String>>,
) -> Result<DeliveryReport, RunError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut job = job;
    let targets = std::mem::take(&mut job.plans);
    let plans = Arc::new(targets.clone());
    let mut session = Session::new(targets, job.timing);
    let mut sh = Shell::new(job, pacer, plans, tx, events_tx);
    let mut callbacks = sh.job.callbacks.take();
    session.start(Instant::now());
    // One timer, moved to each new deadline (a page of 10,000 phones goes round this loop
    // 20,000 times: no new timer each time).
    let sleep = shell::sleep_until(None);
    tokio::pin!(sleep);
    // What the timer is set to; `None` once it fired (a fired timer must be reset, even to
    // "never", or it fires again at once).
    let mut armed: Option<Option<Instant>> = None;
    loop {
        while let Some(o) = session.poll_output() {
            sh.carry(o, &mut session)?;
        }
        if session.is_ending() {
            sh.ending.send_if_modified(|e| !std::mem::replace(e, true));
        }
        if session.is_finished() {
            break;
        }
        let deadline = session.poll_timeout();
        if armed != Some(deadline) {
            armed = Some(deadline);
            sleep.as_mut().reset(shell::wake_at(deadline));
        }
        let ended = sh.ended.as_mut();
        tokio::select! {
            Some(done) = rx.recv() => match done {
                Done::Answered { phone, media, law, dialog } => sh.answered(phone, media, law, dialog),
                done => done.feed(&mut session, Instant::now()),
            },
            Some((phone, event)) = events.recv() => match event {
                CallEvent::Ended { why } => {
                    tracing::info!("{}: {why}", sh.plans[phone].name);
                    session.handle_target_ended(Instant::now(), phone, &why);
                }
                CallEvent::Media { media, law } => sh.moved(phone, media, law),
            },
            Some((key, cb)) = shell::next_callback(callbacks.as_mut()) => {
                // The key may name the phone after a '~' (the server's per-phone handlers).
                let phone = key.split_once('~').map(|(_, name)| name);
                session.handle_callback(Instant::now(), phone, cb);
            }
            changed = stop.changed() => {
                let reason = match changed {
                    Ok(()) => stop.borrow().clone().unwrap_or_else(|| "stopped".into()),
                    Err(_) => "stopped".into(),
                };
                session.handle_stop(Instant::now(), &reason);
            }
            Ok(()) = shell::ended(ended) => {
                sh.ended = None;
                session.handle_source_ended(Instant::now());
            }
            () = &mut sleep => {
                armed = None;
                session.handle_timeout(Instant::now());
            }
        }
    }
    sh.stop_media();
    sh.publish(&session);
    if let Some(e) = sh.media_error.take() {
        return Err(RunError::Media(e));
    }
    Ok(sh.report(&session))
}

impl<'a> Shell<'a> {
    fn new(
        mut job: Job,
        pacer: &'a Pacer,
        plans: Arc<Vec<PhonePlan>>,
        tx: mpsc::UnboundedSender<Done>,
        call_events: mpsc::UnboundedSender<(usize, CallEvent)>,
    ) -> Shell<'a> {
        let gate = Arc::new(AtomicBool::new(false));
        let tee = Arc::new(std::sync::Mutex::new(TeeSlot::default()));
        let (end_tx, end_rx) = oneshot::channel();
        let inner = std::mem::replace(&mut job.source, Box::new(shell::Silence));
        let source: Box<dyn PayloadSource> = Box::new(Tee::new(
            Box::new(Gated::new(
                gate.clone(),
                inner,
                StreamCodec::G711(job.law).silence(),
            )),
            tee.clone(),
            end_tx,
        ));
        let wide_source = job.wide.as_mut().map(|w| {
            let inner = std::mem::replace(&mut w.source, Box::new(shell::Silence));
            Box::new(Gated::new(gate.clone(), inner, StreamCodec::G722.silence()))
                as Box<dyn PayloadSource>
        });
        let mut delivery = match &job.delivery {
            Delivery::Multicast { group, port } => format!("multicast {group}:{port}"),
            Delivery::Unicast { port, .. } => format!("unicast from port {port}"),
        };
        if let Some(w) = &job.wide {
            delivery.push_str(&match w.delivery {
                Delivery::Multicast { group, port } => format!(", G.722 on {group}:{port}"),
                Delivery::Unicast { .. } => ", G.722 to the phones that take it".to_owned(),
            });
        }
        Shell {
            job,
            pacer,
            plans,
            tx,
            gate,
            tee,
            source: Some(source),
            wide_source,
            ended: Some(end_rx),
            stream: None,
            wide_stream: None,
            follower: None,
            narrowed: Vec::new(),
            media_error: None,
            delivery,
            ending: watch::channel(false).0,
            answered: std::collections::HashMap::new(),
            call_events,
            early_media: std::collections::HashMap::new(),
        }
    }

    fn report(&self, session: &Session) -> DeliveryReport {
        let j = &self.job;
        session.report(&j.id, &j.zone, &j.priority.0, &self.delivery)
    }

    fn publish(&self, session: &Session) {
        if let Some(l) = &self.job.live {
            l.send_replace(self.report(session));
        }
    }

    fn stop_media(&self) {
        for s in [&self.stream, &self.wide_stream, &self.follower]
            .into_iter()
            .flatten()
            .chain(&self.narrowed)
            .chain(self.answered.values().filter_map(|(_, h)| h.as_ref()))
        {
            s.stop();
        }
    }

    /// Carry out one output of the session.
    fn carry(&mut self, o: Output, session: &mut Session) -> Result<(), RunError> {
        match o {
            Output::Journal(JournalOp::Begin { .. }) => {
                self.job
                    .journal
                    .begin(&self.record())
                    .map_err(|source| RunError::Journal {
                        path: self.job.journal.path().display().to_string(),
                        source,
                    })?;
            }
            Output::Journal(op) => {
                if let JournalOp::Released { phones } = &op {
                    self.released(phones);
                }
                if let Err(e) = self.job.journal.record(&self.job.id, &op) {
                    tracing::warn!("journal {}: {e}", self.job.journal.path().display());
                }
            }
            Output::StartMedia => {
                if let Err(e) = self.start_media() {
                    self.media_error = Some(e);
                    session.handle_media_failed(Instant::now());
                }
            }
            Output::Narrow { phone } => self.narrow(phone),
            Output::OpenGate => self.gate.store(true, Ordering::Release),
            Output::Push { phone, step } if self.plans[phone].sip.is_some() => {
                self.dial(phone, step);
            }
            Output::Push { phone, step } => {
                let media_id = match step {
                    PushStep::Stop => session.media_id(phone).map(str::to_owned),
                    _ => None,
                };
                shell::push(
                    &self.job.client,
                    &self.plans,
                    phone,
                    step,
                    media_id,
                    &self.tx,
                );
            }
            Output::Verify { phones } => {
                shell::verify(&self.job.client, &self.plans, phones, &self.tx)
            }
            Output::FallBack { phones } => self.fall_back(phones),
            Output::CheckPreemption => {
                let pages = self.job.journal.pages();
                let me = pages
                    .as_ref()
                    .ok()
                    .and_then(|p| p.iter().find(|p| p.record.page == self.job.id));
                session.handle_journal(Instant::now(), me.map(|p| &p.remaining));
            }
            Output::AskHandOver => self.ask_hand_over(session),
            Output::ReadTalker => {
                let last = self.job.talker.as_ref().and_then(|f| f());
                session.handle_talker(Instant::now(), last);
            }
            Output::Publish => {
                self.publish(session);
                // The first state is out (every phone in the journal, every start on its
                // way): whoever started the page may go on.
                if let Some(b) = self.job.begun.take() {
                    let _ = b.send(());
                }
            }
            Output::Leave { phone } => {
                // Its call is over: no stream, and nothing to hang up at the end.
                if let Some((_, Some(h))) = self.answered.remove(&phone) {
                    h.stop();
                }
            }
            Output::StopMedia => self.stop_media(),
            Output::Finished => {}
        }
        Ok(())
    }

    /// The page's streams: G.711 to the group or the G.711 phones, and G.722 (when the page
    /// carries it) to its group port or the G.722 phones.
    fn start_media(&mut self) -> std::io::Result<()> {
        let narrow = StreamSpec {
            destinations: self.destinations(self.job.delivery, false),
            sender: self.job.sender,
            packetizer: Packetizer::random(self.job.law),
            payload: self
                .source
                .take()
                .unwrap_or_else(|| Box::new(shell::Silence)),
            max_packets: None,
        };
        self.stream = Some(self.pacer.add(narrow)?);
        if let (Some(wide), Some(payload)) = (&self.job.wide, self.wide_source.take()) {
            let spec = StreamSpec {
                destinations: self.destinations(wide.delivery, true),
                sender: self.job.sender,
                packetizer: StreamCodec::G722.packetizer(),
                payload,
                max_packets: None,
            };
            self.wide_stream = Some(self.pacer.add(spec)?);
        }
        self.start_speakers();
        Ok(())
    }

    /// The zone's IP speakers get a copy of the G.711 stream at their own addresses.
    fn start_speakers(&mut self) {
        let dests: Vec<Destination> = self
            .plans
            .iter()
            .filter_map(|p| p.speaker_dest)
            .filter_map(|d| {
                std::num::NonZeroU16::new(d.port()).map(|port| Destination::to_port(*d.ip(), port))
            })
            .collect();
        if dests.is_empty() {
            return;
        }
        match self.copy_to(dests) {
            Ok(h) => self.narrowed.push(h),
            Err(e) => tracing::warn!("the stream to the zone's speakers: {e}"),
        }
    }

    /// A SIP endpoint's start (the call) or stop (its hang-up), in a task; the outcome comes
    /// back as a push's would (and, answered, a [`Done::Answered`] first).
    fn dial(&mut self, phone: usize, step: PushStep) {
        use super::dial::{CallEnd, SipCall};
        use crate::push::PushOutcome;
        let tx = self.tx.clone();
        let Some(dialer) = self.job.sip.clone() else {
            let _ = tx.send(Done::Push {
                phone,
                step,
                outcome: PushOutcome::Unsupported {
                    reason: "no SIP user agent".into(),
                },
                media_id: None,
            });
            return;
        };
        let Some(target) = self.plans[phone].sip.as_deref() else {
            return;
        };
        let name = self.plans[phone].name.clone();
        if step != PushStep::Start {
            // Only an answered call has anything to end (an unanswered one was cancelled
            // by the dialer itself before its start came back).
            let dialog = self.answered.get(&phone).map(|(d, _)| d.clone());
            tokio::spawn(async move {
                let outcome = match dialog {
                    None => PushOutcome::Ok { items: Vec::new() },
                    Some(d) => match dialer.hang_up(d).await {
                        Ok(()) => PushOutcome::Ok { items: Vec::new() },
                        Err(reason) => PushOutcome::Unreachable {
                            reason: format!("BYE: {reason}"),
                            connected: true,
                        },
                    },
                };
                let _ = tx.send(Done::Push {
                    phone,
                    step,
                    outcome,
                    media_id: None,
                });
            });
            return;
        }
        let call = SipCall {
            endpoint: name.clone(),
            dialog: target.dialog.clone(),
            law: self.job.law,
            offer: target.offer,
        };
        let (journal, page) = (self.job.journal.clone(), self.job.id.clone());
        let on_dialog: super::dial::OnDialog = Box::new(move |d| {
            let op = JournalOp::Dialog {
                phone: name.clone(),
                dialog: Box::new(d.clone()),
            };
            if let Err(e) = journal.record(&page, &op) {
                tracing::warn!("journal {}: {e}", journal.path().display());
            }
        });
        let ending = self.ending.subscribe();
        let events = self.call_events.clone();
        let on_event: super::dial::OnCallEvent = Box::new(move |e| {
            let _ = events.send((phone, e));
        });
        tokio::spawn(async move {
            let end = dialer.call(call, on_dialog, on_event, ending).await;
            let outcome = match end {
                CallEnd::Answered { media, law, dialog } => {
                    let _ = tx.send(Done::Answered {
                        phone,
                        media,
                        law,
                        dialog,
                    });
                    PushOutcome::Ok { items: Vec::new() }
                }
                CallEnd::Refused { status, .. } => PushOutcome::Rejected {
                    status: u32::from(status),
                    data: end.words(),
                    url: String::new(),
                },
                CallEnd::NoAnswer => PushOutcome::Rejected {
                    status: 408,
                    data: end.words(),
                    url: String::new(),
                },
                CallEnd::Cancelled => PushOutcome::Rejected {
                    status: 487,
                    data: end.words(),
                    url: String::new(),
                },
                CallEnd::Unreachable(ref why) => PushOutcome::Unreachable {
                    reason: why.clone(),
                    connected: false,
                },
            };
            let _ = tx.send(Done::Push {
                phone,
                step,
                outcome,
                media_id: None,
            });
        });
    }

    /// Ask the job's [`HandOverCheck`]: taken, every phone it pushed to (not a SIP endpoint,
    /// whose call only this node can end) is left to the other node.
    fn ask_hand_over(&mut self, session: &mut Session) {
        let Some(check) = self.job.hand_over.clone() else {
            session.handle_hand_over(Instant::now(), &[]);
            return;
        };
        let phones: Vec<usize> = (0..self.plans.len())
            .filter(|&i| self.plans[i].sip.is_none())
            .collect();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let phones = if (check.0)().await {
                phones
            } else {
                Vec::new()
            };
            let _ = tx.send(Done::HandedOver { phones });
        });
    }

    /// SIP endpoints taken over by a higher page (which hung up our call): their streams stop.
    fn released(&mut self, names: &[String]) {
        let plans = &self.plans;
        self.answered.retain(|&i, (_, h)| {
            let gone = names.contains(&plans[i].name);
            if gone && let Some(h) = h {
                h.stop();
            }
            !gone
        });
    }

    /// An answered endpoint moved its media (a re-INVITE or UPDATE): its stream goes to the
    /// new address in its law, or stops while it holds the call (`media` is `None`).
    fn moved(&mut self, phone: usize, media: Option<std::net::SocketAddrV4>, law: Law) {
        let Some((_, handle)) = self.answered.get_mut(&phone) else {
            // The answer is still on its way to the shell: applied when it comes.
            self.early_media.insert(phone, (media, law));
            return;
        };
        if let Some(h) = handle.take() {
            h.stop();
        }
        let Some(media) = media else { return };
        match self.endpoint_stream(media, law) {
            Ok(h) => {
                if let Some((_, slot)) = self.answered.get_mut(&phone) {
                    *slot = h;
                }
            }
            Err(e) => tracing::warn!("the stream to {}: {e}", self.plans[phone].name),
        }
    }

    /// A SIP endpoint answered: a copy of the G.711 stream to its media address.
    fn answered(
        &mut self,
        phone: usize,
        media: std::net::SocketAddrV4,
        law: Law,
        dialog: Box<super::dial::SipDialog>,
    ) {
        match self.endpoint_stream(media, law) {
            Ok(h) => {
                self.answered.insert(phone, (*dialog, h));
                if let Some((media, law)) = self.early_media.remove(&phone) {
                    self.moved(phone, media, law);
                }
            }
            Err(e) => tracing::warn!("the stream to {}: {e}", self.plans[phone].name),
        }
    }

    /// A copy of the G.711 stream in `law` to an endpoint's media address (`None`: port 0,
    /// a stream it declined).
    fn endpoint_stream(
        &self,
        media: std::net::SocketAddrV4,
        law: Law,
    ) -> std::io::Result<Option<StreamHandle>> {
        let Some(port) = std::num::NonZeroU16::new(media.port()) else {
            return Ok(None);
        };
        let spec = StreamSpec {
            destinations: vec![Destination::to_port(*media.ip(), port)],
            sender: self.job.sender,
            packetizer: Packetizer::random(law),
            payload: Box::new(shell::Recoded::new(
                Box::new(Follower::new(
                    self.tee.clone(),
                    [self.job.law.silence(); crate::rtp::packet::PAYLOAD_LEN],
                )),
                self.job.law,
                law,
            )),
            max_packets: None,
        };
        self.pacer.add(spec).map(Some)
    }

    /// A unicast copy of the G.711 stream to `dests` (it sends what the main stream sent last).
    fn copy_to(&self, dests: Vec<Destination>) -> std::io::Result<StreamHandle> {
        self.pacer.add(StreamSpec {
            destinations: dests,
            sender: self.job.sender,
            packetizer: Packetizer::random(self.job.law),
            payload: Box::new(Follower::new(
                self.tee.clone(),
                [self.job.law.silence(); crate::rtp::packet::PAYLOAD_LEN],
            )),
            max_packets: None,
        })
    }

    /// A phone that refused G.722 is started on G.711: on a unicast page it gets a G.711 copy
    /// at its own port (a multicast page's G.711 stream already goes to the group).
    fn narrow(&mut self, phone: usize) {
        let Some(dest) = self.plans[phone].narrow.as_ref().and_then(|n| n.dest) else {
            return;
        };
        let Ok(port) = RtpPort::new(dest.port()) else {
            return;
        };
        match self.copy_to(vec![Destination::new(*dest.ip(), port)]) {
            Ok(h) => self.narrowed.push(h),
            Err(e) => tracing::warn!("G.711 copy for {}: {e}", self.plans[phone].name),
        }
    }

    /// The unicast copy for phones silent on multicast, and the pushes that switch them to it.
    fn fall_back(&mut self, phones: Vec<usize>) {
        let Some((source_ip, port)) = self.job.fallback else {
            return;
        };
        let dests: Vec<Destination> = phones
            .iter()
            .filter_map(|&i| self.plans[i].ip.map(|ip| Destination::new(ip, port)))
            .collect();
        match self.copy_to(dests) {
            Ok(h) => self.follower = Some(h),
            Err(e) => tracing::warn!("unicast fallback stream: {e}"),
        }
        shell::fall_back(
            &self.job.client,
            &self.plans,
            phones,
            source_ip,
            port,
            &self.tx,
        );
    }

    /// Where a stream delivered by `delivery` goes: its group, or the unicast phones started
    /// on it (`wideband`: the G.722 ones, else the others).
    fn destinations(&self, delivery: Delivery, wideband: bool) -> Vec<Destination> {
        match delivery {
            Delivery::Multicast { group, port } => vec![Destination::new(group, port)],
            Delivery::Unicast { .. } => self
                .plans
                .iter()
                .filter(|p| p.refused.is_none() && p.wideband == wideband)
                .filter_map(|p| p.dest)
                .filter_map(|d| {
                    RtpPort::new(d.port())
                        .ok()
                        .map(|port| Destination::new(*d.ip(), port))
                })
                .collect(),
        }
    }

    /// The journal's record of this page: every phone's stop, before any start.
    fn record(&self) -> PageRecord {
        let j = &self.job;
        PageRecord {
            page: j.id.clone(),
            pid: std::process::id(),
            zone: j.zone.clone(),
            priority: j.priority.0.clone(),
            rank: j.priority.1,
            started_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            phones: self
                .plans
                .iter()
                .filter(|p| p.refused.is_none() && p.speaker_dest.is_none())
                .map(|p| match &p.sip {
                    Some(t) => JournalPhone::sip(&p.name, &t.dialog),
                    None => JournalPhone {
                        name: p.name.clone(),
                        stop_xml: p.stop_xml.clone(),
                        expect_reply: p.expect_reply,
                    },
                })
                .collect(),
            group: match j.delivery {
                Delivery::Multicast { group, .. } => Some(group),
                Delivery::Unicast { .. } => None,
            },
            port: Some(match j.delivery {
                Delivery::Multicast { port, .. } | Delivery::Unicast { port, .. } => port.get(),
            }),
        }
    }
}
