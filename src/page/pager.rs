//! The one way to start a page. Every entry point (the CLI, the API, phone services, bells, the
//! demo, the benchmarks; SIP, the console and other sites later) builds a [`PageOrder`] and
//! hands it to [`Pager::page`], which does the same four things for all of them:
//!
//! 1. **recover**: stop what a killed page left playing (once per pager);
//! 2. **prepare**: the zone's phones from the [`PhoneTable`], planned against the journal
//!    (an equal-priority conflict waits up to the order's `equal_wait`, then is refused);
//! 3. **take over** the phones lower pages hold;
//! 4. **run** the page's [`Session`](super::session::Session) in a task, and return once its
//!    phones are in the journal with a [`PageHandle`]: live report, stop, final report.
//!
//! One start plans at a time (pools and priorities are read from the journal), so two pages
//! started together never take the same port or the same phones.

use std::collections::HashSet;
use std::net::SocketAddrV4;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::callbacks::Callbacks;
use super::journal::{Journal, JournalPage};
use super::plan::{Via, talker_plan};
use super::prepare::{PageRequest, PrepareError, Prepared, new_page_id, prepare, take_over};
use super::recover::{Recovered, recover};
use super::report::DeliveryReport;
use super::run::{HandOverCheck, Job, LastPacket, RunError, WideStream, run};
use super::session::{TalkerLimits, Timing};
use super::table::{PhoneTable, Site, ZonePhones};
use crate::config::{PreTone, ZoneCodec};
use crate::error::Invalid;
use crate::g711::Law;
use crate::push::PushClient;
use crate::rtp::pacer::PayloadSource;
use crate::rtp::{Pacer, StreamCodec};

/// Who or what started a page (kept in the history as `requested_by`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `zonecast page` at a terminal.
    Command,
    /// An API caller (with the token's name, when it has one).
    Api {
        /// The token's name.
        token: Option<String>,
    },
    /// A signed-in user of the console.
    User(String),
    /// A user at a phone (phone services).
    Phone(String),
    /// A SIP caller (their URI).
    Caller(String),
    /// A bell of the schedule.
    Bell(String),
    /// Another site of the district.
    RemoteSite(String),
    /// The demo or a benchmark.
    Instrument(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Command => f.write_str("cli"),
            Origin::Api { token: None } => f.write_str("api"),
            Origin::Api { token: Some(t) } => write!(f, "api:{t}"),
            Origin::User(u) => write!(f, "user:{u}"),
            Origin::Phone(p) => write!(f, "phone:{p}"),
            Origin::Caller(c) => write!(f, "sip:{c}"),
            Origin::Bell(b) => write!(f, "bell:{b}"),
            Origin::RemoteSite(s) => write!(f, "site:{s}"),
            Origin::Instrument(i) => write!(f, "{i}"),
        }
    }
}

/// The receiving side of a page spoken from a phone's microphone (the server's relay).
pub trait TalkerRelay: Send {
    /// Open the port the talker will send to (one not in `in_use`, which it adds), returning
    /// where the phone sends, the page's source (the talker's frames) and when the last packet
    /// came.
    fn open(
        &mut self,
        in_use: &mut HashSet<u16>,
    ) -> std::io::Result<(SocketAddrV4, Box<dyn PayloadSource>, LastPacket)>;
}

/// A page spoken live: a phone is told `RTPTx` to the relay, and the relay plays to the zone.
pub struct Talker {
    /// The talking phone (in the phone table); `None` for a talker without one (the browser's
    /// microphone, whose relay is fed by the server): nothing is pushed to start it.
    pub phone: Option<String>,
    /// Where its microphone arrives.
    pub relay: Box<dyn TalkerRelay>,
    /// How long it may stay silent.
    pub limits: TalkerLimits,
}

/// Makes the page's sound as G.722 payloads (16 kHz audio): called only when the zone's codec
/// asks for G.722.
pub type WideSound = Box<dyn FnOnce() -> Result<Box<dyn PayloadSource>, Invalid> + Send>;

