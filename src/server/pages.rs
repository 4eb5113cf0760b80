//! The server's running pages: start one (source, plan against the journal, take phones over
//! from lower pages, write who/what/when, run), stop one, show their live per-phone state, route
//! the phones' callbacks to the page that caused them, and end them all on shutdown.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::metrics::Metrics;
use super::store::{PageStart, Store};
use super::talk::{BrowserRelay, RelayFeed, TalkRelay};
use crate::config::{Config, EqualPolicy};
use crate::error::Invalid;
use crate::g711::Law;
use crate::page::callbacks::{self, Callbacks};
use crate::page::journal::Journal;
use crate::page::run::RunError;
use crate::page::{
    DeliveryReport, Origin, PageError, PageOrder, Pager, PagerSetup, Talker, TalkerLimits, Via,
};
use crate::push::PushClient;
use crate::rtp::Pacer;
use crate::source::{self, Trust};
use crate::xsi::response::Callback;
use crate::xsi::uri::{Notify, NotifyBase};

/// What to page.
#[derive(Debug, Clone)]
pub struct StartPage {
    /// Zone name.
    pub zone: String,
    /// What plays (see [`source::source`]).
    pub source: String,
    /// Who wrote the source: an API caller may not name files.
    pub trust: Trust,
    /// Banner (None: the zone's).
    pub banner: Option<String>,
    /// Priority level (None: the default).
    pub priority: Option<String>,
    /// End after this long (a tone or a looping source needs it).
    pub duration: Option<Duration>,
    /// startMedia/stopMedia instead of RTPRx URIs: a user hanging up ends that phone's part.
    pub via_media: bool,
    /// Who asked (kept in the history as `requested_by`: `api`, `bell:NAME` ...).
    pub origin: Origin,
    /// Spoken from this phone's microphone (`source` is then only a description): the phone is
    /// told `RTPTx` to the engine, which relays it to the zone; it gets its stop at the end.
    pub talker: Option<String>,
    /// The voice a `say:` source speaks in (a bell's or message's own; None: `[speech]`).
    pub voice: Option<source::Voice>,
    /// A bell page of a standby pair: whether the other node took its phones, asked as it
    /// ends (see [`crate::page::PageOrder::hand_over`]).
    pub hand_over: Option<crate::page::HandOverCheck>,
}

/// The `source` of a page spoken from the browser's microphone (`POST /api/pages` with
/// `"source": "mic"`): its audio comes through the page's WebSocket ([`super::mic`]).
pub const BROWSER_MIC: &str = "mic";

/// Why a page did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The pager refused it (bad request, a busy zone, the journal).
    #[error(transparent)]
    Page(#[from] PageError),
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
}

impl From<Invalid> for StartError {
    fn from(e: Invalid) -> Self {
        StartError::Page(PageError::Invalid(e))
    }
}