/// Told, once, why a page waits for the zone.
pub type OnWait = Box<dyn FnOnce(&str) + Send>;

/// What to page.
pub struct PageOrder {
    /// Who asked.
    pub origin: Origin,
    /// Zone name (in the phone table).
    pub zone: String,
    /// Priority level (`None`: the site's default).
    pub priority: Option<String>,
    /// Banner (`None`: the zone's).
    pub banner: Option<String>,
    /// What plays (ignored when a talker speaks).
    pub sound: Box<dyn PayloadSource>,
    /// G.711 law of the sound.
    pub law: Law,
    /// The same sound for a G.722 stream, made if the zone's codec is G.722 (`None`: the
    /// source has no wideband version, e.g. a live one; such a page is G.711 throughout).
    pub wide: Option<WideSound>,
    /// Spoken live from a phone instead.
    pub talker: Option<Talker>,
    /// Play the site's pre-tone first.
    pub pre_tone: bool,
    /// End after this long.
    pub duration: Option<Duration>,
    /// URIs, or the RTP Streaming API with its callback listener.
    pub via: Via,
    /// The listener phones call back (a user hanging up, screen events).
    pub callbacks: Option<Callbacks>,
    /// `--verify`: ask the phones whether packets arrive this long after the first acceptance;
    /// silent phones of a multicast page fall back to unicast.
    pub verify: Option<Duration>,
    /// How long a page of equal priority holding the zone's phones is waited for (zero:
    /// refused at once).
    pub equal_wait: Duration,
    /// Publish the live report (for a watcher: the server's active pages).
    pub live: bool,
    /// Told once, with the reason, when the page starts waiting for an equal-priority page.
    pub on_wait: Option<OnWait>,
    /// A bell page of a standby pair: asked, as the page ends, whether the other node took its
    /// phones (then they get no stop from here), at most [`HAND_OVER_WAIT`].
    pub hand_over: Option<HandOverCheck>,
}

/// How long a page's end waits for its [`HandOverCheck`] before it stops every phone.
pub const HAND_OVER_WAIT: Duration = Duration::from_secs(2);

impl PageOrder {
    /// A page of `sound` to `zone` by `origin`, with every other setting at its default.
    pub fn new(origin: Origin, zone: &str, sound: Box<dyn PayloadSource>) -> PageOrder {
        PageOrder {
            origin,
            zone: zone.to_owned(),
            priority: None,
            banner: None,
            sound,
            law: Law::Ulaw,
            wide: None,
            talker: None,
            pre_tone: true,
            duration: None,
            via: Via::Uri,
            callbacks: None,
            verify: None,
            equal_wait: Duration::ZERO,
            live: false,
            on_wait: None,
            hand_over: None,
        }
    }
}

/// Why a page did not start.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Bad request: unknown zone or priority, a banner too long, a talker that cannot talk.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Pages of equal priority hold the zone's phones (after waiting `equal_wait`).
    #[error("{0}")]
    Busy(String),
    /// The journal or the media could not be used.
    #[error("{0}")]
    Failed(String),
}

/// A started page.
pub struct PageHandle {
    /// Page id (the journal's and the history's key).
    pub id: String,
    /// Zone paged.
    pub zone: String,
    /// Priority level.
    pub priority: String,
    /// What recovery stopped before this page (its first page only).
    pub recovered: Vec<Recovered>,
    stop: watch::Sender<Option<String>>,
    live: watch::Receiver<DeliveryReport>,
    done: tokio::task::JoinHandle<Result<DeliveryReport, RunError>>,
}

impl PageHandle {
    /// Ask the page to end (its phones get their stops).
    pub fn stop(&self, reason: &str) {
        self.stop.send_replace(Some(reason.to_owned()));
    }

    /// The stop signal, to keep after the handle is gone.
    pub fn stopper(&self) -> watch::Sender<Option<String>> {
        self.stop.clone()
    }

    /// The live report (published every 200 ms while it changes, when the order asked).
    pub fn live(&self) -> watch::Receiver<DeliveryReport> {
        self.live.clone()
    }

    /// The page's task (its final report).
    pub fn into_task(self) -> tokio::task::JoinHandle<Result<DeliveryReport, RunError>> {
        self.done
    }

    /// Wait for the page to end: its final report.
    pub async fn finish(self) -> Result<DeliveryReport, RunError> {
        match self.done.await {
            Ok(r) => r,
            Err(e) => Err(RunError::Media(std::io::Error::other(format!(
                "the page task failed: {e}"
            )))),
        }
    }
}

/// What a [`Pager`] pages with.
pub struct PagerSetup {
    /// Where the phones come from.
    pub table: Arc<dyn PhoneTable>,
    /// The journal of pages in flight.
    pub journal: Journal,
    /// The push client.
    pub client: PushClient,
    /// The pacer every page's stream runs on.
    pub pacer: Arc<Pacer>,
    /// Whoever made it has already recovered the journal (the server does at its start).
    pub recovered: bool,
}

struct Inner {
    setup: PagerSetup,
    /// Calls the zones' SIP endpoints (none: they are planned out, with the reason).
    sip: Option<Arc<dyn super::dial::SipDialer>>,
    recovered: AtomicBool,
    planning: tokio::sync::Mutex<()>,
}

/// The one way in (cheap to clone).
#[derive(Clone)]
pub struct Pager {
    inner: Arc<Inner>,
}

const LIVE_EVERY: Duration = Duration::from_millis(200);
const EQUAL_RETRY: Duration = Duration::from_millis(250);

impl Pager {
    /// A pager over this table, journal, client and pacer.
    pub fn new(setup: PagerSetup) -> Pager {
        Pager::with_sip(setup, None)
    }