impl StartError {
    /// The HTTP status an API caller gets.
    pub fn status(&self) -> StatusCode {
        match self {
            StartError::Page(PageError::Invalid(_)) => StatusCode::BAD_REQUEST,
            StartError::Page(PageError::Busy(_)) => StatusCode::CONFLICT,
            StartError::Page(PageError::Failed(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            StartError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// A running page as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ActivePage {
    /// Who/what/when.
    #[serde(flatten)]
    pub start: PageStart,
    /// Live state: per phone, and totals.
    pub report: DeliveryReport,
}

struct Running {
    start: PageStart,
    /// Its callback key: its Notify URIs' paths are `zonecast/notify/KEY[~PHONE]`.
    key: String,
    stop: watch::Sender<Option<String>>,
    live: watch::Receiver<DeliveryReport>,
    done: tokio::task::JoinHandle<()>,
    /// A browser-microphone page's queue, and whether its one socket is open.
    mic: Option<(RelayFeed, bool)>,
}

/// Why a browser's microphone cannot be connected to a page.
#[derive(Debug, thiserror::Error)]
pub enum MicRefused {
    /// No such page runs.
    #[error("no running page {0:?} (it may have ended: see /api/history/{0})")]
    NoPage(String),
    /// The page plays something else.
    #[error("page {0:?} does not take a microphone (start it with \"source\": \"mic\")")]
    NotMic(String),
    /// Its socket is already open.
    #[error("page {0:?} already has its microphone connected (one socket per page)")]
    Taken(String),
}

impl MicRefused {
    /// The HTTP status the WebSocket's opener gets.
    pub fn status(&self) -> StatusCode {
        match self {
            MicRefused::NoPage(_) => StatusCode::NOT_FOUND,
            MicRefused::NotMic(_) | MicRefused::Taken(_) => StatusCode::CONFLICT,
        }
    }
}

/// A browser microphone's hold on its page: the queue it feeds, and the page's live state,
/// whose channel closes when the page ends.
pub struct MicLink {
    /// Where its encoded frames go.
    pub feed: RelayFeed,
    /// Changes with the page; closed once it has ended.
    pub live: watch::Receiver<DeliveryReport>,
}

struct Inner {
    config: Arc<Config>,
    pager: Pager,
    store: Store,
    journal: Journal,
    metrics: Arc<Metrics>,
    uploads: PathBuf,
    /// Where phones call back (from the public URL, checked to be plain HTTP).
    notify_base: NotifyBase,
    active: std::sync::Mutex<BTreeMap<String, Running>>,
    /// Callback key → the page's callback channel.
    routes: std::sync::Mutex<HashMap<String, CallbackRoute>>,
    closing: std::sync::atomic::AtomicBool,
    /// Counts every page that starts or ends, and the shutdown (what the live event streams wait
    /// on, see [`Pages::roster`]).
    roster: watch::Sender<u64>,
    /// The push client, for the server's other pushes (listen sessions).
    client: PushClient,
}

impl Inner {
    /// The running pages, by id (a poisoned lock is taken over: the map stays consistent).
    fn active(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The callback routes, by key.
    fn routes(&self) -> std::sync::MutexGuard<'_, HashMap<String, CallbackRoute>> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where one page's callbacks go: (phone, callback).
type CallbackRoute = mpsc::UnboundedSender<(String, Callback)>;

/// The running pages (cheap to clone).
#[derive(Clone)]
pub struct Pages {
    inner: Arc<Inner>,
}

/// What a [`Pages`] needs.
pub struct PagesSetup {
    /// The config.
    pub config: Arc<Config>,
    /// The push client (with the minted-credentials source).
    pub client: PushClient,
    /// The pacer every page's stream runs on.
    pub pacer: Arc<Pacer>,
    /// The SQLite journal.
    pub store: Store,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Directory of uploaded sounds.
    pub uploads: PathBuf,
    /// The phones pages are planned from (the config's, or refreshed from CUCM).
    pub table: Arc<dyn crate::page::PhoneTable>,
    /// Where phones reach the server's callbacks (plain HTTP: see [`NotifyBase::from_url`]).
    pub notify_base: NotifyBase,
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Pages {
    /// Ready to start pages.
    pub fn new(s: PagesSetup) -> Pages {
        let journal = s.store.journal();
        let sip: Arc<dyn crate::page::SipDialer> = crate::sip::Dialer::new(&s.config.sip_endpoints);
        let pager = Pager::with_sip(
            PagerSetup {
                table: s.table.clone(),
                journal: journal.clone(),
                client: s.client.clone(),
                pacer: s.pacer,
                recovered: true,
            },
            Some(sip),
        );
        Pages {
            inner: Arc::new(Inner {
                config: s.config,
                pager,
                store: s.store,
                journal,
                metrics: s.metrics,
                uploads: s.uploads,
                notify_base: s.notify_base,
                active: Default::default(),
                routes: Default::default(),
                closing: Default::default(),
                roster: watch::channel(0).0,
                client: s.client,
            }),
        }
    }

    /// The page journal (pages in flight).
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// Whether a page of `zone` at `priority` would reach a phone now (see
    /// [`Pager::reaches_now`]); an error (an unknown zone, the journal) counts as yes, so that
    /// the start that follows reports it.
    pub fn reaches_now(&self, zone: &str, priority: Option<&str>) -> bool {
        self.inner.pager.reaches_now(zone, priority).unwrap_or(true)
    }

    /// Start a page through the [`Pager`]; returns its id once its phones are in the journal
    /// (the pushes go on).
    pub async fn start(&self, req: StartPage) -> Result<String, StartError> {
        let inner = &self.inner;
        if inner.closing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StartError::ShuttingDown);
        }
        // A callback key of its own, so a phone's notify names this page.
        let key = crate::page::prepare::new_page_id();
        let (cb_tx, cb_rx) = mpsc::unbounded_channel();
        // Every page listens: media events (a user hanging up) and application events of its
        // screens (`KEY~PHONE`).
        let callbacks = Callbacks::routed(inner.notify_base.clone(), cb_rx);
        let on_stopped = callbacks.notify_uri(&key)?;
        let mic = (req.talker.is_none() && req.source == BROWSER_MIC).then(RelayFeed::new);
        let order = self.order(&req, callbacks, on_stopped, mic.as_ref())?;
        inner.routes().insert(key.clone(), cb_tx);
        let handle = match inner.pager.page(order).await {
            Ok(h) => h,
            Err(e) => {
                inner.routes().remove(&key);
                return Err(e.into());
            }
        };
        let id = handle.id.clone();
        let start = PageStart {
            page: id.clone(),
            zone: handle.zone.clone(),
            priority: handle.priority.clone(),
            source: req.source.clone(),
            banner: req.banner.clone(),
            requested_by: req.origin.to_string(),
            started_ms: unix_ms(),
        };
        if let Err(e) = inner.store.page_started(&start) {
            handle.stop("the history could not be written");
            tracing::error!("page {id}: {e}");
        }
        inner.metrics.page_started();
        let stop = handle.stopper();
        let live = handle.live();
        let task = handle.into_task();
        // The task waits until the page is listed, so its removal always comes after.
        let (listed_tx, listed_rx) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(
            self.clone()
                .follow(id.clone(), key.clone(), task, listed_rx),
        );
        let running = Running {
            start,
            key,
            stop,
            live,
            done,
            mic: mic.map(|feed| (feed, false)),
        };
        inner.active().insert(id.clone(), running);
        inner.roster.send_modify(|n| *n += 1);
        let _ = listed_tx.send(());
        tracing::info!("page {id} started: zone {} by {}", req.zone, req.origin);
        Ok(id)
    }

    /// The Pager's order for a page asked through the API: its sound (or the talker's relay,
    /// or the browser microphone's `mic`), callbacks, delivery and how long it waits for a zone
    /// held at equal priority.
    fn order(
        &self,
        req: &StartPage,
        callbacks: Callbacks,
        on_stopped: Notify,
        mic: Option<&RelayFeed>,
    ) -> Result<PageOrder, StartError> {
        let inner = &self.inner;
        let config = &inner.config;
        let sound = match &req.talker {
            // A talker's page plays the talker (the pager opens the relay).
            _ if mic.is_some() => Box::new(crate::rtp::pacer::Encode::new(
                crate::audio::Silence::default(),
                Law::Ulaw,
            )) as Box<dyn crate::rtp::pacer::PayloadSource>,
            Some(_) => Box::new(crate::rtp::pacer::Encode::new(
                crate::audio::Silence::default(),
                Law::Ulaw,
            )) as Box<dyn crate::rtp::pacer::PayloadSource>,
            None => source::source_voiced(
                &req.source,
                &inner.uploads,
                req.trust,
                Law::Ulaw,
                req.voice.as_ref().unwrap_or(&config.speech),
                &source::Levelling::new(config.engine.loudness),
            )?,
        };
        let mut order = PageOrder::new(req.origin.clone(), &req.zone, sound);
        order.wide = wide_sound(config, req, &inner.uploads, mic.is_some());
        order.priority = req.priority.clone();
        // Speech without a banner shows what it says.
        order.banner = req.banner.clone().or_else(|| {
            let said = req.talker.is_none().then(|| source::said(&req.source))??;
            Some(source::speech::default_banner(
                said,
                crate::config::MAX_BANNER_CHARS,
            ))
        });
        order.duration = req.duration;
        order.via = if req.via_media {
            Via::Media { on_stopped }
        } else {
            Via::Uri
        };
        order.callbacks = Some(callbacks);
        // Equal priority waits, as the config says, up to a minute.
        order.equal_wait = if config.priorities.equal == EqualPolicy::Wait {
            Duration::from_secs(60)
        } else {
            Duration::ZERO
        };
        order.live = true;
        order.hand_over = req.hand_over.clone();
        order.talker = req.talker.as_ref().map(|name| Talker {
            phone: Some(name.clone()),
            relay: Box::new(TalkRelay::new(
                config.engine.media_address,
                config.engine.port_pool,
                config.engine.loudness,
            )),
            limits: TalkerLimits {
                first_packet: super::talk::START_WAIT,
                idle: super::talk::IDLE_END,
            },
        });
        if let Some(feed) = mic {
            order.talker = Some(Talker {
                phone: None,
                relay: Box::new(BrowserRelay::new(feed.clone())),
                limits: TalkerLimits {
                    first_packet: super::talk::BROWSER_START_WAIT,
                    idle: super::talk::IDLE_END,
                },
            });
        }
        if let Some(name) = &req.talker
            && config.phone(name).is_none()
        {
            return Err(Invalid::new("talker", name, "is not a phone in the config").into());
        }
        Ok(order)
    }

    /// Follow page `id` to its end once it is listed: write its report to the history, count
    /// it, and forget its callback route and its entry.
    async fn follow(
        self,
        id: String,
        key: String,
        task: tokio::task::JoinHandle<Result<DeliveryReport, RunError>>,
        listed: tokio::sync::oneshot::Receiver<()>,
    ) {
        let _ = listed.await;
        let inner = &self.inner;
        let report = match task.await {
            Ok(Ok(r)) => {
                if let Err(e) = inner.store.page_finished(&r, unix_ms()) {
                    tracing::error!("page {id}: {e}");
                }
                tracing::info!(
                    "page {id} ended ({}): {} of {} phones reached",
                    r.ended_by,
                    r.totals.accepted,
                    r.totals.phones
                );
                Some(r)
            }
            Ok(Err(e)) => {
                tracing::error!("page {id} could not run: {e}");
                None
            }
            Err(e) => {
                tracing::error!("page {id}: its task failed: {e}");
                None
            }
        };
        inner.metrics.page_ended(report.as_ref());
        inner.routes().remove(&key);
        inner.active().remove(&id);
        inner.roster.send_modify(|n| *n += 1);
    }

    /// The Notify URI whose callbacks reach page `id` as phone `phone`'s (application events
    /// of a screen shown to it). `None` when no such page runs, or `phone` cannot be in a
    /// Notify path (give it URL-encoded).
    pub fn notify_uri(&self, id: &str, phone: &str) -> Option<Notify> {
        let active = self.inner.active();
        let key = &active.get(id)?.key;
        let path = format!("{}/{key}~{phone}", callbacks::PREFIX);
        self.inner.notify_base.notify(&path).ok()
    }

    /// Connect a browser's microphone to page `id` (started with [`BROWSER_MIC`]): at most one
    /// socket per page, ever.
    pub fn open_mic(&self, id: &str) -> Result<MicLink, MicRefused> {
        let mut active = self.inner.active();
        let r = active
            .get_mut(id)
            .ok_or_else(|| MicRefused::NoPage(id.to_owned()))?;
        let live = r.live.clone();
        match &mut r.mic {
            None => Err(MicRefused::NotMic(id.to_owned())),
            Some((_, true)) => Err(MicRefused::Taken(id.to_owned())),
            Some((feed, open)) => {
                *open = true;
                Ok(MicLink {
                    feed: feed.clone(),
                    live,
                })
            }
        }
    }

    /// Ask a page to end (its phones get their stops). `false` if no such page runs.
    pub fn stop(&self, id: &str, reason: &str) -> bool {
        let active = self.inner.active();
        match active.get(id) {
            Some(r) => {
                r.stop.send_replace(Some(reason.to_owned()));
                true
            }
            None => false,
        }
    }

    /// Stop page `id` as [`Pages::stop`] does, and journal `who` stopped it (a user's name or
    /// `api-token`).
    pub fn stop_by(&self, id: &str, reason: &str, who: &str) -> bool {
        let stopping = self.stop(id, reason);
        if stopping && let Err(e) = self.inner.store.page_stopped_by(id, who) {
            tracing::error!("page {id}: {e}");
        }
        stopping
    }

    /// The running pages with their live state.
    pub fn active(&self) -> Vec<ActivePage> {
        let active = self.inner.active();
        active
            .values()
            .map(|r| ActivePage {
                start: r.start.clone(),
                report: r.live.borrow().clone(),
            })
            .collect()
    }

    /// One running page.
    pub fn get(&self, id: &str) -> Option<ActivePage> {
        let active = self.inner.active();
        active.get(id).map(|r| ActivePage {
            start: r.start.clone(),
            report: r.live.borrow().clone(),
        })
    }

    /// Page `id`'s start and its live state, to follow it change by change (the sender side
    /// closes when the page has ended).
    pub fn watch(&self, id: &str) -> Option<(PageStart, watch::Receiver<DeliveryReport>)> {
        let active = self.inner.active();
        active.get(id).map(|r| (r.start.clone(), r.live.clone()))
    }

    /// The ids of the running pages.
    pub fn ids(&self) -> Vec<String> {
        self.inner.active().keys().cloned().collect()
    }

    /// Changes each time a page starts or ends, and at shutdown.
    pub fn roster(&self) -> watch::Receiver<u64> {
        self.inner.roster.subscribe()
    }

    /// Whether the server is shutting down (no page starts any more).
    pub fn closing(&self) -> bool {
        self.inner.closing.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The push client pages use (with the minted-credentials source).
    pub fn client(&self) -> &PushClient {
        &self.inner.client
    }

    /// Wait until page `id` has ended (at most `timeout`). `true` if it ended.
    pub async fn wait(&self, id: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let running = self.inner.active().contains_key(id);
            if !running {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A phone's callback for key `key` (the path of its Notify URI): handed to its page, or
    /// 404 when no running page expects it.
    pub fn callback(&self, key: &str, body: &[u8]) -> StatusCode {
        let routes = self.inner.routes();
        let base = key.split_once('~').map_or(key, |(k, _)| k);
        match routes.get(base) {
            Some(tx) => callbacks::accept(tx, key.to_owned(), body),
            None => {
                tracing::warn!("callback for unknown page {key:?} refused");
                StatusCode::NOT_FOUND
            }
        }
    }

    /// End every page (their stops are pushed) and wait for them, at most `timeout`. New
    /// starts are refused from now on.
    pub async fn shutdown(&self, reason: &str, timeout: Duration) {
        self.inner
            .closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.roster.send_modify(|n| *n += 1);
        let handles: Vec<_> = {
            let mut active = self.inner.active();
            for r in active.values() {
                r.stop.send_replace(Some(reason.to_owned()));
            }
            active
                .values_mut()
                .map(|r| std::mem::replace(&mut r.done, tokio::spawn(async {})))
                .collect()
        };
        let all = async {
            for h in handles {
                let _ = h.await;
            }
        };
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::error!(
                "pages still ending after {timeout:?}: the journal keeps their phones for recovery"
            );
        }
    }
}

/// The page's sound for a G.722 stream, made by the pager only if it is needed: for a zone
/// with `codec = "g722"` paged with a prepared sound (a talker or the browser's microphone is
/// G.711 only).
fn wide_sound(
    config: &crate::config::Config,
    req: &StartPage,
    uploads: &std::path::Path,
    live: bool,
) -> Option<crate::page::WideSound> {
    let g722 = config
        .zone(&req.zone)
        .is_some_and(|z| z.codec == crate::config::ZoneCodec::G722);
    if !g722 || live || req.talker.is_some() {
        return None;
    }
    let (spec, uploads, trust) = (req.source.clone(), uploads.to_path_buf(), req.trust);
    let voice = req.voice.clone().unwrap_or_else(|| config.speech.clone());
    let level = source::Levelling::new(config.engine.loudness);
    Some(Box::new(move || {
        source::source_voiced_as(
            &spec,
            &uploads,
            trust,
            crate::rtp::StreamCodec::G722,
            &voice,
            &level,
        )
    }))
}