    /// A pager whose pages call their zones' SIP endpoints through `sip`.
    pub fn with_sip(setup: PagerSetup, sip: Option<Arc<dyn super::dial::SipDialer>>) -> Pager {
        Pager {
            inner: Arc::new(Inner {
                sip,
                recovered: AtomicBool::new(setup.recovered),
                setup,
                planning: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The journal it pages with.
    pub fn journal(&self) -> &Journal {
        &self.inner.setup.journal
    }

    /// Whether a page of `zone` at `priority` would find a phone to push now: no page of equal
    /// priority holds the zone and not every phone is held by higher ones. Nothing is planned
    /// or journaled (a caller queued for a busy zone asks this, not a page per try).
    pub fn reaches_now(&self, zone: &str, priority: Option<&str>) -> Result<bool, PageError> {
        let s = &self.inner.setup;
        let phones = s.table.zone(zone)?;
        let pages = s
            .journal
            .pages()
            .map_err(|e| journal_failed(&s.journal, e))?;
        let request = PageRequest {
            zone: zone.to_owned(),
            priority: priority.map(str::to_owned),
            banner: None,
            via: Via::default(),
            wideband: false,
        };
        match prepare(&phones, &s.table.site(), &request, &pages, new_page_id()) {
            Ok(p) => Ok(p.plans.iter().any(|plan| plan.refused.is_none())),
            Err(PrepareError::Busy { .. }) => Ok(false),
            Err(PrepareError::Invalid(i)) => Err(i.into()),
        }
    }

    /// Stop every phone the journal says a page nobody runs any more left playing (pages pass
    /// through this once, before their first page).
    pub async fn recover(&self) -> std::io::Result<Vec<Recovered>> {
        self.inner.recovered.store(true, Ordering::SeqCst);
        let s = &self.inner.setup;
        recover(
            &s.journal,
            &s.client,
            |name| s.table.phone(name).and_then(|t| t.push),
            self.inner.sip.as_deref(),
        )
        .await
    }

    /// Start a page; returns once its phones are in the journal (the pushes go on).
    pub async fn page(&self, mut order: PageOrder) -> Result<PageHandle, PageError> {
        let s = &self.inner.setup;
        let recovered = if self.inner.recovered.load(Ordering::SeqCst) {
            Vec::new()
        } else {
            self.recover()
                .await
                .map_err(|e| journal_failed(&s.journal, e))?
        };
        let zone = s.table.zone(&order.zone)?;
        let site = s.table.site();
        let mut wide = wide_sound(&zone, &mut order)?;
        let planning = self.inner.planning.lock().await;
        let (mut prepared, pages) = self
            .prepare_or_wait(&zone, &site, &mut order, wide.is_some())
            .await?;
        self.plan_unpushed(&order.zone, &site, &mut prepared, &pages)
            .await
            .map_err(|e| journal_failed(&s.journal, e))?;
        let mut sound = std::mem::replace(&mut order.sound, Box::new(super::shell::Silence));
        let mut timing = Timing {
            duration: order.duration,
            verify: order.verify,
            fallback: order.verify.is_some() && prepared.fallback.is_some(),
            publish: order.live.then_some(LIVE_EVERY),
            hand_over: order.hand_over.is_some().then_some(HAND_OVER_WAIT),
            ..Timing::default()
        };
        let mut talker_clock = None;
        let mut relay = None;
        if let Some(talker) = order.talker.take() {
            let seated = self.seat_talker(talker, &mut prepared, &pages, &site)?;
            sound = seated.source;
            timing.talker = Some(seated.limits);
            talker_clock = Some(seated.clock);
            relay = Some(seated.relay);
        }
        if order.pre_tone
            && let Some(pre) = pre_tone(site.pre_tone.as_ref(), order.law.into(), site.loudness)?
        {
            sound = crate::source::sequence(vec![pre, sound]);
            if let Some(w) = wide.take() {
                let pre = pre_tone(site.pre_tone.as_ref(), StreamCodec::G722, site.loudness)?;
                wide = Some(crate::source::sequence(
                    pre.into_iter().chain([w]).collect(),
                ));
            }
        }
        take_over(&prepared, &pages, &s.journal, &s.client)
            .await
            .map_err(|e| PageError::Failed(format!("journal: {e}")))?;
        let (stop_tx, stop_rx) = watch::channel(None);
        let (live_tx, live_rx) = watch::channel(DeliveryReport::empty(
            &prepared.id,
            &prepared.zone,
            &prepared.priority.0,
        ));
        let (begun_tx, begun_rx) = oneshot::channel();
        let (id, zone_name, priority) = (
            prepared.id.clone(),
            prepared.zone.clone(),
            prepared.priority.0.clone(),
        );
        let job = Job {
            id: prepared.id,
            zone: prepared.zone,
            priority: prepared.priority,
            delivery: prepared.delivery,
            plans: prepared.plans,
            source: sound,
            law: order.law,
            sender: zone.sender,
            timing,
            journal: s.journal.clone(),
            client: s.client.clone(),
            callbacks: order.callbacks.take(),
            fallback: order.verify.and(prepared.fallback),
            live: order.live.then_some(live_tx),
            talker: talker_clock,
            hand_over: order.hand_over.take(),
            wide: prepared
                .wide
                .zip(wide.take())
                .map(|(delivery, source)| WideStream { source, delivery }),
            begun: Some(begun_tx),
            sip: self.inner.sip.clone(),
        };
        let pacer = s.pacer.clone();
        let done = tokio::spawn(async move {
            let report = run(job, &pacer, stop_rx).await;
            drop(relay);
            report
        });
        // The next start plans once this page's phones are in the journal.
        let _ = begun_rx.await;
        drop(planning);
        tracing::info!("page {id} started: zone {zone_name} by {}", order.origin);
        Ok(PageHandle {
            id,
            zone: zone_name,
            priority,
            recovered,
            stop: stop_tx,
            live: live_rx,
            done,
        })
    }

    /// The zone's targets that take no push: its IP speakers (a copy of the stream, see
    /// `speaker_plan`) and its SIP endpoints (a call, its dialog journaled before the INVITE).
    async fn plan_unpushed(
        &self,
        zone: &str,
        site: &Site,
        prepared: &mut Prepared,
        pages: &[JournalPage],
    ) -> std::io::Result<()> {
        let s = &self.inner.setup;
        let speakers = s.table.speakers(zone).into_iter();
        prepared
            .plans
            .extend(speakers.map(|(name, at)| super::plan::speaker_plan(&name, at)));
        let offer = SocketAddrV4::new(
            site.media_address,
            match prepared.delivery {
                super::plan::Delivery::Multicast { port, .. }
                | super::plan::Delivery::Unicast { port, .. } => port.get(),
            },
        );
        for name in s.table.sip_endpoints(zone) {
            let dialog = match (
                &self.inner.sip,
                self.hold_endpoint(&name, prepared, pages).await?,
            ) {
                (_, Some(why)) => Err(why),
                (Some(d), None) => d.dialog(&name),
                (None, None) => Err("no SIP user agent runs in this process".to_owned()),
            };
            prepared
                .plans
                .push(super::plan::sip_plan(&name, dialog, offer));
        }
        Ok(())
    }

    /// Take SIP endpoint `name` for this page: a page of lower priority in a call with it is
    /// hung up (BYE or CANCEL, then the endpoint is released from it in the journal); one of
    /// equal or higher priority keeps it (the reason is returned: it is not called).
    async fn hold_endpoint(
        &self,
        name: &str,
        prepared: &Prepared,
        pages: &[JournalPage],
    ) -> std::io::Result<Option<String>> {
        for page in pages.iter().filter(|p| p.remaining.contains(name)) {
            if page.needs_recovery() {
                continue; // recovery hangs it up
            }
            if page.record.rank >= prepared.priority.1 {
                return Ok(Some(format!(
                    "in a call of page {} ({})",
                    page.record.page, page.record.priority
                )));
            }
            let dialog = page
                .record
                .phones
                .iter()
                .find(|p| p.name == name)
                .and_then(super::journal::JournalPhone::dialog);
            if let (Some(d), Some(sip)) = (dialog, &self.inner.sip)
                && let Err(e) = sip.hang_up(d).await
            {
                tracing::warn!("hanging up {name} for a higher page: {e}");
            }
            self.inner.setup.journal.record(
                &page.record.page,
                &super::journal::JournalOp::Released {
                    phones: vec![name.to_owned()],
                },
            )?;
        }
        Ok(None)
    }

    /// Plan the page against the journal; while pages of equal priority hold the zone, wait
    /// and plan again, up to the order's `equal_wait` (telling `on_wait` once).
    async fn prepare_or_wait(
        &self,
        zone: &ZonePhones,
        site: &Site,
        order: &mut PageOrder,
        wideband: bool,
    ) -> Result<(Prepared, Vec<JournalPage>), PageError> {
        let s = &self.inner.setup;
        let request = PageRequest {
            zone: order.zone.clone(),
            priority: order.priority.clone(),
            banner: order.banner.clone(),
            via: order.via.clone(),
            wideband,
        };
        let mut waited = Duration::ZERO;
        loop {
            let pages = s
                .journal
                .pages()
                .map_err(|e| journal_failed(&s.journal, e))?;
            match prepare(zone, site, &request, &pages, new_page_id()) {
                Ok(p) => return Ok((p, pages)),
                Err(PrepareError::Invalid(i)) => return Err(i.into()),
                Err(busy @ PrepareError::Busy { .. }) if waited >= order.equal_wait => {
                    return Err(PageError::Busy(busy.to_string()));
                }
                Err(busy) => {
                    if let Some(tell) = order.on_wait.take() {
                        tell(&busy.to_string());
                    }
                    tokio::time::sleep(EQUAL_RETRY).await;
                    waited += EQUAL_RETRY;
                }
            }
        }
    }

    /// Make the talker the page's source: open the relay on a free port and, for a phone, plan
    /// its `RTPTx` to it (with a "Paging ZONE" banner) and take it out of the listeners.
    fn seat_talker(
        &self,
        mut talker: Talker,
        prepared: &mut Prepared,
        pages: &[JournalPage],
        site: &Site,
    ) -> Result<SeatedTalker, PageError> {
        let target = match &talker.phone {
            Some(name) => Some(
                (self.inner.setup.table)
                    .phone(name)
                    .map_err(|why| Invalid::new("talker", name, why))?,
            ),
            None => None,
        };
        let mut in_use: HashSet<u16> = pages.iter().filter_map(|p| p.record.port).collect();
        in_use.extend(site.reserved_ports.iter().copied());
        let (dest, source, clock) = talker
            .relay
            .open(&mut in_use)
            .map_err(|e| PageError::Failed(format!("a port for the talker's microphone: {e}")))?;
        if let (Some(target), Some(name)) = (target, &talker.phone) {
            Self::plan_talker(target, name, dest, prepared)?;
        }
        Ok(SeatedTalker {
            source,
            limits: talker.limits,
            clock,
            relay: talker.relay,
        })
    }

    /// The talking phone's `RTPTx` to `dest` (with a "Paging ZONE" banner), in place of its part
    /// as a listener.
    fn plan_talker(
        target: super::plan::ZoneMember,
        name: &str,
        dest: SocketAddrV4,
        prepared: &mut Prepared,
    ) -> Result<(), PageError> {
        let banner: String = format!("Paging {}", prepared.zone)
            .chars()
            .take(crate::config::MAX_BANNER_CHARS)
            .collect();
        let plan = talker_plan(target, dest, Some(&banner));
        if let Some(why) = &plan.refused {
            return Err(Invalid::new("talker", name, why.clone()).into());
        }
        // The talker speaks; it does not also listen to itself.
        prepared.plans.retain(|p| p.name != name);
        prepared.plans.push(plan);
        Ok(())
    }
}

/// A talker whose relay is open: what the page plays and how it is watched.
struct SeatedTalker {
    /// The talker's frames.
    source: Box<dyn PayloadSource>,
    /// How long it may stay silent.
    limits: TalkerLimits,
    /// When its last packet came.
    clock: LastPacket,
    /// The relay, kept open for as long as the page runs.
    relay: Box<dyn TalkerRelay>,
}

/// A journal that cannot be read, as a page error naming its file.
fn journal_failed(journal: &Journal, e: impl std::fmt::Display) -> PageError {
    PageError::Failed(format!("journal {}: {e}", journal.path().display()))
}

/// The page's sound for a G.722 stream: made when the zone's codec is G.722, one of its phones
/// takes it, and the order can make it (a live talker cannot). A sound that cannot be made
/// wideband leaves the page G.711 throughout, and the log says why.
fn wide_sound(
    zone: &ZonePhones,
    order: &mut PageOrder,
) -> Result<Option<Box<dyn PayloadSource>>, PageError> {
    if zone.codec != ZoneCodec::G722
        || order.talker.is_some()
        || !zone.targets.iter().any(|t| t.g722)
    {
        return Ok(None);
    }
    let Some(make) = order.wide.take() else {
        tracing::info!(
            "zone {} asks for G.722 but this sound has no wideband version: G.711 to all",
            zone.name
        );
        return Ok(None);
    };
    Ok(Some(make()?))
}

/// The site's pre-tone as a source for a stream of `codec`.
fn pre_tone(
    pre: Option<&PreTone>,
    codec: StreamCodec,
    loudness: crate::audio::LoudnessTarget,
) -> Result<Option<Box<dyn PayloadSource>>, Invalid> {
    use crate::source::{Levelling, Segment, segment_source_as};
    let seg = match pre {
        None => return Ok(None),
        Some(PreTone::Chime) => Segment::Chime,
        Some(PreTone::Tone(hz)) => Segment::Tone { hz: *hz, secs: 1.0 },
        Some(PreTone::File(p)) => Segment::File(p.clone()),
    };
    segment_source_as(&seg, codec, &Levelling::new(loudness)).map(Some)
}
